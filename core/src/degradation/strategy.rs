//! Fallback strategies as the core sees them: descriptors the host registers, the context a
//! choice is made in, and the choice itself.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Level, Trigger, TriggerSet};
use crate::cache::Freshness;
use crate::category::Category;

/// What a strategy does; the host carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrategyKind {
    /// The last good result for the same cache key (fresh, or stale when the cache allows).
    CachedResponse,
    /// A reduced answer the user supplies.
    SimplifiedResponse,
    /// Call an alternative (another agent, another model).
    FallbackTarget,
    /// A static answer.
    OfflineResponse,
    /// A user strategy: the host calls its `execute`.
    Custom,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 5] = [
        StrategyKind::CachedResponse,
        StrategyKind::SimplifiedResponse,
        StrategyKind::FallbackTarget,
        StrategyKind::OfflineResponse,
        StrategyKind::Custom,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            StrategyKind::CachedResponse => "cached_response",
            StrategyKind::SimplifiedResponse => "simplified_response",
            StrategyKind::FallbackTarget => "fallback_target",
            StrategyKind::OfflineResponse => "offline_response",
            StrategyKind::Custom => "custom",
        }
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StrategyKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        StrategyKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

/// Everything the core knows about one fallback decision. The host's own strategy gets the
/// call's arguments and the error object natively; these are the parts the core decides on.
#[derive(Debug, Clone, PartialEq)]
pub struct FallbackContext {
    pub component: Arc<str>,
    pub trigger: Trigger,
    pub severity: Level,
    /// The category of the last failure, when there was one.
    pub category: Option<Category>,
    /// Attempts the call made (0 when it was rejected before the first).
    pub attempts: u32,
    /// The call's cache key, when it has one (for user predicates and logs).
    pub cache_key: Option<Arc<str>>,
    /// What the response cache would serve for the key now ([`crate::ResponseCache::status`]):
    /// `cached_response` can handle the call only when this is set.
    pub cached: Option<Freshness>,
}

impl FallbackContext {
    /// A context with the trigger's own severity ([`Trigger::default_level`]; `partial` for
    /// `health_check_failed` and `manual`, which should set `severity` themselves).
    pub fn new(component: &str, trigger: Trigger) -> Self {
        FallbackContext {
            component: Arc::from(component),
            trigger,
            severity: trigger.default_level().unwrap_or(Level::Partial),
            category: None,
            attempts: 0,
            cache_key: None,
            cached: None,
        }
    }

    pub fn with_severity(mut self, severity: Level) -> Self {
        self.severity = severity;
        self
    }

    pub fn with_cached(mut self, cached: Option<Freshness>) -> Self {
        self.cached = cached;
        self
    }
}

/// A user `can_handle(context)`, answered by the host. Called with no core lock held.
pub type ContextPredicate = Arc<dyn Fn(&FallbackContext) -> bool + Send + Sync>;
/// A user `is_available()`, answered by the host. Called with no core lock held.
pub type AvailabilityPredicate = Arc<dyn Fn() -> bool + Send + Sync>;

/// A strategy to register. Built-in kinds need only name, kind and priority; a user strategy
/// adds `can_handle` / `is_available` as trigger filters, flags or predicates.
#[derive(Clone)]
pub struct StrategySpec {
    pub name: String,
    pub kind: StrategyKind,
    /// Lower numbers are tried first.
    pub priority: u32,
    pub description: String,
    /// The availability flag; the host flips it later with
    /// [`super::DegradationManager::set_available`].
    pub available: bool,
    /// The triggers this strategy handles (all when `None`).
    pub triggers: Option<TriggerSet>,
    pub can_handle: Option<ContextPredicate>,
    pub is_available: Option<AvailabilityPredicate>,
}

impl StrategySpec {
    pub fn new(name: impl Into<String>, kind: StrategyKind, priority: u32) -> Self {
        StrategySpec {
            name: name.into(),
            kind,
            priority,
            description: String::new(),
            available: true,
            triggers: None,
            can_handle: None,
            is_available: None,
        }
    }

    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    pub fn available(mut self, available: bool) -> Self {
        self.available = available;
        self
    }

    pub fn triggers(mut self, triggers: TriggerSet) -> Self {
        self.triggers = Some(triggers);
        self
    }

    pub fn can_handle(mut self, p: ContextPredicate) -> Self {
        self.can_handle = Some(p);
        self
    }

    pub fn is_available(mut self, p: AvailabilityPredicate) -> Self {
        self.is_available = Some(p);
        self
    }
}

impl fmt::Debug for StrategySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrategySpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("priority", &self.priority)
            .field("available", &self.available)
            .field("triggers", &self.triggers)
            .field("can_handle", &self.can_handle.is_some())
            .field("is_available", &self.is_available.is_some())
            .finish()
    }
}

/// A registered strategy. Shared (`Arc`) so a choice can be made from a snapshot of the list
/// with no lock held while predicates run.
pub(crate) struct Strategy {
    /// Registration number; a re-registered name gets a new one.
    pub(crate) id: u64,
    pub(crate) name: Arc<str>,
    pub(crate) kind: StrategyKind,
    pub(crate) priority: u32,
    pub(crate) description: Arc<str>,
    pub(crate) available: AtomicBool,
    pub(crate) triggers: Option<TriggerSet>,
    pub(crate) can_handle: Option<ContextPredicate>,
    pub(crate) is_available: Option<AvailabilityPredicate>,
}

impl Strategy {
    pub(crate) fn new(id: u64, spec: StrategySpec) -> Self {
        Strategy {
            id,
            name: Arc::from(spec.name),
            kind: spec.kind,
            priority: spec.priority,
            description: Arc::from(spec.description),
            available: AtomicBool::new(spec.available),
            triggers: spec.triggers,
            can_handle: spec.can_handle,
            is_available: spec.is_available,
        }
    }

    pub(crate) fn info(&self) -> StrategyInfo {
        StrategyInfo {
            name: self.name.clone(),
            kind: self.kind,
            priority: self.priority,
            description: self.description.clone(),
            available: self.available.load(Ordering::Acquire),
            triggers: self.triggers,
        }
    }

    /// The core's part of `is_available` and `can_handle`: the flag, the predicate, the trigger
    /// filter and, for `cached_response`, whether the cache holds something to serve.
    pub(crate) fn serves(&self, ctx: &FallbackContext) -> bool {
        if !self.available.load(Ordering::Acquire) {
            return false;
        }
        if self.is_available.as_ref().is_some_and(|p| !p()) {
            return false;
        }
        if self.triggers.is_some_and(|t| !t.contains(ctx.trigger)) {
            return false;
        }
        if self.kind == StrategyKind::CachedResponse && ctx.cached.is_none() {
            return false;
        }
        self.can_handle.as_ref().is_none_or(|p| p(ctx))
    }
}

impl fmt::Debug for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.info().fmt(f)
    }
}

/// A read-only view of a registered strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyInfo {
    pub name: Arc<str>,
    pub kind: StrategyKind,
    pub priority: u32,
    pub description: Arc<str>,
    /// The availability flag (a predicate, if any, is not consulted here).
    pub available: bool,
    pub triggers: Option<TriggerSet>,
}

/// Which strategy serves a failed call, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackChoice {
    pub strategy: Arc<str>,
    pub kind: StrategyKind,
    /// The rule that named the strategy; `None` when it was picked by priority.
    pub rule: Option<Arc<str>>,
    pub trigger: Trigger,
    pub severity: Level,
    /// A `cached_response` serving an expired entry (stale-if-error).
    pub stale: bool,
}
