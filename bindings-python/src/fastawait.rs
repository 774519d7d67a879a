//! The asyncio fast path for a breaker around a coroutine function (`@breaker` on an
//! `async def`, `breaker.call_async(...)`): a native coroutine object that drives the user's
//! coroutine itself, instead of a Python `async def` wrapper (whose frame alone costs more than
//! 2x an awaited bare coroutine).
//!
//! `guarded(*args)` returns a `_GuardedCoroutine`. Its first step asks the breaker for a
//! permit, calls the function and sends into the coroutine it returned with `PyIter_Send`;
//! whatever the user's coroutine yields (asyncio futures) passes through unchanged; its return
//! value or exception is recorded on the breaker exactly as the sync path records, and handed
//! to the awaiting frame. `send`, `throw` and `close` forward to the inner coroutine
//! (cancellation releases the permit and counts nothing), so asyncio treats it as a coroutine
//! (`collections.abc.Coroutine`). Dropped unfinished, it releases its permit.
//!
//! The type is written against the C API (PyO3 normalises every exception it fetches or
//! restores, which would cost a `StopIteration` instance per call). `PyIter_Send` is in the
//! stable ABI from 3.10 and this wheel is abi3 for 3.9, so it is looked up at run time; when it
//! is missing (3.9, or a platform without `dlsym`) `available()` is false and the Python layer
//! keeps its `async def` wrapper, which behaves the same.

use std::ffi::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::OnceLock;

use breakwater_core::Permit;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3::{PyTraverseError, PyTypeInfo, PyVisit, intern};

use crate::breaker::PyCircuitBreaker;

type SendFn =
    unsafe extern "C" fn(*mut ffi::PyObject, *mut ffi::PyObject, *mut *mut ffi::PyObject) -> c_int;

const PYGEN_RETURN: c_int = 0;
const PYGEN_NEXT: c_int = 1;

#[cfg(unix)]
unsafe extern "C" {
    fn dlsym(handle: *mut c_void, symbol: *const std::ffi::c_char) -> *mut c_void;
}

/// `PyIter_Send` of the running interpreter, when it has one.
fn iter_send() -> Option<SendFn> {
    static SEND: OnceLock<Option<SendFn>> = OnceLock::new();
    *SEND.get_or_init(|| {
        #[cfg(unix)]
        {
            #[cfg(target_os = "linux")]
            let default = ptr::null_mut();
            #[cfg(not(target_os = "linux"))]
            let default = -2isize as *mut c_void; // RTLD_DEFAULT on macOS and the BSDs
            // SAFETY: dlsym with a NUL-terminated name; a non-null result is the interpreter's
            // `PyIter_Send`, whose signature (stable ABI, 3.10+) is `SendFn`.
            let p = unsafe { dlsym(default, c"PyIter_Send".as_ptr()) };
            if p.is_null() {
                None
            } else {
                Some(unsafe { std::mem::transmute::<*mut c_void, SendFn>(p) })
            }
        }
        #[cfg(not(unix))]
        {
            None
        }
    })
}

// -- the coroutine object ---------------------------------------------------------------------

const FRESH: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;

#[repr(C)]
struct Coro {
    ob_base: ffi::PyObject,
    /// Strong references (null when unset).
    breaker: *mut ffi::PyObject,
    func: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    kwargs: *mut ffi::PyObject,
    /// The coroutine (or `__await__` iterator) being driven, once started.
    inner: *mut ffi::PyObject,
    permit: Option<Permit>,
    phase: u8,
}

unsafe fn clear_ref(slot: &mut *mut ffi::PyObject) {
    let p = std::mem::replace(slot, ptr::null_mut());
    if !p.is_null() {
        // SAFETY: a strong reference this object owned.
        unsafe { ffi::Py_DECREF(p) };
    }
}

struct TypeObjects {
    coro: Py<PyType>,
    coroutine_type: Py<PyType>,
}

static TYPES: PyOnceLock<Option<TypeObjects>> = PyOnceLock::new();

