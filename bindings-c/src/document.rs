//! Config documents as values (contract section 1, "Config files"): parse one (JSON or TOML,
//! both spellings), apply environment variables given explicitly, and read back what each
//! component gets: the layered config for a name, a section's flag and per-name overrides, the
//! monitoring settings, and the sections other components parse (as written).

#![allow(non_camel_case_types)]

use std::ffi::c_char;
use std::sync::Arc;

use breakwater_core::Document;
use breakwater_core::config::Spelling;
use breakwater_core::config_keys::{
    breaker_values, bulkhead_values, monitor_values, rate_limiter_values, retry_values,
};
use breakwater_core::document::{Section, apply_env};
use serde_json::{Map, Value};

use crate::breaker::bw_breaker_config;
use crate::classify::bw_str;
use crate::ffi::{self, Error, Out, boundary, boundary_value};
use crate::limits::{bw_bulkhead_config, bw_rate_limiter_config};
use crate::registry::{parse_text, read_config_file};
use crate::result::bw_result;
use crate::retry::bw_retry_config;
use crate::text::{TextOut, bw_string_list};
use crate::types::name_of;

/// A component kind, for the registry's and documents' per-kind functions.
/// `bw_component_kind_name` gives "breaker", "retry", "rate_limiter", "bulkhead".
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_component_kind {
    BW_COMPONENT_BREAKER = 0,
    BW_COMPONENT_RETRY = 1,
    BW_COMPONENT_RATE_LIMITER = 2,
    BW_COMPONENT_BULKHEAD = 3,
}

/// A `bw_component_kind` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct ComponentKindArg(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Breaker,
    Retry,
    RateLimiter,
    Bulkhead,
}

impl ComponentKindArg {
    pub(crate) fn require(self, arg: &'static str) -> ffi::Result<Kind> {
        Ok(match self.0 {
            0 => Kind::Breaker,
            1 => Kind::Retry,
            2 => Kind::RateLimiter,
            3 => Kind::Bulkhead,
            n => {
                return Err(Error::invalid(format!(
                    "argument `{arg}`: {n} is not a bw_component_kind (0..=3)"
                )));
            }
        })
    }
}

/// The name of a component kind ("breaker", "retry", "rate_limiter", "bulkhead"); NULL for a
/// value that is not a `bw_component_kind`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_component_kind_name(kind: ComponentKindArg) -> *const c_char {
    boundary_value("bw_component_kind_name", std::ptr::null(), || {
        name_of(
            &[c"breaker", c"retry", c"rate_limiter", c"bulkhead"],
            kind.0,
        )
    })
}

/// One environment variable for `bw_document_with_env`: name and value, UTF-8.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_env_var {
    pub name: bw_str,
    pub value: bw_str,
}

/// A parsed config document. Made by `bw_document_from_json` / `bw_document_from_file` /
/// `bw_document_with_env` / `bw_registry_document`, destroyed by `bw_document_free`.
/// Immutable: safe to read from several threads at once.
pub struct bw_document {
    pub(crate) inner: Arc<Document>,
}

pub(crate) fn doc_handle(inner: Arc<Document>) -> *mut bw_document {
    ffi::into_handle(bw_document { inner })
}

fn on_doc(
    func: &'static str,
    doc: *const bw_document,
    body: impl FnOnce(&Document) -> ffi::Result<()>,
) -> bw_result {
    boundary(func, || {
        // SAFETY: every caller documents that `doc` is NULL or a live handle.
        let d = unsafe { ffi::arg_ref(doc, "doc") }?;
        body(&d.inner)
    })
}

/// Parses a JSON config document (`json`: `len` bytes of UTF-8), sections in either spelling.
/// `BW_RESULT_CONFIG_INVALID` names the first bad key as written (`bw_last_error_key`) and where
/// it is, with its section (`bw_last_error_path`; every problem in `bw_last_error_message`).
/// Thread-safe.
///
/// # Safety
/// `json` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_from_json(
    json: *const c_char,
    len: usize,
    out: *mut *mut bw_document,
) -> bw_result {
    boundary("bw_document_from_json", || {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let out = Out::new(out, "out")?;
        let doc = Document::from_value(&parse_text(text, false)?)?;
        out.write(doc_handle(Arc::new(doc)));
        Ok(())
    })
}

