//! The breaker's configuration: defaults, ranges (contract section 1) and parsing from a config
//! document in either spelling (snake_case with `_ms`, or the seeds' camelCase in ms).

use std::time::Duration;

use serde_json::{Map, Value};

use crate::category::{CategorySet, DEFAULT_IGNORED};
use crate::config::{ConfigError, ConfigErrors, IntRange, ObjectReader, Spelling, fmt_ms};

/// Which sliding window the rate triggers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowConfig {
    /// The last `size` calls.
    Count { size: u32 },
    /// The calls of the last `duration`, in `buckets` buckets.
    Time { duration: Duration, buckets: u32 },
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig::Time {
            duration: Duration::from_secs(60),
            buckets: 10,
        }
    }
}

/// Longer open periods while a dependency keeps failing its probes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecoveryBackoff {
    pub multiplier: f64,
    pub max: Duration,
}

/// A circuit breaker's configuration. `Default` gives the contract's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit; 0 turns this trigger off.
    pub failure_threshold: u32,
    /// Open when the window's failure rate is at least this.
    pub failure_rate_threshold: f64,
    /// Calls in the window before the rate triggers are evaluated.
    pub minimum_calls: u32,
    pub window: WindowConfig,
    /// A call lasting at least this is slow; `None` turns slow detection off.
    pub slow_call_duration: Option<Duration>,
    pub slow_call_rate_threshold: f64,
    /// Time open before a probe is allowed.
    pub recovery_timeout: Duration,
    pub recovery_backoff: Option<RecoveryBackoff>,
    /// Probes in flight at once while half-open.
    pub half_open_max_calls: u32,
    /// Consecutive probe successes that close the circuit.
    pub success_threshold: u32,
    /// Half-open that has not closed within this reopens.
    pub max_half_open: Option<Duration>,
    /// Failure categories that count as neither success nor failure.
    pub ignored_categories: CategorySet,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            failure_rate_threshold: 0.5,
            minimum_calls: 10,
            window: WindowConfig::default(),
            slow_call_duration: None,
            slow_call_rate_threshold: 1.0,
            recovery_timeout: Duration::from_secs(60),
            recovery_backoff: None,
            half_open_max_calls: 3,
            success_threshold: 2,
            max_half_open: None,
            ignored_categories: DEFAULT_IGNORED,
        }
    }
}

pub const FAILURE_THRESHOLD: IntRange = IntRange {
    min: 0,
    max: 1_000_000,
};
pub const MINIMUM_CALLS: IntRange = IntRange {
    min: 1,
    max: 1_000_000,
};
pub const COUNT_WINDOW_SIZE: IntRange = IntRange {
    min: 1,
    max: 100_000,
};
pub const TIME_WINDOW_BUCKETS: IntRange = IntRange { min: 1, max: 1000 };
pub const HALF_OPEN_MAX_CALLS: IntRange = IntRange { min: 1, max: 1000 };
pub const SUCCESS_THRESHOLD: IntRange = IntRange { min: 1, max: 1000 };
pub const MAX_RECOVERY_TIMEOUT: Duration = Duration::from_secs(86_400);
const RATE: &str = "a number in (0, 1]";
const POSITIVE: &str = "a duration > 0";
const RECOVERY: &str = "a duration > 0 and <= 1 day (86400000 ms)";
const MULTIPLIER: &str = "a number >= 1";

fn in_rate(x: f64) -> bool {
    x > 0.0 && x <= 1.0
}

impl BreakerConfig {
    /// The minimum_calls the rate triggers use: capped at a count window's size.
    pub fn effective_minimum_calls(&self) -> u64 {
        match self.window {
            WindowConfig::Count { size } => self.minimum_calls.min(size) as u64,
            WindowConfig::Time { .. } => self.minimum_calls as u64,
        }
    }

