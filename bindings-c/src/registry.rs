//! The registry (contract section 1, "Config files"): named components made from one config
//! document (JSON or TOML, both spellings, per-name overrides, environment variables on top),
//! on one clock, optionally bounded, and reloadable.

#![allow(non_camel_case_types)]

use std::ffi::{CString, c_char};
use std::sync::Arc;

use breakwater_core::config::{ConfigError, ConfigErrors, Spelling};
use breakwater_core::document::apply_env;
use breakwater_core::{
    ClockRef, DegradationConfig, DegradationManager, Document, HealthRegistry, HealthSettings,
    Registry, RegistryBounds,
};
use serde_json::Value;

use crate::breaker::{bw_breaker, bw_breaker_config, bw_snapshot, clock_of, snapshot_to_c};
use crate::clock::bw_manual_clock;
use crate::degradation::bw_degradation;
use crate::document::{ComponentKindArg, Kind, bw_document, doc_handle};
use crate::ffi::{self, Error, OptOut, Out, boundary};
use crate::health::bw_health;
use crate::limits::{bw_bulkhead, bw_rate_limiter};
use crate::policy::bw_policy;
use crate::result::bw_result;
use crate::retry::{bw_retry, bw_retry_config, os_seed};
use crate::text::bw_string_list;
use crate::types::ms;

/// How to build a registry, for `bw_registry_from_json` / `bw_registry_from_file`.
/// Zero-initialise it and set what you need; a NULL options pointer means all defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_registry_options {
    /// The clock every component shares: a `bw_manual_clock`, or NULL for the system clock.
    pub clock: *const bw_manual_clock,
    /// Apply breakwater's environment variables (`CIRCUIT_BREAKER_*`, `RETRY_*`...) on top of
    /// the document, now and on every reload.
    pub env: bool,
    /// At most this many components of each kind (least recently used go first; a breaker
    /// that is not closed is never dropped).
    pub has_max_size: bool,
    pub max_size: u64,
    /// Drop components unused for this long (never a breaker that is not closed).
    pub has_idle_ttl: bool,
    pub idle_ttl_ms: u64,
}

/// Named components made from one config document, on one clock. Made by
/// `bw_registry_from_json` / `bw_registry_from_file`, destroyed by `bw_registry_free`.
/// Thread-safe: one handle may be used from any number of threads at once (except `_free`,
/// which must come last).
pub struct bw_registry {
    pub(crate) inner: Arc<Registry>,
    env: bool,
}

/// Parses a document's text (TOML when `toml`, else JSON) to a value.
pub(crate) fn parse_text(text: &str, toml: bool) -> ffi::Result<Value> {
    let parsed = if toml {
        toml::from_str::<Value>(text).map_err(|e| format!("invalid TOML: {e}"))
    } else {
        serde_json::from_str::<Value>(text).map_err(|e| format!("invalid JSON: {e}"))
    };
    parsed.map_err(|e| {
        Error::config(ConfigErrors(vec![ConfigError::new(
            "(document)",
            e,
            if toml {
                "a TOML document"
            } else {
                "a JSON object"
            },
        )]))
    })
}

/// The document from its text, with the environment on top when asked.
fn document(text: &str, toml: bool, env: bool) -> ffi::Result<Document> {
    let mut value = parse_text(text, toml)?;
    if env {
        let mut vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        // The environment has no order of its own: apply (and report) variables by name.
        vars.sort();
        apply_env(
            &mut value,
            vars.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
    }
    Ok(Document::from_value(&value)?)
}

/// Reads a config file: `path` as UTF-8, TOML when it ends in `.toml`.
pub(crate) fn read_config_file(path: &str) -> ffi::Result<(String, bool)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("cannot read config file {path:?}: {e}")))?;
    Ok((text, path.ends_with(".toml")))
}

