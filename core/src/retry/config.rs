//! Retry configuration: defaults and ranges of contract section 1, parsing in both spellings.

use std::time::Duration;

use serde_json::Value;

use super::budget::BudgetConfig;
use crate::category::{Category, CategorySet};
use crate::config::{ConfigError, ConfigErrors, IntRange, ObjectReader, Spelling, fmt_ms};

crate::names::named_enum! {
    /// How the backoff is randomised.
    pub enum Jitter {
        None => "none",
        Full => "full",
        Equal => "equal",
        Decorrelated => "decorrelated",
        Proportional => "proportional",
    }
}

/// Categories retried by default: the transient ones.
pub const DEFAULT_RETRY_ON: CategorySet = CategorySet::of(&[
    Category::Network,
    Category::Timeout,
    Category::RateLimited,
    Category::Server,
    Category::Database,
    Category::ExternalApi,
]);

/// A retry policy's configuration. `Default` gives the contract's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Total attempts, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub multiplier: f64,
    pub jitter: Jitter,
    /// The spread of `proportional` jitter.
    pub jitter_factor: f64,
    /// Give up rather than retry past this much time since the first attempt.
    pub max_elapsed: Option<Duration>,
    pub retry_on: CategorySet,
    /// A server asking to wait longer than this ends the retries.
    pub max_retry_after: Duration,
    /// `false`: retry only failures where the request was never sent.
    pub idempotent: bool,
    pub seed: Option<u64>,
    pub budget: Option<BudgetConfig>,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(8),
            multiplier: 2.0,
            jitter: Jitter::Full,
            jitter_factor: 0.15,
            max_elapsed: None,
            retry_on: DEFAULT_RETRY_ON,
            max_retry_after: Duration::from_secs(60),
            idempotent: true,
            seed: None,
            budget: None,
        }
    }
}

pub const MAX_ATTEMPTS: IntRange = IntRange { min: 1, max: 100 };
const JITTERS: &str = "one of none, full, equal, decorrelated, proportional";

