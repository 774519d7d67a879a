//! `Registry`: named components from one config document on one clock, and the process-wide
//! registry (`default_registry`), which every `worker_threads` worker of the process shares: the
//! breaker named X is one core breaker, whichever thread asks for it. Each thread gets its own
//! wrappers (permits, event queue) around the shared core objects.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use breakwater_core::document::apply_env;
use breakwater_core::{
    BreakerConfig, BulkheadConfig, ClockRef, ConfigError, ConfigErrors, Document,
    RateLimiterConfig, Registry, RegistryBounds, RetryConfig, default_registry,
};
use napi::Either;
use napi_derive::napi;
use serde_json::Value;

use crate::breaker::{NativeCircuitBreaker, NativeConfigError, config_errors, parse_json};
use crate::clock::{NativeManualClock, ms_to_duration};
use crate::fast::{Fast, bound_function};
use crate::limits::{NativeBulkhead, NativeRateLimiter};
use crate::policy::NativePolicy;
use crate::retry::NativeRetry;
use crate::status::{Result, guard};

/// A parsed (and checked) config document, environment variables applied.
#[napi]
pub struct NativeDocument {
    doc: Document,
}

fn doc_error(value: String, allowed: &str) -> Vec<NativeConfigError> {
    vec![NativeConfigError {
        key: "(document)".into(),
        value,
        allowed: allowed.into(),
        path: "(document)".into(),
    }]
}

/// Parses a document: `format` is `json` or `toml`; `env` is `[name, value, name, value...]`
/// (the variables to apply on top). Returns the document, or every problem in it.
#[napi]
pub fn parse_document(
    text: String,
    format: String,
    env: Option<Vec<String>>,
) -> Either<NativeDocument, Vec<NativeConfigError>> {
    let parsed: std::result::Result<Value, Vec<NativeConfigError>> = match format.as_str() {
        "toml" => toml::from_str::<Value>(&text)
            .map_err(|e| doc_error(format!("invalid TOML: {e}"), "a TOML document")),
        _ => serde_json::from_str::<Value>(&text)
            .map_err(|e| doc_error(format!("invalid JSON: {e}"), "a JSON object")),
    };
    let mut value = match parsed {
        Ok(v) => v,
        Err(e) => return Either::B(e),
    };
    if let Some(env) = env {
        let pairs = env.chunks_exact(2).map(|p| (p[0].as_str(), p[1].as_str()));
        if let Err(e) = apply_env(&mut value, pairs) {
            return Either::B(config_errors(e));
        }
    }
    match Document::from_value(&value) {
        Ok(doc) => Either::A(NativeDocument { doc }),
        Err(e) => Either::B(config_errors(e)),
    }
}

static DEFAULT_GENERATION: AtomicU64 = AtomicU64::new(0);

enum Reg {
    Own {
        core: Arc<Registry>,
        generation: Arc<AtomicU64>,
    },
    ProcessWide(&'static Registry),
}

impl Reg {
    fn core(&self) -> &Registry {
        match self {
            Reg::Own { core, .. } => core,
            Reg::ProcessWide(r) => r,
        }
    }