    /// Checks every range, naming fields canonically.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        self.validate_spelled(&Spelling::default())
    }

    /// Checks every range; errors name each field as `spelling` says the caller wrote it.
    pub fn validate_spelled(&self, sp: &Spelling) -> Result<(), ConfigErrors> {
        let mut errs = Vec::new();
        let mut int = |field, v: u64, r: IntRange| {
            if !r.contains(v) {
                errs.push(sp.error(field, || v.to_string(), &r.allowed()));
            }
        };
        int(
            "failure_threshold",
            self.failure_threshold as u64,
            FAILURE_THRESHOLD,
        );
        int("minimum_calls", self.minimum_calls as u64, MINIMUM_CALLS);
        int(
            "half_open_max_calls",
            self.half_open_max_calls as u64,
            HALF_OPEN_MAX_CALLS,
        );
        int(
            "success_threshold",
            self.success_threshold as u64,
            SUCCESS_THRESHOLD,
        );
        match self.window {
            WindowConfig::Count { size } => int("window.size", size as u64, COUNT_WINDOW_SIZE),
            WindowConfig::Time { duration, buckets } => {
                int("window.buckets", buckets as u64, TIME_WINDOW_BUCKETS);
                let ms = duration.as_millis();
                let whole = duration.subsec_nanos() % 1_000_000 == 0;
                if buckets > 0 && (ms < buckets as u128 || ms % buckets as u128 != 0 || !whole) {
                    errs.push(sp.error(
                        "window.duration",
                        || fmt_ms(duration),
                        &format!("whole ms, >= buckets ({buckets}) and a multiple of it"),
                    ));
                }
            }
        }
        let mut rate = |field, v: f64| {
            if !in_rate(v) {
                let mut e = sp.error(field, || v.to_string(), RATE);
                if e.key.ends_with("errorThresholdPercentage") {
                    e.allowed = "a percentage in (0, 100]".into();
                }
                errs.push(e);
            }
        };
        rate("failure_rate_threshold", self.failure_rate_threshold);
        rate("slow_call_rate_threshold", self.slow_call_rate_threshold);
        if self.slow_call_duration.is_some_and(|d| d.is_zero()) {
            errs.push(sp.error("slow_call_duration", || "0".into(), POSITIVE));
        }
        if self.max_half_open.is_some_and(|d| d.is_zero()) {
            errs.push(sp.error("max_half_open", || "0".into(), POSITIVE));
        }
        let rt = self.recovery_timeout;
        if rt.is_zero() || rt > MAX_RECOVERY_TIMEOUT {
            errs.push(sp.error("recovery_timeout", || fmt_ms(rt), RECOVERY));
        }
        if let Some(b) = self.recovery_backoff {
            if !(b.multiplier >= 1.0 && b.multiplier.is_finite()) {
                errs.push(sp.error(
                    "recovery_backoff.multiplier",
                    || b.multiplier.to_string(),
                    MULTIPLIER,
                ));
            }
            if b.max < rt {
                errs.push(sp.error(
                    "recovery_backoff.max",
                    || fmt_ms(b.max),
                    &format!(">= recovery_timeout ({} ms)", fmt_ms(rt)),
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errs))
        }
    }

    /// Parses a breaker section of a config document (a JSON object), layered over `base`.
    /// Accepts both spellings and the seeds' aliases; every problem is reported.
    pub fn from_json_over(
        base: &BreakerConfig,
        value: &Value,
    ) -> Result<BreakerConfig, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(
                ConfigError::new("(breaker config)", value.to_string(), "an object").into(),
            );
        };
        let (cfg, spelling, mut errors) = parse_fields(base, map);
        if let Err(ConfigErrors(more)) = cfg.validate_spelled(&spelling) {
            errors.extend(more);
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    pub fn from_json(value: &Value) -> Result<BreakerConfig, ConfigErrors> {
        Self::from_json_over(&BreakerConfig::default(), value)
    }
}

