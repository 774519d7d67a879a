"""The public ``CircuitBreaker``: the native breaker plus what only Python can do well.

The native base class (``breakwater._breakwater.CircuitBreaker``) owns the state machine and
the sync guarded call (``call`` and the wrapper ``@breaker`` makes of a sync function both run
natively). This subclass adds coroutine support, context managers and the decorator's
dispatch; it keeps no state of its own (``__slots__ = ()``).
"""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Optional,
    Tuple,
    Type,
    TypeVar,
    overload,
)

from . import _breakwater as _native
from ._breakwater import Permit

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    P = ParamSpec("P")

__all__ = ["CircuitBreaker"]

R = TypeVar("R")
B = TypeVar("B", bound="CircuitBreaker")

# The permits of the `with breaker:` blocks open in this context (thread or asyncio task),
# innermost last. A ContextVar, not an attribute: one breaker serves many threads and tasks.
_open_blocks: ContextVar[Tuple[Tuple["CircuitBreaker", Permit], ...]] = ContextVar(
    "breakwater_open_blocks", default=()
)


# The native asyncio fast path (a coroutine object driven with PyIter_Send, CPython 3.10+);
# without it, the `async def` wrappers below do the same thing in Python.
_FAST_AWAIT: bool = _native._FAST_AWAIT


async def _coroutine_template(*args: Any, **kwargs: Any) -> Any:
    """Its code object marks native guarded coroutine functions as coroutine functions."""


def _mark_coroutine_function(wrapper: Any) -> None:
    """Makes `inspect.iscoroutinefunction(wrapper)` (and asyncio's) true for a native callable:
    on 3.12+ with `inspect.markcoroutinefunction`; before, by giving it the function-like
    attributes `inspect` reads (a coroutine code object, as Cython's functions do)."""
    if not isinstance(getattr(wrapper, "__name__", None), str):
        wrapper.__name__ = type(wrapper.__wrapped__).__name__  # e.g. a functools.partial
    wrapper.__code__ = _coroutine_template.__code__
    wrapper.__defaults__ = None
    wrapper.__kwdefaults__ = None
    mark = getattr(inspect, "markcoroutinefunction", None)
    if mark is not None:
        mark(wrapper)


def _is_coroutine_function(func: Any) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)
    )


class CircuitBreaker(_native.CircuitBreaker):
    """A circuit breaker (contract section 2). Durations are float seconds.

    ``breaker.call(fn, *args, **kwargs)``, ``await breaker.call_async(coro_fn, *args)``,
    ``@breaker`` on functions, coroutine functions and methods, ``with breaker:`` and
    ``async with breaker:``. An exception raised by the guarded code reaches the caller
    unchanged (the same object) after being classified and recorded.
    """

    __slots__ = ()
    __module__ = "breakwater"

    if TYPE_CHECKING:

        def call_async(
            self, func: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any
        ) -> Coroutine[Any, Any, R]:
            """``await breaker.call_async(func, *args, **kwargs)``: ``func``'s coroutine through
            the breaker. Cancellation releases the permit and counts nothing."""

    elif _FAST_AWAIT:
        call_async = _native.CircuitBreaker._call_async
    else:

        def call_async(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
            return self._call_async_py(func, args, kwargs)

    def _call_async_fallback(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        """``call_async`` without the native fast path (what 3.9 runs)."""
        return self._call_async_py(func, args, kwargs)

    async def _call_async_py(self, func: Callable[..., Awaitable[R]], args: Any, kwargs: Any) -> R:
        permit = self._acquire()
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            self._finish(permit, exc, True)
            raise
        self._finish(permit, result, False)
        return result

    # -- decorator ---------------------------------------------------------------------

    @overload
    def __call__(
        self, func: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, func: Any) -> Any:
        """Guards a function, coroutine function or method; ``functools.wraps`` keeps its name,
        docstring, signature and ``__wrapped__``."""
        if isinstance(func, staticmethod):
            return staticmethod(self(func.__func__))
        if isinstance(func, classmethod):
            return classmethod(self(func.__func__))
        if not callable(func):
            raise TypeError(f"@{type(self).__name__} needs a callable, got {func!r}")
        if _is_coroutine_function(func):
            if _FAST_AWAIT:
                native = self._wrap_async(func)
                if native is not None:
                    functools.update_wrapper(native, func)
                    _mark_coroutine_function(native)
                    native.breaker = self  # type: ignore[attr-defined]
                    return native
            return _guard_coroutine_function(self, func)
        guarded = self._wrap_sync(func)
        functools.update_wrapper(guarded, func)
        return guarded

    # -- context managers ----------------------------------------------------------------

    def __enter__(self: B) -> B:
        permit = self.try_acquire()
        _open_blocks.set(_open_blocks.get() + ((self, permit),))
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        permit = self._pop_block()
        if exc is None:
            self.record(permit)
        else:
            self.record_error(permit, exc)

    async def __aenter__(self: B) -> B:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def _pop_block(self) -> Permit:
        blocks = _open_blocks.get()
        for i in range(len(blocks) - 1, -1, -1):
            if blocks[i][0] is self:
                _open_blocks.set(blocks[:i] + blocks[i + 1 :])
                return blocks[i][1]
        raise RuntimeError(
            "CircuitBreaker.__exit__ without a matching __enter__ in this thread or task"
        )


def _guard_coroutine_function(
    breaker: CircuitBreaker, func: Callable[..., Awaitable[Any]]
) -> Callable[..., Coroutine[Any, Any, Any]]:
    acquire = breaker._acquire
    finish = breaker._finish

    @functools.wraps(func)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        permit = acquire()
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            finish(permit, exc, True)
            raise
        finish(permit, result, False)
        return result

    guarded.breaker = breaker  # type: ignore[attr-defined]
    return guarded