fn build(
    text: &str,
    toml: bool,
    options: *const bw_registry_options,
    out: Out<*mut bw_registry>,
) -> ffi::Result<()> {
    // SAFETY: the exported callers document that `options` is NULL or readable.
    let o = unsafe { options.as_ref() };
    let env = o.is_some_and(|o| o.env);
    let clock = o.map_or_else(ClockRef::system, |o| clock_of(o.clock));
    let bounds = RegistryBounds {
        max_size: o
            .filter(|o| o.has_max_size)
            .map(|o| usize::try_from(o.max_size).unwrap_or(usize::MAX)),
        idle_ttl: o.filter(|o| o.has_idle_ttl).map(|o| ms(o.idle_ttl_ms)),
    };
    if bounds.max_size == Some(0) {
        return Err(Error::config(
            ConfigError::new("max_size", "0", "an integer >= 1").into(),
        ));
    }
    if bounds.idle_ttl.is_some_and(|d| d.is_zero()) {
        return Err(Error::config(
            ConfigError::new("idle_ttl_ms", "0", "a duration > 0").into(),
        ));
    }
    let doc = document(text, toml, env)?;
    let inner = Registry::new(doc, clock, bounds, os_seed());
    out.write(ffi::into_handle(bw_registry {
        inner: Arc::new(inner),
        env,
    }));
    Ok(())
}

/// Makes a registry from a JSON config document (`json`: `len` bytes of UTF-8): sections in
/// either spelling (`circuitBreakers` / `circuit_breakers`, `retry`, `rate_limiters`,
/// `bulkheads`...), each `{defaults, agentSpecific / agent_specific, enabled}`. `options` may
/// be NULL (system clock, no environment, unbounded). `BW_RESULT_CONFIG_INVALID` names the
/// first bad key as written (`bw_last_error_key`) and where it is, with its section
/// (`bw_last_error_path`). Thread-safe.
///
/// # Safety
/// `json` points to `len` readable bytes; `options` is NULL or readable (its clock NULL or
/// live); `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_from_json(
    json: *const c_char,
    len: usize,
    options: *const bw_registry_options,
    out: *mut *mut bw_registry,
) -> bw_result {
    boundary("bw_registry_from_json", || {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let out = Out::new(out, "out")?;
        build(text, false, options, out)
    })
}

/// Makes a registry from a config file (`path`: `len` bytes of UTF-8): TOML when the path ends
/// in `.toml`, else JSON. An unreadable file is `BW_RESULT_INVALID_ARGUMENT`; otherwise like
/// `bw_registry_from_json`. Thread-safe.
///
/// # Safety
/// `path` points to `len` readable bytes; `options` is NULL or readable; `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_from_file(
    path: *const c_char,
    len: usize,
    options: *const bw_registry_options,
    out: *mut *mut bw_registry,
) -> bw_result {
    boundary("bw_registry_from_file", || {
        // SAFETY: documented requirement on `path`.
        let path = unsafe { ffi::arg_str(path, len, "path") }?;
        let out = Out::new(out, "out")?;
        let (text, toml) = read_config_file(path)?;
        build(&text, toml, options, out)
    })
}

/// Applies a new JSON document (and the environment again, when the registry was made with
/// `env`) to every component, keeping breaker state. Nothing changes on
/// `BW_RESULT_CONFIG_INVALID`. Thread-safe.
///
/// # Safety
/// `registry` is NULL or a live handle; `json` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_reload_json(
    registry: *const bw_registry,
    json: *const c_char,
    len: usize,
) -> bw_result {
    boundary("bw_registry_reload_json", || {
        // SAFETY: documented requirements on the arguments.
        let r = unsafe { ffi::arg_ref(registry, "registry") }?;
        // SAFETY: as above.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        Ok(r.inner.reload(document(text, false, r.env)?)?)
    })
}

/// Like `bw_registry_reload_json`, from a config file (TOML when the path ends in `.toml`).
/// Thread-safe.
///
/// # Safety
/// `registry` is NULL or a live handle; `path` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_reload_file(
    registry: *const bw_registry,
    path: *const c_char,
    len: usize,
) -> bw_result {
    boundary("bw_registry_reload_file", || {
        // SAFETY: documented requirements on the arguments.
        let r = unsafe { ffi::arg_ref(registry, "registry") }?;
        // SAFETY: as above.
        let path = unsafe { ffi::arg_str(path, len, "path") }?;
        let (text, toml) = read_config_file(path)?;
        Ok(r.inner.reload(document(&text, toml, r.env)?)?)
    })
}

