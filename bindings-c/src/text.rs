//! Text and lists breakwater hands back: text into a caller buffer (with the size needed when
//! it is too small), `bw_string_list` (names), `bw_bytes` (a cache value or key), and the
//! interned names that structs point to for as long as their handle lives.

#![allow(non_camel_case_types)]

use std::collections::HashMap;
use std::ffi::{CString, c_char};
use std::sync::{Arc, Mutex};

use crate::ffi::{self, Error, OptOut, Out, boundary};
use crate::result::bw_result;

/// Writes `text` and a NUL into the caller's buffer (`buf`, `cap` bytes), the contract of
/// every function that fills a buffer:
///
/// - `*out_needed` (when `out_needed` is not NULL) is set to the bytes the text needs, its
///   terminating NUL included, on `BW_OK` and on `BW_RESULT_BUFFER_TOO_SMALL` alike;
/// - `cap >= needed`: the text and a NUL are written, `BW_OK`;
/// - `cap < needed`: nothing is written to `buf`, `BW_RESULT_BUFFER_TOO_SMALL`;
/// - `buf` may be NULL only with `cap == 0` (a size query), else `BW_RESULT_NULL_ARGUMENT`.
pub(crate) struct TextOut {
    buf: *mut c_char,
    cap: usize,
    needed: OptOut<usize>,
}

impl TextOut {
    /// Checks the buffer arguments up front (before any work is done).
    pub fn new(buf: *mut c_char, cap: usize, out_needed: *mut usize) -> ffi::Result<Self> {
        if buf.is_null() && cap > 0 {
            return Err(Error::null("buf"));
        }
        if cap > isize::MAX as usize {
            return Err(Error::invalid(format!(
                "argument `cap`: {cap} is larger than PTRDIFF_MAX"
            )));
        }
        Ok(TextOut {
            buf,
            cap,
            needed: OptOut::new(out_needed),
        })
    }

    pub fn write(self, text: &str) -> ffi::Result<()> {
        let needed = text.len() + 1;
        self.needed.write(needed);
        if self.cap < needed {
            return Err(Error {
                code: bw_result::BW_RESULT_BUFFER_TOO_SMALL,
                detail: ffi::Detail::Invalid(format!(
                    "the text needs {needed} bytes (NUL included); the buffer has {}",
                    self.cap
                )),
            });
        }
        // SAFETY: `buf` is non-NULL (cap >= needed >= 1) and the caller promises `cap`
        // writable bytes; the text's bytes do not overlap a buffer we were handed.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), self.buf.cast::<u8>(), text.len());
            self.buf.add(text.len()).write(0);
        }
        Ok(())
    }
}

// ----- interned names -----------------------------------------------------------------------

/// Names that structs handed to C point to (strategy, rule and component names). Each
/// distinct name is kept once, for as long as the holder (a degradation manager, a policy, a
/// call) lives, so a pointer into it stays valid that long even if the strategy is
/// unregistered meanwhile.
#[derive(Default)]
pub(crate) struct Names {
    map: Mutex<HashMap<Box<str>, CString>>,
}

impl Names {
    /// A stable NUL-terminated copy of `name` (an interior NUL shows as `\0`).
    pub fn get(&self, name: &str) -> *const c_char {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(name) {
            return c.as_ptr();
        }
        let c = ffi::cstring(name);
        // The CString's heap buffer does not move when the map grows.
        let p = c.as_ptr();
        map.insert(Box::from(name), c);
        p
    }

    pub fn opt(&self, name: Option<&str>) -> *const c_char {
        name.map_or(std::ptr::null(), |n| self.get(n))
    }
}

// ----- bw_string_list -----------------------------------------------------------------------

/// A list of strings breakwater hands back (names, keys), in a documented order. Read it with
/// `bw_string_list_len` and `bw_string_list_get`; destroy it with `bw_string_list_free`. The
/// strings live as long as the list. Immutable: safe to read from several threads at once.
pub struct bw_string_list {
    items: Vec<CString>,
}

