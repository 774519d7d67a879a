"""The public ``HealthRegistry``: the native registry plus the code that runs the checks.

A check is a callable taking no arguments, sync or ``async def``. It returns None or True
(healthy), False (unhealthy), a status string (``"healthy"``, ``"degraded"``, ``"unhealthy"``,
``"critical"``, ``"unknown"``), a ``(status, message)`` pair, or a mapping with ``status``,
``message`` and ``metadata``; an exception it raises is an unhealthy report with the error as
the message. Every run is reported to the core with its latency on the registry's clock: a
latency above the check's timeout is a failed report.

Scheduling: ``start()`` runs the sync checks on a background daemon thread, each on its
interval, each run in a daemon thread of its own so that a hung check only costs its timeout
(its late result is dropped); called with an asyncio loop running, it also runs the async
checks as tasks on that loop (``asyncio.wait_for`` with their timeouts). Tests drive it
without threads or real sleeps: ``run_check(name)``, ``run_once()``, ``run_due()`` and their
``_async`` forms, on a ManualClock.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from types import TracebackType
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Tuple, Type, TypeVar

from . import _breakwater as _native
from ._types import CheckStatus, HealthReport

__all__ = ["HealthRegistry"]

CheckFn = Callable[[], Any]
F = TypeVar("F", bound=Callable[[], Any])
Outcome = Tuple[str, Optional[str], Optional[Mapping[str, Any]]]

_STATUSES = frozenset(_native.HEALTH_STATUSES)


def _interpret(ret: Any) -> Tuple[str, Optional[str], Optional[Mapping[str, Any]]]:
    """(status, message, metadata) for what a check returned."""
    if ret is None or ret is True:
        return "healthy", None, None
    if ret is False:
        return "unhealthy", None, None
    if isinstance(ret, str):
        if ret in _STATUSES:
            return ret, None, None
        return "unknown", f"the check returned {ret!r}, not a health status", None
    if isinstance(ret, tuple) and len(ret) == 2 and isinstance(ret[0], str):
        status, message = _interpret(ret[0])[0], ret[1]
        return status, None if message is None else str(message), None
    if isinstance(ret, Mapping):
        status = _interpret(ret.get("status", "healthy"))[0]
        message = ret.get("message")
        return status, None if message is None else str(message), ret.get("metadata")
    return "unknown", f"the check returned {type(ret).__name__}, not a health status", None


def _failure(exc: BaseException) -> Outcome:
    return "unhealthy", f"{type(exc).__name__}: {exc}", None


def _call_sync(fn: CheckFn) -> Outcome:
    """Runs a sync check once: its outcome (an exception it raises is an unhealthy report)."""
    try:
        ret = fn()
    except Exception as exc:  # the check's own failure is its report
        return _failure(exc)
    if inspect.isawaitable(ret):
        if inspect.iscoroutine(ret):
            ret.close()
        return "unknown", "the check returned an awaitable; run it with run_once_async()", None
    return _interpret(ret)


class _Check:
    __slots__ = ("name", "fn", "config", "is_async", "next_due", "in_flight")

    def __init__(self, name: str, fn: Optional[CheckFn], config: Dict[str, Any], due: float) -> None:
        self.name = name
        self.fn = fn
        self.config = config
        self.is_async = fn is not None and (
            inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))
        )
        self.next_due = due
        self.in_flight = False


class HealthRegistry(_native.HealthRegistry):
    """Health checks, their dependencies and the aggregate (contract section 1, "HealthCheck").

    ``register(name, check, interval=..., timeout=...)`` or ``@health.check(...)``;
    ``status()`` (a ``HealthReport``), ``liveness()`` / ``readiness()`` / ``startup()``,
    ``is_live()`` / ``is_ready()`` / ``is_started()``; ``add_dependency(breaker)``;
    ``on("health_changed", ...)``; ``start()`` / ``stop()`` (or ``with health:``). Durations
    are seconds.
    """

    __module__ = "breakwater"

    def __init__(self, name: str = "health", **kwargs: Any) -> None:
        # The native __new__ parsed and checked every argument.
        self._checks: Dict[str, _Check] = {}
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    # -- registration ---------------------------------------------------------------------

    def register(
        self,
        name: str,
        check: Optional[CheckFn] = None,
        *,
        kind: Optional[str] = None,
        interval: Optional[float] = None,
        timeout: Optional[float] = None,
        failure_threshold: Optional[int] = None,
        critical: Optional[bool] = None,
        config: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Registers check ``name``: its settings are the config's entry for it (else the
        registry's defaults), then ``config`` (a mapping in config-file spelling: ``interval``
        in ms or ``interval_ms``, ``failureThreshold``...), then the keywords (seconds).
        Registering a name again reconfigures it and keeps its results. Without ``check`` the
        check is reported from outside (``report(name, status)``)."""
        if check is not None and not callable(check):
            raise TypeError(f"a health check is a callable, got {check!r}")
        resolved = self._register_check(
            name,
            config,
            kind=kind,
            interval=interval,
            timeout=timeout,
            failure_threshold=failure_threshold,
            critical=critical,
        )
        c = _Check(name, check, resolved, self._now())
        with self._lock:
            self._checks[name] = c
        self._wake.set()
        if c.is_async and self._loop is not None and not self._stop.is_set():
            self._loop.call_soon_threadsafe(self._spawn, c)

    def check(
        self,
        name: Optional[str] = None,
        *,
        kind: Optional[str] = None,
        interval: Optional[float] = None,
        timeout: Optional[float] = None,
        failure_threshold: Optional[int] = None,
        critical: Optional[bool] = None,
    ) -> Callable[[F], F]:
        """Registers the decorated function as a check (named after it by default)."""

        def decorate(fn: F) -> F:
            self.register(
                name or fn.__name__,
                fn,
                kind=kind,
                interval=interval,
                timeout=timeout,
                failure_threshold=failure_threshold,
                critical=critical,
            )
            return fn

        return decorate

    def unregister(self, name: str) -> bool:
        with self._lock:
            self._checks.pop(name, None)
        return super().unregister(name)

    # -- running checks --------------------------------------------------------------------

    def config_for(self, name: str) -> Dict[str, Any]:
        """Check ``name``'s settings (seconds): kind, interval, timeout, failure_threshold,
        critical; for a name not registered, what it would be registered with."""
        with self._lock:
            c = self._checks.get(name)
        return dict(c.config) if c is not None else super().config_for(name)

    def _settings(self, name: str) -> Tuple[float, float]:
        cfg = self.config_for(name)
        return float(cfg["interval"]), float(cfg["timeout"])

    def _report(self, name: str, outcome: Outcome, latency: float) -> CheckStatus:
        status, message, metadata = outcome
        return self.report(name, status, message, latency=max(latency, 0.0), metadata=metadata)

    def _run_sync(self, c: _Check) -> CheckStatus:
        assert c.fn is not None
        start = self._now()
        outcome = _call_sync(c.fn)
        return self._report(c.name, outcome, self._now() - start)

    async def _run_async(self, c: _Check) -> CheckStatus:
        assert c.fn is not None
        _, timeout = self._settings(c.name)
        start = self._now()
        outcome: Outcome
        try:
            ret = c.fn()
            if inspect.isawaitable(ret):
                ret = await asyncio.wait_for(_awaitable(ret), timeout)
            outcome = _interpret(ret)
        except asyncio.TimeoutError:
            outcome = ("unhealthy", f"timed out after {timeout} s", None)
            return self._report(c.name, outcome, max(self._now() - start, timeout + 1e-9))
        except Exception as exc:
            outcome = _failure(exc)
        return self._report(c.name, outcome, self._now() - start)

    def _get(self, name: str) -> _Check:
        with self._lock:
            c = self._checks.get(name)
        if c is None:
            raise KeyError(f"no health check named {name!r} is registered")
        if c.fn is None:
            raise ValueError(f"health check {name!r} has no callable (it is reported from outside)")
        return c

    def _schedule_next(self, c: _Check, started: float) -> None:
        interval, _ = self._settings(c.name)
        c.next_due = started + interval

    def run_check(self, name: str) -> CheckStatus:
        """Runs the sync check ``name`` now, on this thread, and reports it."""
        c = self._get(name)
        if c.is_async:
            raise TypeError(f"health check {name!r} is async: use await run_check_async()")
        started = self._now()
        r = self._run_sync(c)
        self._schedule_next(c, started)
        return r

    async def run_check_async(self, name: str) -> CheckStatus:
        """Runs check ``name`` (sync or async) now and reports it."""
        c = self._get(name)
        started = self._now()
        r = await self._run_async(c) if c.is_async else self._run_sync(c)
        self._schedule_next(c, started)
        return r

    def _callable_checks(self, name: Optional[str], due_only: bool) -> List[_Check]:
        now = self._now()
        with self._lock:
            checks = [self._checks[name]] if name is not None else list(self._checks.values())
        return [c for c in checks if c.fn is not None and not c.in_flight and (not due_only or c.next_due <= now)]

    def run_once(self, name: Optional[str] = None) -> HealthReport:
        """Runs every sync check (or the one named) now, on this thread; returns the report.
        Async checks are left to ``run_once_async``."""
        for c in self._callable_checks(name, False):
            if not c.is_async:
                self.run_check(c.name)
        return self.status()

    async def run_once_async(self, name: Optional[str] = None) -> HealthReport:
        """Runs every check (or the one named) now: async ones concurrently on this loop,
        sync ones on this thread; returns the report."""
        checks = self._callable_checks(name, False)
        for c in checks:
            if not c.is_async:
                self.run_check(c.name)
        await asyncio.gather(*(self.run_check_async(c.name) for c in checks if c.is_async))
        return self.status()

    def run_due(self) -> int:
        """Runs the sync checks whose interval has passed on the registry's clock; how many
        ran. What the background thread does, without the thread."""
        due = [c for c in self._callable_checks(None, True) if not c.is_async]
        for c in due:
            self.run_check(c.name)
        return len(due)

    async def run_due_async(self) -> int:
        """Runs every check whose interval has passed (async ones concurrently); how many
        ran."""
        due = self._callable_checks(None, True)
        for c in due:
            if not c.is_async:
                self.run_check(c.name)
        await asyncio.gather(*(self.run_check_async(c.name) for c in due if c.is_async))
        return len(due)

    # -- the background scheduler ----------------------------------------------------------

    def start(self) -> "HealthRegistry":
        """Starts running the checks on their intervals: sync checks on a daemon thread; with
        an asyncio loop running in this thread, async checks as tasks on it. Nothing starts
        when the config turned health checks off."""
        if not self.enabled:
            return self
        self._stop.clear()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._thread_main, name="breakwater-health", daemon=True)
            self._thread.start()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and self._loop is None:
            self._loop = loop
            with self._lock:
                checks = [c for c in self._checks.values() if c.is_async]
            for c in checks:
                self._spawn(c)
        return self

    def stop(self, timeout: Optional[float] = 5.0) -> None:
        """Stops the scheduler (a check running now finishes in its own thread, unreported)."""
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)
        self._thread = None
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._loop = None

    def __enter__(self) -> "HealthRegistry":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    async def __aenter__(self) -> "HealthRegistry":
        return self.start()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def _thread_main(self) -> None:
        while not self._stop.is_set():
            for c in [c for c in self._callable_checks(None, True) if not c.is_async]:
                self._run_in_thread(c)
            with self._lock:
                dues = [c.next_due for c in self._checks.values() if c.fn is not None and not c.is_async]
            wait = min(dues) - self._now() if dues else 1.0
            # At most a second: a ManualClock moves without waking anyone.
            self._wake.wait(min(max(wait, 0.001), 1.0))
            self._wake.clear()

    def _run_in_thread(self, c: _Check) -> None:
        """One run of a sync check in a daemon thread of its own, waited for up to its
        timeout; a run that overstays is reported as timed out and its result dropped."""
        _, timeout = self._settings(c.name)
        started = self._now()
        done = threading.Event()
        box: List[Any] = []

        def body() -> None:
            try:
                box.append(self._run_sync_unreported(c))
            finally:
                c.in_flight = False
                done.set()

        c.in_flight = True
        threading.Thread(target=body, name=f"breakwater-health:{c.name}", daemon=True).start()
        if done.wait(timeout) and box:
            outcome, latency = box[0]
            self._report(c.name, outcome, latency)
        else:
            self._report(c.name, ("unhealthy", f"timed out after {timeout} s", None), max(self._now() - started, timeout + 1e-9))
        self._schedule_next(c, started)

    def _run_sync_unreported(self, c: _Check) -> Tuple[Outcome, float]:
        assert c.fn is not None
        start = self._now()
        outcome = _call_sync(c.fn)
        return outcome, self._now() - start

    def _spawn(self, c: _Check) -> None:
        if self._loop is None:
            return
        task = self._loop.create_task(self._async_main(c), name=f"breakwater-health:{c.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _async_main(self, c: _Check) -> None:
        while not self._stop.is_set():
            with self._lock:
                if self._checks.get(c.name) is not c:
                    return  # unregistered or replaced
            if c.next_due <= self._now():
                await self.run_check_async(c.name)
            wait = c.next_due - self._now()
            await asyncio.sleep(min(max(wait, 0.001), 1.0))


async def _awaitable(aw: Awaitable[Any]) -> Any:
    return await aw

