//! Classification (contract section 4). This is the host's half: reading facts off a Python
//! exception (an HTTP status, an errno, the class names along its MRO, a SQLSTATE, a
//! Retry-After header). The core's `classify` maps the facts to a category.

use breakwater_core::Category;
use breakwater_core::classify::{self as core_classify, Classification, ErrorFacts};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyType};

/// What this host could read off one Python exception; turned into the core's
/// [`ErrorFacts`] by [`Facts::classify`].
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// An HTTP status (100..=599) read from `.status_code`, `.status` or `.response.status_code`.
    pub status: Option<u16>,
    /// Code strings, most specific first: the symbolic errno (`ECONNREFUSED`), the class
    /// names along the MRO (bare and `module.name`), a SQLSTATE.
    pub codes: Vec<String>,
    /// A client library's own timeout class (requests, httpx, aiohttp, urllib3, openai).
    pub timeout: bool,
    /// A client library's could-not-connect class: the request was never sent.
    pub connection_refused: bool,
    /// A `Retry-After` / `retry-after-ms` header or a `retry_after` attribute, as written.
    pub retry_after: Option<RetryAfter>,
}

#[derive(Debug, Clone)]
pub enum RetryAfter {
    Header(String),
    HeaderMs(String),
    Seconds(f64),
}

impl Facts {
    /// The core's classification of these facts; `user` is a classify hook's answer.
    pub fn classify(&self, user: Option<Category>, now_wall_ms: u64) -> Classification {
        let codes: Vec<&str> = self.codes.iter().map(String::as_str).collect();
        let retry_after = self.retry_after.as_ref().and_then(|r| match r {
            RetryAfter::Header(v) => core_classify::parse_retry_after(v, now_wall_ms),
            RetryAfter::HeaderMs(v) => core_classify::parse_retry_after_ms(v),
            RetryAfter::Seconds(s) => crate::config::secs_to_duration(*s),
        });
        core_classify::classify(&ErrorFacts {
            user_category: user,
            http_status: self.status,
            codes: &codes,
            timeout: self.timeout,
            connection_refused: self.connection_refused,
            cancelled: false,
            abort_reason_timeout: false,
            retry_after,
        })
    }
}

/// Client-library classes whose meaning the core's code table cannot know by name.
fn library_class(name: &str, f: &mut Facts) -> bool {
    match name {
        // requests, httpx, aiohttp, urllib3, openai timeouts.
        "Timeout"
        | "ReadTimeout"
        | "ConnectTimeout"
        | "WriteTimeout"
        | "PoolTimeout"
        | "TimeoutException"
        | "ServerTimeoutError"
        | "ReadTimeoutError"
        | "ConnectTimeoutError"
        | "APITimeoutError" => f.timeout = true,
        // Could not connect at all: refused or the name did not resolve.
        "ConnectError"
        | "ClientConnectorError"
        | "ClientConnectorDNSError"
        | "NameResolutionError"
        | "NewConnectionError" => f.connection_refused = true,
        // Broken connections after the request may have been sent.
        "RemoteProtocolError"
        | "ServerDisconnectedError"
        | "ClientOSError"
        | "ProtocolError"
        | "APIConnectionError"
        | "IncompleteRead"
        | "ChunkedEncodingError" => f.codes.push("ECONNRESET".into()),
        _ => return false,
    }
    true
}

fn errno_names(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    static NAMES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    NAMES
        .get_or_try_init(py, || -> PyResult<Py<PyDict>> {
            let m = py.import("errno")?.getattr("errorcode")?;
            Ok(m.cast_into::<PyDict>()?.unbind())
        })
        .map(|d| d.bind(py))
}

fn status_of(v: &Bound<'_, PyAny>) -> Option<u16> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return None;
    }
    let n: i64 = v.extract().ok()?;
    (100..=599).contains(&n).then_some(n as u16)
}

fn attr<'py>(o: &Bound<'py, PyAny>, n: &Bound<'py, PyString>) -> Option<Bound<'py, PyAny>> {
    o.getattr_opt(n).ok().flatten()
}