/// The registry and a name, checked.
///
/// # Safety
/// `registry` is NULL or live; `name` is NULL or points to `len` readable bytes.
unsafe fn named<'a>(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
) -> ffi::Result<(&'a bw_registry, &'a str)> {
    // SAFETY: forwarded from the caller.
    let r = unsafe { ffi::arg_ref(registry, "registry") }?;
    // SAFETY: as above.
    let name = unsafe { ffi::arg_str(name, len, "name") }?;
    if name.contains('\0') {
        return Err(Error::invalid("argument `name` contains a NUL byte"));
    }
    Ok((r, name))
}

/// The breaker named `name` (made from the document's layered config on first use; the same
/// breaker for the same name afterwards). Writes a new handle to it to `*out`; free that with
/// `bw_breaker_free` (the registry keeps the breaker itself). Thread-safe.
///
/// # Safety
/// `registry` is NULL or a live handle; `name` points to `len` readable bytes; `out` is NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_breaker(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_breaker,
) -> bw_result {
    boundary("bw_registry_breaker", || {
        // SAFETY: documented requirements on the arguments.
        let (r, name) = unsafe { named(registry, name, len) }?;
        let out = Out::new(out, "out")?;
        let inner = r.inner.breaker(name)?;
        out.write(ffi::into_handle(bw_breaker {
            inner,
            name: CString::new(name).unwrap_or_default(),
        }));
        Ok(())
    })
}

/// The retry policy named `name` (made on first use). Writes a new handle to it to `*out`;
/// free that with `bw_retry_free`. Thread-safe.
///
/// # Safety
/// As `bw_registry_breaker`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_retry(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_retry,
) -> bw_result {
    boundary("bw_registry_retry", || {
        // SAFETY: documented requirements on the arguments.
        let (r, name) = unsafe { named(registry, name, len) }?;
        let out = Out::new(out, "out")?;
        let inner = r.inner.retry(name)?;
        out.write(ffi::into_handle(bw_retry {
            inner,
            clock: r.inner.clock().clone(),
        }));
        Ok(())
    })
}

/// A policy for `name`: its breaker and retry policy, plus a rate limiter and a bulkhead when
/// the document configures them. Writes a new policy handle to `*out`; free it with
/// `bw_policy_free`. Thread-safe.
///
/// # Safety
/// As `bw_registry_breaker`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_policy(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_policy,
) -> bw_result {
    boundary("bw_registry_policy", || {
        // SAFETY: documented requirements on the arguments.
        let (r, name) = unsafe { named(registry, name, len) }?;
        let out = Out::new(out, "out")?;
        let policy = r.inner.policy(name)?;
        out.write(ffi::into_handle(bw_policy::plain(policy)));
        Ok(())
    })
}

/// Drops the breaker named `name` from the registry (handles to it keep working; the next
/// `bw_registry_breaker` makes a new one). `*out_removed` (may be NULL) says whether there
/// was one. Thread-safe.
///
/// # Safety
/// As `bw_registry_breaker`, with `out_removed` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_remove_breaker(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
    out_removed: *mut bool,
) -> bw_result {
    boundary("bw_registry_remove_breaker", || {
        // SAFETY: documented requirements on the arguments.
        let (r, name) = unsafe { named(registry, name, len) }?;
        OptOut::new(out_removed).write(r.inner.remove_breaker(name));
        Ok(())
    })
}

/// Destroys a registry handle; NULL is a no-op. Handles to its components keep working. Free
/// it exactly once, after every other thread has stopped using the handle.
///
/// # Safety
/// `registry` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_free(registry: *mut bw_registry) {
    // SAFETY: documented requirement on `registry`.
    unsafe { ffi::free_handle("bw_registry_free", registry) }
}

// ----- reading the registry back ------------------------------------------------------------