const KNOWN_KEYS: &[&str] = &[
    "failure_threshold",
    "failureThreshold",
    "failure_rate_threshold",
    "failureRateThreshold",
    "errorThresholdPercentage",
    "minimum_calls",
    "minimumCalls",
    "volumeThreshold",
    "window",
    "monitoringPeriod",
    "monitoringWindowMs",
    "slow_call_duration_ms",
    "slowCallDuration",
    "slow_call_rate_threshold",
    "slowCallRateThreshold",
    "recovery_timeout_ms",
    "recoveryTimeout",
    "recoveryTimeoutMs",
    "timeout",
    "recovery_backoff",
    "recoveryBackoff",
    "half_open_max_calls",
    "halfOpenMaxCalls",
    "success_threshold",
    "successThreshold",
    "max_half_open_ms",
    "maxHalfOpen",
];

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn parse_fields(
    base: &BreakerConfig,
    map: &Map<String, Value>,
) -> (BreakerConfig, Spelling, Vec<ConfigError>) {
    let mut cfg = base.clone();
    let mut r = ObjectReader::new(map, "");
    if let Some(v) = r.uint(
        "failure_threshold",
        &["failure_threshold", "failureThreshold"],
        FAILURE_THRESHOLD,
    ) {
        cfg.failure_threshold = clamp_u32(v);
    }
    let percent = |name: &str| {
        if name == "errorThresholdPercentage" {
            100.0
        } else {
            1.0
        }
    };
    if let Some(v) = r.number(
        "failure_rate_threshold",
        &[
            "failure_rate_threshold",
            "failureRateThreshold",
            "errorThresholdPercentage",
        ],
        RATE,
        percent,
    ) {
        cfg.failure_rate_threshold = v;
    }
    if let Some(v) = r.uint(
        "minimum_calls",
        &["minimum_calls", "minimumCalls", "volumeThreshold"],
        MINIMUM_CALLS,
    ) {
        cfg.minimum_calls = clamp_u32(v);
    }
    if let Some(d) = r.millis(
        "slow_call_duration",
        &["slow_call_duration_ms", "slowCallDuration"],
        POSITIVE,
    ) {
        cfg.slow_call_duration = Some(d);
    }
    if let Some(v) = r.number(
        "slow_call_rate_threshold",
        &["slow_call_rate_threshold", "slowCallRateThreshold"],
        RATE,
        |_| 1.0,
    ) {
        cfg.slow_call_rate_threshold = v;
    }
    if let Some(d) = r.millis(
        "recovery_timeout",
        &[
            "recovery_timeout_ms",
            "recoveryTimeout",
            "recoveryTimeoutMs",
            "timeout",
        ],
        RECOVERY,
    ) {
        cfg.recovery_timeout = d;
    }
    if let Some(v) = r.uint(
        "half_open_max_calls",
        &["half_open_max_calls", "halfOpenMaxCalls"],
        HALF_OPEN_MAX_CALLS,
    ) {
        cfg.half_open_max_calls = clamp_u32(v);
    }
    if let Some(v) = r.uint(
        "success_threshold",
        &["success_threshold", "successThreshold"],
        SUCCESS_THRESHOLD,
    ) {
        cfg.success_threshold = clamp_u32(v);
    }
    if let Some(d) = r.millis(
        "max_half_open",
        &["max_half_open_ms", "maxHalfOpen"],
        POSITIVE,
    ) {
        cfg.max_half_open = Some(d);
    }

    let mut nested_errors = Vec::new();
    let mut spelling_extra = Vec::new();
    let seed_key = ["monitoringPeriod", "monitoringWindowMs"]
        .into_iter()
        .find(|k| map.contains_key(*k))
        .unwrap_or("monitoringPeriod");
    let seed_window = r.millis(
        "window.duration",
        &["monitoringPeriod", "monitoringWindowMs"],
        "a duration in ms",
    );
    if let Some((key, w)) = r.object(&["window"]) {
        match parse_window(&key, w) {
            Ok((wc, sp)) => {
                match (seed_window, wc) {
                    (Some(d), WindowConfig::Time { duration, .. }) if d != duration => {
                        nested_errors.push(ConfigError::new(
                            seed_key,
                            fmt_ms(d),
                            format!("the same value as {key}.duration_ms (they are aliases)"),
                        ));
                    }
                    (Some(d), WindowConfig::Count { .. }) => {
                        nested_errors.push(ConfigError::new(
                            seed_key,
                            fmt_ms(d),
                            "absent: it sets a time window's duration, and window is a count window",
                        ));
                    }
                    _ => {}
                }
                cfg.window = wc;
                spelling_extra = sp;
            }
            Err(e) => nested_errors.extend(e),
        }
    } else if let Some(d) = seed_window {
        let buckets = match cfg.window {
            WindowConfig::Time { buckets, .. } => buckets,
            WindowConfig::Count { .. } => 10,
        };
        cfg.window = WindowConfig::Time {
            duration: d,
            buckets,
        };
    }
    if let Some((key, b)) = r.object(&["recovery_backoff", "recoveryBackoff"]) {
        let mut br = ObjectReader::new(b, &key);
        let multiplier = br.number(
            "recovery_backoff.multiplier",
            &["multiplier"],
            MULTIPLIER,
            |_| 1.0,
        );
        let max = br.millis(
            "recovery_backoff.max",
            &["max_ms", "max"],
            ">= recovery_timeout",
        );
        let (errs, sp) = br.finish(&["multiplier", "max_ms", "max"]);
        nested_errors.extend(errs);
        spelling_extra.extend(sp_entries(
            &sp,
            &["recovery_backoff.multiplier", "recovery_backoff.max"],
        ));
        match (multiplier, max) {
            (Some(multiplier), Some(max)) => {
                cfg.recovery_backoff = Some(RecoveryBackoff { multiplier, max });
            }
            (m, _) => {
                let (part, allowed) = if m.is_none() {
                    ("multiplier", MULTIPLIER)
                } else {
                    ("max_ms", ">= recovery_timeout")
                };
                if nested_errors.is_empty() {
                    nested_errors.push(ConfigError::new(
                        format!("{key}.{part}"),
                        "(missing)",
                        allowed,
                    ));
                }
            }
        }
    }
    let (mut errors, mut spelling) = r.finish(KNOWN_KEYS);
    errors.extend(nested_errors);
    for (field, key, value) in spelling_extra {
        spelling.set(field, key, value);
    }
    (cfg, spelling, errors)
}