fn types(py: Python<'_>) -> Option<&TypeObjects> {
    TYPES
        .get_or_init(py, || {
            iter_send()?;
            let coroutine_type = py
                .import("types")
                .and_then(|m| m.getattr("CoroutineType"))
                .and_then(|t| Ok(t.cast_into::<PyType>()?.unbind()))
                .ok()?;
            let coro = make_type(py)?;
            Some(TypeObjects {
                coro,
                coroutine_type,
            })
        })
        .as_ref()
}

/// Whether the fast path runs in this interpreter.
pub fn available(py: Python<'_>) -> bool {
    types(py).is_some()
}

fn make_type(py: Python<'_>) -> Option<Py<PyType>> {
    let methods: &'static mut [ffi::PyMethodDef] = Box::leak(Box::new([
        ffi::PyMethodDef {
            ml_name: c"send".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunction: coro_send,
            },
            ml_flags: ffi::METH_O,
            ml_doc: c"send(value): resume the guarded coroutine".as_ptr(),
        },
        ffi::PyMethodDef {
            ml_name: c"throw".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunction: coro_throw,
            },
            ml_flags: ffi::METH_VARARGS,
            ml_doc: c"throw(typ[, val[, tb]]): raise an exception in the guarded coroutine"
                .as_ptr(),
        },
        ffi::PyMethodDef {
            ml_name: c"close".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunction: coro_close,
            },
            ml_flags: ffi::METH_NOARGS,
            ml_doc: c"close(): close the guarded coroutine (the permit is released)".as_ptr(),
        },
        ffi::PyMethodDef::zeroed(),
    ]));
    let slot = |slot: c_int, pfunc: *mut c_void| ffi::PyType_Slot { slot, pfunc };
    let slots: &'static mut [ffi::PyType_Slot] = Box::leak(Box::new([
        slot(ffi::Py_tp_dealloc, coro_dealloc as *mut c_void),
        slot(ffi::Py_tp_traverse, coro_traverse as *mut c_void),
        slot(ffi::Py_tp_clear, coro_clear as *mut c_void),
        slot(ffi::Py_tp_iternext, coro_iternext as *mut c_void),
        slot(ffi::Py_am_await, coro_await as *mut c_void),
        slot(ffi::Py_tp_methods, methods.as_mut_ptr() as *mut c_void),
        slot(
            ffi::Py_tp_doc,
            c"A coroutine guarded by a breakwater circuit breaker.".as_ptr() as *mut c_void,
        ),
        slot(0, ptr::null_mut()),
    ]));
    let spec: &'static mut ffi::PyType_Spec = Box::leak(Box::new(ffi::PyType_Spec {
        name: c"breakwater._GuardedCoroutine".as_ptr(),
        basicsize: std::mem::size_of::<Coro>() as c_int,
        itemsize: 0,
        flags: (ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_HAVE_GC) as _,
        slots: slots.as_mut_ptr(),
    }));
    // SAFETY: a complete, 'static spec.
    let t = unsafe { ffi::PyType_FromSpec(spec) };
    if t.is_null() {
        PyErr::take(py);
        return None;
    }
    // SAFETY: PyType_FromSpec returned a new reference to a type object.
    Some(unsafe { Bound::from_owned_ptr(py, t).cast_into_unchecked::<PyType>() }.unbind())
}