/// Writes a new list of the names of the `kind` components the registry holds now (made on
/// first use and not dropped since), sorted, to `*out_names`. Thread-safe.
///
/// # Safety
/// `registry` is NULL or a live handle; `out_names` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_names(
    registry: *const bw_registry,
    kind: ComponentKindArg,
    out_names: *mut *mut bw_string_list,
) -> bw_result {
    boundary("bw_registry_names", || {
        // SAFETY: documented requirement on `registry`.
        let r = unsafe { ffi::arg_ref(registry, "registry") }?;
        let kind = kind.require("kind")?;
        let out = Out::new(out_names, "out_names")?;
        let names: Vec<String> = match kind {
            Kind::Breaker => r.inner.breaker_names(),
            Kind::Retry => r.inner.retry_names(),
            Kind::RateLimiter => r
                .inner
                .rate_limiters_named()
                .into_iter()
                .map(|(n, _)| n)
                .collect(),
            Kind::Bulkhead => r
                .inner
                .bulkheads_named()
                .into_iter()
                .map(|(n, _)| n)
                .collect(),
        };
        out.write(ffi::into_handle(bw_string_list::from_iter(names)));
        Ok(())
    })
}

/// The rate limiter named `name` (made from the document's layered config on first use, the
/// same one afterwards), as a new handle in `*out` (free it with `bw_rate_limiter_free`).
/// Thread-safe.
///
/// # Safety
/// As `bw_registry_breaker`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_rate_limiter(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_rate_limiter,
) -> bw_result {
    boundary("bw_registry_rate_limiter", || {
        // SAFETY: documented requirements on the arguments.
        let (r, name) = unsafe { named(registry, name, len) }?;
        let out = Out::new(out, "out")?;
        let inner = r.inner.rate_limiter_with(name, Ok)?;
        out.write(ffi::into_handle(bw_rate_limiter {
            inner,
            clock: r.inner.clock().clone(),
        }));
        Ok(())
    })
}

/// The bulkhead named `name` (made on first use), as a new handle in `*out` (free it with
/// `bw_bulkhead_free`). Thread-safe.
///
/// # Safety
/// As `bw_registry_breaker`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_bulkhead(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_bulkhead,
) -> bw_result {
    boundary("bw_registry_bulkhead", || {
        // SAFETY: documented requirements on the arguments.
        let (r, name) = unsafe { named(registry, name, len) }?;
        let out = Out::new(out, "out")?;
        let inner = r.inner.bulkhead_with(name, Ok)?;
        out.write(ffi::into_handle(bw_bulkhead { inner }));
        Ok(())
    })
}

/// The breaker named `name` if the registry holds one, as a new handle in `*out` (free it with
/// `bw_breaker_free`); NULL when there is none (nothing is made). Thread-safe.
///
/// # Safety
/// As `bw_registry_breaker`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_find_breaker(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_breaker,
) -> bw_result {
    boundary("bw_registry_find_breaker", || {
        // SAFETY: documented requirements on the arguments.
        let (r, name) = unsafe { named(registry, name, len) }?;
        let out = Out::new(out, "out")?;
        out.write(
            r.inner
                .get_breaker(name)
                .map_or(std::ptr::null_mut(), |inner| {
                    ffi::into_handle(bw_breaker {
                        inner,
                        name: CString::new(name).unwrap_or_default(),
                    })
                }),
        );
        Ok(())
    })
}

/// Writes the snapshot of the breaker named `name` to `*out` and whether the registry holds
/// one to `*out_found` (`*out` is left alone when it does not; nothing is made). Thread-safe.
///
/// # Safety
/// As `bw_registry_breaker`, with `out` and `out_found` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_breaker_snapshot(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
    out: *mut bw_snapshot,
    out_found: *mut bool,
) -> bw_result {
    boundary("bw_registry_breaker_snapshot", || {
        // SAFETY: documented requirements on the arguments.
        let (r, name) = unsafe { named(registry, name, len) }?;
        let out = Out::new(out, "out")?;
        let found = Out::new(out_found, "out_found")?;
        let b = r.inner.get_breaker(name);
        found.write(b.is_some());
        if let Some(b) = b {
            out.write(snapshot_to_c(&b.snapshot()));
        }
        Ok(())
    })
}

