//! Every configuration key, as data: its name in each language, its config-file spellings, unit,
//! default, allowed range and meaning (contract section 1). `docs/configuration.md` is rendered
//! from these tables by `core/tests/config_docs.rs`, which also parses every file spelling, every
//! default and every boundary value listed here with the real parsers, so the tables cannot drift
//! from the code.
//!
//! The `*_values` functions give a parsed config back in canonical file spelling (snake_case,
//! durations as integer ms with an `_ms` suffix, `null` for "none"); the conformance runners and
//! the drift test compare against them.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::breaker::{BreakerConfig, WindowConfig};
use crate::document::MonitorConfig;
use crate::limiter::{BulkheadConfig, RateLimiterConfig};
use crate::retry::{BudgetConfig, RetryConfig};

/// The component a key configures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Breaker,
    Retry,
    Budget,
    RateLimiter,
    Bulkhead,
    Policy,
    Monitoring,
    Registry,
}

impl Component {
    pub const ALL: [Component; 8] = [
        Component::Breaker,
        Component::Retry,
        Component::Budget,
        Component::RateLimiter,
        Component::Bulkhead,
        Component::Policy,
        Component::Monitoring,
        Component::Registry,
    ];

    /// The heading in the reference.
    pub const fn title(self) -> &'static str {
        match self {
            Component::Breaker => "Circuit breaker",
            Component::Retry => "Retry",
            Component::Budget => "Retry budget",
            Component::RateLimiter => "Rate limiter",
            Component::Bulkhead => "Bulkhead",
            Component::Policy => "Policy",
            Component::Monitoring => "Monitoring server",
            Component::Registry => "Registry bounds",
        }
    }

    /// How the component's keys are named in C: setters `bw_<component>_config_set_<key>`
    /// (durations `..._ms`), or fields of an options struct.
    pub const fn c_prefix(self) -> &'static str {
        match self {
            Component::Breaker => "bw_breaker_config_set_",
            Component::Retry | Component::Budget => "bw_retry_config_set_",
            Component::RateLimiter => "bw_rate_limiter_config_set_",
            Component::Bulkhead => "bw_bulkhead_config_set_",
            Component::Policy => "bw_policy_parts.",
            Component::Monitoring => "bw_monitor_config_set_",
            Component::Registry => "bw_registry_options.",
        }
    }

    /// Whether the C binding has this component yet (`bindings-c/include/breakwater.h`); the
    /// others' C names follow the naming rule and are what the binding will use.
    pub const fn in_c_header(self) -> bool {
        !matches!(self, Component::Monitoring)
    }

    /// Where the keys sit in a config document (snake_case spelling), or `None` when the
    /// component is configured in code only.
    pub const fn file_section(self) -> Option<&'static str> {
        match self {
            Component::Breaker => Some("circuit_breakers.defaults"),
            Component::Retry | Component::Budget => Some("retry.defaults"),
            Component::RateLimiter => Some("rate_limiters.defaults"),
            Component::Bulkhead => Some("bulkheads.defaults"),
            Component::Monitoring => Some("monitoring"),
            Component::Policy | Component::Registry => None,
        }
    }
}

/// A language (or the config file) a key is spelled and measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
    Js,
    C,
    File,
}

impl Lang {
    pub const ALL: [Lang; 5] = [Lang::Rust, Lang::Python, Lang::Js, Lang::C, Lang::File];

    pub const fn label(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::Js => "JS",
            Lang::C => "C",
            Lang::File => "file",
        }
    }
}

/// What kind of value a key takes; it decides the unit in each language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Number,
    Duration,
    Bool,
    Text,
    /// One of a fixed set of strings.
    Choice,
    /// A set of error categories.
    Categories,
    Window,
    Backoff,
    Budget,
}