/// A new, fresh `_GuardedCoroutine` (None when the fast path is unavailable).
fn new_coro(
    py: Python<'_>,
    breaker: &Bound<'_, PyCircuitBreaker>,
    func: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    let t =
        types(py).ok_or_else(|| PyRuntimeError::new_err("the asyncio fast path is unavailable"))?;
    // SAFETY: allocating an instance of our own GC type; every field is written before any
    // Python code can run (the memory comes zeroed, which is the empty state for each field).
    unsafe {
        let tp = t.coro.as_ptr() as *mut ffi::PyTypeObject;
        let obj = ffi::PyType_GenericAlloc(tp, 0);
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        let c = obj as *mut Coro;
        ptr::addr_of_mut!((*c).breaker).write(breaker.clone().into_any().into_ptr());
        ptr::addr_of_mut!((*c).func).write(func.clone().into_ptr());
        ptr::addr_of_mut!((*c).args).write(args.clone().into_any().into_ptr());
        ptr::addr_of_mut!((*c).kwargs).write(match kwargs {
            Some(k) if !k.is_empty() => k.clone().into_any().into_ptr(),
            _ => ptr::null_mut(),
        });
        ptr::addr_of_mut!((*c).inner).write(ptr::null_mut());
        ptr::addr_of_mut!((*c).permit).write(None);
        ptr::addr_of_mut!((*c).phase).write(FRESH);
        Ok(Bound::from_owned_ptr(py, obj).unbind())
    }
}

/// Runs a C-API callback body: a panic becomes `BreakwaterError(code="PANIC")`.
fn guard(f: impl FnOnce(Python<'_>) -> *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: every callback runs with the GIL held by the calling thread.
    let py = unsafe { Python::assume_attached() };
    match catch_unwind(AssertUnwindSafe(|| f(py))) {
        Ok(r) => r,
        Err(_) => {
            crate::errors::panic_error(py, "in a guarded coroutine").restore(py);
            ptr::null_mut()
        }
    }
}

fn breaker_of<'py>(py: Python<'py>, c: &Coro) -> Bound<'py, PyCircuitBreaker> {
    // SAFETY: `breaker` is a strong reference to a CircuitBreaker for the object's lifetime.
    unsafe { Bound::from_borrowed_ptr(py, c.breaker).cast_into_unchecked::<PyCircuitBreaker>() }
}

/// Raises `StopIteration(value)` the way CPython's own coroutines do (no instance unless the
/// value needs one), for the awaiting frame to read.
fn stop_with(value: Bound<'_, PyAny>) -> *mut ffi::PyObject {
    // SAFETY: plain C-API error setting with valid objects.
    unsafe {
        if value.is_none() {
            ffi::PyErr_SetNone(ffi::PyExc_StopIteration);
        } else if value.is_instance_of::<PyTuple>()
            || value.is_instance_of::<pyo3::exceptions::PyBaseException>()
        {
            let py = value.py();
            match PyStopIteration::type_object(py).call1((value,)) {
                Ok(e) => ffi::PyErr_SetObject(ffi::PyExc_StopIteration, e.as_ptr()),
                Err(e) => e.restore(py),
            }
        } else {
            ffi::PyErr_SetObject(ffi::PyExc_StopIteration, value.as_ptr());
        }
    }
    ptr::null_mut()
}

impl Coro {
    fn finish_value(&mut self, py: Python<'_>, value: &Bound<'_, PyAny>) {
        self.phase = DONE;
        if let Some(p) = self.permit.take() {
            let b = breaker_of(py, self);
            let b = b.get();
            let o = b.outcome_of_result(py, value);
            b.core.record(p, o);
        }
        // SAFETY: owned references.
        unsafe { clear_ref(&mut self.inner) };
    }

    /// The inner coroutine raised (the exception is set): record or release, keep it set.
    fn finish_error(&mut self, py: Python<'_>) {
        self.phase = DONE;
        let permit = self.permit.take();
        // SAFETY: fetch / normalise / restore the current exception, unchanged.
        unsafe {
            let (mut t, mut v, mut tb) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
            ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
            ffi::PyErr_NormalizeException(&mut t, &mut v, &mut tb);
            if let Some(p) = permit
                && !v.is_null()
            {
                let b = breaker_of(py, self);
                b.get()
                    .finish_error(py, p, &Bound::from_borrowed_ptr(py, v));
            } else if let Some(p) = permit {
                breaker_of(py, self).get().core.release(p);
            }
            ffi::PyErr_Restore(t, v, tb);
            clear_ref(&mut self.inner);
        }
    }

