//! Event delivery. A core listener per event kind JS listens to pushes into the wrapper's
//! queue and posts one drain message to the wrapper's thread (see `host.rs`): on the same
//! thread the JS layer drains it right after the native call that caused the events, so
//! listeners run synchronously and in order; from another thread (a breaker shared through the
//! process-wide registry) the message arrives through the owner's inbox, asynchronously.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use breakwater_core::event::{Event, Listener};
use breakwater_core::{EventKind, ListenerId};
use napi_derive::napi;
use parking_lot::Mutex;

use crate::host::{self, Inbox};

/// An event as the core built it; the JS layer keeps the fields its kind has. Durations in ms.
#[napi(object)]
pub struct NativeEvent {
    pub kind: String,
    pub component: String,
    pub at: f64,
    pub from: Option<String>,
    pub to: Option<String>,
    pub reason: Option<String>,
    pub category: Option<String>,
    pub duration: Option<f64>,
    pub attempt: Option<u32>,
    pub delay: Option<f64>,
    pub strategy: Option<String>,
    pub severity: Option<String>,
}

impl From<Event> for NativeEvent {
    fn from(e: Event) -> Self {
        NativeEvent {
            kind: e.kind.as_str().to_string(),
            component: e.component.to_string(),
            at: e.at_ms as f64,
            from: e.from.map(|s| s.as_str().to_string()),
            to: e.to.map(|s| s.as_str().to_string()),
            reason: e.reason.map(str::to_string),
            category: e.category.map(|c| c.as_str().to_string()),
            duration: e.duration.map(|d| d.as_secs_f64() * 1000.0),
            attempt: e.attempt,
            delay: e.delay.map(|d| d.as_secs_f64() * 1000.0),
            strategy: e.strategy.map(|s| s.to_string()),
            severity: e.severity.map(str::to_string),
        }
    }
}

/// What a core listener shares with the wrapper that drains it.
struct Shared {
    /// The queue's id on its owner thread (the `-id` inbox message).
    id: u32,
    owner: usize,
    inbox: Option<Arc<Inbox>>,
    events: Mutex<Vec<Event>>,
    /// A drain message is on its way (cleared by `take`).
    notified: AtomicBool,
    /// The owner thread is gone: stop queueing.
    dead: AtomicBool,
}

/// The events of one wrapper. A core listener per kind JS listens to pushes into it, from
/// whichever thread caused the event, and tells the owner thread once (locally, or through its
/// inbox when the event happened on another thread).
pub struct EventQueue {
    shared: Arc<Shared>,
    subscriptions: RefCell<Vec<(EventKind, ListenerId)>>,
}

impl Default for EventQueue {
    fn default() -> Self {
        Self {
            shared: Arc::new(Shared {
                id: host::next_id(),
                owner: host::thread_key(),
                inbox: host::inbox(),
                events: Mutex::new(Vec::new()),
                notified: AtomicBool::new(false),
                dead: AtomicBool::new(false),
            }),
            subscriptions: RefCell::new(Vec::new()),
        }
    }
}

fn listener(s: Arc<Shared>) -> Listener {
    Arc::new(move |e: &Event| {
        if s.dead.load(Ordering::Relaxed) {
            return;
        }
        s.events.lock().push(e.clone());
        if s.notified.swap(true, Ordering::AcqRel) {
            return;
        }
        let msg = -f64::from(s.id);
        if s.owner == host::thread_key() {
            host::post_local(msg);
        } else if !s.inbox.as_ref().is_some_and(|i| i.post(msg)) {
            // The owner thread (a worker) has exited: nobody will drain this queue again.
            s.dead.store(true, Ordering::Relaxed);
            s.events.lock().clear();
        }
    })
}

impl EventQueue {
    /// The id the owner thread's JS layer knows this queue by.
    pub fn id(&self) -> u32 {
        self.shared.id
    }

    /// Subscribes to exactly the kinds in `mask` (bit i = `EventKind::ALL[i]`).
    pub fn set_listening(
        &self,
        mask: u32,
        subscribe: impl Fn(EventKind, Listener) -> ListenerId,
        unsubscribe: impl Fn(ListenerId) -> bool,
    ) {
        let mut subs = self.subscriptions.borrow_mut();
        subs.retain(|(kind, id)| {
            let keep = mask & (1 << *kind as u32) != 0;
            if !keep {
                unsubscribe(*id);
            }
            keep
        });
        for (i, kind) in EventKind::ALL.into_iter().enumerate() {
            if mask & (1 << i) != 0 && !subs.iter().any(|(k, _)| *k == kind) {
                let id = subscribe(kind, listener(self.shared.clone()));
                subs.push((kind, id));
            }
        }
    }

    /// The queued events, in order (and re-arms the drain message).
    pub fn take(&self) -> Vec<NativeEvent> {
        self.shared.notified.store(false, Ordering::Release);
        let events = std::mem::take(&mut *self.shared.events.lock());
        events.into_iter().map(NativeEvent::from).collect()
    }

    /// Unsubscribes everything (on drop of the owner).
    pub fn clear(&self, unsubscribe: impl Fn(ListenerId) -> bool) {
        for (_, id) in self.subscriptions.borrow_mut().drain(..) {
            unsubscribe(id);
        }
        self.shared.dead.store(true, Ordering::Relaxed);
    }
}