/// Parses a config file (`path`: `len` bytes of UTF-8): TOML when it ends in `.toml`, else
/// JSON. An unreadable file is `BW_RESULT_INVALID_ARGUMENT`. Thread-safe.
///
/// # Safety
/// `path` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_from_file(
    path: *const c_char,
    len: usize,
    out: *mut *mut bw_document,
) -> bw_result {
    boundary("bw_document_from_file", || {
        // SAFETY: documented requirement on `path`.
        let path = unsafe { ffi::arg_str(path, len, "path") }?;
        let out = Out::new(out, "out")?;
        let (text, toml) = read_config_file(path)?;
        let doc = Document::from_value(&parse_text(&text, toml)?)?;
        out.write(doc_handle(Arc::new(doc)));
        Ok(())
    })
}

/// Applies environment variables (breakwater's `CIRCUIT_BREAKER_*`, `RETRY_*`... as the
/// configuration reference lists them) on top of `doc` as written, and writes the resulting
/// new document to `*out`. The variables are given, not read from the process (`vars`:
/// `vars_len` of them; NULL with 0 is none), and applied in name order (so several problems
/// are reported in name order). `BW_RESULT_CONFIG_INVALID` names the variable (an unknown one
/// with a hint) or the key it set. Thread-safe.
///
/// # Safety
/// `doc` is NULL or live; `vars` points to `vars_len` readable `bw_env_var`s, their strings
/// readable for their lengths; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_with_env(
    doc: *const bw_document,
    vars: *const bw_env_var,
    vars_len: usize,
    out: *mut *mut bw_document,
) -> bw_result {
    on_doc("bw_document_with_env", doc, |d| {
        // SAFETY: documented requirement on `vars`.
        let list = unsafe { ffi::arg_slice(vars, vars_len, "vars") }?;
        let out = Out::new(out, "out")?;
        let mut pairs = Vec::with_capacity(list.len());
        for v in list {
            // SAFETY: as above.
            let (name, value) = unsafe {
                (
                    ffi::arg_str(v.name.ptr, v.name.len, "vars[].name")?,
                    ffi::arg_str(v.value.ptr, v.value.len, "vars[].value")?,
                )
            };
            pairs.push((name, value));
        }
        // Variables have no order of their own: apply (and report) them in name order.
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let mut raw = d.raw.clone();
        apply_env(&mut raw, pairs)?;
        let doc = Document::from_value(&raw)?;
        out.write(doc_handle(Arc::new(doc)));
        Ok(())
    })
}

/// The values of `kind`'s config for `name` (layered: the section's defaults, then its
/// per-name entry), or the section's defaults when `name` is None.
fn values(d: &Document, kind: crate::document::Kind, name: Option<&str>) -> Map<String, Value> {
    fn pick<T: Clone>(s: &Section<T>, name: Option<&str>) -> T {
        name.map_or_else(|| s.defaults.clone(), |n| s.config_for(n))
    }
    match kind {
        Kind::Breaker => breaker_values(&pick(&d.breakers, name)),
        Kind::Retry => retry_values(&pick(&d.retries, name)),
        Kind::RateLimiter => rate_limiter_values(&pick(&d.rate_limiters, name)),
        Kind::Bulkhead => bulkhead_values(&pick(&d.bulkheads, name)),
    }
}