    /// First step: permit, call, get the awaitable iterator.
    fn start(&mut self, py: Python<'_>) -> Result<(), ()> {
        self.phase = RUNNING;
        let b = breaker_of(py, self);
        let permit = match b.get().core.try_acquire() {
            Ok(p) => p,
            Err(rej) => {
                self.phase = DONE;
                b.get().open_error(py, rej).restore(py);
                self.drop_call();
                return Err(());
            }
        };
        self.permit = Some(permit);
        // SAFETY: func/args/kwargs are strong references set at creation.
        let called = unsafe {
            let r = ffi::PyObject_Call(self.func, self.args, self.kwargs);
            self.drop_call();
            r
        };
        if called.is_null() {
            self.finish_error(py);
            return Err(());
        }
        // SAFETY: a new reference.
        let obj = unsafe { Bound::from_owned_ptr(py, called) };
        let t = types(py).expect("the type exists once a coroutine does");
        let inner = if obj.get_type().is(t.coroutine_type.bind(py)) {
            Ok(obj)
        } else {
            match obj.getattr_opt(intern!(py, "__await__")) {
                Ok(Some(aw)) => aw.call0(),
                Ok(None) => Err(PyTypeError::new_err(format!(
                    "object {} can't be used in 'await' expression",
                    obj.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))),
                Err(e) => Err(e),
            }
        };
        match inner {
            Ok(i) => {
                self.inner = i.into_ptr();
                Ok(())
            }
            Err(e) => {
                e.restore(py);
                self.finish_error(py);
                Err(())
            }
        }
    }

    fn drop_call(&mut self) {
        // SAFETY: owned references.
        unsafe {
            clear_ref(&mut self.func);
            clear_ref(&mut self.args);
            clear_ref(&mut self.kwargs);
        }
    }

    fn step(&mut self, py: Python<'_>, arg: *mut ffi::PyObject) -> *mut ffi::PyObject {
        match self.phase {
            DONE => {
                PyRuntimeError::new_err("cannot reuse already awaited coroutine").restore(py);
                return ptr::null_mut();
            }
            FRESH => {
                // SAFETY: `arg` is a borrowed reference.
                if unsafe { arg != ffi::Py_None() } {
                    PyTypeError::new_err("can't send non-None value to a just-started coroutine")
                        .restore(py);
                    return ptr::null_mut();
                }
                if self.start(py).is_err() {
                    return ptr::null_mut();
                }
            }
            _ => {}
        }
        let send = iter_send().expect("the type exists only with PyIter_Send");
        let mut out: *mut ffi::PyObject = ptr::null_mut();
        // SAFETY: `inner` is a strong reference; `out` receives a new reference on NEXT and
        // RETURN.
        let r = unsafe { send(self.inner, arg, &mut out) };
        match r {
            PYGEN_NEXT => out,
            PYGEN_RETURN => {
                // SAFETY: a new reference.
                let v = unsafe { Bound::from_owned_ptr(py, out) };
                self.finish_value(py, &v);
                stop_with(v)
            }
            _ => {
                self.finish_error(py);
                ptr::null_mut()
            }
        }
    }
}

unsafe extern "C" fn coro_iternext(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: `slf` is one of our objects; Py_None is immortal or borrowed.
    guard(|py| unsafe { (*(slf as *mut Coro)).step(py, ffi::Py_None()) })
}

unsafe extern "C" fn coro_send(
    slf: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: `slf` is one of our objects, `arg` borrowed.
    guard(|py| unsafe { (*(slf as *mut Coro)).step(py, arg) })
}

unsafe extern "C" fn coro_await(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: returning a new reference to ourselves (the iterator `await` drives).
    unsafe { ffi::Py_INCREF(slf) };
    slf
}