/// Reads the facts off an exception. Never raises: attributes that raise are skipped.
pub fn extract(exc: &Bound<'_, PyAny>) -> Facts {
    let py = exc.py();
    let mut f = Facts::default();
    for n in [intern!(py, "status_code"), intern!(py, "status")] {
        if let Some(v) = attr(exc, n)
            && let Some(s) = status_of(&v)
        {
            f.status = Some(s);
            break;
        }
    }
    if f.status.is_none()
        && let Some(resp) = attr(exc, intern!(py, "response"))
        && !resp.is_none()
    {
        for n in [intern!(py, "status_code"), intern!(py, "status")] {
            if let Some(v) = attr(&resp, n)
                && let Some(s) = status_of(&v)
            {
                f.status = Some(s);
                break;
            }
        }
    }
    let mut errno = None;
    if let Some(e) = attr(exc, intern!(py, "errno"))
        && !e.is_none()
    {
        if let Ok(s) = e.extract::<String>() {
            errno = Some(s);
        } else if let Ok(names) = errno_names(py)
            && let Ok(Some(name)) = names.get_item(&e)
        {
            errno = name.extract().ok();
        }
    }
    // Node-style string codes some libraries copy (`.code = "ECONNRESET"`).
    if errno.is_none()
        && let Some(c) = attr(exc, intern!(py, "code"))
        && let Ok(s) = c.extract::<String>()
        && s.starts_with('E')
    {
        errno = Some(s);
    }
    f.codes.extend(errno);
    let ty: Bound<'_, PyType> = exc.get_type();
    let mut library_matched = false;
    for t in ty.mro().iter() {
        let Ok(t) = t.cast::<PyType>() else { continue };
        let Ok(name) = t.name() else { continue };
        let name = name.to_string();
        if !library_matched {
            library_matched = library_class(&name, &mut f);
        }
        if let Ok(module) = t.module() {
            let module = module.to_string();
            // asyncio.exceptions.CancelledError is spelled asyncio.CancelledError.
            let short = module.split('.').next().unwrap_or(&module);
            f.codes.push(format!("{short}.{name}"));
        }
        f.codes.push(name);
    }
    for n in [intern!(py, "sqlstate"), intern!(py, "pgcode")] {
        if let Some(v) = attr(exc, n)
            && let Ok(s) = v.extract::<String>()
        {
            f.codes.push(s);
            break;
        }
    }
    f.retry_after = retry_after_of(exc);
    f
}

/// A header's value: `headers.get(name)` for each spelling (header objects of requests, httpx,
/// aiohttp and urllib3 ignore the case), else, in a plain dict, the key equal to the name
/// whatever its case (`RETRY-AFTER`).
fn header(headers: &Bound<'_, PyAny>, spellings: &[&str]) -> Option<String> {
    let text = |v: Bound<'_, PyAny>| -> Option<String> {
        if v.is_none() || v.is_instance_of::<pyo3::types::PyBool>() {
            return None;
        }
        if let Ok(s) = v.extract::<String>() {
            return Some(s);
        }
        // A number of seconds (or ms) written as a number.
        crate::config::as_number(&v).map(|n| n.to_string())
    };
    for name in spellings {
        if let Ok(v) = headers.call_method1(intern!(headers.py(), "get"), (*name,))
            && let Some(s) = text(v)
        {
            return Some(s);
        }
    }
    let d = headers.cast::<PyDict>().ok()?;
    d.iter()
        .find(|(k, _)| {
            k.extract::<String>()
                .is_ok_and(|k| k.eq_ignore_ascii_case(spellings[0]))
        })
        .and_then(|(_, v)| text(v))
}

/// A server-provided wait: `retry_after` (seconds) on the error, else the `Retry-After` or
/// `retry-after-ms` header of the error or of its `.response`.
fn retry_after_of(exc: &Bound<'_, PyAny>) -> Option<RetryAfter> {
    let py = exc.py();
    if let Some(v) = attr(exc, intern!(py, "retry_after"))
        && let Some(s) = crate::config::as_number(&v)
    {
        return Some(RetryAfter::Seconds(s));
    }
    let mut sources = vec![exc.clone()];
    if let Some(r) = attr(exc, intern!(py, "response"))
        && !r.is_none()
    {
        sources.push(r);
    }
    for src in sources {
        let Some(h) = attr(&src, intern!(py, "headers")) else {
            continue;
        };
        if h.is_none() {
            continue;
        }
        if let Some(v) = header(&h, &["retry-after-ms", "Retry-After-Ms"]) {
            return Some(RetryAfter::HeaderMs(v));
        }
        if let Some(v) = header(&h, &["Retry-After", "retry-after"]) {
            return Some(RetryAfter::Header(v));
        }
    }
    None
}

/// Extract, then classify with the core (no user hook).
pub fn classify_exception(exc: &Bound<'_, PyAny>, now_wall_ms: u64) -> Classification {
    extract(exc).classify(None, now_wall_ms)
}

/// The HTTP status of a response-like value (`.status_code`, else `.status`: an int
/// 100..=599).
fn result_status(value: &Bound<'_, PyAny>) -> Option<u16> {
    let py = value.py();
    [intern!(py, "status_code"), intern!(py, "status")]
        .into_iter()
        .find_map(|n| status_of(&value.getattr_opt(n).ok()??))
}

/// The category of a returned value that `failure_if` marked as a failure: by its status
/// when it has one (`.status_code` / `.status`), else unknown.
pub fn classify_result(value: &Bound<'_, PyAny>) -> Category {
    result_status(value)
        .and_then(core_classify::classify_status)
        .unwrap_or(Category::Unknown)
}

