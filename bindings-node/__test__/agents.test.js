'use strict'
// wrapAgentManager over a fake agent manager, on a ManualClock: per-agent breakers, retries and
// fallbacks, per-agent overrides as in `agentSpecific`, agentNameOf, and pass-through of what is
// not an agent call.

const { test } = require('node:test')
const assert = require('node:assert/strict')
const bw = require('..')
const { wrapAgentManager, Registry, registry, ManualClock, CircuitOpenError, RetryError, ConfigError } = bw

class FakeAgentManager {
  constructor(clock) {
    this.clock = clock
    this.down = new Set()
    this.calls = []
    this.version = '1.0'
  }

  async executeAgent(agentName, task) {
    this.calls.push(`${agentName}:${task}`)
    if (this.down.has(agentName)) throw Object.assign(new Error(`${agentName} is down`), { status: 503 })
    return { agent: agentName, output: `${agentName} did ${task}`, at: this.clock.now() }
  }

  async reviewWith(agentName, doc) {
    return this.executeAgent(agentName, `review ${doc}`) // `this` is the original: not guarded twice
  }

  listAgents() {
    return ['architect', 'security']
  }

  sync(agentName) {
    if (agentName === 'bad') throw new Error('sync failure')
    return `sync ${agentName}`
  }
}

const SEED = {
  circuitBreakers: {
    defaults: { failureThreshold: 3, timeout: 60000 },
    agentSpecific: { security: { failureThreshold: 2, timeout: 120000 } },
  },
  retry: { defaults: { maxAttempts: 2, jitter: 'none', baseDelay: 100 }, agentSpecific: { architect: { maxAttempts: 1 } } },
}

test('each agent has its own breaker, retry and fallback, with agentSpecific overrides', async () => {
  const clock = new ManualClock()
  const am = new FakeAgentManager(clock)
  const fallbacks = []
  const agents = wrapAgentManager(am, {
    ...SEED,
    clock,
    agentSpecific: {
      security: {
        fallback: (err, info) => {
          fallbacks.push(info)
          return { agent: info.agentName, output: `queued: ${info.args[1]}`, at: -1 }
        },
      },
    },
  })
  am.down.add('security')
  am.down.add('architect')

  // security: 2 attempts (retry defaults), its breaker opens after 2 failures (agentSpecific).
  const r1 = await agents.executeAgent('security', 'audit')
  assert.deepEqual(r1, { agent: 'security', output: 'queued: audit', at: -1 })
  assert.deepEqual(am.calls, ['security:audit', 'security:audit'])
  assert.equal(fallbacks[0].reason, 'max_attempts')
  assert.equal(fallbacks[0].attempts, 2)
  assert.equal(fallbacks[0].method, 'executeAgent')
  assert.ok(fallbacks[0].args[1] === 'audit')
  const r2 = await agents.executeAgent('security', 'audit 2')
  assert.equal(r2.output, 'queued: audit 2')
  assert.equal(fallbacks[1].reason, 'circuit_open', 'the open breaker answered, the agent was not called')
  assert.equal(am.calls.length, 2)

  // architect: 1 attempt (agentSpecific retry), no fallback: a RetryError carrying the agent's error.
  const exhausted = (e) => e instanceof RetryError && e.attempts === 1 && e.cause.message === 'architect is down' && e.cause.status === 503
  await assert.rejects(agents.executeAgent('architect', 'design'), exhausted)
  await assert.rejects(agents.executeAgent('architect', 'design'), exhausted)
  await assert.rejects(agents.executeAgent('architect', 'design'), exhausted)
  await assert.rejects(agents.executeAgent('architect', 'design'), (e) => e instanceof CircuitOpenError && e.component === 'architect' && e.retryAfter === 60000)

  // writer: defaults (2 attempts), no fallback: a RetryError with the last error as cause.
  am.down.add('writer')
  await assert.rejects(agents.executeAgent('writer', 'draft'), (e) => e instanceof RetryError && e.attempts === 2 && e.cause.message === 'writer is down')

  // Recovery on the clock: security's breaker rests 120 s.
  am.down.delete('security')
  clock.advance(60000)
  assert.equal((await agents.executeAgent('security', 'x')).output, 'queued: x')
  clock.advance(60000)
  const ok = await agents.executeAgent('security', 'again')
  assert.equal(ok.output, 'security did again')
})

test('the returned object keeps the methods, `this`, and everything that is not an agent call', async () => {
  const clock = new ManualClock()
  const am = new FakeAgentManager(clock)
  const agents = wrapAgentManager(am, { ...SEED, clock })
  assert.equal(agents.version, '1.0')
  assert.equal(agents.clock, clock)
  assert.equal(agents.executeAgent.name, 'executeAgent')
  assert.equal(agents.executeAgent.length, 2)
  assert.equal(agents.executeAgent, agents.executeAgent, 'one wrapper per method')
  assert.deepEqual(await agents.listAgents(), ['architect', 'security'], 'no agent name: runs as it is (as a Promise)')
  assert.equal(await agents.sync('architect'), 'sync architect')
  await assert.rejects(agents.sync('bad'), /sync failure/)
  assert.equal((await agents.reviewWith('architect', 'spec')).output, 'architect did review spec')
  assert.deepEqual(am.calls, ['architect:review spec'])
  agents.version = '2.0'
  assert.equal(am.version, '2.0', 'writes reach the original')
})