    fn generation(&self) -> &AtomicU64 {
        match self {
            Reg::Own { generation, .. } => generation,
            Reg::ProcessWide(_) => &DEFAULT_GENERATION,
        }
    }
}

struct FastRegistry {
    generation: Arc<AtomicU64>,
}

/// Fast op 20: the registry's generation (bumped by every reload, so cached policies know to
/// fetch their rebuilt parts).
impl Fast for FastRegistry {
    fn call(&self, op: u32, _a: f64, _b: f64, _c: f64) -> f64 {
        match op {
            20 => self.generation.load(Ordering::Acquire) as f64,
            _ => f64::NAN,
        }
    }
}

fn overrides(json: Option<&str>) -> std::result::Result<Option<Value>, Vec<NativeConfigError>> {
    json.map(parse_json).transpose()
}

fn made<T, U>(
    r: std::result::Result<T, ConfigErrors>,
    wrap: impl FnOnce(T) -> U,
) -> Either<U, Vec<NativeConfigError>> {
    match r {
        Ok(v) => Either::A(wrap(v)),
        Err(e) => Either::B(config_errors(e)),
    }
}

fn object_or_error(v: &Value) -> std::result::Result<(), ConfigErrors> {
    if v.is_object() {
        Ok(())
    } else {
        Err(ConfigError::new("(options)", v.to_string(), "an options object").into())
    }
}

#[napi]
pub struct NativeRegistry {
    reg: Reg,
}

#[napi]
impl NativeRegistry {
    /// A registry of its own: `document` (default: none), `clock` (default: the system clock),
    /// bounds (`maxSize` components of each kind, `idleTtlMs`); `entropy` seeds unseeded retry
    /// policies.
    #[napi(constructor)]
    pub fn new(
        document: Option<&NativeDocument>,
        clock: Option<&NativeManualClock>,
        max_size: Option<u32>,
        idle_ttl_ms: Option<f64>,
        entropy: String,
    ) -> Result<Self> {
        guard(|| {
            let idle_ttl = idle_ttl_ms
                .map(|ms| ms_to_duration("idleTtl", ms))
                .transpose()?;
            let entropy = crate::retry::parse_seed(&entropy)?;
            let bounds = RegistryBounds {
                max_size: max_size.map(|n| n as usize),
                idle_ttl,
            };
            let clock = clock.map_or_else(ClockRef::system, NativeManualClock::clock_ref);
            let doc = document.map(|d| d.doc.clone()).unwrap_or_default();
            let generation = Arc::new(AtomicU64::new(0));
            let core = Arc::new(Registry::new(doc, clock, bounds, entropy));
            Ok(Self::wrap(Reg::Own { core, generation }))
        })
    }

    /// A wrapper of the process-wide registry (shared by every thread; `entropy` is used by the
    /// first caller only).
    #[napi(factory)]
    pub fn process_wide(entropy: String) -> Result<Self> {
        guard(|| {
            let entropy = crate::retry::parse_seed(&entropy)?;
            Ok(Self::wrap(Reg::ProcessWide(default_registry(entropy))))
        })
    }

    #[napi(getter)]
    pub fn is_process_wide(&self) -> bool {
        matches!(self.reg, Reg::ProcessWide(_))
    }