impl RetryConfig {
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        self.validate_spelled(&Spelling::default())
    }

    pub fn validate_spelled(&self, sp: &Spelling) -> Result<(), ConfigErrors> {
        let mut errs = Vec::new();
        if !MAX_ATTEMPTS.contains(self.max_attempts as u64) {
            errs.push(sp.error(
                "max_attempts",
                || self.max_attempts.to_string(),
                &MAX_ATTEMPTS.allowed(),
            ));
        }
        if self.max_delay < self.base_delay {
            errs.push(sp.error(
                "max_delay",
                || fmt_ms(self.max_delay),
                &format!(">= base_delay ({} ms)", fmt_ms(self.base_delay)),
            ));
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            errs.push(sp.error(
                "multiplier",
                || self.multiplier.to_string(),
                "a number >= 1",
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter_factor) {
            errs.push(sp.error(
                "jitter_factor",
                || self.jitter_factor.to_string(),
                "a number in [0, 1]",
            ));
        }
        if self.max_elapsed.is_some_and(|d| d.is_zero()) {
            errs.push(sp.error("max_elapsed", || "0".into(), "a duration > 0"));
        }
        if let Some(b) = &self.budget
            && let Err(ConfigErrors(e)) = b.validate()
        {
            errs.extend(e);
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errs))
        }
    }

    /// Parses a retry section of a config document, layered over `base`.
    pub fn from_json_over(base: &RetryConfig, value: &Value) -> Result<RetryConfig, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(ConfigError::new("(retry config)", value.to_string(), "an object").into());
        };
        let mut cfg = base.clone();
        let mut r = ObjectReader::new(map, "");
        if let Some(v) = r.uint(
            "max_attempts",
            &["max_attempts", "maxAttempts"],
            MAX_ATTEMPTS,
        ) {
            cfg.max_attempts = u32::try_from(v).unwrap_or(u32::MAX);
        }
        let ms = "a whole number of ms >= 0";
        if let Some(d) = r.millis("base_delay", &["base_delay_ms", "baseDelay"], ms) {
            cfg.base_delay = d;
        }
        if let Some(d) = r.millis("max_delay", &["max_delay_ms", "maxDelay"], ms) {
            cfg.max_delay = d;
        }
        if let Some(m) = r.number("multiplier", &["multiplier"], "a number >= 1", |_| 1.0) {
            cfg.multiplier = m;
        }
        if let Some(j) = r.string("jitter", &["jitter"], JITTERS) {
            match j.parse() {
                Ok(j) => cfg.jitter = j,
                Err(()) => r
                    .errors
                    .push(ConfigError::new("jitter", format!("\"{j}\""), JITTERS)),
            }
        }
        if let Some(f) = r.number(
            "jitter_factor",
            &["jitter_factor", "jitterFactor"],
            "a number in [0, 1]",
            |_| 1.0,
        ) {
            cfg.jitter_factor = f;
        }
        if let Some(d) = r.millis(
            "max_elapsed",
            &["max_elapsed_ms", "maxElapsed"],
            "a duration > 0",
        ) {
            cfg.max_elapsed = Some(d);
        }
        if let Some(d) = r.millis(
            "max_retry_after",
            &["max_retry_after_ms", "maxRetryAfter"],
            ms,
        ) {
            cfg.max_retry_after = d;
        }
        if let Some(b) = r.boolean("idempotent", &["idempotent"]) {
            cfg.idempotent = b;
        }
        if let Some(s) = r.uint(
            "seed",
            &["seed"],
            IntRange {
                min: 0,
                max: u64::MAX,
            },
        ) {
            cfg.seed = Some(s);
        }
        let categories = "a list of categories (network, timeout, rate_limited, server, database, \
                          external_api, auth, client, cancelled, unknown)";
        if let Some(list) = r.strings("retry_on", &["retry_on", "retryOn"], categories) {
            let mut set = CategorySet::EMPTY;
            for name in &list {
                match name.parse::<Category>() {
                    Ok(c) => set.insert(c),
                    Err(()) => r.errors.push(ConfigError::new(
                        "retry_on",
                        format!("\"{name}\""),
                        categories,
                    )),
                }
            }
            cfg.retry_on = set;
        }
        let mut nested = Vec::new();
        if let Some((key, b)) = r.object(&["budget"]) {
            let mut br = ObjectReader::new(b, &key);
            let mut budget = cfg.budget.unwrap_or_default();
            if let Some(x) = br.number("budget.ratio", &["ratio"], "a number in [0, 1000]", |_| 1.0)
            {
                budget.ratio = x;
            }
            let per_s = IntRange {
                min: 0,
                max: 1_000_000,
            };
            if let Some(x) = br.uint(
                "budget.min_per_second",
                &["min_per_second", "minPerSecond"],
                per_s,
            ) {
                budget.min_per_second = u32::try_from(x).unwrap_or(u32::MAX);
            }
            if let Some(d) = br.millis(
                "budget.ttl",
                &["ttl_ms", "ttl"],
                "a duration >= 10 ms and <= 1 day",
            ) {
                budget.ttl = d;
            }
            let (errs, budget_spelling) =
                br.finish(&["ratio", "min_per_second", "minPerSecond", "ttl_ms", "ttl"]);
            let clean = errs.is_empty();
            nested.extend(errs);
            if clean && let Err(ConfigErrors(e)) = budget.validate_spelled(&budget_spelling) {
                nested.extend(e);
            }
            cfg.budget = Some(budget);
        }
        let known = [
            "max_attempts",
            "maxAttempts",
            "base_delay_ms",
            "baseDelay",
            "max_delay_ms",
            "maxDelay",
            "multiplier",
            "jitter",
            "jitter_factor",
            "jitterFactor",
            "max_elapsed_ms",
            "maxElapsed",
            "max_retry_after_ms",
            "maxRetryAfter",
            "idempotent",
            "seed",
            "retry_on",
            "retryOn",
            "budget",
        ];
        let (mut errors, spelling) = r.finish(&known);
        errors.extend(nested);
        if let Err(ConfigErrors(more)) = cfg.validate_spelled(&spelling) {
            for e in more {
                let same_budget =
                    |x: &ConfigError| x.key.starts_with("budget.") && e.key.starts_with("budget.");
                if !errors.iter().any(|x| x.key == e.key || same_budget(x)) {
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    pub fn from_json(value: &Value) -> Result<RetryConfig, ConfigErrors> {
        Self::from_json_over(&RetryConfig::default(), value)
    }
}
