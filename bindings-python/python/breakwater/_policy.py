"""The public ``Policy`` and ``Retry``: the native step machine plus the asyncio loop.

A sync call runs entirely natively (``Policy.call``, and the wrapper ``@policy`` makes of a
sync function). A coroutine call is driven here, step by step, through a ``_PolicyRun``:
attempts are awaited (with the policy's timeout, which cancels the attempt), backoff sleeps use
``asyncio.sleep`` (or advance a ManualClock and yield once), and cancellation releases whatever
the call holds.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Coroutine, TypeVar, overload

from . import _breakwater as _native
from ._breaker import _is_coroutine_function
from ._breakwater import CallInfo

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    P = ParamSpec("P")

__all__ = ["Policy", "Retry"]

R = TypeVar("R")


def _resolve(fut: "asyncio.Future[bool]") -> None:
    if not fut.done():
        fut.set_result(True)


async def _attempt_with_timeout(aw: Awaitable[Any], timeout: float) -> Any:
    """Awaits `aw`, abandoning it (cancelled) after `timeout` seconds with bw.TimeoutError."""
    task = asyncio.ensure_future(aw)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except BaseException:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    try:
        await task
    except BaseException:
        pass
    err = _native.TimeoutError(f"attempt timed out after {timeout} s")
    err.timeout = timeout
    raise err


class Policy(_native.Policy):
    """The resilience pipeline: fallback, retry, circuit breaker, timeout, the call.

    ``policy.call(fn, *args)``, ``await policy.call_async(coro_fn, *args)``,
    ``policy.call_with_info(...)`` / ``await policy.call_with_info_async(...)`` and ``@policy``
    on functions, coroutine functions and methods. Durations are seconds.
    """

    __slots__ = ()
    __module__ = "breakwater"

    async def call_async(self, func: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any) -> R:
        """Awaits ``func(*args, **kwargs)`` through the pipeline."""
        return await self._run_async(func, args, kwargs, False)  # type: ignore[no-any-return]

    async def call_with_info_async(
        self, func: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any
    ) -> CallInfo:
        """Like ``call_async`` but returns a ``CallInfo``."""
        return await self._run_async(func, args, kwargs, True)  # type: ignore[no-any-return]

    async def _run_async(
        self, func: Callable[..., Awaitable[Any]], args: Any, kwargs: Any, with_info: bool
    ) -> Any:
        run = self._start(func, args, kwargs)
        kind = run.kind
        while True:
            if kind == "attempt":
                timeout = run.timeout
                try:
                    if timeout is None:
                        value = await func(*args, **kwargs)
                    else:
                        value = await _attempt_with_timeout(func(*args, **kwargs), timeout)
                except BaseException as exc:
                    kind = run.on_error(exc)
                else:
                    kind = run.on_value(value)
            elif kind == "done":
                return run.finish_info() if with_info else run.finish()
            elif kind == "sleep":
                try:
                    await asyncio.sleep(run.delay)
                except BaseException as exc:
                    kind = run.cancel(exc)
                else:
                    kind = run.after_sleep()
            elif kind == "fallback":
                # The chosen strategy (or the fallback function) runs natively; a coroutine
                # it returns (an async execute, target or fallback) is awaited here.
                value, _ = run.fallback()
                if inspect.isawaitable(value):
                    value = await value
                run.served()
                return run.info(value) if with_info else value
            else:  # "wait": queued by the bulkhead until a slot is handed over
                loop = asyncio.get_running_loop()
                fut: asyncio.Future[bool] = loop.create_future()
                if run.wait_register(functools.partial(loop.call_soon_threadsafe, _resolve, fut)):
                    kind = run.after_wait(True)
                    continue
                try:
                    await asyncio.wait({fut}, timeout=run.max_wait)
                except BaseException as exc:
                    kind = run.cancel(exc)
                else:
                    kind = run.after_wait(fut.done())

    @overload
    def __call__(self, func: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, func: Any) -> Any:
        """Guards a function, coroutine function or method with the whole pipeline."""
        if isinstance(func, staticmethod):
            return staticmethod(self(func.__func__))
        if isinstance(func, classmethod):
            return classmethod(self(func.__func__))
        if not callable(func):
            raise TypeError(f"@{type(self).__name__} needs a callable, got {func!r}")
        if _is_coroutine_function(func):
            run_async = self._run_async

            @functools.wraps(func)
            async def guarded(*args: Any, **kwargs: Any) -> Any:
                return await run_async(func, args, kwargs, False)

            guarded.policy = self  # type: ignore[attr-defined]
            return guarded
        wrapper = self._wrap_sync(func)
        functools.update_wrapper(wrapper, func)
        return wrapper


class Retry(_native.Retry):
    """Retry decisions (attempts, backoff with jitter, Retry-After, budget). Put it in a
    ``Policy``, or use it alone: ``retry.call(fn)``, ``await retry.call_async(fn)``,
    ``@retry``."""

    __slots__ = ("_policy",)
    __module__ = "breakwater"

    def _as_policy(self) -> Policy:
        try:
            return self._policy
        except AttributeError:
            self._policy: Policy = Policy(retry=self)
            return self._policy

    def call(self, func: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        return self._as_policy().call(func, *args, **kwargs)  # type: ignore[no-any-return]

    async def call_async(self, func: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any) -> R:
        return await self._as_policy().call_async(func, *args, **kwargs)

    def call_with_info(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> CallInfo:
        return self._as_policy().call_with_info(func, *args, **kwargs)

    @overload
    def __call__(self, func: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __call__(self, func: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, func: Any) -> Any:
        return self._as_policy()(func)

