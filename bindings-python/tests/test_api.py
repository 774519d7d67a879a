"""The Python API of the circuit breaker: calls, decorators, context managers, errors,
events, classification and configuration. Time is a ManualClock: nothing here sleeps."""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import logging
import weakref
from typing import Any, List

import pytest

import breakwater as bw


class HTTPError(Exception):
    def __init__(self, status: int, headers: Any = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status
        self.headers = headers or {}


def fail(exc: BaseException) -> Any:
    raise exc


def breaker(clock: bw.ManualClock, **kw: Any) -> bw.CircuitBreaker:
    kw.setdefault("failure_threshold", 2)
    kw.setdefault("recovery_timeout", 10.0)
    return bw.CircuitBreaker("svc", clock=clock, **kw)


# -- calls ----------------------------------------------------------------------------------


def test_call_passes_arguments_and_returns_the_value(clock: bw.ManualClock) -> None:
    cb = breaker(clock)
    assert cb.call(lambda a, b=0: a + b, 1, b=2) == 3
    assert cb.snapshot().successes_total == 1


def test_user_error_reaches_the_caller_as_the_same_object(clock: bw.ManualClock) -> None:
    cb = breaker(clock)
    err = ConnectionResetError("reset")
    with pytest.raises(ConnectionResetError) as info:
        cb.call(fail, err)
    assert info.value is err
    snap = cb.snapshot()
    assert snap.failures_total == 1 and snap.last_failure_category == "network"


def test_open_circuit_rejects_without_calling(clock: bw.ManualClock) -> None:
    cb = breaker(clock)
    for _ in range(2):
        with pytest.raises(HTTPError):
            cb.call(fail, HTTPError(503))
    assert cb.state == "open"
    called = []
    clock.advance(4.0)
    with pytest.raises(bw.CircuitOpenError) as info:
        cb.call(called.append, 1)
    assert called == []
    e = info.value
    assert isinstance(e, bw.BreakwaterError)
    assert e.code == "CIRCUIT_OPEN"
    assert e.component == "svc"
    assert e.state == "open"
    assert e.retry_after == pytest.approx(6.0)
    assert e.last_error is None
    assert "svc" in str(e)
    assert cb.snapshot().rejected_total == 1


def test_recovery_on_manual_clock(clock: bw.ManualClock) -> None:
    cb = breaker(clock, success_threshold=2, half_open_max_calls=1)
    for _ in range(2):
        with pytest.raises(HTTPError):
            cb.call(fail, HTTPError(500))
    assert cb.state == "open"
    clock.advance(9.999)
    assert cb.state == "open"
    clock.advance(0.001)
    assert cb.state == "half_open"  # a pure read: no transition yet
    permit = cb.try_acquire()  # the transition happens here
    assert permit.probe
    with pytest.raises(bw.CircuitOpenError) as info:
        cb.try_acquire()
    assert info.value.state == "half_open" and info.value.retry_after == 0.0
    cb.record(permit)
    assert cb.call(lambda: "ok") == "ok"
    assert cb.state == "closed"
    assert cb.snapshot().times_opened == 1


def test_forced_open_has_no_retry_after(clock: bw.ManualClock) -> None:
    cb = breaker(clock)
    cb.force_open()
    with pytest.raises(bw.CircuitOpenError) as info:
        cb.call(lambda: None)
    assert info.value.state == "forced_open" and info.value.retry_after is None
    cb.force_close()
    assert cb.call(lambda: 1) == 1


def test_manual_states(clock: bw.ManualClock) -> None:
    cb = breaker(clock)
    cb.disable()
    assert cb.state == "disabled"
    for _ in range(5):
        with pytest.raises(HTTPError):
            cb.call(fail, HTTPError(500))
    assert cb.state == "disabled" and cb.snapshot().failures_total == 0
    cb.metrics_only()
    for _ in range(5):
        with pytest.raises(HTTPError):
            cb.call(fail, HTTPError(500))
    assert cb.state == "metrics_only" and cb.snapshot().failures_total == 5
    cb.reset()
    assert cb.state == "closed" and cb.snapshot().failures_total == 0


def test_keyboard_interrupt_releases_the_permit(clock: bw.ManualClock) -> None:
    cb = breaker(clock)
    with pytest.raises(KeyboardInterrupt):
        cb.call(fail, KeyboardInterrupt())
    s = cb.snapshot()
    assert s.calls_total == 0 and s.ignored_total == 0


# -- low-level protocol ----------------------------------------------------------------------


def test_permit_protocol(clock: bw.ManualClock) -> None:
    cb = breaker(clock, failure_threshold=5)
    p = cb.try_acquire()
    assert not p.used and p.generation == 0 and p.start == 0.0
    clock.advance(0.25)
    cb.record(p, "failure", "timeout")
    assert p.used
    with pytest.raises(RuntimeError):
        cb.record(p)
    p2 = cb.try_acquire()
    cb.release(p2)
    p3 = cb.try_acquire()
    cb.record_error(p3, HTTPError(429))
    p4 = cb.try_acquire()
    cb.record_result(p4, "fine")
    s = cb.snapshot()
    assert (s.failures_total, s.successes_total, s.calls_total) == (2, 1, 3)
    assert s.last_failure_category == "rate_limited"
    with pytest.raises(ValueError):
        cb.record(cb.try_acquire(), "maybe")
    with pytest.raises(ValueError):
        cb.record(cb.try_acquire(), "failure", "nope")


def test_snapshot_fields_and_seconds(clock: bw.ManualClock) -> None:
    cb = breaker(clock, failure_threshold=1)
    clock.advance(1.5)
    with pytest.raises(HTTPError):
        cb.call(fail, HTTPError(502))
    clock.advance(2.0)
    s = cb.snapshot()
    d = s.to_dict()
    assert list(d) == [
        "state", "state_since", "calls", "failures", "slow_calls", "failure_rate",
        "slow_call_rate", "consecutive_failures", "consecutive_successes", "calls_total",
        "successes_total", "failures_total", "ignored_total", "rejected_total", "times_opened",
        "last_failure_category", "retry_after",
    ]
    assert s.state == "open" and s.state_since == pytest.approx(2.0)
    assert s.retry_after == pytest.approx(8.0)
    assert s["failure_rate"] == 1.0 and s.failures == 1
    assert "Snapshot(" in repr(s)
    assert cb.snapshot() == cb.snapshot()
    clock.advance(8.0)
    assert cb.snapshot().retry_after is None


# -- decorators --------------------------------------------------------------------------------


def test_decorator_keeps_name_doc_signature_and_wrapped(clock: bw.ManualClock) -> None:
    cb = breaker(clock)

    def add(a: int, b: int = 2) -> int:
        """Adds."""
        return a + b

    guarded = cb(add)
    assert guarded(1) == 3 and guarded(1, b=5) == 6
    assert guarded.__name__ == "add" and guarded.__doc__ == "Adds."
    assert guarded.__wrapped__ is add
    assert guarded.__qualname__ == add.__qualname__
    assert str(inspect.signature(guarded)) == str(inspect.signature(add))
    assert cb.snapshot().successes_total == 2


def test_decorator_on_coroutine_function(clock: bw.ManualClock) -> None:
    cb = breaker(clock)

    @cb
    async def fetch(x: int) -> int:
        """Fetches."""
        await asyncio.sleep(0)
        return x * 2

    assert inspect.iscoroutinefunction(fetch)
    assert fetch.__name__ == "fetch" and fetch.__wrapped__ is not None
    assert asyncio.run(fetch(21)) == 42

    @cb
    async def broken() -> None:
        raise HTTPError(503)

    for _ in range(2):
        with pytest.raises(HTTPError):
            asyncio.run(broken())
    with pytest.raises(bw.CircuitOpenError):
        asyncio.run(fetch(1))


def test_decorator_on_methods_static_and_class_methods(clock: bw.ManualClock) -> None:
    cb = breaker(clock)

    class Client:
        base = 10

        def __init__(self) -> None:
            self.n = 1

        @cb
        def method(self, x: int) -> int:
            return self.n + x

        @cb
        async def amethod(self, x: int) -> int:
            return self.n + x

        @cb
        @staticmethod
        def static(x: int) -> int:
            return x

        @staticmethod
        @cb
        def static2(x: int) -> int:
            return x + 1

        @cb
        @classmethod
        def cls(cls, x: int) -> int:
            return cls.base + x

        @classmethod
        @cb
        def cls2(cls, x: int) -> int:
            return cls.base + x + 1

    c = Client()
    assert c.method(1) == 2
    assert Client.method(c, 2) == 3
    assert asyncio.run(c.amethod(3)) == 4
    assert c.static(4) == 4 and Client.static(4) == 4
    assert c.static2(4) == 5 and Client.static2(4) == 5
    assert c.cls(1) == 11 and Client.cls(1) == 11
    assert c.cls2(1) == 12 and Client.cls2(1) == 12
    assert list(inspect.signature(c.method).parameters) == ["x"]
    assert cb.snapshot().successes_total == 11


def test_decorated_function_errors_are_classified(clock: bw.ManualClock) -> None:
    cb = breaker(clock, failure_threshold=1)

    @cb
    def f() -> None:
        raise HTTPError(404)  # client: ignored by default

    with pytest.raises(HTTPError):
        f()
    assert cb.state == "closed" and cb.snapshot().ignored_total == 1


# -- context managers -------------------------------------------------------------------------


def test_with_block_records_success_and_failure(clock: bw.ManualClock) -> None:
    cb = breaker(clock)
    with cb:
        pass
    err = TimeoutError("slow")
    with pytest.raises(TimeoutError) as info:
        with cb:
            raise err
    assert info.value is err
    s = cb.snapshot()
    assert s.successes_total == 1 and s.failures_total == 1
    assert s.last_failure_category == "timeout"
    with cb:
        with cb:  # nested blocks on one breaker
            pass
    assert cb.snapshot().successes_total == 3


def test_with_block_rejects_when_open(clock: bw.ManualClock) -> None:
    cb = breaker(clock)
    cb.force_open()
    ran = []
    with pytest.raises(bw.CircuitOpenError):
        with cb:
            ran.append(1)
    assert ran == []


def test_async_with_and_cancellation_releases(clock: bw.ManualClock) -> None:
    cb = breaker(clock, failure_threshold=1, half_open_max_calls=1)

    async def main() -> None:
        async with cb:
            await asyncio.sleep(0)
        assert cb.snapshot().successes_total == 1

        started = asyncio.Event()

        async def blocked() -> None:
            async with cb:
                started.set()
                await asyncio.Event().wait()  # never set: only cancellation ends it

        t = asyncio.ensure_future(blocked())
        await started.wait()
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        s = cb.snapshot()
        assert s.calls_total == 1 and s.ignored_total == 0  # cancellation counts nothing

        # In half-open, a cancelled probe frees its slot.
        cb.force_open()
        cb.force_close()
        with pytest.raises(HTTPError):
            async with cb:
                raise HTTPError(500)
        clock.advance(10.0)
        started.clear()
        t = asyncio.ensure_future(blocked())
        await started.wait()
        with pytest.raises(bw.CircuitOpenError):
            cb.try_acquire()  # the one probe slot is taken
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        cb.record(cb.try_acquire())  # the slot is free again

    asyncio.run(main())


def test_call_async_cancellation_counts_nothing(clock: bw.ManualClock) -> None:
    cb = breaker(clock)

    async def main() -> None:
        gate = asyncio.Event()

        async def slow() -> None:
            await gate.wait()

        t = asyncio.ensure_future(cb.call_async(slow))
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert cb.snapshot().calls_total == 0
        assert await cb.call_async(asyncio.sleep, 0, "v") == "v"

    asyncio.run(main())


# -- errors ---------------------------------------------------------------------------------


def test_error_hierarchy_and_codes() -> None:
    assert issubclass(bw.ConfigError, ValueError) and issubclass(bw.ConfigError, bw.BreakwaterError)
    assert issubclass(bw.TimeoutError, TimeoutError) and issubclass(bw.TimeoutError, bw.BreakwaterError)
    codes = {
        bw.CircuitOpenError: "CIRCUIT_OPEN",
        bw.RateLimitedError: "RATE_LIMITED",
        bw.BulkheadFullError: "BULKHEAD_FULL",
        bw.TimeoutError: "TIMEOUT",
        bw.RetryError: "RETRY_EXHAUSTED",
        bw.ConfigError: "CONFIG_INVALID",
    }
    for cls, code in codes.items():
        assert issubclass(cls, bw.BreakwaterError)
        assert cls.code == code
        assert cls("x").code == code  # type: ignore[call-arg]
        assert cls.__module__ == "breakwater"
    e = bw.CircuitOpenError("svc", "open", 1.5)
    assert (e.component, e.state, e.retry_after, e.last_error) == ("svc", "open", 1.5, None)
    assert str(e) == "circuit 'svc' is open; retry after 1.500 s"
    assert str(bw.CircuitOpenError("svc", "forced_open")) == "circuit 'svc' is forced_open"
    import pickle

    again = pickle.loads(pickle.dumps(e))
    assert type(again) is bw.CircuitOpenError and again.retry_after == 1.5


@pytest.mark.parametrize(
    "kwargs, key, value",
    [
        ({"failure_threshold": -1}, "failure_threshold", -1),
        ({"failure_threshold": 1_000_001}, "failure_threshold", 1_000_001),
        ({"failure_threshold": 2.5}, "failure_threshold", 2.5),
        ({"failure_threshold": "5"}, "failure_threshold", "5"),
        ({"failure_threshold": True}, "failure_threshold", True),
        ({"failure_rate_threshold": 0}, "failure_rate_threshold", 0),
        ({"failure_rate_threshold": 1.5}, "failure_rate_threshold", 1.5),
        ({"minimum_calls": 0}, "minimum_calls", 0),
        ({"slow_call_duration": 0}, "slow_call_duration", 0),
        ({"slow_call_duration": -1.0}, "slow_call_duration", -1.0),
        ({"slow_call_rate_threshold": 2}, "slow_call_rate_threshold", 2),
        ({"recovery_timeout": 0}, "recovery_timeout", 0),
        ({"recovery_timeout": 86_400.001}, "recovery_timeout", 86_400.001),
        ({"recovery_timeout": float("nan")}, "recovery_timeout", None),
        ({"recovery_timeout": "60"}, "recovery_timeout", "60"),
        ({"recovery_backoff": (0.5, 600.0)}, "recovery_backoff", (0.5, 600.0)),
        ({"recovery_backoff": (2.0, 1.0)}, "recovery_backoff", (2.0, 1.0)),
        ({"recovery_backoff": 2.0}, "recovery_backoff", 2.0),
        ({"half_open_max_calls": 0}, "half_open_max_calls", 0),
        ({"success_threshold": 1001}, "success_threshold", 1001),
        ({"max_half_open": 0.0}, "max_half_open", 0.0),
        ({"window": 100}, "window", 100),
        ({"clock": "wall"}, "clock", "wall"),
        ({"classify": 3}, "classify", 3),
        ({"failure_if": "x"}, "failure_if", "x"),
        ({"failure_treshold": 3}, "failure_treshold", 3),
    ],
)
def test_bad_arguments_raise_config_error(kwargs: Any, key: str, value: Any) -> None:
    with pytest.raises(bw.ConfigError) as info:
        bw.CircuitBreaker("x", **kwargs)
    e = info.value
    assert isinstance(e, ValueError)
    assert e.code == "CONFIG_INVALID"
    assert e.key == key
    if value is not None:
        assert e.value == value
    assert e.allowed
    assert key in str(e)


def test_config_error_lists_every_problem() -> None:
    with pytest.raises(bw.ConfigError) as info:
        bw.CircuitBreaker("x", failure_threshold=-1, recovery_timeout=0, success_threshold=0)
    keys = [k for k, _, _ in info.value.errors]
    assert set(keys) == {"failure_threshold", "recovery_timeout", "success_threshold"}


def test_config_error_path_names_where_the_key_is_in_a_document() -> None:
    # Outside a document the path is the key.
    with pytest.raises(bw.ConfigError) as info:
        bw.CircuitBreaker.from_config("x", {"window": {"type": "count", "size": 0}})
    assert info.value.key == "window.size" and info.value.path == "window.size"
    assert info.value.paths == ("window.size",)
    with pytest.raises(bw.ConfigError) as info:
        bw.CircuitBreaker("x", recovery_timeout=0)
    assert info.value.path == "recovery_timeout" and info.value.paths == ("recovery_timeout",)
    # In a document: the key relative to its component's config, the path in the document.
    doc = {
        "circuitBreakers": {
            "defaults": {"failureThreshold": -1},
            "agentSpecific": {"architect": {"successThreshold": 0}},
        }
    }
    with pytest.raises(bw.ConfigError) as info:
        bw.Registry.from_dict(doc)
    e = info.value
    assert (e.key, e.path, e.value) == ("failureThreshold", "circuitBreakers.defaults.failureThreshold", -1)
    assert e.paths == (
        "circuitBreakers.defaults.failureThreshold",
        "circuitBreakers.agentSpecific.architect.successThreshold",
    )
    assert [k for k, _, _ in e.errors] == ["failureThreshold", "successThreshold"]
    assert "circuitBreakers.defaults.failureThreshold" in str(e)
    with pytest.raises(bw.ConfigError) as info:
        bw.Document.from_dict(doc)
    assert info.value.key == "failureThreshold"
    assert info.value.path == "circuitBreakers.defaults.failureThreshold"


def test_window_arguments() -> None:
    assert bw.TimeWindow().duration == 60.0 and bw.TimeWindow().buckets == 10
    assert bw.CountWindow().size == 100
    assert bw.TimeWindow(1.5, buckets=3) == bw.TimeWindow(1.5, buckets=3)
    for make, key in [
        (lambda: bw.CountWindow(0), "size"),
        (lambda: bw.CountWindow(100_001), "size"),
        (lambda: bw.TimeWindow(1.001, buckets=10), "duration"),
        (lambda: bw.TimeWindow(0.005, buckets=10), "duration"),
        (lambda: bw.TimeWindow(-1.0), "duration"),
        (lambda: bw.TimeWindow(10.0, buckets=0), "buckets"),
        (lambda: bw.TimeWindow(1001.0, buckets=1001), "buckets"),
    ]:
        with pytest.raises(bw.ConfigError) as info:
            make()
        assert info.value.key == key
    cb = bw.CircuitBreaker("w", window=bw.CountWindow(4), failure_threshold=0, minimum_calls=4)
    assert cb.config["window"] == bw.CountWindow(4)


def test_configure_live(clock: bw.ManualClock) -> None:
    cb = breaker(clock, failure_threshold=5)
    with pytest.raises(HTTPError):
        cb.call(fail, HTTPError(500))
    cb.configure(failure_threshold=2, recovery_timeout=1.0)
    assert cb.config["failure_threshold"] == 2 and cb.config["recovery_timeout"] == 1.0
    with pytest.raises(bw.ConfigError) as info:
        cb.configure(recovery_timeout=-1)
    assert info.value.key == "recovery_timeout"
    assert cb.config["recovery_timeout"] == 1.0
    with pytest.raises(HTTPError):
        cb.call(fail, HTTPError(500))
    assert cb.state == "open"  # the consecutive count survived the configure
    cb.configure({"recoveryTimeout": 2000})
    assert cb.config["recovery_timeout"] == 2.0


def test_from_config_uses_file_spelling(clock: bw.ManualClock) -> None:
    cb = bw.CircuitBreaker.from_config(
        "seed", {"failureThreshold": 3, "timeout": 30000, "halfOpenMaxCalls": 1}, clock=clock
    )
    assert isinstance(cb, bw.CircuitBreaker)
    assert cb.config["recovery_timeout"] == 30.0 and cb.config["failure_threshold"] == 3
    with pytest.raises(bw.ConfigError) as info:
        bw.CircuitBreaker.from_config("x", {"window": {"type": "count", "size": 0}})
    assert info.value.key == "window.size" and info.value.value == 0


# -- classification -------------------------------------------------------------------------


class Response:
    """A response-like object (requests / httpx spell the status `status_code`)."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class AioResponse:
    """aiohttp / urllib3 spell it `status`."""

    def __init__(self, status: int) -> None:
        self.status = status


def test_returned_error_responses_are_failures_by_default(clock: bw.ManualClock) -> None:
    cb = breaker(clock, failure_threshold=3)
    categories = []
    for r in (Response(503), AioResponse(429), Response(408)):
        assert cb.call(lambda: r) is r  # the value still reaches the caller
        categories.append(cb.snapshot().last_failure_category)
    assert categories == ["server", "rate_limited", "timeout"]
    assert cb.snapshot().failures_total == 3 and cb.state == "open"


@pytest.mark.parametrize(
    "value",
    [Response(200), Response(404), AioResponse(301), Response(True), AioResponse("500"),  # type: ignore[arg-type]
     None, 503, "503", b"x", [503], (503,), {"status": 503}, 5.0, object()],
)
def test_other_returned_values_are_successes(clock: bw.ManualClock, value: Any) -> None:
    cb = breaker(clock, failure_threshold=1)
    assert cb.call(lambda: value) is value
    assert cb.state == "closed" and cb.snapshot().failures_total == 0


def test_statuses_found_however_the_class_holds_them(clock: bw.ManualClock) -> None:
    class Property:
        @property
        def status_code(self) -> int:
            return 500

    class Slotted:
        __slots__ = ("status",)

        def __init__(self) -> None:
            self.status = 502

    class ClassLevel:
        status = 200

    class Custom:
        def __getattribute__(self, name: str) -> Any:
            if name == "status_code":
                return 503
            return object.__getattribute__(self, name)

    class Lazy:
        def __getattr__(self, name: str) -> Any:  # never asked: not a real attribute
            raise AssertionError(name)

    overridden = ClassLevel()
    overridden.status = 504  # type: ignore[assignment]
    for value, failed in [
        (Property(), True), (Slotted(), True), (ClassLevel(), False), (overridden, True),
        (Custom(), True), (Lazy(), False),
    ]:
        cb = breaker(clock, failure_threshold=1)
        cb.call(lambda: value)
        assert (cb.state == "open") is failed, type(value).__name__


def test_failure_if_replaces_the_default_result_check(clock: bw.ManualClock) -> None:
    cb = breaker(clock, failure_threshold=1, failure_if=lambda r: False)
    cb.call(lambda: Response(503))
    assert cb.state == "closed"
    cb = breaker(clock, failure_threshold=1, failure_if=lambda r: r == "bad")
    cb.call(lambda: "bad")
    assert cb.state == "open"


def test_returned_error_responses_by_decorator_and_async(clock: bw.ManualClock) -> None:
    cb = breaker(clock, failure_threshold=2)

    @cb
    def sync() -> Response:
        return Response(500)

    @cb
    async def coro() -> AioResponse:
        return AioResponse(502)

    sync()
    asyncio.run(coro())
    assert cb.snapshot().failures_total == 2 and cb.state == "open"


def test_retry_after_header_names_ignore_the_case() -> None:
    assert bw.retry_after(HTTPError(429, {"RETRY-AFTER": "5"})) == 5.0
    assert bw.retry_after(HTTPError(429, {"retry-after": "6"})) == 6.0
    assert bw.retry_after(HTTPError(429, {"Retry-After": 7})) == 7.0
    assert bw.retry_after(HTTPError(503, {"RETRY-AFTER-MS": "250"})) == 0.25
    assert bw.retry_after(HTTPError(503, {"Content-Type": "text/plain"})) is None



class OperationalError(Exception):
    pass


@pytest.mark.parametrize(
    "exc, category",
    [
        (HTTPError(408), "timeout"),
        (HTTPError(429), "rate_limited"),
        (HTTPError(401), "auth"),
        (HTTPError(403), "auth"),
        (HTTPError(501), "client"),
        (HTTPError(404), "client"),
        (HTTPError(503), "server"),
        (ConnectionRefusedError(), "network"),
        (ConnectionResetError(), "network"),
        (BrokenPipeError(), "network"),
        (ConnectionError(), "network"),
        (TimeoutError(), "timeout"),
        (asyncio.TimeoutError(), "timeout"),
        (OSError(110, "timed out"), "timeout"),
        (OSError(113, "no route"), "network"),
        (OperationalError(), "database"),
        (asyncio.CancelledError(), "cancelled"),
        (ValueError(), "unknown"),
        (bw.TimeoutError("attempt"), "timeout"),
    ],
)
def test_default_classifier(exc: BaseException, category: str) -> None:
    assert bw.classify(exc) == category


def test_classifier_reads_response_status_and_headers() -> None:
    import socket

    class Response:
        status_code = 503
        headers = {"Retry-After": "7"}

    class ClientError(Exception):
        response = Response()

    assert bw.classify(ClientError()) == "server"
    assert bw.retry_after(ClientError()) == 7.0
    assert bw.retry_after(HTTPError(429, {"retry-after-ms": "1500"})) == 1.5
    assert bw.retry_after(ValueError()) is None

    class AioStyle(Exception):
        status = 429

    assert bw.classify(AioStyle()) == "rate_limited"
    assert bw.classify(socket.gaierror()) == "network" and bw.not_sent(socket.gaierror())
    assert bw.not_sent(ConnectionRefusedError()) and not bw.not_sent(ConnectionResetError())

    class ReadTimeout(Exception):  # named like requests' and httpx's
        pass

    assert bw.classify(ReadTimeout()) == "timeout"


def test_classify_hook_and_failure_if(clock: bw.ManualClock, caplog: Any) -> None:
    class QuotaError(Exception):
        pass

    cb = breaker(
        clock,
        failure_threshold=0,
        classify=lambda e: "external_api" if isinstance(e, QuotaError) else None,
        failure_if=lambda r: getattr(r, "status_code", 200) >= 500,
    )
    with pytest.raises(QuotaError):
        cb.call(fail, QuotaError())
    assert cb.snapshot().last_failure_category == "external_api"
    with pytest.raises(HTTPError):
        cb.call(fail, HTTPError(502))
    assert cb.snapshot().last_failure_category == "server"

    class Response:
        def __init__(self, status: int) -> None:
            self.status_code = status

    r = Response(504)
    assert cb.call(lambda: r) is r  # a failed result is still returned
    assert cb.snapshot().failures_total == 3
    assert cb.call(lambda: Response(200)).status_code == 200
    assert cb.snapshot().successes_total == 1

    bad = bw.CircuitBreaker("bad", clock=clock, classify=lambda e: fail(RuntimeError("hook")))
    with caplog.at_level(logging.ERROR, logger="breakwater"):
        for _ in range(3):
            with pytest.raises(ValueError):
                bad.call(fail, ValueError())
    assert bad.snapshot().failures_total == 3
    assert len([r for r in caplog.records if "classify" in r.getMessage()]) == 1


# -- events ---------------------------------------------------------------------------------


def test_events_and_unsubscribe(clock: bw.ManualClock) -> None:
    cb = breaker(clock, failure_threshold=1)
    seen: List[bw.Event] = []
    changes: List[Any] = []
    all_sub = cb.on("*", seen.append)
    sub = cb.on("state_change", lambda e: changes.append((e.from_, e.to, e.reason, e["from"])))
    clock.advance(0.5)
    with pytest.raises(HTTPError):
        cb.call(lambda: (clock.advance(0.25), fail(HTTPError(500))))
    assert [e.kind for e in seen] == ["failure", "state_change"]
    f = seen[0]
    assert f.component == "svc" and f.category == "server" and f.duration == pytest.approx(0.25)
    assert f.at == clock.wall_ms() and getattr(f, "from") is None
    assert f.to_dict()["kind"] == "failure" and f.get("attempt", 7) is None
    assert changes == [("closed", "open", "consecutive_failures", "closed")]
    with pytest.raises(bw.CircuitOpenError):
        cb.call(lambda: None)
    assert seen[-1].kind == "call_rejected"
    assert sub.unsubscribe() and not sub.unsubscribe() and not sub.active
    cb.reset()
    assert len(changes) == 1
    all_sub.unsubscribe()
    with pytest.raises(ValueError):
        cb.on("nope", print)


def test_listener_errors_are_isolated_and_logged_once(clock: bw.ManualClock, caplog: Any) -> None:
    cb = breaker(clock)

    def bad(e: bw.Event) -> None:
        raise RuntimeError("listener bug")

    good: List[str] = []
    cb.on("success", bad)
    cb.on("success", lambda e: good.append(e.kind))
    with caplog.at_level(logging.ERROR, logger="breakwater"):
        for _ in range(3):
            assert cb.call(lambda: 5) == 5
    assert good == ["success"] * 3
    assert len(caplog.records) == 1 and "listener" in caplog.records[0].getMessage()


def test_listener_may_call_back_into_the_breaker(clock: bw.ManualClock) -> None:
    cb = breaker(clock, failure_threshold=1)
    states: List[str] = []
    cb.on("state_change", lambda e: states.append(cb.snapshot().state))
    with pytest.raises(HTTPError):
        cb.call(fail, HTTPError(500))
    assert states == ["open"]


# -- clock ------------------------------------------------------------------------------------


def test_manual_clock() -> None:
    c = bw.ManualClock(5.0)
    assert c.now() == 5.0
    c.advance(1.25)
    assert c.now() == 6.25
    assert not c.set(1.0) and c.now() == 6.25
    assert c.set(10.0) and c.now() == 10.0
    assert c.wall_ms() == 1_767_225_600_000 + 10_000
    assert bw.ManualClock(epoch=0.0).wall_ms() == 0
    c.sleep(0.5)
    assert c.now() == 10.5
    with pytest.raises(ValueError):
        c.advance(-1)


def test_breakers_share_one_clock() -> None:
    c = bw.ManualClock()
    a = bw.CircuitBreaker("a", clock=c, failure_threshold=1, recovery_timeout=1.0)
    b = bw.CircuitBreaker("b", clock=c, failure_threshold=1, recovery_timeout=2.0)
    assert a.clock is c
    for cb in (a, b):
        with pytest.raises(HTTPError):
            cb.call(fail, HTTPError(500))
    c.advance(1.0)
    assert (a.state, b.state) == ("half_open", "open")


# -- memory ---------------------------------------------------------------------------------


def test_no_memory_kept_per_call(clock: bw.ManualClock) -> None:
    cb = breaker(clock)
    cb.force_open()

    def reject_many(n: int) -> None:
        for _ in range(n):
            try:
                cb.call(lambda: None)
            except bw.CircuitOpenError:
                pass

    import tracemalloc

    reject_many(1000)
    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    reject_many(10_000)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after - before < 10_000  # far below 1 byte per call


def test_breaker_and_wrapper_are_collectable() -> None:
    cb = bw.CircuitBreaker("gc")

    @cb
    def f() -> int:
        return 1

    ref = weakref.ref(cb)
    del cb
    assert f() == 1
    del f
    gc.collect()
    assert ref() is None


def test_partial_of_coroutine_function_is_async(clock: bw.ManualClock) -> None:
    cb = breaker(clock)

    async def add(a: int, b: int) -> int:
        return a + b

    g = cb(functools.partial(add, 1))
    assert inspect.iscoroutinefunction(g)
    assert asyncio.run(g(2)) == 3


def test_async_permits_survive_many_generations(clock: bw.ManualClock) -> None:
    cb = breaker(clock)
    for _ in range(700):  # 1400 transitions: past the compact permit encoding
        cb.force_open()
        cb.force_close()
    clock.advance(10**7)  # and a start time far from the origin

    async def raw() -> int:
        return 1

    assert asyncio.run(cb(raw)()) == 1
    assert asyncio.run(cb.call_async(raw)) == 1
    s = cb.snapshot()
    assert s.successes_total == 2 and s.calls == 2  # current generation: in the window


def test_a_panic_is_a_breakwater_error_with_code_panic() -> None:
    import breakwater._breakwater as native

    with pytest.raises(bw.BreakwaterError) as info:
        native._test_panic()
    assert info.value.code == "PANIC" and type(info.value) is bw.BreakwaterError