type SpellingEntries = Vec<(&'static str, String, String)>;

fn sp_entries(sp: &Spelling, fields: &[&'static str]) -> SpellingEntries {
    fields
        .iter()
        .filter_map(|f| {
            let e = sp.error(f, String::new, "");
            (e.key != *f).then_some((*f, e.key, e.value))
        })
        .collect()
}

fn parse_window(
    key: &str,
    w: &Map<String, Value>,
) -> Result<(WindowConfig, SpellingEntries), Vec<ConfigError>> {
    let mut r = ObjectReader::new(w, key);
    let kind = r.string("window.type", &["type"], "\"count\" or \"time\"");
    let result = match kind.as_deref() {
        Some("count") => {
            let size = r
                .uint("window.size", &["size"], COUNT_WINDOW_SIZE)
                .unwrap_or(100);
            Some(WindowConfig::Count {
                size: clamp_u32(size),
            })
        }
        Some("time") | None => {
            let duration = r
                .millis(
                    "window.duration",
                    &["duration_ms", "duration"],
                    "a duration in ms",
                )
                .unwrap_or(Duration::from_secs(60));
            let buckets = r
                .uint("window.buckets", &["buckets"], TIME_WINDOW_BUCKETS)
                .unwrap_or(10);
            Some(WindowConfig::Time {
                duration,
                buckets: clamp_u32(buckets),
            })
        }
        Some(other) => {
            r.errors.push(ConfigError::new(
                format!("{key}.type"),
                format!("\"{other}\""),
                "\"count\" or \"time\"",
            ));
            None
        }
    };
    let (errors, sp) = r.finish(&["type", "size", "duration_ms", "duration", "buckets"]);
    if !errors.is_empty() {
        return Err(errors);
    }
    let entries = sp_entries(&sp, &["window.size", "window.duration", "window.buckets"]);
    Ok((result.unwrap_or_default(), entries))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_the_contract() {
        let c = BreakerConfig::default();
        assert_eq!(c.failure_threshold, 5);
        assert_eq!(c.minimum_calls, 10);
        assert_eq!(c.recovery_timeout, Duration::from_secs(60));
        assert_eq!(c.half_open_max_calls, 3);
        assert_eq!(c.success_threshold, 2);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn several_errors_reported_together() {
        let e = BreakerConfig::from_json(&json!({
            "failure_threshold": -1, "recovery_timeout_ms": 0, "window": {"type": "count", "size": 0}
        }))
        .unwrap_err();
        let keys: Vec<_> = e.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            ["failure_threshold", "window.size", "recovery_timeout_ms"]
        );
        assert_eq!(e.0[2].value, "0");
    }

    #[test]
    fn seed_spelling_and_aliases() {
        let c = BreakerConfig::from_json(&json!({
            "failureThreshold": 3, "timeout": 30000, "halfOpenMaxCalls": 1,
            "errorThresholdPercentage": 25, "volumeThreshold": 4, "monitoringPeriod": 10000
        }))
        .unwrap();
        assert_eq!(c.failure_threshold, 3);
        assert_eq!(c.recovery_timeout, Duration::from_secs(30));
        assert_eq!(c.failure_rate_threshold, 0.25);
        assert_eq!(c.minimum_calls, 4);
        assert_eq!(
            c.window,
            WindowConfig::Time {
                duration: Duration::from_secs(10),
                buckets: 10
            }
        );
        let e = BreakerConfig::from_json(&json!({"minimum_calls": 4, "volumeThreshold": 5}))
            .unwrap_err();
        assert_eq!(e.first().key, "volumeThreshold");
    }

    #[test]
    fn window_duration_must_divide_into_buckets() {
        let e = BreakerConfig::from_json(
            &json!({"window": {"type": "time", "duration_ms": 1001, "buckets": 10}}),
        )
        .unwrap_err();
        assert_eq!(e.first().key, "window.duration_ms");
        assert_eq!(e.first().value, "1001");
    }
}
