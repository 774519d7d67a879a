//! Event delivery: a core listener per event kind JS listens to pushes into a queue; the JS
//! layer drains it after each operation (listeners then run synchronously, in order).

use std::cell::RefCell;
use std::sync::Arc;

use breakwater_core::event::{Event, Listener};
use breakwater_core::{EventKind, ListenerId};
use napi_derive::napi;
use parking_lot::Mutex;

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

#[derive(Default)]
pub struct EventQueue {
    queue: Arc<Mutex<Vec<Event>>>,
    subscriptions: RefCell<Vec<(EventKind, ListenerId)>>,
}

impl EventQueue {
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
                let q = self.queue.clone();
                let id = subscribe(kind, Arc::new(move |e: &Event| q.lock().push(e.clone())));
                subs.push((kind, id));
            }
        }
    }

    pub fn take(&self) -> Vec<NativeEvent> {
        let events = std::mem::take(&mut *self.queue.lock());
        events.into_iter().map(NativeEvent::from).collect()
    }

    /// Unsubscribes everything (on drop of the owner).
    pub fn clear(&self, unsubscribe: impl Fn(ListenerId) -> bool) {
        for (_, id) in self.subscriptions.borrow_mut().drain(..) {
            unsubscribe(id);
        }
    }
}
