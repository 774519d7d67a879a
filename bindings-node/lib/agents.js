'use strict'
// wrapAgentManager: puts every agent call of an agent manager behind that agent's policy (its
// breaker, retry, and the rate limiter / bulkhead its config gives it), with a fallback. The
// agent is the call's first argument (or what `agentNameOf(args, method)` says). Components come
// from a Registry, so the config layering (defaults, then `agentSpecific`) is the core's.

const { ManualClock } = require('./clock')
const { Registry, registry: processWide } = require('./registry')
const { configError, isPlainObject } = require('./options')
const { Fallback } = require('./degradation')

const DOC_KEYS = ['circuitBreakers', 'circuit_breakers', 'retry', 'retries', 'rateLimiters', 'rate_limiters', 'bulkheads']
const HOST_KEYS = ['registry', 'clock', 'env', 'methods', 'agentNameOf', 'fallback', 'timeout', 'classify', 'isFailure', 'agentSpecific']
const AGENT_KEYS = ['fallback', 'timeout', 'classify', 'isFailure']

const firstArg = (args) => (typeof args[0] === 'string' ? args[0] : undefined)

// `key` as written in its agent's options, `path` where it is in the options object.
function checkHooks(o, prefix, errors) {
  if (o.fallback !== undefined && typeof o.fallback !== 'function' && !(o.fallback instanceof Fallback)) {
    errors.push({ key: 'fallback', path: `${prefix}fallback`, value: o.fallback, allowed: 'a function (error, info) => value, or a Fallback' })
  }
  for (const k of ['classify', 'isFailure']) {
    if (o[k] !== undefined && typeof o[k] !== 'function') errors.push({ key: k, path: prefix + k, value: o[k], allowed: 'a function' })
  }
  if (o.timeout !== undefined && !(typeof o.timeout === 'number' && Number.isFinite(o.timeout) && o.timeout > 0)) {
    errors.push({ key: 'timeout', path: prefix + 'timeout', value: o.timeout, allowed: 'a duration in ms > 0' })
  }
}

function parseOptions(options) {
  if (options === undefined || options === null) options = {}
  const errors = []
  if (!isPlainObject(options)) throw configError([{ key: '(options)', value: options, allowed: 'an options object' }])
  const doc = {}
  for (const key of Object.keys(options)) {
    if (options[key] === undefined) continue
    if (DOC_KEYS.includes(key)) doc[key] = options[key]
    else if (!HOST_KEYS.includes(key)) errors.push({ key, value: options[key], allowed: `one of ${[...DOC_KEYS, ...HOST_KEYS].join(', ')}` })
  }
  const o = options
  checkHooks(o, '', errors)
  if (o.agentNameOf !== undefined && typeof o.agentNameOf !== 'function') {
    errors.push({ key: 'agentNameOf', value: o.agentNameOf, allowed: 'a function (args, method) => agent name or undefined' })
  }
  if (o.methods !== undefined && !(Array.isArray(o.methods) && o.methods.every((m) => typeof m === 'string'))) {
    errors.push({ key: 'methods', value: o.methods, allowed: 'an array of method names' })
  }
  if (o.registry !== undefined && !(o.registry instanceof Registry)) errors.push({ key: 'registry', value: o.registry, allowed: 'a Registry' })
  if (o.clock !== undefined && !(o.clock instanceof ManualClock)) errors.push({ key: 'clock', value: o.clock, allowed: 'a ManualClock' })
  if (o.registry instanceof Registry) {
    if (Object.keys(doc).length > 0) {
      errors.push({ key: Object.keys(doc)[0], value: doc[Object.keys(doc)[0]], allowed: 'config sections or a `registry`, not both' })
    }
    if (o.clock !== undefined && o.clock !== o.registry.clock) errors.push({ key: 'clock', value: o.clock, allowed: "the registry's clock" })
  }
  const perAgent = o.agentSpecific ?? {}
  if (!isPlainObject(perAgent)) errors.push({ key: 'agentSpecific', value: perAgent, allowed: 'an object of per-agent options' })
  else {
    for (const [agent, a] of Object.entries(perAgent)) {
      if (!isPlainObject(a)) {
        errors.push({ key: agent, path: `agentSpecific.${agent}`, value: a, allowed: `an object with ${AGENT_KEYS.join(', ')}` })
        continue
      }
      for (const k of Object.keys(a)) {
        if (!AGENT_KEYS.includes(k)) {
          errors.push({
            key: k,
            path: `agentSpecific.${agent}.${k}`,
            value: a[k],
            allowed: `one of ${AGENT_KEYS.join(', ')} (breaker and retry settings go in circuitBreakers.agentSpecific / retry.agentSpecific)`,
          })
        }
      }
      checkHooks(a, `agentSpecific.${agent}.`, errors)
    }
  }
  if (errors.length > 0) throw configError(errors)
  let reg = o.registry
  if (reg === undefined) {
    reg = Object.keys(doc).length > 0 || o.clock !== undefined || o.env !== undefined ? Registry.fromObject(doc, { clock: o.clock, env: o.env }) : processWide
  }
  return { o, reg, perAgent: isPlainObject(perAgent) ? perAgent : {} }
}