/// Writes the config a `kind` component named `name` gets from `doc` (the section's
/// defaults, then its per-name entry) as JSON in canonical file spelling (as
/// `bw_breaker_config_to_json`), with the buffer contract of `bw_prometheus`. Thread-safe.
///
/// # Safety
/// `doc` is NULL or live; `name` points to `len` readable bytes; `buf` is NULL or points to
/// `cap` writable bytes; `out_needed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_config_json(
    doc: *const bw_document,
    kind: ComponentKindArg,
    name: *const c_char,
    len: usize,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bw_result {
    on_doc("bw_document_config_json", doc, |d| {
        let kind = kind.require("kind")?;
        // SAFETY: documented requirement on `name`.
        let name = unsafe { ffi::arg_str(name, len, "name") }?;
        let out = TextOut::new(buf, cap, out_needed)?;
        out.write(&Value::Object(values(d, kind, Some(name))).to_string())
    })
}

/// Like `bw_document_config_json`, for the section's defaults (what a name without a per-name
/// entry gets). Thread-safe.
///
/// # Safety
/// `doc` is NULL or live; `buf` is NULL or points to `cap` writable bytes; `out_needed` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_defaults_json(
    doc: *const bw_document,
    kind: ComponentKindArg,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bw_result {
    on_doc("bw_document_defaults_json", doc, |d| {
        let kind = kind.require("kind")?;
        let out = TextOut::new(buf, cap, out_needed)?;
        out.write(&Value::Object(values(d, kind, None)).to_string())
    })
}

/// The breaker config `doc` gives a breaker named `name` (layered), as a new builder in
/// `*out` (free it with `bw_breaker_config_free`). Thread-safe.
///
/// # Safety
/// `doc` is NULL or live; `name` points to `len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_breaker_config(
    doc: *const bw_document,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_breaker_config,
) -> bw_result {
    on_doc("bw_document_breaker_config", doc, |d| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { ffi::arg_str(name, len, "name") }?;
        let out = Out::new(out, "out")?;
        out.write(ffi::into_handle(bw_breaker_config {
            config: d.breakers.config_for(name),
            spelling: Spelling::default(),
        }));
        Ok(())
    })
}

/// The retry config `doc` gives `name`, as a new builder (free it with
/// `bw_retry_config_free`). Thread-safe.
///
/// # Safety
/// As `bw_document_breaker_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_retry_config(
    doc: *const bw_document,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_retry_config,
) -> bw_result {
    on_doc("bw_document_retry_config", doc, |d| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { ffi::arg_str(name, len, "name") }?;
        let out = Out::new(out, "out")?;
        out.write(ffi::into_handle(bw_retry_config {
            config: d.retries.config_for(name),
            spelling: Spelling::default(),
        }));
        Ok(())
    })
}

/// The rate limiter config `doc` gives `name`, as a new builder (free it with
/// `bw_rate_limiter_config_free`). Thread-safe.
///
/// # Safety
/// As `bw_document_breaker_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_rate_limiter_config(
    doc: *const bw_document,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_rate_limiter_config,
) -> bw_result {
    on_doc("bw_document_rate_limiter_config", doc, |d| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { ffi::arg_str(name, len, "name") }?;
        let out = Out::new(out, "out")?;
        out.write(ffi::into_handle(bw_rate_limiter_config {
            config: d.rate_limiters.config_for(name),
        }));
        Ok(())
    })
}

/// The bulkhead config `doc` gives `name`, as a new builder (free it with
/// `bw_bulkhead_config_free`). Thread-safe.
///
/// # Safety
/// As `bw_document_breaker_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_bulkhead_config(
    doc: *const bw_document,
    name: *const c_char,
    len: usize,
    out: *mut *mut bw_bulkhead_config,
) -> bw_result {
    on_doc("bw_document_bulkhead_config", doc, |d| {
        // SAFETY: documented requirement on `name`.
        let name = unsafe { ffi::arg_str(name, len, "name") }?;
        let out = Out::new(out, "out")?;
        out.write(ffi::into_handle(bw_bulkhead_config {
            config: d.bulkheads.config_for(name),
        }));
        Ok(())
    })
}