    /// The raw fast function (op 20: generation).
    #[napi(ts_return_type = "(op: number) => number")]
    pub fn fast_function<'e>(
        &self,
        env: &'e napi::Env,
    ) -> napi::Result<napi::bindgen_prelude::Unknown<'e>> {
        let fast: Rc<dyn Fast> = match &self.reg {
            Reg::Own { generation, .. } => Rc::new(FastRegistry {
                generation: generation.clone(),
            }),
            Reg::ProcessWide(_) => Rc::new(ProcessWideGeneration),
        };
        bound_function(env, fast)
    }

    /// Bumped by every successful reload.
    #[napi]
    pub fn generation(&self) -> f64 {
        self.reg.generation().load(Ordering::Acquire) as f64
    }

    /// `[maxSize, idleTtlMs]` (`null` when unbounded).
    #[napi]
    pub fn bounds(&self) -> Vec<Option<f64>> {
        let b = self.reg.core().bounds();
        vec![
            b.max_size.map(|n| n as f64),
            b.idle_ttl.map(|d| d.as_secs_f64() * 1000.0),
        ]
    }

    /// The breaker named `name`, made on first use from the document's layered config and
    /// `overrides` (options JSON in config-document spelling); an existing one as it is.
    #[napi]
    pub fn breaker(
        &self,
        name: String,
        overrides_json: Option<String>,
    ) -> Result<Either<NativeCircuitBreaker, Vec<NativeConfigError>>> {
        guard(|| {
            let o = match overrides(overrides_json.as_deref()) {
                Ok(o) => o,
                Err(e) => return Ok(Either::B(e)),
            };
            let r = self.reg.core().breaker_with(&name, |base| match &o {
                None => Ok(base),
                Some(v) => {
                    object_or_error(v)?;
                    BreakerConfig::from_json_over(&base, v)
                }
            });
            Ok(made(r, NativeCircuitBreaker::from_core))
        })
    }

    /// The breaker named `name` if there is one (counts as a use); never makes one.
    #[napi]
    pub fn existing_breaker(&self, name: String) -> Option<NativeCircuitBreaker> {
        self.reg
            .core()
            .get_breaker(&name)
            .map(NativeCircuitBreaker::from_core)
    }

    /// Whether `breaker` is still the registry's breaker named `name` (a bounded registry may
    /// have dropped it).
    #[napi]
    pub fn holds(&self, name: String, breaker: &NativeCircuitBreaker) -> bool {
        self.reg
            .core()
            .get_breaker(&name)
            .is_some_and(|b| Arc::ptr_eq(&b, &breaker.core))
    }

    #[napi]
    pub fn breaker_names(&self) -> Vec<String> {
        self.reg.core().breaker_names()
    }

    /// The retry policy named `name` (rebuilt after a reload).
    #[napi]
    pub fn retry(
        &self,
        name: String,
        overrides_json: Option<String>,
    ) -> Result<Either<NativeRetry, Vec<NativeConfigError>>> {
        guard(|| {
            let o = match overrides(overrides_json.as_deref()) {
                Ok(o) => o,
                Err(e) => return Ok(Either::B(e)),
            };
            let r = self.reg.core().retry_with(&name, |base| match &o {
                None => Ok(base),
                Some(v) => {
                    object_or_error(v)?;
                    RetryConfig::from_json_over(&base, v)
                }
            });
            let clock = self.reg.core().clock().clone();
            Ok(made(r, |r| NativeRetry::from_core(r, clock)))
        })
    }

    /// The rate limiter named `name`: the document's config for it, or `overrides` on first use.
    #[napi]
    pub fn rate_limiter(
        &self,
        name: String,
        overrides_json: Option<String>,
    ) -> Result<Either<NativeRateLimiter, Vec<NativeConfigError>>> {
        guard(|| {
            let o = match overrides(overrides_json.as_deref()) {
                Ok(o) => o,
                Err(e) => return Ok(Either::B(e)),
            };
            let r = self.reg.core().rate_limiter_with(&name, |base| match &o {
                None => Ok(base),
                Some(v) => {
                    object_or_error(v)?;
                    RateLimiterConfig::from_json_over(&base, v)
                }
            });
            let clock = self.reg.core().clock().clone();
            Ok(made(r, |l| NativeRateLimiter::from_core(l, clock)))
        })
    }

    #[napi]
    pub fn bulkhead(
        &self,
        name: String,
        overrides_json: Option<String>,
    ) -> Result<Either<NativeBulkhead, Vec<NativeConfigError>>> {
        guard(|| {
            let o = match overrides(overrides_json.as_deref()) {
                Ok(o) => o,
                Err(e) => return Ok(Either::B(e)),
            };
            let r = self.reg.core().bulkhead_with(&name, |base| match &o {
                None => Ok(base),
                Some(v) => {
                    object_or_error(v)?;
                    BulkheadConfig::from_json_over(&base, v)
                }
            });
            Ok(made(r, NativeBulkhead::from_core))
        })
    }

    /// The policy for `name`, as the core's registry composes it (breaker; retry unless the
    /// retry section is off; rate limiter and bulkhead when the document has those sections),
    /// with a per-attempt timeout, whether the host has a fallback function, and a degradation
    /// manager choosing fallback strategies.
    #[napi]
    pub fn policy(
        &self,
        name: String,
        timeout_ms: Option<f64>,
        fallback: bool,
        degradation: Option<&crate::degradation::NativeDegradationManager>,
    ) -> Result<Either<NativePolicy, Vec<NativeConfigError>>> {
        guard(|| {
            let timeout = timeout_ms
                .map(|ms| ms_to_duration("timeout", ms))
                .transpose()?;
            let policy = match self.reg.core().policy(&name) {
                Ok(p) => p,
                Err(e) => return Ok(Either::B(config_errors(e))),
            };
            let mut parts = policy.parts().clone();
            parts.timeout = timeout;
            parts.fallback = fallback;
            NativePolicy::from_parts(&name, parts, degradation.map(|d| d.core.clone()))
                .map(Either::A)
        })
    }

    /// Applies a new document to the live registry (breakers keep their state); the problems,
    /// empty when applied.
    #[napi]
    pub fn reload(&self, document: &NativeDocument) -> Result<Vec<NativeConfigError>> {
        guard(|| {
            Ok(match self.reg.core().reload(document.doc.clone()) {
                Ok(()) => {
                    self.reg.generation().fetch_add(1, Ordering::AcqRel);
                    Vec::new()
                }
                Err(e) => config_errors(e),
            })
        })
    }
}

impl NativeRegistry {
    /// Every breaker the registry holds.
    pub fn core_breakers(&self) -> Vec<Arc<breakwater_core::CircuitBreaker>> {
        self.reg.core().breakers()
    }

    fn wrap(reg: Reg) -> Self {
        Self { reg }
    }
}

struct ProcessWideGeneration;

