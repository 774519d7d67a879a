'use strict'
// ManualClock: the core's manual clock. Breakers built with `{ clock }` share it (one Arc in
// the core), so `advance()` moves every one of them at once, with no real sleeping.

const native = require('../native.js')
const { BreakwaterError, fromNative } = require('./errors')

const kNative = Symbol('breakwater.native')
const kTimers = Symbol('breakwater.timers')
const kSchedule = Symbol('breakwater.schedule')

function checkMs(what, ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new BreakwaterError(`${what} takes a finite number of milliseconds >= 0, got ${String(ms)}`, 'INVALID_ARGUMENT')
  }
}

class ManualClock {
  /**
   * @param {{ epoch?: number | Date } | number | Date} [options] wall time at monotonic 0
   *   (ms since the Unix epoch or a Date); default 2026-01-01T00:00:00Z.
   */
  constructor(options) {
    let epoch = options !== null && typeof options === 'object' && !(options instanceof Date) ? options.epoch : options
    if (epoch instanceof Date) epoch = epoch.getTime()
    if (epoch !== undefined) checkMs('ManualClock epoch', epoch)
    try {
      this[kNative] = new native.NativeManualClock(epoch)
    } catch (e) {
      throw fromNative(e)
    }
    /** Timers on this clock (attempt timeouts of calls in flight), fired as time passes. */
    this[kTimers] = []
  }

  /** Moves time forward by `ms` milliseconds, firing the timers that fall due on the way. */
  advance(ms) {
    checkMs('advance', ms)
    if (this[kTimers].length === 0) {
      this[kNative].advance(ms)
      return
    }
    const target = this[kNative].now() + ms
    this.#moveTo(target, () => this[kNative].set(target))
  }

  /** Sets monotonic time to `ms`; time never goes backwards (returns false and changes nothing). */
  set(ms) {
    checkMs('set', ms)
    if (ms < this[kNative].now()) return false
    this.#moveTo(ms, () => this[kNative].set(ms))
    return true
  }

  #moveTo(target, finish) {
    const timers = this[kTimers]
    while (timers.length > 0) {
      let next = 0
      for (let i = 1; i < timers.length; i++) if (timers[i].at < timers[next].at) next = i
      const t = timers[next]
      if (t.at > target) break
      timers.splice(next, 1)
      if (t.at > this[kNative].now()) this[kNative].set(t.at)
      t.fn()
    }
    finish()
  }

  /** Runs `fn` once `ms` have passed on this clock; returns a function that cancels it. */
  [kSchedule](ms, fn) {
    const t = { at: this[kNative].now() + ms, fn }
    this[kTimers].push(t)
    return () => {
      const i = this[kTimers].indexOf(t)
      if (i >= 0) this[kTimers].splice(i, 1)
    }
  }

  /** Monotonic time in ms since the clock's origin. */
  now() {
    return this[kNative].now()
  }

  /** Wall time in ms since the Unix epoch (epoch + monotonic time). */
  wallMs() {
    return this[kNative].wallMs()
  }

  /** Sleeping on a manual clock advances it by `ms` and resolves at once. */
  sleep(ms) {
    this.advance(ms)
    return Promise.resolve()
  }
}


/** Runs `fn` after `ms` on `clock` (a ManualClock, or the system clock when undefined). */
function schedule(clock, ms, fn) {
  if (clock !== undefined) return clock[kSchedule](ms, fn)
  const h = setTimeout(fn, ms)
  return () => clearTimeout(h)
}

/**
 * Waits `ms` on `clock`: a ManualClock advances and resolves at once; the system clock waits
 * on a timer, which `signal` cancels (rejecting with its reason).
 */
function sleep(clock, ms, signal) {
  if (signal !== undefined && signal.aborted) return Promise.reject(signal.reason)
  if (clock !== undefined) {
    clock.advance(ms)
    return Promise.resolve()
  }
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms))
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(h)
      reject(signal.reason)
    }
    const h = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

module.exports = { ManualClock, kNative, schedule, sleep }