impl Kind {
    /// The type or unit of a value of this kind in `lang`.
    pub const fn unit(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Kind::Duration, Lang::Rust) => "`Duration`",
            (Kind::Duration, Lang::Python) => "s (float)",
            (Kind::Duration, Lang::Js) => "ms",
            (Kind::Duration, Lang::C) => "ms (`uint64_t`)",
            (Kind::Duration, Lang::File) => "ms (integer)",
            (Kind::Integer, _) => "integer",
            (Kind::Number, _) => "number",
            (Kind::Bool, _) => "boolean",
            (Kind::Text | Kind::Choice, _) => "string",
            (Kind::Categories, Lang::Rust) => "`CategorySet`",
            (Kind::Categories, _) => "list of categories",
            (Kind::Window, Lang::Rust) => "`WindowConfig`",
            (Kind::Window, Lang::Python) => "`TimeWindow` / `CountWindow` (s)",
            (Kind::Window, Lang::Js | Lang::File) => "object (ms)",
            (Kind::Window, Lang::C) => "two setters (ms)",
            (Kind::Backoff, Lang::Rust) => "`RecoveryBackoff`",
            (Kind::Backoff, Lang::Python) => "`(multiplier, max)` (s)",
            (Kind::Backoff, Lang::Js | Lang::File) => "object (ms)",
            (Kind::Backoff, Lang::C) => "`double`, `uint64_t` ms",
            (Kind::Budget, Lang::Rust) => "`BudgetConfig`",
            (Kind::Budget, Lang::Python) => "`RetryBudget`",
            (Kind::Budget, Lang::Js | Lang::File) => "object",
            (Kind::Budget, Lang::C) => "`double`, `uint32_t`, `uint64_t` ms",
        }
    }
}

/// One config-file spelling of a key, with a valid example value (JSON text). Every spelling of
/// one key, given its example, must parse to the same config.
#[derive(Debug, Clone, Copy)]
pub struct FileKey {
    /// The key, relative to the component's section (`budget.ttl_ms`).
    pub key: &'static str,
    pub example: &'static str,
    /// What is special about this spelling, if anything.
    pub note: &'static str,
}

const fn fk(key: &'static str, example: &'static str) -> FileKey {
    FileKey {
        key,
        example,
        note: "",
    }
}

const fn fk_note(key: &'static str, example: &'static str, note: &'static str) -> FileKey {
    FileKey { key, example, note }
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    pub component: Component,
    /// The name in Rust and Python (snake_case).
    pub name: &'static str,
    /// The option name in JavaScript (camelCase).
    pub js: &'static str,
    /// The C setter(s), or the options-struct field (`bw_registry_options.max_size`).
    pub c: &'static str,
    /// Config-file spellings; the first is the canonical snake_case one. Empty when the key is
    /// set in code only.
    pub file: &'static [FileKey],
    pub kind: Kind,
    /// The default, for people.
    pub default: &'static str,
    /// The default as JSON in canonical file spelling (`null` for none); checked against the
    /// config types' `Default`. Empty when the key is set in code only.
    pub default_file: &'static str,
    /// What is allowed, for people.
    pub allowed: &'static str,
    /// Values (JSON, for the canonical file spelling) the parser must accept.
    pub accepts: &'static [&'static str],
    /// Values (JSON, for the canonical file spelling) the parser must reject.
    pub rejects: &'static [&'static str],
    pub meaning: &'static str,
}

macro_rules! key {
    ($component:ident, $name:literal, $js:literal, $c:literal, [$($file:expr),* $(,)?], $kind:ident,
     $default:literal, $default_file:literal, $allowed:literal,
     accepts [$($a:literal),* $(,)?], rejects [$($r:literal),* $(,)?], $meaning:literal) => {
        KeyDoc {
            component: Component::$component,
            name: $name,
            js: $js,
            c: $c,
            file: &[$($file),*],
            kind: Kind::$kind,
            default: $default,
            default_file: $default_file,
            allowed: $allowed,
            accepts: &[$($a),*],
            rejects: &[$($r),*],
            meaning: $meaning,
        }
    };
}