/// Writes a new builder holding the breaker config a breaker named `name` gets (the
/// document's defaults, then its per-name entry, with the environment when the registry reads
/// it) to `*out` (free it with `bw_breaker_config_free`). A breaker already made keeps its own
/// config: read that with `bw_breaker_get_config`. Thread-safe.
///
/// # Safety
/// As `bw_registry_breaker`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_breaker_config(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_breaker_config,
) -> bw_result {
    boundary("bw_registry_breaker_config", || {
        // SAFETY: documented requirements on the arguments.
        let (r, name) = unsafe { named(registry, name, len) }?;
        let out = Out::new(out, "out")?;
        out.write(ffi::into_handle(bw_breaker_config {
            config: r.inner.breaker_config(name),
            spelling: Spelling::default(),
        }));
        Ok(())
    })
}

/// Writes a new builder holding the retry config `name` gets to `*out` (free it with
/// `bw_retry_config_free`). Thread-safe.
///
/// # Safety
/// As `bw_registry_breaker`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_retry_config(
    registry: *const bw_registry,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_retry_config,
) -> bw_result {
    boundary("bw_registry_retry_config", || {
        // SAFETY: documented requirements on the arguments.
        let (r, name) = unsafe { named(registry, name, len) }?;
        let out = Out::new(out, "out")?;
        out.write(ffi::into_handle(bw_retry_config {
            config: r.inner.retry_config(name),
            spelling: Spelling::default(),
        }));
        Ok(())
    })
}

/// Writes a new document handle holding the registry's current document (after the last
/// reload, environment applied) to `*out` (free it with `bw_document_free`): read the rate
/// limiter, bulkhead and other sections' configs from it. Thread-safe.
///
/// # Safety
/// `registry` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_document(
    registry: *const bw_registry,
    out: *mut *mut bw_document,
) -> bw_result {
    boundary("bw_registry_document", || {
        // SAFETY: documented requirement on `registry`.
        let r = unsafe { ffi::arg_ref(registry, "registry") }?;
        let out = Out::new(out, "out")?;
        out.write(doc_handle(r.inner.document()));
        Ok(())
    })
}

/// Makes a degradation manager from the document's `degradation` settings and
/// `degradationRules` / `degradation_rules`, on the registry's clock, and writes it to `*out`
/// (free it with `bw_degradation_free`; each call makes a new one).
/// `BW_RESULT_CONFIG_INVALID` names the key as written (`degradationRules[0].strategy`).
/// Thread-safe.
///
/// # Safety
/// `registry` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_degradation(
    registry: *const bw_registry,
    out: *mut *mut bw_degradation,
) -> bw_result {
    boundary("bw_registry_degradation", || {
        // SAFETY: documented requirement on `registry`.
        let r = unsafe { ffi::arg_ref(registry, "registry") }?;
        let out = Out::new(out, "out")?;
        let doc = r.inner.document();
        let rules_key = ["degradationRules", "degradation_rules"]
            .into_iter()
            .find(|k| doc.raw.get(*k).is_some())
            .unwrap_or("degradationRules");
        let config = DegradationConfig::from_sections(
            doc.degradation.as_ref(),
            doc.degradation_rules.as_ref().map(|v| (rules_key, v)),
        )?;
        let m = DegradationManager::new(config, r.inner.clock().clone())?;
        out.write(crate::degradation::new_handle(m));
        Ok(())
    })
}

/// Makes a health registry from the document's `healthChecks` / `health_checks` section
/// (check defaults and per-check settings for `bw_health_register` with a NULL config), on the
/// registry's clock, and writes it to `*out` (free it with `bw_health_free`; each call makes a
/// new one). Thread-safe.
///
/// # Safety
/// `registry` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_registry_health(
    registry: *const bw_registry,
    out: *mut *mut bw_health,
) -> bw_result {
    boundary("bw_registry_health", || {
        // SAFETY: documented requirement on `registry`.
        let r = unsafe { ffi::arg_ref(registry, "registry") }?;
        let out = Out::new(out, "out")?;
        let doc = r.inner.document();
        let settings = match &doc.health_checks {
            Some(v) => HealthSettings::from_json(v).map_err(|mut e| {
                for err in &mut e.0 {
                    // The key stays as written in the section; the path says where it is.
                    err.path = format!("health_checks.{}", err.path);
                }
                e
            })?,
            None => HealthSettings::default(),
        };
        out.write(crate::health::new_handle(HealthRegistry::with_settings(
            "health",
            settings,
            r.inner.clock().clone(),
        )));
        Ok(())
    })
}
