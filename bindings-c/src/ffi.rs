//! The boundary kit: every exported function runs its body through [`boundary`] (or one of its
//! siblings for functions that return a pointer or nothing), which catches panics, turns errors
//! into a [`bw_result`] and records the thread-local message. Arguments are checked with the
//! helpers here, before anything happens, so a bad argument never leaves half-done work.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};

use breakwater_core::ConfigErrors;

use crate::result::bw_result;

/// Why a call failed, kept cheap until the message is built (only on the error path).
pub(crate) enum Detail {
    /// A pointer argument was NULL; the argument's name.
    Null(&'static str),
    /// A string argument was not UTF-8.
    Utf8(&'static str, std::str::Utf8Error),
    /// Any other bad argument, described.
    Invalid(String),
    /// The config was rejected; every problem, in the order found.
    Config(ConfigErrors),
    /// A rejection (hot path): a fixed message, no allocation.
    Static(&'static CStr),
}

/// A failed call: its code and why.
pub(crate) struct Error {
    pub code: bw_result,
    pub detail: Detail,
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn null(arg: &'static str) -> Self {
        Error {
            code: bw_result::BW_RESULT_NULL_ARGUMENT,
            detail: Detail::Null(arg),
        }
    }

    /// A NULL element of an array argument (`breakers[2]`).
    pub fn null_at(arg: String) -> Self {
        Error {
            code: bw_result::BW_RESULT_NULL_ARGUMENT,
            detail: Detail::Invalid(format!("argument `{arg}` is NULL")),
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        Error {
            code: bw_result::BW_RESULT_INVALID_ARGUMENT,
            detail: Detail::Invalid(msg.into()),
        }
    }

    pub fn config(e: ConfigErrors) -> Self {
        Error {
            code: bw_result::BW_RESULT_CONFIG_INVALID,
            detail: Detail::Config(e),
        }
    }

    pub fn fixed(code: bw_result, msg: &'static CStr) -> Self {
        Error {
            code,
            detail: Detail::Static(msg),
        }
    }
}

impl From<ConfigErrors> for Error {
    fn from(e: ConfigErrors) -> Self {
        Error::config(e)
    }
}

/// The first config problem of the last `CONFIG_INVALID`, as the caller wrote it.
pub(crate) struct ConfigDetail {
    pub key: CString,
    pub value: CString,
    pub allowed: CString,
    pub path: CString,
}

enum Message {
    Static(&'static CStr),
    Owned(CString),
}

struct LastError {
    message: Message,
    /// Every config problem of the last `CONFIG_INVALID`, in the order found (empty otherwise).
    config: Vec<ConfigDetail>,
}

thread_local! {
    static LAST: RefCell<LastError> = const {
        RefCell::new(LastError { message: Message::Static(c""), config: Vec::new() })
    };
}

/// Renames an error's key as C spells it (`ttl` -> `ttl_ms`); its path, which ends with the key
/// (or is the key, outside a document), follows.
pub(crate) fn respell_key(err: &mut breakwater_core::ConfigError, key: &str) {
    if let Some(base) = err.path.strip_suffix(err.key.as_str()) {
        err.path = format!("{base}{key}");
    }
    err.key = key.to_string();
}

/// A C string from any text: an interior NUL (possible in a config value) is shown as `\0`.
pub(crate) fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

fn record(func: &'static str, err: Error) {
    let (message, config) = match err.detail {
        Detail::Static(m) => (Message::Static(m), Vec::new()),
        Detail::Null(arg) => (
            Message::Owned(cstring(&format!("{func}: argument `{arg}` is NULL"))),
            Vec::new(),
        ),
        Detail::Utf8(arg, e) => (
            Message::Owned(cstring(&format!(
                "{func}: argument `{arg}` is not valid UTF-8 ({e})"
            ))),
            Vec::new(),
        ),
        Detail::Invalid(m) => (Message::Owned(cstring(&format!("{func}: {m}"))), Vec::new()),
        Detail::Config(errs) => {
            let details = errs
                .0
                .iter()
                .map(|e| ConfigDetail {
                    key: cstring(&e.key),
                    value: cstring(&e.value),
                    allowed: cstring(&e.allowed),
                    path: cstring(&e.path),
                })
                .collect();
            (Message::Owned(cstring(&format!("{func}: {errs}"))), details)
        }
    };
    LAST.with(|l| *l.borrow_mut() = LastError { message, config });
}

fn record_panic(func: &'static str, payload: &(dyn Any + Send)) {
    let mut m = String::new();
    let _ = write!(
        m,
        "{func}: panic inside breakwater: {}",
        panic_text(payload)
    );
    let message = Message::Owned(cstring(&m));
    LAST.with(|l| {
        *l.borrow_mut() = LastError {
            message,
            config: Vec::new(),
        }
    });
}

/// Runs the body of an exported function that returns `bw_result`: catches any panic
/// (`BW_RESULT_PANIC`), and on an error records the thread-local message. `BW_OK` leaves the
/// message as it was (like `errno`).
#[inline(always)]
pub(crate) fn boundary(func: &'static str, body: impl FnOnce() -> Result<()>) -> bw_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => bw_result::BW_OK,
        Ok(Err(e)) => {
            let code = e.code;
            // Building the message allocates; never let that unwind into C.
            let _ = catch_unwind(AssertUnwindSafe(|| record(func, e)));
            code
        }
        Err(payload) => {
            let _ = catch_unwind(AssertUnwindSafe(|| record_panic(func, &*payload)));
            bw_result::BW_RESULT_PANIC
        }
    }
}

/// For exported functions that return a value directly (a constructor that cannot fail, a
/// name lookup): a panic gives `fallback` (NULL) and records the message.
#[inline(always)]
pub(crate) fn boundary_value<T>(func: &'static str, fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            let _ = catch_unwind(AssertUnwindSafe(|| record_panic(func, &*payload)));
            fallback
        }
    }
}

/// The message of the last failed call on this thread ("" when none yet).
pub(crate) fn last_message() -> *const c_char {
    LAST.with(|l| match &l.borrow().message {
        Message::Static(s) => s.as_ptr(),
        Message::Owned(s) => s.as_ptr(),
    })
}

/// A pointer into config problem number `i` of the last failure on this thread, or NULL.
pub(crate) fn last_config(i: usize, pick: fn(&ConfigDetail) -> &CStr) -> *const c_char {
    LAST.with(|l| {
        l.borrow()
            .config
            .get(i)
            .map_or(std::ptr::null(), |c| pick(c).as_ptr())
    })
}

/// How many config problems the last failure on this thread had.
pub(crate) fn last_config_count() -> usize {
    LAST.with(|l| l.borrow().config.len())
}

// ----- argument helpers ---------------------------------------------------------------------

/// A shared reference to a handle, or `NULL_ARGUMENT` naming `arg`.
///
/// # Safety
/// `p` is NULL or points to a live `T` for `'a`.
#[inline(always)]
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, arg: &'static str) -> Result<&'a T> {
    // SAFETY: the caller guarantees `p` is NULL or valid.
    unsafe { p.as_ref() }.ok_or_else(|| Error::null(arg))
}

/// A unique reference to a builder, or `NULL_ARGUMENT` naming `arg`.
///
/// # Safety
/// `p` is NULL or points to a live `T` nobody else uses for `'a`.
#[inline(always)]
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, arg: &'static str) -> Result<&'a mut T> {
    // SAFETY: the caller guarantees `p` is NULL or valid and unaliased.
    unsafe { p.as_mut() }.ok_or_else(|| Error::null(arg))
}

/// An out-parameter: checked for NULL up front, written only on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    #[inline(always)]
    pub fn new(p: *mut T, arg: &'static str) -> Result<Self> {
        if p.is_null() {
            Err(Error::null(arg))
        } else {
            Ok(Out(p))
        }
    }

    /// Writes the value (without reading or dropping what was there).
    #[inline(always)]
    pub fn write(self, v: T) {
        // SAFETY: non-NULL checked in `new`; the C caller promises it points to writable
        // memory for a `T` (the documented contract of every out-parameter).
        unsafe { self.0.write(v) }
    }
}

/// An optional out-parameter (NULL means the caller does not want it).
pub(crate) struct OptOut<T>(*mut T);

impl<T> OptOut<T> {
    #[inline(always)]
    pub fn new(p: *mut T) -> Self {
        OptOut(p)
    }

