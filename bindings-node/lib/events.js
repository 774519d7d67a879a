'use strict'
// Listeners, EventEmitter-style: `on(name, fn)` returns `off`. The native side queues core
// events only for kinds someone listens to; the owner drains the queue after each operation and
// hands each event to its listeners synchronously. A listener that throws is isolated: its error
// is reported once (a process warning) and never reaches the guarded call.

const native = require('../native.js')

const KINDS = native.eventKindNames()
const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
const KIND_BIT = new Map(KINDS.map((k, i) => [camel(k), 1 << i]))
const EVENT_FIELDS = ['from', 'to', 'reason', 'category', 'duration', 'attempt', 'delay', 'strategy', 'severity']

/** A plain event object: kind, component, at, then only the fields its kind has. */
function toEvent(raw) {
  const e = { kind: raw.kind, component: raw.component, at: raw.at }
  for (const f of EVENT_FIELDS) {
    const v = raw[f]
    if (v !== undefined && v !== null) e[f] = v
  }
  return e
}

class EventHub {
  /**
   * @param {string[]} names the camelCase event names this component emits
   * @param {(mask: number) => void} setMask tells the native side which kinds to queue
   */
  constructor(names, setMask) {
    this.names = names
    this.setMask = setMask
    /** @type {Map<string, {fn: Function, warned: boolean}[]>} */
    this.listeners = new Map()
    this.count = 0
  }

  on(name, fn, owner) {
    if (!this.names.includes(name)) {
      const snake = camel(String(name))
      const hint = this.names.includes(snake) ? ` (did you mean '${snake}'?)` : ''
      throw new TypeError(`unknown event '${String(name)}'${hint}; ${owner} emits: ${this.names.join(', ')}`)
    }
    if (typeof fn !== 'function') throw new TypeError(`the '${name}' listener must be a function`)
    const entry = { fn, warned: false }
    const list = this.listeners.get(name)
    if (list === undefined) this.listeners.set(name, [entry])
    else list.push(entry)
    this.count++
    this.updateMask()
    let on = true
    return () => {
      if (!on) return
      on = false
      const l = this.listeners.get(name)
      const i = l.indexOf(entry)
      if (i >= 0) l.splice(i, 1)
      if (l.length === 0) this.listeners.delete(name)
      this.count--
      this.updateMask()
    }
  }

  updateMask() {
    let mask = 0
    for (const name of this.listeners.keys()) mask |= KIND_BIT.get(name)
    this.setMask(mask)
  }

  /** Hands native events to their listeners, in order. */
  dispatch(rawEvents) {
    for (let i = 0; i < rawEvents.length; i++) {
      const raw = rawEvents[i]
      const list = this.listeners.get(camel(raw.kind))
      if (list === undefined) continue
      const event = toEvent(raw)
      for (const entry of list.slice()) {
        try {
          entry.fn(event)
        } catch (err) {
          if (!entry.warned) {
            entry.warned = true
            process.emitWarning(
              `a '${camel(raw.kind)}' listener on '${raw.component}' threw (reported once per listener; the call is unaffected): ${
                err instanceof Error ? err.stack || err.message : String(err)
              }`,
              { code: 'BREAKWATER_LISTENER_ERROR' },
            )
          }
        }
      }
    }
  }
}

module.exports = { EventHub, toEvent, camel }
