//! Events as values. Components collect what happened while they hold their lock and hand the
//! events to listeners after releasing it, on the thread that caused them. Nothing is built
//! when nobody listens.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::RwLock;

use crate::breaker::State;
use crate::category::Category;

crate::names::named_enum! {
    /// Event kinds; `as_str` is the snake_case name used everywhere (camelCase in JS `on(...)`).
    pub enum EventKind {
        StateChange => "state_change",
        CallRejected => "call_rejected",
        Success => "success",
        Failure => "failure",
        SlowCall => "slow_call",
        Ignored => "ignored",
        Retry => "retry",
        GiveUp => "give_up",
        Fallback => "fallback",
        DegradationTriggered => "degradation_triggered",
        DegradationRecovered => "degradation_recovered",
        HealthChanged => "health_changed",
        Alert => "alert",
    }
}

impl EventKind {
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The JS spelling used by `on('stateChange', ...)`.
    pub fn camel_name(self) -> String {
        let mut out = String::new();
        let mut upper = false;
        for ch in self.as_str().chars() {
            if ch == '_' {
                upper = true;
            } else if upper {
                out.push(ch.to_ascii_uppercase());
                upper = false;
            } else {
                out.push(ch);
            }
        }
        out
    }
}

/// One event. The fields after `at_ms` are set where the kind has them.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub component: Arc<str>,
    /// The clock's wall time, ms since the Unix epoch.
    pub at_ms: u64,
    pub from: Option<State>,
    pub to: Option<State>,
    /// Why: a transition reason, a give-up reason, a degradation trigger.
    pub reason: Option<&'static str>,
    pub category: Option<Category>,
    pub duration: Option<Duration>,
    pub attempt: Option<u32>,
    pub delay: Option<Duration>,
    pub strategy: Option<Arc<str>>,
    pub severity: Option<&'static str>,
}

impl Event {
    pub fn new(kind: EventKind, component: &Arc<str>, at_ms: u64) -> Self {
        Event {
            kind,
            component: component.clone(),
            at_ms,
            from: None,
            to: None,
            reason: None,
            category: None,
            duration: None,
            attempt: None,
            delay: None,
            strategy: None,
            severity: None,
        }
    }
}

pub type Listener = Arc<dyn Fn(&Event) + Send + Sync>;

/// Identifies a subscription, for `unsubscribe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(pub u64);

struct Entry {
    id: ListenerId,
    kind: Option<EventKind>,
    listener: Listener,
}

/// The listeners of one component. `is_active` is one relaxed load, so the hot path pays
/// nothing when nobody listens.
#[derive(Default)]
pub struct EventBus {
    active: AtomicBool,
    next_id: AtomicU64,
    entries: RwLock<Vec<Entry>>,
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBus")
            .field("listeners", &self.entries.read().len())
            .finish()
    }
}

impl EventBus {
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Calls `listener` for every event of `kind` (every event when `None`).
    pub fn subscribe(&self, kind: Option<EventKind>, listener: Listener) -> ListenerId {
        let id = ListenerId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut entries = self.entries.write();
        entries.push(Entry { id, kind, listener });
        self.active.store(true, Ordering::Relaxed);
        id
    }

    /// Removes a subscription; `false` when it was already gone.
    pub fn unsubscribe(&self, id: ListenerId) -> bool {
        let mut entries = self.entries.write();
        let before = entries.len();
        entries.retain(|e| e.id != id);
        self.active.store(!entries.is_empty(), Ordering::Relaxed);
        entries.len() != before
    }

    pub fn listener_count(&self) -> usize {
        self.entries.read().len()
    }

    /// Hands `event` to every matching listener. A listener that panics is isolated: the
    /// panic is caught and the other listeners still run. Listeners may call back into the
    /// component (no component lock is held here, and the list is cloned out of its lock).
    pub fn emit(&self, event: &Event) {
        // Cloned out so a listener may subscribe or unsubscribe without deadlocking. Events are
        // only built when someone listens, so this allocation stays off the quiet hot path.
        let matching: Vec<Listener> = {
            let entries = self.entries.read();
            entries
                .iter()
                .filter(|e| e.kind.is_none_or(|k| k == event.kind))
                .map(|e| e.listener.clone())
                .collect()
        };
        for listener in matching.iter() {
            let _ = catch_unwind(AssertUnwindSafe(|| listener(event)));
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn kinds_have_stable_names() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::StateChange.camel_name(), "stateChange");
        assert_eq!(EventKind::GiveUp.camel_name(), "giveUp");
        assert_eq!(EventKind::Alert.camel_name(), "alert");
    }

    #[test]
    fn bus_filters_isolates_panics_and_unsubscribes() {
        let bus = EventBus::default();
        assert!(!bus.is_active());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let all = bus.subscribe(
            None,
            Arc::new(move |e: &Event| s.lock().unwrap().push(e.kind)),
        );
        let only = bus.subscribe(
            Some(EventKind::Failure),
            Arc::new(|_: &Event| panic!("boom")),
        );
        assert!(bus.is_active());
        let name: Arc<str> = Arc::from("c");
        bus.emit(&Event::new(EventKind::Failure, &name, 1));
        bus.emit(&Event::new(EventKind::Success, &name, 2));
        assert_eq!(
            *seen.lock().unwrap(),
            vec![EventKind::Failure, EventKind::Success]
        );
        assert!(bus.unsubscribe(only));
        assert!(!bus.unsubscribe(only));
        assert!(bus.unsubscribe(all));
        assert!(!bus.is_active());
    }
}