impl Fast for ProcessWideGeneration {
    fn call(&self, op: u32, _a: f64, _b: f64, _c: f64) -> f64 {
        match op {
            20 => DEFAULT_GENERATION.load(Ordering::Acquire) as f64,
            _ => f64::NAN,
        }
    }
}

/// Reading a document back: configs in canonical config-file spelling (snake_case keys,
/// durations in integer ms with `_ms`), as JSON text, exactly what the other languages read
/// back; the sections the components read themselves come back as written.
#[napi]
impl NativeDocument {
    /// The config of `kind` (`breaker`, `retry`, `rate_limiter`, `bulkhead`) for `name` (its
    /// `agentSpecific` override, else the section's defaults; none: the defaults), as JSON.
    #[napi]
    pub fn config(&self, kind: String, name: Option<String>) -> Result<String> {
        use breakwater_core::config_keys::{
            breaker_values, bulkhead_values, rate_limiter_values, retry_values,
        };
        let d = &self.doc;
        let n = name.as_deref();
        let m = match kind.as_str() {
            "breaker" => breaker_values(
                &n.map_or_else(|| d.breakers.defaults.clone(), |n| d.breakers.config_for(n)),
            ),
            "retry" => retry_values(
                &n.map_or_else(|| d.retries.defaults.clone(), |n| d.retries.config_for(n)),
            ),
            "rate_limiter" => rate_limiter_values(
                &n.map_or(d.rate_limiters.defaults, |n| d.rate_limiters.config_for(n)),
            ),
            "bulkhead" => {
                bulkhead_values(&n.map_or(d.bulkheads.defaults, |n| d.bulkheads.config_for(n)))
            }
            other => {
                return Err(crate::status::error(
                    breakwater_core::ErrorCode::InvalidArgument,
                    format!(
                        "unknown kind '{other}'; one of breaker, retry, rate_limiter, bulkhead"
                    ),
                ));
            }
        };
        Ok(Value::Object(m).to_string())
    }

    /// `[enabled, names with an agentSpecific entry (sorted)]` of a section
    /// (`circuit_breakers`, `retry`, `rate_limiters`, `bulkheads`); null for another name.
    #[napi]
    pub fn flags(&self, section: String) -> Option<(bool, Vec<String>)> {
        use breakwater_core::document::Section;
        fn of<T>(s: &Section<T>) -> (bool, Vec<String>) {
            (s.enabled, s.per_name.keys().cloned().collect())
        }
        let d = &self.doc;
        Some(match section.as_str() {
            "circuit_breakers" => of(&d.breakers),
            "retry" => of(&d.retries),
            "rate_limiters" => of(&d.rate_limiters),
            "bulkheads" => of(&d.bulkheads),
            _ => return None,
        })
    }

    /// The monitoring settings (canonical spelling), as JSON.
    #[napi]
    pub fn monitoring(&self) -> String {
        Value::Object(breakwater_core::config_keys::monitor_values(
            &self.doc.monitoring,
        ))
        .to_string()
    }

    /// A section the components read themselves (`degradation_rules`, `degradation`,
    /// `health_checks`, `slo`) as written, as JSON (`null` when absent); undefined for another name.
    #[napi]
    pub fn section(&self, name: String) -> Option<String> {
        let d = &self.doc;
        let v = match name.as_str() {
            "degradation_rules" => &d.degradation_rules,
            "degradation" => &d.degradation,
            "health_checks" => &d.health_checks,
            "slo" => &d.slo,
            _ => return None,
        };
        Some(
            v.as_ref()
                .map_or_else(|| "null".to_string(), Value::to_string),
        )
    }

    /// The document as written (environment variables applied), as JSON.
    #[napi]
    pub fn raw(&self) -> String {
        self.doc.raw.to_string()
    }

    /// This document with environment variables (`[name, value, ...]`) applied on top of it as
    /// written, or every problem.
    #[napi]
    pub fn with_env(&self, env: Vec<String>) -> Either<NativeDocument, Vec<NativeConfigError>> {
        let mut value = self.doc.raw.clone();
        let pairs = env.chunks_exact(2).map(|p| (p[0].as_str(), p[1].as_str()));
        if let Err(e) = apply_env(&mut value, pairs) {
            return Either::B(config_errors(e));
        }
        match Document::from_value(&value) {
            Ok(doc) => Either::A(NativeDocument { doc }),
            Err(e) => Either::B(config_errors(e)),
        }
    }
}
