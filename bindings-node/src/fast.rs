//! The hot path, as raw N-API functions. napi-rs's generated glue costs 150-450 ns per call
//! (argument-borrow bookkeeping); a guarded call makes two native calls, so each breaker,
//! policy and registry also gets a plain function of its own, `f(op, a, b, c) -> number`, that
//! takes and returns numbers. The object travels as the function's callback data (an `Rc` the
//! function owns and drops when it is garbage-collected), so a call reads no table and no
//! handle argument: one `napi_get_cb_info`, one `napi_get_value_double` per argument, and one
//! number created for the result (none for "done": `undefined`).
//!
//! Results are numbers; `NaN` means "take the slow path" (the JS layer then calls the regular
//! napi-rs method, which throws the proper error).

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;

/// An object the fast functions can reach: its `call` does the work.
pub trait Fast {
    fn call(&self, op: u32, a: f64, b: f64, c: f64) -> f64;
}

/// A result that means "done, nothing to report": the function returns `undefined` (no number
/// is created). A NaN with a payload no arithmetic produces.
pub const DONE: f64 = f64::from_bits(0x7ff4_0000_0000_0bad);

#[inline]
pub fn is_done(r: f64) -> bool {
    r.to_bits() == DONE.to_bits()
}

type Data = Rc<dyn Fast>;

/// `f(op, a, b, c)`: all numbers in, one number (or `undefined` for [`DONE`]) out.
unsafe extern "C" fn bound(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut argc: usize = 4;
    let mut argv: [sys::napi_value; 4] = [ptr::null_mut(); 4];
    let mut data: *mut c_void = ptr::null_mut();
    let mut nums = [f64::NAN, 0.0, 0.0, 0.0];
    // SAFETY: called by Node with a valid env and callback info; argv has room for argc values;
    // every napi_value read is one Node just handed us.
    unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            &mut data,
        );
        for (i, v) in argv.iter().enumerate().take(argc.min(4)) {
            if sys::napi_get_value_double(env, *v, &mut nums[i]) != sys::Status::napi_ok {
                nums[i] = f64::NAN;
            }
        }
    }
    let op = if nums[0].is_finite() && nums[0] >= 0.0 {
        nums[0] as u32
    } else {
        u32::MAX
    };
    let r = if data.is_null() {
        f64::NAN
    } else {
        // SAFETY: `data` is the `Box<Data>` `bound_function` attached to this very function; it
        // is freed only by the function's finalizer, which cannot run while it is being called.
        let obj: &Data = unsafe { &*data.cast::<Data>() };
        catch_unwind(AssertUnwindSafe(|| obj.call(op, nums[1], nums[2], nums[3])))
            .unwrap_or(f64::NAN)
    };
    if is_done(r) {
        return ptr::null_mut(); // undefined
    }
    let mut out = ptr::null_mut();
    // SAFETY: a valid env from Node; `out` receives the created value.
    unsafe {
        sys::napi_create_double(env, r, &mut out);
    }
    out
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    if !data.is_null() {
        // SAFETY: `data` is the box `bound_function` leaked for this function, finalized once.
        drop(unsafe { Box::from_raw(data.cast::<Data>()) });
    }
}

/// A new JS function bound to `obj` (kept alive by the function).
pub fn bound_function(env: &Env, obj: Data) -> Result<Unknown<'_>> {
    let data = Box::into_raw(Box::new(obj)).cast::<c_void>();
    let mut f = ptr::null_mut();
    let name = c"fast";
    // SAFETY: a valid env; `bound` matches napi_callback; the name is NUL-terminated; `data`
    // stays valid until the finalizer added below frees it.
    let status = unsafe {
        sys::napi_create_function(env.raw(), name.as_ptr(), 4, Some(bound), data, &mut f)
    };
    if status != sys::Status::napi_ok {
        // SAFETY: not handed to Node: still ours.
        drop(unsafe { Box::from_raw(data.cast::<Data>()) });
        return Err(Error::new(
            Status::GenericFailure,
            "napi_create_function failed",
        ));
    }
    // SAFETY: `f` is the function just created in this env; the finalizer frees `data` once.
    let status = unsafe {
        sys::napi_add_finalizer(
            env.raw(),
            f,
            data,
            Some(finalize),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: no finalizer owns it; the function may still be called, so leak it instead of
        // freeing it under a live function (a few bytes, on an N-API failure only).
        return Err(Error::new(
            Status::GenericFailure,
            "napi_add_finalizer failed",
        ));
    }
    // SAFETY: `f` is the function napi just created in this env.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), f) })
}