impl bw_string_list {
    pub(crate) fn from_iter<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Self {
        bw_string_list {
            items: items
                .into_iter()
                .map(|s| ffi::cstring(s.as_ref()))
                .collect(),
        }
    }
}

/// Writes a new list to an optional out-parameter (nothing is allocated when it is NULL).
pub(crate) fn write_list<S: AsRef<str>>(
    out: *mut *mut bw_string_list,
    items: impl IntoIterator<Item = S>,
) {
    if !out.is_null() {
        OptOut::new(out).write(ffi::into_handle(bw_string_list::from_iter(items)));
    }
}

/// Writes the number of strings in `list` to `*out_len`. Thread-safe.
///
/// # Safety
/// `list` is NULL or a live list; `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_string_list_len(
    list: *const bw_string_list,
    out_len: *mut usize,
) -> bw_result {
    boundary("bw_string_list_len", || {
        // SAFETY: documented requirement on `list`.
        let l = unsafe { ffi::arg_ref(list, "list") }?;
        Out::new(out_len, "out_len")?.write(l.items.len());
        Ok(())
    })
}

/// Writes string number `index` (from 0) of `list` to `*out_str` (NUL-terminated, valid until
/// the list is freed) and its length in bytes to `*out_len` (may be NULL).
/// `BW_RESULT_INVALID_ARGUMENT` for an index out of range. Thread-safe.
///
/// # Safety
/// `list` is NULL or a live list; `out_str` and `out_len` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_string_list_get(
    list: *const bw_string_list,
    index: usize,
    out_str: *mut *const c_char,
    out_len: *mut usize,
) -> bw_result {
    boundary("bw_string_list_get", || {
        // SAFETY: documented requirement on `list`.
        let l = unsafe { ffi::arg_ref(list, "list") }?;
        let out = Out::new(out_str, "out_str")?;
        let s = l.items.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "argument `index`: {index} is out of range (the list has {})",
                l.items.len()
            ))
        })?;
        out.write(s.as_ptr());
        OptOut::new(out_len).write(s.as_bytes().len());
        Ok(())
    })
}

/// Destroys a list; NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a live list, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_string_list_free(list: *mut bw_string_list) {
    // SAFETY: documented requirement on `list`.
    unsafe { ffi::free_handle("bw_string_list_free", list) }
}

// ----- bw_bytes -----------------------------------------------------------------------------

/// An immutable byte string breakwater hands back (a cached value, an evicted key). It holds
/// its own reference to the bytes, so it stays valid whatever happens to the cache afterwards.
/// Read it with `bw_bytes_data`; destroy it with `bw_bytes_free`. Safe to read from several
/// threads at once.
pub struct bw_bytes {
    pub(crate) data: Arc<[u8]>,
}

pub(crate) fn bytes_handle(data: Arc<[u8]>) -> *mut bw_bytes {
    ffi::into_handle(bw_bytes { data })
}

/// Writes a pointer to the bytes to `*out_data` and their count to `*out_len`. The bytes
/// live as long as the handle; they are not NUL-terminated (a key stored from a string is
/// exactly that string's bytes). Thread-safe.
///
/// # Safety
/// `bytes` is NULL or a live handle; the outputs are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bytes_data(
    bytes: *const bw_bytes,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> bw_result {
    boundary("bw_bytes_data", || {
        // SAFETY: documented requirement on `bytes`.
        let b = unsafe { ffi::arg_ref(bytes, "bytes") }?;
        let out_data = Out::new(out_data, "out_data")?;
        let out_len = Out::new(out_len, "out_len")?;
        out_data.write(b.data.as_ptr());
        out_len.write(b.data.len());
        Ok(())
    })
}

/// Destroys a bytes handle; NULL is a no-op.
///
/// # Safety
/// `bytes` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_bytes_free(bytes: *mut bw_bytes) {
    // SAFETY: documented requirement on `bytes`.
    unsafe { ffi::free_handle("bw_bytes_free", bytes) }
}