test('agentNameOf picks the agent from other arguments; methods limits what is wrapped', async () => {
  const clock = new ManualClock()
  const am = {
    calls: 0,
    async run(task) {
      this.calls++
      if (task.agent === 'flaky') throw Object.assign(new Error('flaky'), { code: 'ECONNRESET' })
      return `${task.agent}:${task.input}`
    },
    async health(agent) {
      return `${agent} ok`
    },
  }
  const agents = wrapAgentManager(am, {
    circuitBreakers: { defaults: { failureThreshold: 1 } },
    retry: { defaults: { maxAttempts: 1 } },
    clock,
    methods: ['run'],
    agentNameOf: (args, method) => (method === 'run' ? args[0].agent : undefined),
  })
  assert.equal(await agents.run({ agent: 'a', input: 1 }), 'a:1')
  await assert.rejects(agents.run({ agent: 'flaky', input: 2 }), /flaky/)
  await assert.rejects(agents.run({ agent: 'flaky', input: 3 }), CircuitOpenError)
  assert.equal(am.calls, 2)
  assert.equal(agents.health, am.health, 'not in `methods`: the original function')
})

test('a registry can be given; the default is the process-wide registry', async () => {
  const clock = new ManualClock()
  const reg = Registry.fromObject({ circuitBreakers: { defaults: { failureThreshold: 1 } }, retry: { defaults: { maxAttempts: 1 } } }, { clock })
  const am = new FakeAgentManager(clock)
  am.down.add('ops')
  const agents = wrapAgentManager(am, { registry: reg })
  await assert.rejects(agents.executeAgent('ops', 'deploy'), (e) => e instanceof RetryError && e.cause.message === 'ops is down')
  assert.equal(reg.getCircuitBreakerStatus('ops').state, 'open', "the agent's breaker is the registry's")
  reg.forceCloseCircuitBreaker('ops')
  am.down.delete('ops')
  assert.equal((await agents.executeAgent('ops', 'deploy')).output, 'ops did deploy')

  // A reload takes effect for the wrapper's next call (the policy is rebuilt).
  reg.reload({ circuitBreakers: { defaults: { failureThreshold: 1 } }, retry: { defaults: { maxAttempts: 3, jitter: 'none', baseDelay: 10 } } })
  am.down.add('ops')
  am.calls.length = 0
  await assert.rejects(agents.executeAgent('ops', 'again'), (e) => e instanceof CircuitOpenError && e.cause.message === 'ops is down')
  assert.equal(am.calls.length, 1, 'the breaker (threshold 1) stops the retries after one failure')

  const name = `agents.test.${process.pid}`
  const pw = wrapAgentManager({ async executeAgent(agent) { return agent } })
  assert.equal(await pw.executeAgent(name), name)
  assert.ok(registry.breakerNames().includes(name))
})

test('options are checked', () => {
  const am = new FakeAgentManager(new ManualClock())
  const bad = (o) => {
    try {
      wrapAgentManager(am, o)
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e))
      return e
    }
    assert.fail('accepted')
  }
  assert.equal(bad({ circuitBreaker: {} }).key, 'circuitBreaker')
  const perAgent = bad({ agentSpecific: { a: { failureThreshold: 1 } } })
  assert.deepEqual([perAgent.key, perAgent.path], ['failureThreshold', 'agentSpecific.a.failureThreshold'])
  const hook = bad({ agentSpecific: { a: { timeout: -1 } } })
  assert.deepEqual([hook.key, hook.path], ['timeout', 'agentSpecific.a.timeout'])
  assert.equal(bad({ registry: new Registry(), circuitBreakers: {} }).key, 'circuitBreakers')
  assert.equal(bad({ fallback: 'x' }).key, 'fallback')
  const inDoc = bad({ circuitBreakers: { defaults: { failureThreshold: -1 } } })
  assert.deepEqual([inDoc.key, inDoc.path], ['failureThreshold', 'circuitBreakers.defaults.failureThreshold'])
  assert.throws(() => wrapAgentManager(null), TypeError)
})

test('a Fallback (strategies, a cache) can serve agent calls', async () => {
  const clock = new ManualClock()
  const am = new FakeAgentManager(clock)
  const fallback = new bw.Fallback({
    clock,
    strategies: [{ name: 'other-agent', kind: 'fallback_target', execute: (ctx) => am.executeAgent('architect', `covering for ${ctx.context.agentName}`) }],
  })
  const agents = wrapAgentManager(am, { ...SEED, clock, fallback })
  am.down.add('security')
  const r = await agents.executeAgent('security', 'audit')
  assert.equal(r.output, 'architect did covering for security')
  assert.equal(fallback.manager.level('security'), 'partial')
})
