//! `Retry` and `RetryBudget`: the core's retry policy (decisions only; the JS layer sleeps).

use std::sync::Arc;

use std::time::Duration;

use breakwater_core::classify::Classification;
use breakwater_core::retry::{
    BudgetConfig, Decision, RetryBudget, RetryConfig, RetryPolicy, RetryState,
};
use breakwater_core::{Category, ClockRef, ErrorCode};
use napi_derive::napi;

use crate::breaker::{NativeConfigError, config_errors, invalid, parse_json};
use crate::clock::NativeManualClock;
use crate::status::{Result, error, guard};

pub(crate) fn parse_seed(s: &str) -> Result<u64> {
    s.parse::<u64>()
        .map_err(|_| error(ErrorCode::InvalidArgument, format!("bad seed {s}")))
}

fn retry_config(
    json: &str,
    seed: Option<&str>,
) -> std::result::Result<RetryConfig, Vec<NativeConfigError>> {
    let value = parse_json(json)?;
    let mut cfg = RetryConfig::from_json(&value).map_err(config_errors)?;
    if let Some(s) = seed {
        cfg.seed = Some(parse_seed(s).map_err(|_| {
            vec![NativeConfigError {
                key: "seed".into(),
                value: s.into(),
                allowed: "an integer 0..=18446744073709551615".into(),
                path: "seed".into(),
            }]
        })?);
    }
    Ok(cfg)
}

/// Checks retry options (JSON, config-document spelling; `seed` as a decimal string when it
/// does not fit a JS number) and returns every problem; empty when valid.
#[napi]
pub fn check_retry_config(json: String, seed: Option<String>) -> Vec<NativeConfigError> {
    retry_config(&json, seed.as_deref())
        .err()
        .unwrap_or_default()
}

/// Checks retry-budget options and returns every problem; empty when valid.
#[napi]
pub fn check_budget_config(json: String) -> Vec<NativeConfigError> {
    budget_config(&json).err().unwrap_or_default()
}

fn budget_config(json: &str) -> std::result::Result<BudgetConfig, Vec<NativeConfigError>> {
    let value = parse_json(json)?;
    // The retry parser owns the budget section's spelling; parse it as `{budget: {...}}`.
    let wrapped = serde_json::json!({ "budget": value });
    let cfg = RetryConfig::from_json(&wrapped).map_err(|e| {
        config_errors(e)
            .into_iter()
            .map(|mut e| {
                e.key = e.key.strip_prefix("budget.").unwrap_or(&e.key).to_string();
                e.path = e
                    .path
                    .strip_prefix("budget.")
                    .unwrap_or(&e.path)
                    .to_string();
                e
            })
            .collect::<Vec<_>>()
    })?;
    Ok(cfg.budget.unwrap_or_default())
}

/// A retry budget shared by the retries of many calls (and policies).
#[napi]
pub struct NativeRetryBudget {
    pub(crate) core: Arc<RetryBudget>,
}

#[napi]
impl NativeRetryBudget {
    #[napi(constructor)]
    pub fn new(json: String) -> Result<Self> {
        guard(|| {
            let cfg = budget_config(&json).map_err(invalid)?;
            let core = RetryBudget::new(cfg).map_err(|e| invalid(config_errors(e)))?;
            Ok(Self {
                core: Arc::new(core),
            })
        })
    }

    /// Retry tokens available at `nowMs` on the owner's clock.
    #[napi]
    pub fn balance(&self, now_ms: f64) -> f64 {
        self.core.balance((now_ms.max(0.0) * 1e6) as u64)
    }
}

/// A retry policy: decisions only.
#[napi]
pub struct NativeRetry {
    pub(crate) core: Arc<RetryPolicy>,
    pub(crate) clock: ClockRef,
}

impl NativeRetry {
    pub fn from_core(core: Arc<RetryPolicy>, clock: ClockRef) -> Self {
        Self { core, clock }
    }
}

#[napi]
impl NativeRetry {
    /// `json`: options in config-document spelling; `seed`: an explicit seed as a decimal
    /// string (overrides `json.seed`); `entropy`: the OS-drawn seed used when there is none.
    #[napi(constructor)]
    pub fn new(
        json: String,
        seed: Option<String>,
        entropy: String,
        budget: Option<&NativeRetryBudget>,
        clock: Option<&NativeManualClock>,
    ) -> Result<Self> {
        guard(|| {
            let cfg = retry_config(&json, seed.as_deref()).map_err(invalid)?;
            let entropy = parse_seed(&entropy)?;
            let core = RetryPolicy::new(cfg, entropy, budget.map(|b| b.core.clone()))
                .map_err(|e| invalid(config_errors(e)))?;
            Ok(Self {
                core: Arc::new(core),
                clock: clock.map_or_else(ClockRef::system, NativeManualClock::clock_ref),
            })
        })
    }

    /// Starts a call now (its first attempt): takes the call's random stream, deposits into
    /// the budget.
    #[napi]
    pub fn begin(&self) -> NativeRetryCall {
        NativeRetryCall {
            state: self.core.begin(self.clock.now()),
            policy: self.core.clone(),
            clock: self.clock.clone(),
        }
    }

    /// The configured max attempts (for messages).
    #[napi]
    pub fn max_attempts(&self) -> u32 {
        self.core.config().max_attempts
    }
}

/// What follows a failed attempt.
#[napi(object)]
pub struct NativeDecision {
    /// `retry` or `give_up`.
    pub decision: String,
    /// Ms to wait before the next attempt (retry).
    pub delay: Option<f64>,
    /// The number of the next attempt (retry).
    pub attempt: Option<u32>,
    /// Why retrying stopped (give_up).
    pub reason: Option<String>,
}

/// One call's retry state (the low-level `Retry.begin()` API).
#[napi]
pub struct NativeRetryCall {
    state: RetryState,
    policy: Arc<RetryPolicy>,
    clock: ClockRef,
}

#[napi]
impl NativeRetryCall {
    /// Decides what follows the latest failed attempt, now. `classified`: a category index,
    /// bit 8 set when the request was never sent; `retryAfterMs` < 0 when none.
    #[napi]
    pub fn decide(&mut self, classified: u32, retry_after_ms: f64) -> NativeDecision {
        let category = u8::try_from(classified & 0xff)
            .ok()
            .and_then(Category::from_index)
            .unwrap_or(Category::Unknown);
        let failure = Classification {
            category,
            not_sent: classified & 0x100 != 0,
            retry_after: (retry_after_ms >= 0.0 && retry_after_ms.is_finite())
                .then(|| Duration::from_secs_f64(retry_after_ms / 1000.0)),
        };
        match self
            .policy
            .decide(&mut self.state, &failure, self.clock.now())
        {
            Decision::Retry { delay, attempt } => NativeDecision {
                decision: "retry".into(),
                delay: Some(delay.as_secs_f64() * 1000.0),
                attempt: Some(attempt),
                reason: None,
            },
            Decision::GiveUp(r) => NativeDecision {
                decision: "give_up".into(),
                delay: None,
                attempt: None,
                reason: Some(r.as_str().to_string()),
            },
        }
    }

    /// Attempts made so far, the current one included.
    #[napi]
    pub fn attempts(&self) -> u32 {
        self.state.attempts()
    }
}
