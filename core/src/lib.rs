//! breakwater's core: the state machines every binding (Python, Node, C) shares, so every
//! language makes the same decision for the same inputs.
//!
//! The core decides; the host runs the call. A guarded call asks for a permit, runs the user's
//! function natively, and records the outcome. Time comes from an injected [`Clock`] and
//! randomness from a seeded [`SplitMix64`]; the core has no I/O, no threads and no `unsafe`.
//! The behaviour is specified in `docs/semantics/` and pinned by `conformance/` scenarios.
//!
//! Where to start: [`breaker`] (the circuit breaker and its permit protocol), [`retry`]
//! (backoff, jitter, budgets), [`policy`] (the pipeline a host drives step by step),
//! [`mod@classify`] (error facts to categories), [`limiter`] (rate limiter, bulkhead),
//! [`degradation`] and [`cache`] (fallback strategies), [`health`], [`slo`], [`eventlog`] and
//! [`metrics`] (observability), [`document`] and [`registry`] (configuration and named
//! components).

#![forbid(unsafe_code)]

pub mod breaker;
pub mod cache;
pub mod category;
pub mod classify;
pub mod clock;
pub mod config;
pub mod config_keys;
pub mod degradation;
pub mod document;
pub mod error;
pub mod event;
pub mod eventlog;
pub mod health;
pub mod limiter;
pub mod metrics;
mod names;
pub mod policy;
pub mod registry;
pub mod retry;
pub mod rng;
pub mod slo;
mod sync;
pub mod window;

pub use breaker::{
    BreakerConfig, CircuitBreaker, Outcome, Permit, RecoveryBackoff, Rejection, Snapshot, State,
    Transition, TransitionReason, WindowConfig,
};
pub use cache::{CacheConfig, CacheStats, Freshness, Hit, PutResult, ResponseCache};
pub use category::{Category, CategorySet};
pub use classify::{Classification, ErrorFacts, classify};
pub use clock::{Clock, ClockRef, ManualClock, SystemClock};
pub use config::{ConfigError, ConfigErrors};
pub use degradation::{
    ActiveDegradation, DegradationConfig, DegradationManager, DegradationStats, FallbackChoice,
    FallbackContext, HistoryEntry, Level, Recovery, Rule, StrategyInfo, StrategyKind, StrategySpec,
    Trigger, TriggerSet,
};
pub use document::Document;
pub use error::ErrorCode;
pub use event::{Event, EventKind, ListenerId};
pub use eventlog::{
    Alert, AlertCondition, AlertManager, AlertRule, AlertSeverity, AlertStats, AlertsConfig,
    EventLog, EventQuery, LoggedEvent,
};
pub use health::{
    CheckKind, CheckResult, CheckView, HealthCheckConfig, HealthRegistry, HealthReport,
    HealthSettings, HealthStatus,
};
pub use limiter::{
    Admission, Bulkhead, BulkheadConfig, RateLimited, RateLimiter, RateLimiterConfig, Ticket,
};
pub use metrics::{DurationHistogram, MetricsSources};
pub use policy::{
    AttemptOutcome, CallInfo, FallbackInput, Policy, PolicyCall, PolicyParts, Step, Verdict,
};
pub use registry::{Registry, RegistryBounds, default_registry};
pub use retry::{
    BudgetConfig, Decision, GiveUpReason, Jitter, RetryBudget, RetryConfig, RetryPolicy, RetryState,
};
pub use rng::SplitMix64;
pub use slo::{Recommendation, Slo, SloConfig, SloStatus};