/// Where a status may be found on instances of a type, decided once per type (bits).
const CLASS_STATUS_CODE: u8 = 1; // `status_code` is a class attribute or descriptor: getattr
const CLASS_STATUS: u8 = 2; // `status` likewise
const INSTANCE_DICT: u8 = 4; // instances have a `__dict__` that may hold either
const CUSTOM: u8 = 8; // a custom `__getattribute__`: getattr both

/// Types seen, at most this many (then the slow path, uncached).
const KINDS_MAX: usize = 1024;

fn type_kind(value: &Bound<'_, PyAny>) -> u8 {
    static KINDS: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    let py = value.py();
    let Ok(kinds) = KINDS.get_or_try_init(py, || -> PyResult<_> { Ok(PyDict::new(py).unbind()) })
    else {
        return CUSTOM;
    };
    let kinds = kinds.bind(py);
    let t = value.get_type();
    if let Ok(Some(k)) = kinds.get_item(&t)
        && let Ok(k) = k.extract::<u8>()
    {
        return k;
    }
    let k = decide_kind(&t).unwrap_or(CUSTOM);
    if kinds.len() < KINDS_MAX {
        let _ = kinds.set_item(&t, k);
    }
    k
}

fn decide_kind(t: &Bound<'_, PyType>) -> PyResult<u8> {
    let py = t.py();
    let generic = py
        .get_type::<pyo3::types::PyAny>()
        .getattr(intern!(py, "__getattribute__"))?;
    if !t.getattr(intern!(py, "__getattribute__"))?.is(&generic) {
        return Ok(CUSTOM);
    }
    let mut k = 0;
    for c in t.getattr(intern!(py, "__mro__"))?.try_iter()? {
        let d = c?.getattr(intern!(py, "__dict__"))?;
        if d.contains(intern!(py, "status_code"))? {
            k |= CLASS_STATUS_CODE;
        }
        if d.contains(intern!(py, "status"))? {
            k |= CLASS_STATUS;
        }
    }
    let offset: isize = t.getattr(intern!(py, "__dictoffset__"))?.extract()?;
    if offset != 0 {
        k |= INSTANCE_DICT;
    }
    Ok(k)
}

/// The status of a returned value, looked up the cheap way its type allows.
fn returned_status(value: &Bound<'_, PyAny>) -> Option<u16> {
    let k = type_kind(value);
    if k & CUSTOM != 0 {
        return result_status(value);
    }
    let py = value.py();
    let mut dict = None;
    for (n, bit) in [
        (intern!(py, "status_code"), CLASS_STATUS_CODE),
        (intern!(py, "status"), CLASS_STATUS),
    ] {
        let v = if k & bit != 0 {
            value.getattr_opt(n).ok().flatten()
        } else if k & INSTANCE_DICT != 0 {
            if dict.is_none() {
                dict = value.getattr(intern!(py, "__dict__")).ok();
            }
            dict.as_ref()
                .and_then(|d| d.cast::<PyDict>().ok())
                .and_then(|d| d.get_item(n).ok().flatten())
        } else {
            None
        };
        if let Some(s) = v.as_ref().and_then(status_of) {
            return Some(s);
        }
    }
    None
}

/// Whether a returned value is a failure when no `failure_if=` was given: a response-like
/// object (requests, httpx, aiohttp, urllib3...) whose status is >= 500, 408 or 429, classified
/// by that status. Values of the common builtin types are never looked into; other types are
/// looked into without raising AttributeError per call (a `__getattr__` is not called).
#[inline]
pub fn default_result_failure(value: &Bound<'_, PyAny>) -> Option<Category> {
    use pyo3::types::{PyFloat, PyInt};
    if value.is_none() || value.is_exact_instance_of::<PyFloat>() {
        return None;
    }
    // ints (and bools, IntEnums), str, bytes, tuples, lists and dicts: one flags read.
    const BUILTIN: std::os::raw::c_ulong = pyo3::ffi::Py_TPFLAGS_LONG_SUBCLASS
        | pyo3::ffi::Py_TPFLAGS_UNICODE_SUBCLASS
        | pyo3::ffi::Py_TPFLAGS_BYTES_SUBCLASS
        | pyo3::ffi::Py_TPFLAGS_TUPLE_SUBCLASS
        | pyo3::ffi::Py_TPFLAGS_LIST_SUBCLASS
        | pyo3::ffi::Py_TPFLAGS_DICT_SUBCLASS;
    // SAFETY: a live object's type is a live type object.
    let flags = unsafe { pyo3::ffi::PyType_GetFlags(pyo3::ffi::Py_TYPE(value.as_ptr())) };
    if flags & BUILTIN != 0 || value.is_exact_instance_of::<PyInt>() {
        return None;
    }
    let s = returned_status(value)?;
    (s >= 500 || s == 408 || s == 429)
        .then(|| core_classify::classify_status(s).unwrap_or(Category::Unknown))
}