/// Writes whether `kind`'s section is enabled (`"enabled": false` turns the component into a
/// pass-through) to `*out`. Thread-safe.
///
/// # Safety
/// `doc` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_section_enabled(
    doc: *const bw_document,
    kind: ComponentKindArg,
    out: *mut bool,
) -> bw_result {
    on_doc("bw_document_section_enabled", doc, |d| {
        let kind = kind.require("kind")?;
        let out = Out::new(out, "out")?;
        out.write(match kind {
            Kind::Breaker => d.breakers.enabled,
            Kind::Retry => d.retries.enabled,
            Kind::RateLimiter => d.rate_limiters.enabled,
            Kind::Bulkhead => d.bulkheads.enabled,
        });
        Ok(())
    })
}

/// Writes a new list of the names with a per-name entry (`agentSpecific` / `agent_specific`)
/// in `kind`'s section, sorted, to `*out_names`. Thread-safe.
///
/// # Safety
/// `doc` is NULL or live; `out_names` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_overrides(
    doc: *const bw_document,
    kind: ComponentKindArg,
    out_names: *mut *mut bw_string_list,
) -> bw_result {
    on_doc("bw_document_overrides", doc, |d| {
        let kind = kind.require("kind")?;
        let out = Out::new(out_names, "out_names")?;
        let names: Vec<&String> = match kind {
            Kind::Breaker => d.breakers.per_name.keys().collect(),
            Kind::Retry => d.retries.per_name.keys().collect(),
            Kind::RateLimiter => d.rate_limiters.per_name.keys().collect(),
            Kind::Bulkhead => d.bulkheads.per_name.keys().collect(),
        };
        out.write(ffi::into_handle(bw_string_list::from_iter(names)));
        Ok(())
    })
}

/// Writes the monitoring settings as JSON in canonical file spelling (`{"enabled", "host",
/// "port", "token", "protect_reads", "rate_limit", "history_ms"}`), with the buffer contract of
/// `bw_prometheus`. Thread-safe.
///
/// # Safety
/// `doc` is NULL or live; `buf` is NULL or points to `cap` writable bytes; `out_needed` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_monitoring_json(
    doc: *const bw_document,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bw_result {
    on_doc("bw_document_monitoring_json", doc, |d| {
        let out = TextOut::new(buf, cap, out_needed)?;
        out.write(&Value::Object(monitor_values(&d.monitoring)).to_string())
    })
}

/// Writes a section other components parse, as written in the document (whatever its
/// spelling), as JSON: `section` (`len` bytes) is "degradation_rules", "degradation",
/// "health_checks" or "slo" (`BW_RESULT_INVALID_ARGUMENT` otherwise); "null" when the
/// document has no such section. Buffer contract of `bw_prometheus`. Thread-safe.
///
/// # Safety
/// `doc` is NULL or live; `section` points to `len` readable bytes; `buf` is NULL or points to
/// `cap` writable bytes; `out_needed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_section_json(
    doc: *const bw_document,
    section: *const c_char,
    len: usize,
    buf: *mut c_char,
    cap: usize,
    out_needed: *mut usize,
) -> bw_result {
    on_doc("bw_document_section_json", doc, |d| {
        // SAFETY: documented requirement on `section`.
        let section = unsafe { ffi::arg_str(section, len, "section") }?;
        let out = TextOut::new(buf, cap, out_needed)?;
        let v = match section {
            "degradation_rules" => &d.degradation_rules,
            "degradation" => &d.degradation,
            "health_checks" => &d.health_checks,
            "slo" => &d.slo,
            other => {
                return Err(Error::invalid(format!(
                    "argument `section`: \"{other}\" is not one of degradation_rules, \
                     degradation, health_checks, slo"
                )));
            }
        };
        out.write(&v.as_ref().unwrap_or(&Value::Null).to_string())
    })
}

/// Destroys a document handle; NULL is a no-op.
///
/// # Safety
/// `doc` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_document_free(doc: *mut bw_document) {
    // SAFETY: documented requirement on `doc`.
    unsafe { ffi::free_handle("bw_document_free", doc) }
}