unsafe extern "C" fn coro_throw(
    slf: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    guard(|py| {
        // SAFETY: `slf` is one of our objects; `args` a borrowed tuple.
        let c = unsafe { &mut *(slf as *mut Coro) };
        let args = unsafe { Bound::from_borrowed_ptr(py, args).cast_into_unchecked::<PyTuple>() };
        if c.phase != RUNNING {
            // Not started (or finished): raise it here, like a fresh coroutine does.
            c.phase = DONE;
            c.drop_call();
            let typ = args.get_item(0).ok();
            let val = args.get_item(1).ok().filter(|v| !v.is_none());
            let err = match (typ, val) {
                (Some(t), _) if t.is_instance_of::<pyo3::exceptions::PyBaseException>() => {
                    PyErr::from_value(t)
                }
                (Some(t), Some(v)) if t.is_instance_of::<PyType>() => match t.call1((v,)) {
                    Ok(e) => PyErr::from_value(e),
                    Err(e) => e,
                },
                (Some(t), None) if t.is_instance_of::<PyType>() => match t.call0() {
                    Ok(e) => PyErr::from_value(e),
                    Err(e) => e,
                },
                _ => PyTypeError::new_err("throw() expects an exception"),
            };
            err.restore(py);
            return ptr::null_mut();
        }
        // SAFETY: `inner` is a strong reference while running.
        let inner = unsafe { Bound::from_borrowed_ptr(py, c.inner) };
        match inner.call_method1(intern!(py, "throw"), args) {
            Ok(v) => v.into_ptr(), // it yielded: still running
            Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
                let v = e
                    .value(py)
                    .getattr(intern!(py, "value"))
                    .unwrap_or_else(|_| py.None().into_bound(py));
                c.finish_value(py, &v);
                stop_with(v)
            }
            Err(e) => {
                e.restore(py);
                c.finish_error(py);
                ptr::null_mut()
            }
        }
    })
}

unsafe extern "C" fn coro_close(
    slf: *mut ffi::PyObject,
    _unused: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    guard(|py| {
        // SAFETY: `slf` is one of our objects.
        let c = unsafe { &mut *(slf as *mut Coro) };
        let mut result: PyResult<()> = Ok(());
        if c.phase == RUNNING && !c.inner.is_null() {
            // SAFETY: a strong reference while running.
            let inner = unsafe { Bound::from_borrowed_ptr(py, c.inner) };
            if let Ok(Some(close)) = inner.getattr_opt(intern!(py, "close")) {
                result = close.call0().map(drop);
            }
        }
        c.phase = DONE;
        if let Some(p) = c.permit.take() {
            breaker_of(py, c).get().core.release(p);
        }
        c.drop_call();
        // SAFETY: owned reference.
        unsafe { clear_ref(&mut c.inner) };
        match result {
            Ok(()) => py.None().into_ptr(),
            Err(e) => {
                e.restore(py);
                ptr::null_mut()
            }
        }
    })
}

unsafe extern "C" fn coro_traverse(
    slf: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: visiting our strong references.
    unsafe {
        let c = &*(slf as *mut Coro);
        for p in [c.breaker, c.func, c.args, c.kwargs, c.inner] {
            if !p.is_null() {
                let r = visit(p, arg);
                if r != 0 {
                    return r;
                }
            }
        }
    }
    0
}

unsafe extern "C" fn coro_clear(slf: *mut ffi::PyObject) -> c_int {
    // SAFETY: dropping our references (the permit is released in dealloc, which still needs
    // the breaker: it is cleared last, there).
    unsafe {
        let c = &mut *(slf as *mut Coro);
        c.drop_call();
        clear_ref(&mut c.inner);
    }
    0
}