/// Every key of every component, in the order of the reference.
#[rustfmt::skip]
pub const KEYS: &[KeyDoc] = &[
    // ---- circuit breaker -------------------------------------------------------------------
    key!(Breaker, "failure_threshold", "failureThreshold",
        "bw_breaker_config_set_failure_threshold",
        [fk("failure_threshold", "3"), fk("failureThreshold", "3")], Integer,
        "5", "5", "0..=1000000 (0 turns this trigger off)",
        accepts ["0", "1000000"], rejects ["-1", "1000001", "2.5", "\"5\""],
        "consecutive failures that open the circuit"),
    key!(Breaker, "failure_rate_threshold", "failureRateThreshold",
        "bw_breaker_config_set_failure_rate_threshold",
        [fk("failure_rate_threshold", "0.25"), fk("failureRateThreshold", "0.25"),
         fk_note("errorThresholdPercentage", "25", "a percentage: 25 means 0.25")], Number,
        "0.5", "0.5", "(0, 1]",
        accepts ["1", "0.001"], rejects ["0", "1.01", "\"half\""],
        "open when the window's failure rate is at least this"),
    key!(Breaker, "minimum_calls", "minimumCalls", "bw_breaker_config_set_minimum_calls",
        [fk("minimum_calls", "4"), fk("minimumCalls", "4"), fk("volumeThreshold", "4")], Integer,
        "10", "10", "1..=1000000",
        accepts ["1", "1000000"], rejects ["0", "1000001"],
        "calls in the window before the rate triggers are evaluated; capped at a count window's \
         size; does not gate failure_threshold"),
    key!(Breaker, "window", "window",
        "bw_breaker_config_set_time_window, bw_breaker_config_set_count_window",
        [fk("window", r#"{"type": "time", "duration_ms": 10000, "buckets": 10}"#),
         fk_note("monitoringPeriod", "10000", "the time window's duration in ms"),
         fk_note("monitoringWindowMs", "10000", "the time window's duration in ms")], Window,
        "time, 60 s, 10 buckets", r#"{"type": "time", "duration_ms": 60000, "buckets": 10}"#,
        "count: size 1..=100000 (default 100); time: buckets 1..=1000, duration a whole number \
         of ms, >= buckets and a multiple of it",
        accepts [r#"{"type": "count", "size": 1}"#, r#"{"type": "count", "size": 100000}"#,
                 r#"{"type": "time", "duration_ms": 1000, "buckets": 1000}"#],
        rejects [r#"{"type": "count", "size": 0}"#, r#"{"type": "count", "size": 100001}"#,
                 r#"{"type": "time", "duration_ms": 1001, "buckets": 10}"#,
                 r#"{"type": "time", "duration_ms": 60000, "buckets": 1001}"#,
                 r#"{"type": "sliding"}"#],
        "the sliding window the rate triggers read"),
    key!(Breaker, "slow_call_duration", "slowCallDuration",
        "bw_breaker_config_set_slow_call_duration_ms",
        [fk("slow_call_duration_ms", "2000"), fk("slowCallDuration", "2000")], Duration,
        "none (slow-call detection off)", "null", "> 0",
        accepts ["1"], rejects ["0", "-5", "1.5"],
        "a call lasting at least this is slow (success or failure)"),
    key!(Breaker, "slow_call_rate_threshold", "slowCallRateThreshold",
        "bw_breaker_config_set_slow_call_rate_threshold",
        [fk("slow_call_rate_threshold", "0.8"), fk("slowCallRateThreshold", "0.8")], Number,
        "1.0", "1.0", "(0, 1]",
        accepts ["1", "0.01"], rejects ["0", "2"],
        "open when the slow-call rate is at least this (only while slow detection is on)"),
    key!(Breaker, "recovery_timeout", "recoveryTimeout",
        "bw_breaker_config_set_recovery_timeout_ms",
        [fk("recovery_timeout_ms", "30000"), fk("recoveryTimeout", "30000"),
         fk("recoveryTimeoutMs", "30000"),
         fk_note("timeout", "30000", "the seeds' name; accepted in config files only")], Duration,
        "60 s", "60000", "> 0 and <= 1 day",
        accepts ["1", "86400000"], rejects ["0", "86400001"],
        "time open before a probe is allowed"),
    key!(Breaker, "recovery_backoff", "recoveryBackoff", "bw_breaker_config_set_recovery_backoff",
        [fk("recovery_backoff", r#"{"multiplier": 2, "max_ms": 600000}"#),
         fk("recoveryBackoff", r#"{"multiplier": 2, "max": 600000}"#)], Backoff,
        "none", "null",
        "multiplier >= 1; max >= recovery_timeout (keys `multiplier`, `max_ms` or `max`)",
        accepts [r#"{"multiplier": 1, "max_ms": 60000}"#],
        rejects [r#"{"multiplier": 0.5, "max_ms": 600000}"#, r#"{"multiplier": 2, "max_ms": 1000}"#,
                 r#"{"multiplier": 2}"#],
        "open time = recovery_timeout x multiplier^(opens in a row - 1), capped at max"),
    key!(Breaker, "half_open_max_calls", "halfOpenMaxCalls",
        "bw_breaker_config_set_half_open_max_calls",
        [fk("half_open_max_calls", "1"), fk("halfOpenMaxCalls", "1")], Integer,
        "3", "3", "1..=1000",
        accepts ["1", "1000"], rejects ["0", "1001"],
        "probes in flight at once while half-open"),
    key!(Breaker, "success_threshold", "successThreshold",
        "bw_breaker_config_set_success_threshold",
        [fk("success_threshold", "1"), fk("successThreshold", "1")], Integer,
        "2", "2", "1..=1000",
        accepts ["1", "1000"], rejects ["0", "1001"],
        "consecutive probe successes that close the circuit"),
    key!(Breaker, "max_half_open", "maxHalfOpen", "bw_breaker_config_set_max_half_open_ms",
        [fk("max_half_open_ms", "5000"), fk("maxHalfOpen", "5000")], Duration,
        "none", "null", "> 0",
        accepts ["1"], rejects ["0"],
        "a half-open state that has not closed within this reopens"),
    // ---- retry -----------------------------------------------------------------------------
    key!(Retry, "max_attempts", "maxAttempts", "bw_retry_config_set_max_attempts",
        [fk("max_attempts", "5"), fk("maxAttempts", "5")], Integer,
        "3", "3", "1..=100",
        accepts ["1", "100"], rejects ["0", "101"],
        "total attempts, the first included"),
    key!(Retry, "base_delay", "baseDelay", "bw_retry_config_set_base_delay_ms",
        [fk("base_delay_ms", "100"), fk("baseDelay", "100")], Duration,
        "200 ms", "200", ">= 0 (and <= max_delay)",
        accepts ["0", "8000"], rejects ["-1", "8001"],
        "the backoff before the first retry, before jitter"),
    key!(Retry, "max_delay", "maxDelay", "bw_retry_config_set_max_delay_ms",
        [fk("max_delay_ms", "4000"), fk("maxDelay", "4000")], Duration,
        "8 s", "8000", ">= base_delay",
        accepts ["200"], rejects ["199"],
        "the cap of the computed backoff (a Retry-After may exceed it)"),
    key!(Retry, "multiplier", "multiplier", "bw_retry_config_set_multiplier",
        [fk("multiplier", "3")], Number,
        "2.0", "2.0", ">= 1",
        accepts ["1"], rejects ["0.5"],
        "growth of the backoff per retry"),
    key!(Retry, "jitter", "jitter", "bw_retry_config_set_jitter",
        [fk("jitter", "\"equal\"")], Choice,
        "full", "\"full\"", "none, full, equal, decorrelated, proportional",
        accepts ["\"none\"", "\"full\"", "\"equal\"", "\"decorrelated\"", "\"proportional\""],
        rejects ["\"random\"", "1"],
        "how the backoff is randomised"),
    key!(Retry, "jitter_factor", "jitterFactor", "bw_retry_config_set_jitter_factor",
        [fk("jitter_factor", "0.3"), fk("jitterFactor", "0.3")], Number,
        "0.15", "0.15", "[0, 1]",
        accepts ["0", "1"], rejects ["-0.1", "1.5"],
        "the spread of `proportional` jitter"),
    key!(Retry, "max_elapsed", "maxElapsed", "bw_retry_config_set_max_elapsed_ms",
        [fk("max_elapsed_ms", "30000"), fk("maxElapsed", "30000")], Duration,
        "none", "null", "> 0",
        accepts ["1"], rejects ["0"],
        "give up rather than retry past this much time since the first attempt"),
    key!(Retry, "retry_on", "retryOn", "bw_retry_config_set_retry_on",
        [fk("retry_on", r#"["server", "timeout"]"#), fk("retryOn", r#"["server", "timeout"]"#)],
        Categories,
        "network, timeout, rate_limited, server, database, external_api",
        r#"["database", "external_api", "network", "rate_limited", "server", "timeout"]"#,
        "a list of categories: network, timeout, rate_limited, server, database, external_api, \
         auth, client, cancelled, unknown",
        accepts ["[]", r#"["unknown", "auth"]"#], rejects [r#"["nope"]"#, "\"server\""],
        "the failure categories that are retried"),
    key!(Retry, "max_retry_after", "maxRetryAfter", "bw_retry_config_set_max_retry_after_ms",
        [fk("max_retry_after_ms", "120000"), fk("maxRetryAfter", "120000")], Duration,
        "60 s", "60000", ">= 0",
        accepts ["0"], rejects ["-1"],
        "a server asking to wait longer than this ends the retries (`retry_after_exceeds_max`)"),
    key!(Retry, "idempotent", "idempotent", "bw_retry_config_set_idempotent",
        [fk("idempotent", "false")], Bool,
        "true", "true", "true or false",
        accepts ["true"], rejects ["\"yes\""],
        "false: retry only failures where the request was never sent"),
    key!(Retry, "seed", "seed", "bw_retry_config_set_seed",
        [fk("seed", "42")], Integer,
        "none (the binding draws one from the OS)", "null", "0..=18446744073709551615",
        accepts ["0", "18446744073709551615"], rejects ["-1", "\"42\""],
        "seeds the policy's SplitMix64 stream, for reproducible jitter"),
    key!(Retry, "budget", "budget", "bw_retry_config_set_budget",
        [fk("budget", r#"{"ratio": 0.1}"#)], Budget,
        "none", "null", "an object with the retry budget keys below",
        accepts ["{}"], rejects [r#"{"ratio": -1}"#, r#"{"ratoi": 1}"#],
        "caps retries at a share of first attempts"),
    // ---- retry budget ----------------------------------------------------------------------
    key!(Budget, "ratio", "ratio", "bw_retry_config_set_budget",
        [fk("budget.ratio", "0.1")], Number,
        "0.2", "0.2", "[0, 1000]",
        accepts ["0", "1000"], rejects ["-0.1", "1000.5"],
        "retries allowed per first attempt"),
    key!(Budget, "min_per_second", "minPerSecond", "bw_retry_config_set_budget",
        [fk("budget.min_per_second", "5"), fk("budget.minPerSecond", "5")], Integer,
        "10", "10", "0..=1000000",
        accepts ["0", "1000000"], rejects ["1000001", "-1"],
        "retries per second always allowed, even with no first attempts"),
    key!(Budget, "ttl", "ttl", "bw_retry_config_set_budget",
        [fk("budget.ttl_ms", "5000"), fk("budget.ttl", "5000")], Duration,
        "10 s", "10000", ">= 10 ms and <= 1 day",
        accepts ["10", "86400000"], rejects ["9", "86400001"],
        "how long a first attempt (and a retry) counts"),
    // ---- rate limiter ----------------------------------------------------------------------
    key!(RateLimiter, "max_requests", "maxRequests", "bw_rate_limiter_config_set_max_requests",
        [fk("max_requests", "50"), fk("maxRequests", "50")], Integer,
        "100", "100", "1..=1000000000",
        accepts ["1", "1000000000"], rejects ["0", "1000000001"],
        "requests allowed per time_window"),
    key!(RateLimiter, "time_window", "timeWindow", "bw_rate_limiter_config_set_time_window_ms",
        [fk("time_window_ms", "2000"), fk("timeWindow", "2000")], Duration,
        "1 s", "1000", "> 0 and <= 1 day",
        accepts ["1", "86400000"], rejects ["0", "86400001"],
        "the period max_requests refill over"),
    key!(RateLimiter, "burst_limit", "burstLimit", "bw_rate_limiter_config_set_burst_limit",
        [fk("burst_limit", "10"), fk("burstLimit", "10")], Integer,
        "max_requests", "null", "1..=1000000000",
        accepts ["1", "1000000000"], rejects ["0"],
        "the bucket's capacity: requests allowed at once after a quiet spell"),
    // ---- bulkhead --------------------------------------------------------------------------
    key!(Bulkhead, "max_concurrent", "maxConcurrent", "bw_bulkhead_config_set_max_concurrent",
        [fk("max_concurrent", "5"), fk("maxConcurrent", "5")], Integer,
        "25", "25", "1..=1000000",
        accepts ["1", "1000000"], rejects ["0", "1000001"],
        "calls in flight at once"),
    key!(Bulkhead, "max_queue", "maxQueue", "bw_bulkhead_config_set_max_queue",
        [fk("max_queue", "10"), fk("maxQueue", "10")], Integer,
        "0", "0", "0..=1000000",
        accepts ["0", "1000000"], rejects ["1000001", "-1"],
        "callers that may wait for a slot (FIFO)"),
    key!(Bulkhead, "max_wait", "maxWait", "bw_bulkhead_config_set_max_wait_ms",
        [fk("max_wait_ms", "500"), fk("maxWait", "500")], Duration,
        "0", "0", ">= 0",
        accepts ["0"], rejects ["-1"],
        "how long a queued caller may wait for a slot"),
    // ---- policy ----------------------------------------------------------------------------
    key!(Policy, "timeout", "timeout", "bw_policy_parts.timeout_ms",
        [], Duration,
        "none", "", "> 0",
        accepts [], rejects [],
        "per-attempt timeout; a timed-out attempt counts as a `timeout` failure (in a policy, \
         `timeout` is never the recovery timeout)"),
    // ---- monitoring ------------------------------------------------------------------------
    key!(Monitoring, "enabled", "enabled", "bw_monitor_config_set_enabled",
        [fk("enabled", "false")], Bool,
        "true", "true", "true or false",
        accepts ["true"], rejects ["\"no\""],
        "false keeps the monitoring server off"),
    key!(Monitoring, "host", "host", "bw_monitor_config_set_host",
        [fk("host", "\"0.0.0.0\"")], Text,
        "127.0.0.1", "\"127.0.0.1\"", "a host name or address",
        accepts ["\"localhost\""], rejects ["1"],
        "the address the server binds"),
    key!(Monitoring, "port", "port", "bw_monitor_config_set_port",
        [fk("port", "3002")], Integer,
        "3001", "3001", "0..=65535",
        accepts ["0", "65535"], rejects ["65536", "-1"],
        "the server's TCP port"),
    key!(Monitoring, "token", "token", "bw_monitor_config_set_token",
        [fk("token", "\"s3cret\"")], Text,
        "none", "null", "a string",
        accepts ["\"t\""], rejects ["42"],
        "bearer token the server requires for writes (and reads with protect_reads)"),
    key!(Monitoring, "protect_reads", "protectReads", "bw_monitor_config_set_protect_reads",
        [fk("protect_reads", "true"), fk("protectReads", "true")], Bool,
        "false", "false", "true or false",
        accepts ["false"], rejects ["1"],
        "true: reads need the token too"),
    key!(Monitoring, "rate_limit", "rateLimit", "bw_monitor_config_set_rate_limit",
        [fk("rate_limit", "20"), fk("rateLimit", "20")], Integer,
        "none (unlimited)", "null", "1..=1000000",
        accepts ["1", "1000000"], rejects ["-1", "\"fast\""],
        "requests per second per client"),
    key!(Monitoring, "history", "history", "bw_monitor_config_set_history_ms",
        [fk("history_ms", "600000"), fk("history", "600000")], Duration,
        "15 min", "900000", ">= 0",
        accepts ["0"], rejects ["-1"],
        "how much event history the dashboard keeps"),
    // ---- registry bounds -------------------------------------------------------------------
    key!(Registry, "max_size", "maxSize", "bw_registry_options.max_size",
        [], Integer,
        "none (unbounded)", "", ">= 1",
        accepts [], rejects [],
        "components of each kind kept at most; when full, the least recently used one that \
         remembers nothing (a closed breaker, an idle bulkhead) is dropped"),
    key!(Registry, "idle_ttl", "idleTtl", "bw_registry_options.idle_ttl_ms",
        [], Duration,
        "none (never idle)", "", "> 0",
        accepts [], rejects [],
        "a component unused for this long is dropped when the next new name arrives (a breaker \
         only while closed)"),
];

/// One section of a config document.
#[derive(Debug, Clone, Copy)]
pub struct SectionDoc {
    /// Every accepted spelling, snake_case first.
    pub spellings: &'static [&'static str],
    /// An empty but valid value for the section (JSON).
    pub empty: &'static str,
    pub holds: &'static str,
}

/// The sections of a config document.
pub const SECTIONS: &[SectionDoc] = &[
    SectionDoc {
        spellings: &["circuit_breakers", "circuitBreakers"],
        empty: "{}",
        holds: "circuit breakers: `defaults`, per-name overrides, `enabled`",
    },
    SectionDoc {
        spellings: &["retry", "retries"],
        empty: "{}",
        holds: "retry policies (and their `budget`): `defaults`, per-name overrides, `enabled`",
    },
    SectionDoc {
        spellings: &["rate_limiters", "rateLimiters"],
        empty: "{}",
        holds: "rate limiters: `defaults`, per-name overrides, `enabled`",
    },
    SectionDoc {
        spellings: &["bulkheads"],
        empty: "{}",
        holds: "bulkheads: `defaults`, per-name overrides, `enabled`",
    },
    SectionDoc {
        spellings: &["monitoring"],
        empty: "{}",
        holds: "the monitoring server's keys, directly in the section",
    },
    SectionDoc {
        spellings: &["degradation_rules", "degradationRules"],
        empty: "[]",
        holds: "degradation rules; kept as written for the degradation manager",
    },
    SectionDoc {
        spellings: &["degradation"],
        empty: "{}",
        holds: "the degradation manager's settings (`enabled`, `auto_recovery`, `max_history`); \
                kept as written",
    },
    SectionDoc {
        spellings: &["health_checks", "healthChecks"],
        empty: "{}",
        holds: "health checks (`enabled`, `interval`, `timeout` in ms); kept as written",
    },
    SectionDoc {
        spellings: &["slo"],
        empty: "{}",
        holds: "service level objectives; kept as written",
    },
];

/// The unit and a valid example value of each environment variable in
/// [`crate::document::ENV_VARS`] (same names, same order).
pub const ENV_UNITS: &[(&str, &str, &str)] = &[
    ("CIRCUIT_BREAKER_ENABLED", "boolean", "false"),
    ("CIRCUIT_BREAKER_FAILURE_THRESHOLD", "integer", "3"),
    ("CIRCUIT_BREAKER_FAILURE_RATE_THRESHOLD", "number", "0.25"),
    ("CIRCUIT_BREAKER_MINIMUM_CALLS", "integer", "20"),
    ("CIRCUIT_BREAKER_TIMEOUT", "ms", "30000"),
    ("CIRCUIT_BREAKER_RECOVERY_TIMEOUT_MS", "ms", "30000"),
    ("CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS", "integer", "1"),
    ("CIRCUIT_BREAKER_SUCCESS_THRESHOLD", "integer", "1"),
    ("RETRY_MAX_ATTEMPTS", "integer", "5"),
    ("RETRY_BASE_DELAY_MS", "ms", "100"),
    ("RETRY_MAX_DELAY_MS", "ms", "4000"),
    ("RETRY_JITTER", "string", "equal"),
    ("DEGRADATION_ENABLED", "boolean", "false"),
    ("DEGRADATION_AUTO_RECOVERY", "boolean", "false"),
    ("DEGRADATION_MAX_HISTORY", "integer", "500"),
    ("HEALTH_CHECK_ENABLED", "boolean", "false"),
    ("HEALTH_CHECK_INTERVAL", "ms", "10000"),
    ("HEALTH_CHECK_TIMEOUT", "ms", "2000"),
    ("MONITORING_ENABLED", "boolean", "false"),
    ("MONITORING_HOST", "string", "0.0.0.0"),
    ("MONITORING_PORT", "integer", "3002"),
    ("MONITORING_TOKEN", "string", "s3cret"),
];

/// Whole milliseconds as an integer, else fractional.
fn ms(d: Duration) -> Value {
    let nanos = d.as_nanos();
    if nanos.is_multiple_of(1_000_000) {
        Value::from(u64::try_from(nanos / 1_000_000).unwrap_or(u64::MAX))
    } else {
        Value::from(d.as_secs_f64() * 1000.0)
    }
}

fn opt_ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, ms)
}

/// A breaker config in canonical file spelling.
pub fn breaker_values(c: &BreakerConfig) -> Map<String, Value> {
    // Destructured so that a new field fails to compile here until it is documented.
    let BreakerConfig {
        failure_threshold,
        failure_rate_threshold,
        minimum_calls,
        window,
        slow_call_duration,
        slow_call_rate_threshold,
        recovery_timeout,
        recovery_backoff,
        half_open_max_calls,
        success_threshold,
        max_half_open,
        ignored_categories: _, // set in code only
    } = c;
    let window = match *window {
        WindowConfig::Count { size } => json!({"type": "count", "size": size}),
        WindowConfig::Time { duration, buckets } => {
            json!({"type": "time", "duration_ms": ms(duration), "buckets": buckets})
        }
    };
    let backoff = recovery_backoff.map_or(
        Value::Null,
        |b| json!({"multiplier": b.multiplier, "max_ms": ms(b.max)}),
    );
    let mut m = Map::new();
    m.insert("failure_threshold".into(), (*failure_threshold).into());
    m.insert(
        "failure_rate_threshold".into(),
        (*failure_rate_threshold).into(),
    );
    m.insert("minimum_calls".into(), (*minimum_calls).into());
    m.insert("window".into(), window);
    m.insert("slow_call_duration_ms".into(), opt_ms(*slow_call_duration));
    m.insert(
        "slow_call_rate_threshold".into(),
        (*slow_call_rate_threshold).into(),
    );
    m.insert("recovery_timeout_ms".into(), ms(*recovery_timeout));
    m.insert("recovery_backoff".into(), backoff);
    m.insert("half_open_max_calls".into(), (*half_open_max_calls).into());
    m.insert("success_threshold".into(), (*success_threshold).into());
    m.insert("max_half_open_ms".into(), opt_ms(*max_half_open));
    m
}

/// A retry budget config in canonical file spelling.
pub fn budget_values(b: &BudgetConfig) -> Map<String, Value> {
    let BudgetConfig {
        ratio,
        min_per_second,
        ttl,
    } = b;
    let mut m = Map::new();
    m.insert("ratio".into(), (*ratio).into());
    m.insert("min_per_second".into(), (*min_per_second).into());
    m.insert("ttl_ms".into(), ms(*ttl));
    m
}

/// A retry config in canonical file spelling (`retry_on` sorted by name).
pub fn retry_values(c: &RetryConfig) -> Map<String, Value> {
    let RetryConfig {
        max_attempts,
        base_delay,
        max_delay,
        multiplier,
        jitter,
        jitter_factor,
        max_elapsed,
        retry_on,
        max_retry_after,
        idempotent,
        seed,
        budget,
    } = c;
    let mut retry_on: Vec<&str> = retry_on.iter().map(|c| c.as_str()).collect();
    retry_on.sort_unstable();
    let mut m = Map::new();
    m.insert("max_attempts".into(), (*max_attempts).into());
    m.insert("base_delay_ms".into(), ms(*base_delay));
    m.insert("max_delay_ms".into(), ms(*max_delay));
    m.insert("multiplier".into(), (*multiplier).into());
    m.insert("jitter".into(), jitter.as_str().into());
    m.insert("jitter_factor".into(), (*jitter_factor).into());
    m.insert("max_elapsed_ms".into(), opt_ms(*max_elapsed));
    m.insert("retry_on".into(), retry_on.into());
    m.insert("max_retry_after_ms".into(), ms(*max_retry_after));
    m.insert("idempotent".into(), (*idempotent).into());
    m.insert("seed".into(), seed.map_or(Value::Null, Value::from));
    m.insert(
        "budget".into(),
        budget
            .as_ref()
            .map_or(Value::Null, |b| Value::Object(budget_values(b))),
    );
    m
}

/// A rate limiter config in canonical file spelling.
pub fn rate_limiter_values(c: &RateLimiterConfig) -> Map<String, Value> {
    let RateLimiterConfig {
        max_requests,
        time_window,
        burst_limit,
    } = c;
    let mut m = Map::new();
    m.insert("max_requests".into(), (*max_requests).into());
    m.insert("time_window_ms".into(), ms(*time_window));
    m.insert(
        "burst_limit".into(),
        burst_limit.map_or(Value::Null, Value::from),
    );
    m
}

/// A bulkhead config in canonical file spelling.
pub fn bulkhead_values(c: &BulkheadConfig) -> Map<String, Value> {
    let BulkheadConfig {
        max_concurrent,
        max_queue,
        max_wait,
    } = c;
    let mut m = Map::new();
    m.insert("max_concurrent".into(), (*max_concurrent).into());
    m.insert("max_queue".into(), (*max_queue).into());
    m.insert("max_wait_ms".into(), ms(*max_wait));
    m
}

/// The monitoring settings in canonical file spelling.
pub fn monitor_values(c: &MonitorConfig) -> Map<String, Value> {
    let MonitorConfig {
        enabled,
        host,
        port,
        token,
        protect_reads,
        rate_limit,
        history,
    } = c;
    let mut m = Map::new();
    m.insert("enabled".into(), (*enabled).into());
    m.insert("host".into(), host.clone().into());
    m.insert("port".into(), (*port).into());
    m.insert(
        "token".into(),
        token.clone().map_or(Value::Null, Value::from),
    );
    m.insert("protect_reads".into(), (*protect_reads).into());
    m.insert(
        "rate_limit".into(),
        rate_limit.map_or(Value::Null, Value::from),
    );
    m.insert("history_ms".into(), ms(*history));
    m
}
