//! The read-only records the native module returns (`breakwater._types`: frozen dataclasses),
//! built from here with keyword arguments.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

static TYPES: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    TYPES
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("breakwater._types")?.unbind())
        })
        .map(|m| m.bind(py))
}

/// `breakwater._types.<class>(**fields)`.
pub fn record<'py>(
    py: Python<'py>,
    class: &str,
    fields: Vec<(&'static str, Bound<'py, PyAny>)>,
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    for (k, v) in fields {
        kwargs.set_item(k, v)?;
    }
    module(py)?.getattr(class)?.call((), Some(&kwargs))
}

/// `record(py, "Class", { field: value, ... })` with every value converted to Python.
macro_rules! rec {
    ($py:expr, $class:expr, { $($k:ident : $v:expr),* $(,)? }) => {{
        use pyo3::IntoPyObjectExt as _;
        $crate::records::record(
            $py,
            $class,
            vec![$((stringify!($k), ($v).into_bound_py_any($py)?)),*],
        )
    }};
}
pub(crate) use rec;
