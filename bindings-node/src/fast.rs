//! The hot path, as raw N-API functions. napi-rs's generated glue costs 150-450 ns per call
//! (argument-borrow bookkeeping); a guarded call makes two native calls, so the breaker's and
//! the policy's per-call operations are also exported as plain callbacks that take and return
//! numbers (~20 ns). They address their object by a handle into a per-thread table, never by a
//! pointer: a stale or foreign handle is an error value, not undefined behaviour.
//!
//! Results are numbers; `NaN` means "take the slow path" (the JS layer then calls the regular
//! napi-rs method, which throws the proper error).

use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

/// An object the fast functions can reach: its `fast_*` methods do the work.
pub trait Fast {
    fn call(&self, op: u32, a: f64, b: f64, c: f64) -> f64;
}

thread_local! {
    static TABLE: RefCell<Vec<Option<Rc<dyn Fast>>>> = const { RefCell::new(Vec::new()) };
    static FREE: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// Registers an object; the handle stays valid until [`unregister`].
pub fn register(obj: Rc<dyn Fast>) -> u32 {
    let reused = FREE.with(|f| f.borrow_mut().pop());
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        match reused {
            Some(i) => {
                t[i as usize] = Some(obj);
                i
            }
            None => {
                t.push(Some(obj));
                (t.len() - 1) as u32
            }
        }
    })
}

pub fn unregister(handle: u32) {
    let removed = TABLE.with(|t| {
        t.borrow_mut()
            .get_mut(handle as usize)
            .and_then(Option::take)
    });
    if removed.is_some() {
        FREE.with(|f| f.borrow_mut().push(handle));
    }
}

fn dispatch(handle: f64, op: u32, a: f64, b: f64, c: f64) -> f64 {
    if !(handle >= 0.0 && handle.fract() == 0.0 && handle < u32::MAX as f64) {
        return f64::NAN;
    }
    let obj = TABLE.with(|t| t.borrow().get(handle as usize).cloned().flatten());
    match obj {
        // The table borrow is released: the object may call back into JS-free code only, and
        // a (re)registration during the call cannot conflict.
        Some(o) => catch_unwind(AssertUnwindSafe(|| o.call(op, a, b, c))).unwrap_or(f64::NAN),
        None => f64::NAN,
    }
}

/// `fast(handle, op, a, b, c)`: all numbers in, one number out.
unsafe extern "C" fn fast(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut argc: usize = 5;
    let mut argv: [sys::napi_value; 5] = [ptr::null_mut(); 5];
    let mut nums = [f64::NAN, 0.0, 0.0, 0.0, 0.0];
    // SAFETY: called by Node with a valid env and callback info; argv has room for argc values;
    // every napi_value read is one Node just handed us.
    unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        );
        for (i, v) in argv.iter().enumerate().take(argc.min(5)) {
            if sys::napi_get_value_double(env, *v, &mut nums[i]) != sys::Status::napi_ok {
                nums[i] = f64::NAN;
            }
        }
    }
    let op = if nums[1].is_finite() && nums[1] >= 0.0 {
        nums[1] as u32
    } else {
        u32::MAX
    };
    let r = dispatch(nums[0], op, nums[2], nums[3], nums[4]);
    let mut out = ptr::null_mut();
    // SAFETY: a valid env from Node; `out` receives the created value.
    unsafe {
        sys::napi_create_double(env, r, &mut out);
    }
    out
}

/// The raw fast function (`fast(handle, op, a, b, c) -> number`), made once at load.
#[napi]
pub fn fast_function(env: &Env) -> Result<Unknown<'_>> {
    let mut f = ptr::null_mut();
    let name = c"fast";
    // SAFETY: a valid env; `fast` matches napi_callback; the name is NUL-terminated.
    let status = unsafe {
        sys::napi_create_function(
            env.raw(),
            name.as_ptr(),
            4,
            Some(fast),
            ptr::null_mut::<c_void>(),
            &mut f,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(Error::new(
            Status::GenericFailure,
            "napi_create_function failed",
        ));
    }
    // SAFETY: `f` is the function napi just created in this env.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), f) })
}
