'use strict'
// This thread's side of the native host glue (bindings-node/src/host.rs). The native layer
// raises messages for this thread: `-id` (event queue `id` has events: drain it) and `+id`
// (the queued bulkhead call `id` was handed a slot: wake it). Messages caused on this thread
// raise FLAG[0]; every caller checks it right after its native call and drains, so listeners
// run synchronously, in order, after the core released its lock. Messages caused on another
// thread (a worker using the same breaker of the process-wide registry) arrive through this
// thread's thread-safe function, asynchronously, on this thread. Nothing here keeps the
// event loop alive.

const native = require('../native.js')

/** Raised (1) while this thread has undelivered messages. */
const FLAG = new Int32Array(new ArrayBuffer(4))
/** Queued bulkhead calls on this thread: waiter id -> wake(). */
const waiters = new Map()
/** Components with listeners on this thread: event-queue id -> component (has `_flush()`). */
const queues = new Map()

let warned = false
function dispatch(msg) {
  try {
    if (msg > 0) {
      const wake = waiters.get(msg)
      if (wake !== undefined) {
        waiters.delete(msg)
        wake()
      }
    } else {
      const c = queues.get(-msg)
      if (c !== undefined) c._flush()
    }
  } catch (err) {
    // Listeners are isolated by the event hub; this is breakwater's own failure. Never let it
    // escape into Node's uncaught-exception path from a thread-safe call.
    if (!warned) {
      warned = true
      process.emitWarning(`breakwater: delivering a message failed: ${err instanceof Error ? err.stack : String(err)}`, {
        code: 'BREAKWATER_INTERNAL',
      })
    }
  }
}

native.initHost(dispatch, FLAG.buffer)

/** Delivers the messages raised on this thread (call when FLAG[0] !== 0). */
function drain() {
  while (FLAG[0] !== 0) {
    const msgs = native.takeLocal()
    for (let i = 0; i < msgs.length; i++) dispatch(msgs[i])
  }
}

module.exports = { FLAG, drain, waiters, queues }
