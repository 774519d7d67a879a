//! `RateLimiter` and `Bulkhead`: the core's admission limits. The core decides (a token now or
//! the wait until one; a slot, a place in the queue, or a refusal); the JS layer waits on its
//! clock's timers and is woken through the waiter table (`waiters.rs`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use breakwater_core::{
    Admission, Bulkhead, BulkheadConfig, ClockRef, ErrorCode, RateLimiter, RateLimiterConfig,
    Ticket,
};
use napi_derive::napi;

use crate::breaker::{NativeConfigError, config_errors, invalid, parse_json};
use crate::clock::{NativeManualClock, nanos_to_ms};
use crate::status::{Result, error, guard};
use crate::waiters;

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Checks rate-limiter options (JSON, config-document spelling); empty when valid.
#[napi]
pub fn check_rate_limiter_config(json: String) -> Vec<NativeConfigError> {
    match parse_json(&json) {
        Err(e) => e,
        Ok(v) => RateLimiterConfig::from_json(&v)
            .err()
            .map(config_errors)
            .unwrap_or_default(),
    }
}

/// Checks bulkhead options (JSON, config-document spelling); empty when valid.
#[napi]
pub fn check_bulkhead_config(json: String) -> Vec<NativeConfigError> {
    match parse_json(&json) {
        Err(e) => e,
        Ok(v) => BulkheadConfig::from_json(&v)
            .err()
            .map(config_errors)
            .unwrap_or_default(),
    }
}

/// A token bucket on a clock.
#[napi]
pub struct NativeRateLimiter {
    pub(crate) core: Arc<RateLimiter>,
    pub(crate) clock: ClockRef,
}

impl NativeRateLimiter {
    pub fn from_core(core: Arc<RateLimiter>, clock: ClockRef) -> Self {
        Self { core, clock }
    }
}

#[napi]
impl NativeRateLimiter {
    #[napi(constructor)]
    pub fn new(json: String, clock: Option<&NativeManualClock>) -> Result<Self> {
        guard(|| {
            let value = parse_json(&json).map_err(invalid)?;
            let cfg =
                RateLimiterConfig::from_json(&value).map_err(|e| invalid(config_errors(e)))?;
            let clock = clock.map_or_else(ClockRef::system, NativeManualClock::clock_ref);
            let core = RateLimiter::new(cfg, clock.now()).map_err(|e| invalid(config_errors(e)))?;
            Ok(Self::from_core(Arc::new(core), clock))
        })
    }

    /// Takes a token now: -1, or the ms until one is there (nothing taken).
    #[napi]
    pub fn try_acquire(&self) -> f64 {
        match self.core.try_acquire(self.clock.now()) {
            Ok(()) => -1.0,
            Err(r) => ms(r.retry_after),
        }
    }

    /// Reserves a token: the ms to wait before using it (0 when one is there now).
    #[napi]
    pub fn reserve(&self) -> f64 {
        ms(self.core.reserve(self.clock.now()))
    }

    /// Whole tokens available now.
    #[napi]
    pub fn available(&self) -> f64 {
        self.core.available(self.clock.now()) as f64
    }

    #[napi]
    pub fn max_requests(&self) -> u32 {
        self.core.config().max_requests
    }

    /// The refill window in ms.
    #[napi]
    pub fn time_window(&self) -> f64 {
        ms(self.core.config().time_window)
    }

    /// The bucket's capacity.
    #[napi]
    pub fn burst_limit(&self) -> u32 {
        let c = self.core.config();
        c.burst_limit.unwrap_or(c.max_requests)
    }

    /// Monotonic ms on the limiter's clock (to read waits against).
    #[napi]
    pub fn now(&self) -> f64 {
        nanos_to_ms(self.clock.now())
    }
}

/// Concurrency isolation with a FIFO hand-over queue.
#[napi]
pub struct NativeBulkhead {
    pub(crate) core: Arc<Bulkhead>,
    /// This thread's queued calls: waiter id -> ticket.
    waiting: RefCell<HashMap<u32, Ticket>>,
}

impl NativeBulkhead {
    pub fn from_core(core: Arc<Bulkhead>) -> Self {
        Self {
            core,
            waiting: RefCell::new(HashMap::new()),
        }
    }
}

#[napi]
impl NativeBulkhead {
    #[napi(constructor)]
    pub fn new(json: String) -> Result<Self> {
        guard(|| {
            let value = parse_json(&json).map_err(invalid)?;
            let cfg = BulkheadConfig::from_json(&value).map_err(|e| invalid(config_errors(e)))?;
            let core = Bulkhead::new(cfg).map_err(|e| invalid(config_errors(e)))?;
            Ok(Self::from_core(Arc::new(core)))
        })
    }

    /// Takes a slot (0), is refused (-1), or is queued: the waiter's id (> 0), woken through
    /// the thread's inbox when a slot is handed over; then call `resume`.
    #[napi]
    pub fn enter(&self) -> f64 {
        let mut table = waiters::lock();
        match self.core.try_enter() {
            Admission::Entered => 0.0,
            Admission::Full => -1.0,
            Admission::Queued { ticket, .. } => {
                let id = table.register(&self.core, ticket);
                self.waiting.borrow_mut().insert(id, ticket);
                f64::from(id)
            }
        }
    }

    /// The queued call `id` stopped waiting: `woken` when its wake arrived, `false` when it
    /// gave up (timeout, cancellation). Returns whether it now holds a slot (`leave` it).
    #[napi]
    pub fn resume(&self, id: u32, woken: bool) -> Result<bool> {
        guard(|| {
            let mut table = waiters::lock();
            let ticket =
                self.waiting.borrow_mut().remove(&id).ok_or_else(|| {
                    error(ErrorCode::InvalidArgument, format!("no queued call {id}"))
                })?;
            if woken {
                return Ok(true);
            }
            table.forget(&self.core, ticket);
            // Not in the queue any more: the slot was handed over just as it gave up.
            Ok(!self.core.abandon(ticket))
        })
    }

    /// Frees a slot; the next queued call (on any thread) is woken with it.
    #[napi]
    pub fn leave(&self) {
        let mut table = waiters::lock();
        if let Some(t) = self.core.leave() {
            table.wake(&self.core, t);
        }
    }

    /// `[in flight, queued]`.
    #[napi]
    pub fn load(&self) -> Vec<u32> {
        let (a, b) = self.core.load();
        vec![a, b]
    }

    #[napi]
    pub fn max_concurrent(&self) -> u32 {
        self.core.config().max_concurrent
    }

    #[napi]
    pub fn max_queue(&self) -> u32 {
        self.core.config().max_queue
    }

    /// Ms a queued call waits at most.
    #[napi]
    pub fn max_wait(&self) -> f64 {
        ms(self.core.config().max_wait)
    }
}