// One function for every call: the context carries the method and its arguments.
function invoke(ctx) {
  return Reflect.apply(ctx.fn, ctx.self, ctx.args)
}

/**
 * Wraps `agentManager`: each method whose call names an agent (its first argument, or
 * `agentNameOf(args, method)`) runs through that agent's policy from the registry, and resolves
 * with the method's value, the fallback's value, or rejects with the method's own error / the
 * breaker's CircuitOpenError / a RetryError. Calls that name no agent run as they are. Other
 * properties read through unchanged; `this` inside a method is the original object.
 */
function wrapAgentManager(agentManager, options) {
  if (agentManager === null || (typeof agentManager !== 'object' && typeof agentManager !== 'function')) {
    throw new TypeError('wrapAgentManager(agentManager): agentManager must be an object')
  }
  const { o, reg, perAgent } = parseOptions(options)
  const agentNameOf = o.agentNameOf ?? firstArg
  const only = o.methods !== undefined ? new Set(o.methods) : undefined
  /** @type {Map<string, { gen: number, policy: import('./policy').Policy }>} */
  const policies = new Map()

  const policyFor = (agent) => {
    const gen = reg.generation
    const e = policies.get(agent)
    if (e !== undefined && e.gen === gen) return e.policy
    const a = perAgent[agent] ?? {}
    const userFallback = a.fallback ?? o.fallback
    const fallback =
      userFallback === undefined || userFallback instanceof Fallback
        ? userFallback
        : (error, ctx, info) =>
            userFallback(error, { agentName: ctx.agentName, method: ctx.method, args: ctx.args, attempts: info.attempts, reason: info.reason })
    const policy = reg.policy(agent, {
      timeout: a.timeout ?? o.timeout,
      fallback,
      classify: a.classify ?? o.classify,
      isFailure: a.isFailure ?? o.isFailure,
    })
    policies.set(agent, { gen, policy })
    return policy
  }

  const wrappers = new Map()
  const wrap = (target, method, fn) => {
    const guarded = function (...args) {
      let agent
      try {
        agent = agentNameOf(args, method)
      } catch (e) {
        return Promise.reject(e)
      }
      if (typeof agent !== 'string' || agent.length === 0) {
        try {
          return Promise.resolve(Reflect.apply(fn, target, args))
        } catch (e) {
          return Promise.reject(e)
        }
      }
      let policy
      try {
        policy = policyFor(agent)
      } catch (e) {
        return Promise.reject(e)
      }
      return policy.execute(invoke, { agentName: agent, method, args, fn, self: target })
    }
    Object.defineProperty(guarded, 'name', { value: fn.name, configurable: true })
    Object.defineProperty(guarded, 'length', { value: fn.length, configurable: true })
    return guarded
  }

  return new Proxy(agentManager, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target)
      if (typeof v !== 'function' || typeof prop !== 'string' || prop === 'constructor') return v
      if (only !== undefined && !only.has(prop)) return v
      const d = Object.getOwnPropertyDescriptor(target, prop)
      if (d !== undefined && !d.configurable && !d.writable) return v // a Proxy must return it as it is
      let w = wrappers.get(prop)
      if (w === undefined || w.fn !== v) {
        w = { fn: v, guarded: wrap(target, prop, v) }
        wrappers.set(prop, w)
      }
      return w.guarded
    },
  })
}

module.exports = { wrapAgentManager }