    #[inline(always)]
    pub fn write(self, v: T) {
        if !self.0.is_null() {
            // SAFETY: as for `Out::write`, when the caller passed one.
            unsafe { self.0.write(v) }
        }
    }
}

/// A string given as pointer + length (not necessarily NUL-terminated). NULL is
/// `NULL_ARGUMENT` (even with length 0), a length beyond `PTRDIFF_MAX` or invalid UTF-8 is
/// `INVALID_ARGUMENT`.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes for `'a`.
pub(crate) unsafe fn arg_str<'a>(
    p: *const c_char,
    len: usize,
    arg: &'static str,
) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::null(arg));
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!(
            "argument `{arg}`: length {len} is larger than PTRDIFF_MAX"
        )));
    }
    // SAFETY: non-NULL, length in range; the caller guarantees `len` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|e| Error {
        code: bw_result::BW_RESULT_INVALID_ARGUMENT,
        detail: Detail::Utf8(arg, e),
    })
}

/// Runs a builder setter: NULL check, then the change.
///
/// # Safety
/// `p` is NULL or a live `T` that no other thread uses during the call.
pub(crate) unsafe fn with_builder<T>(
    func: &'static str,
    p: *mut T,
    apply: impl FnOnce(&mut T) -> Result<()>,
) -> bw_result {
    boundary(func, || {
        // SAFETY: forwarded from the caller.
        let c = unsafe { arg_mut(p, "config") }?;
        apply(c)
    })
}

/// A list given as pointer + count: (NULL, 0) is empty, NULL with a count is
/// `NULL_ARGUMENT`, a count too large for memory `INVALID_ARGUMENT`.
///
/// # Safety
/// `p` is NULL or points to `count` readable values for `'a`.
pub(crate) unsafe fn arg_slice<'a, T>(
    p: *const T,
    count: usize,
    arg: &'static str,
) -> Result<&'a [T]> {
    if count == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::null(arg));
    }
    if count > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Error::invalid(format!(
            "argument `{arg}`: count {count} is too large"
        )));
    }
    // SAFETY: non-NULL, size in range; the caller guarantees `count` readable values.
    Ok(unsafe { std::slice::from_raw_parts(p, count) })
}

/// Moves a value into a new heap handle for C.
pub(crate) fn into_handle<T>(v: T) -> *mut T {
    Box::into_raw(Box::new(v))
}

/// Destroys a handle made by [`into_handle`]; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or came from `into_handle::<T>` and is freed exactly once.
pub(crate) unsafe fn free_handle<T>(func: &'static str, p: *mut T) {
    if p.is_null() {
        return;
    }
    boundary_value(func, (), || {
        // SAFETY: the caller guarantees it came from `into_handle` and is freed once.
        drop(unsafe { Box::from_raw(p) });
    })
}
