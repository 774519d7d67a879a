//! Per-thread glue between the core (shared by every `worker_threads` worker of the process)
//! and the JS thread that owns a wrapper.
//!
//! Each JS thread (the main thread, each worker) registers one dispatch function at load
//! (`initHost`). Messages for that thread are numbers: `+id` wakes a queued bulkhead waiter,
//! `-id` asks the JS layer to drain the event queue `id`. A message raised on the owner's own
//! thread is queued locally and a flag in a small shared buffer is set; the JS layer checks the
//! flag after every native call that can raise one and drains the queue then, synchronously.
//! A message raised on another thread (a shared breaker used by another worker) goes through the
//! owner's thread-safe function and runs on the owner's thread, asynchronously. The thread-safe
//! function is unreferenced (weak), so it never keeps a thread's event loop alive.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::{
    ThreadsafeFunction, ThreadsafeFunctionCallMode, UnknownReturnValue,
};
use napi_derive::napi;

type InboxFn = ThreadsafeFunction<f64, UnknownReturnValue, f64, Status, false, true, 0>;

/// The way to reach one JS thread from any thread.
pub struct Inbox {
    thread: usize,
    tsfn: InboxFn,
}

impl Inbox {
    /// Delivers `msg` to the owner thread: locally when called on it, else through the
    /// thread-safe function. `false` when the owner thread is gone (its environment closed).
    pub fn post(&self, msg: f64) -> bool {
        if self.thread == thread_key() {
            post_local(msg);
            true
        } else {
            self.tsfn.call(msg, ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok
        }
    }
}

thread_local! {
    static MARK: u8 = const { 0 };
    static INBOX: RefCell<Option<Arc<Inbox>>> = const { RefCell::new(None) };
    static LOCAL: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    static FLAG: Cell<*mut i32> = const { Cell::new(ptr::null_mut()) };
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
}

/// A number that identifies the calling thread while it lives (the address of a thread-local).
#[inline]
pub fn thread_key() -> usize {
    MARK.with(|m| ptr::from_ref(m) as usize)
}

/// This thread's inbox, when the JS layer has registered one.
pub fn inbox() -> Option<Arc<Inbox>> {
    INBOX.with(|i| i.borrow().clone())
}

/// A fresh id, unique on this thread (event queues, bulkhead waiters); never 0.
pub fn next_id() -> u32 {
    NEXT_ID.with(|n| {
        let id = n.get().wrapping_add(1).max(1);
        n.set(id);
        id
    })
}

/// Queues a message for this thread's JS layer and raises the flag it checks.
pub fn post_local(msg: f64) {
    LOCAL.with(|l| l.borrow_mut().push(msg));
    FLAG.with(|f| {
        let p = f.get();
        if !p.is_null() {
            // SAFETY: `p` points into the ArrayBuffer registered by `initHost` on this thread,
            // which the JS layer keeps alive for the life of the thread (a module constant).
            unsafe { p.write_volatile(1) };
        }
    });
}

/// Registers this thread's dispatch function and the 4-byte flag buffer the JS layer checks.
#[napi]
pub fn init_host(
    env: &Env,
    dispatch: Function<'_, f64, UnknownReturnValue>,
    flag: Unknown<'_>,
) -> Result<()> {
    let mut data = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: a valid env and a value handed to us by Node for this call.
    let status =
        unsafe { sys::napi_get_arraybuffer_info(env.raw(), flag.raw(), &mut data, &mut len) };
    if status != sys::Status::napi_ok
        || len < 4
        || data.is_null()
        || !(data as usize).is_multiple_of(4)
    {
        return Err(Error::new(
            Status::InvalidArg,
            "initHost takes an ArrayBuffer of at least 4 bytes",
        ));
    }
    let tsfn = dispatch
        .build_threadsafe_function::<f64>()
        .weak::<true>()
        .callee_handled::<false>()
        .build()?;
    let inbox = Arc::new(Inbox {
        thread: thread_key(),
        tsfn,
    });
    INBOX.with(|i| *i.borrow_mut() = Some(inbox));
    FLAG.with(|f| f.set(data.cast::<i32>()));
    Ok(())
}

/// The messages raised on this thread since the last call (lowers the flag).
#[napi]
pub fn take_local() -> Vec<f64> {
    FLAG.with(|f| {
        let p = f.get();
        if !p.is_null() {
            // SAFETY: see `post_local`.
            unsafe { p.write_volatile(0) };
        }
    });
    LOCAL.with(|l| std::mem::take(&mut *l.borrow_mut()))
}