/// `RuntimeWarning: coroutine '...' was never awaited`, as CPython's own coroutines warn,
/// keeping any exception in flight.
unsafe fn warn_never_awaited(func: *mut ffi::PyObject) {
    // SAFETY: called from dealloc with the GIL held; the current exception is saved and
    // restored around the warning.
    unsafe {
        let (mut t, mut v, mut tb) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        let py = Python::assume_attached();
        let f = Bound::from_borrowed_ptr(py, func);
        let name = f
            .getattr_opt(intern!(py, "__qualname__"))
            .ok()
            .flatten()
            .and_then(|n| n.extract::<String>().ok())
            .unwrap_or_else(|| "guarded".to_string());
        let msg = std::ffi::CString::new(format!("coroutine '{name}' was never awaited"))
            .unwrap_or_default();
        if ffi::PyErr_WarnEx(ffi::PyExc_RuntimeWarning, msg.as_ptr(), 1) < 0 {
            ffi::PyErr_WriteUnraisable(func);
        }
        ffi::PyErr_Restore(t, v, tb);
    }
}

unsafe extern "C" fn coro_dealloc(slf: *mut ffi::PyObject) {
    // SAFETY: the object is dying: untrack, release what it holds, free with the type's free.
    unsafe {
        ffi::PyObject_GC_UnTrack(slf as *mut c_void);
        let c = &mut *(slf as *mut Coro);
        if c.phase == FRESH && !c.func.is_null() {
            warn_never_awaited(c.func);
        }
        if let Some(p) = c.permit.take()
            && !c.breaker.is_null()
        {
            let py = Python::assume_attached();
            breaker_of(py, c).get().core.release(p);
        }
        c.drop_call();
        clear_ref(&mut c.inner);
        clear_ref(&mut c.breaker);
        let tp = ffi::Py_TYPE(slf);
        let free = ffi::PyType_GetSlot(tp, ffi::Py_tp_free);
        let free: ffi::freefunc = std::mem::transmute::<*mut c_void, ffi::freefunc>(free);
        free(slf as *mut c_void);
        ffi::Py_DECREF(tp as *mut ffi::PyObject);
    }
}

// -- the guarded callable ---------------------------------------------------------------------

fn method_type(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static T: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    T.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("types")?.getattr("MethodType")?.unbind())
    })
    .map(|t| t.bind(py))
}

/// What `@breaker` makes of a coroutine function when the fast path is available: calling it
/// returns a `_GuardedCoroutine`; it binds as a method like a function.
#[pyclass(frozen, dict, module = "breakwater", name = "GuardedCoroutineFunction")]
pub struct GuardedAsync {
    breaker: Py<PyCircuitBreaker>,
    func: Py<PyAny>,
}

#[pymethods]
impl GuardedAsync {
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        new_coro(py, self.breaker.bind(py), self.func.bind(py), args, kwargs)
    }

    fn __get__<'py>(
        slf: &Bound<'py, Self>,
        instance: Option<&Bound<'py, PyAny>>,
        owner: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = owner;
        match instance {
            Some(i) if !i.is_none() => method_type(slf.py())?.call1((slf, i)),
            _ => Ok(slf.clone().into_any()),
        }
    }

    /// The breaker guarding this function.
    #[getter]
    fn guard(&self, py: Python<'_>) -> Py<PyCircuitBreaker> {
        self.breaker.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "<guarded coroutine function {} by {}>",
            self.func.bind(py).repr()?,
            self.breaker.bind(py).repr()?
        ))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.breaker)?;
        visit.call(&self.func)
    }
}

impl PyCircuitBreaker {
    /// `_wrap_async(func)`: a `GuardedCoroutineFunction`, or None without the fast path.
    pub fn wrap_async(
        slf: &Bound<'_, Self>,
        func: &Bound<'_, PyAny>,
    ) -> PyResult<Option<GuardedAsync>> {
        if !available(slf.py()) {
            return Ok(None);
        }
        Ok(Some(GuardedAsync {
            breaker: slf.clone().unbind(),
            func: func.clone().unbind(),
        }))
    }

    /// `_call_async(func, *args, **kwargs)`: the guarded coroutine, not started.
    pub fn call_async_native(
        slf: &Bound<'_, Self>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        new_coro(slf.py(), slf, func, args, kwargs)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<GuardedAsync>()?;
    m.add("_FAST_AWAIT", available(m.py()))?;
    Ok(())
}
