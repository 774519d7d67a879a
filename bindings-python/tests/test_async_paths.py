"""The coroutine protocol of guarded coroutine functions, on both asyncio paths: the native
coroutine object (CPython 3.10+) and the `async def` wrapper it replaces (3.9). Both must
behave like a coroutine: awaited once, cancellable, closable, recording exactly one outcome
or releasing the permit."""

from __future__ import annotations

import asyncio
import collections.abc
import gc
import inspect
from typing import Any, Iterator, List

import pytest

import breakwater as bw
from breakwater import _breaker


class Down(Exception):
    status_code = 503


@pytest.fixture(params=["native", "python"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "native" and not bw._breakwater._FAST_AWAIT:
        pytest.skip("no native asyncio fast path in this interpreter")
    monkeypatch.setattr(_breaker, "_FAST_AWAIT", request.param == "native")
    if request.param == "python":
        monkeypatch.setattr(bw.CircuitBreaker, "call_async", bw.CircuitBreaker._call_async_fallback)
    yield request.param


def snapshot(cb: bw.CircuitBreaker) -> Any:
    s = cb.snapshot()
    return (s.successes_total, s.failures_total, s.ignored_total)


def test_values_errors_and_markers(path: str) -> None:
    cb = bw.CircuitBreaker("svc")

    @cb
    async def value(x: Any) -> Any:
        await asyncio.sleep(0)
        return x

    @cb
    async def fails() -> None:
        raise Down()

    async def main() -> None:
        for v in (1, None, (1, 2), (), ValueError("a value, not raised")):
            got = await value(v)
            assert got is v or got == v
        err = Down()

        @cb
        async def raises_this() -> None:
            raise err

        with pytest.raises(Down) as ei:
            await raises_this()
        assert ei.value is err
        with pytest.raises(Down):
            await fails()
        assert await cb.call_async(value, 7) == 7

    asyncio.run(main())
    assert snapshot(cb) == (7, 2, 0)  # call_async(value) runs value's own guard too
    assert inspect.iscoroutinefunction(value)
    assert asyncio.iscoroutinefunction(value)
    coro = value(1)
    assert isinstance(coro, collections.abc.Coroutine) and asyncio.iscoroutine(coro)
    coro.close()
    assert value.__name__ == "value" and value.__wrapped__ is not None  # type: ignore[attr-defined]


def test_methods_and_tasks(path: str) -> None:
    cb = bw.CircuitBreaker("svc")

    class Client:
        def __init__(self) -> None:
            self.n = 0

        @cb
        async def get(self, k: str) -> str:
            self.n += 1
            return k * 2

    async def main() -> None:
        c = Client()
        assert inspect.iscoroutinefunction(c.get)
        got = await asyncio.gather(*(c.get(str(i)) for i in range(50)))
        assert got == [str(i) * 2 for i in range(50)] and c.n == 50
        t = asyncio.create_task(c.get("x"))
        assert await t == "xx"

    asyncio.run(main())
    assert snapshot(cb) == (51, 0, 0)


def test_cancellation_releases_the_permit(path: str) -> None:
    clock = bw.ManualClock()
    cb = bw.CircuitBreaker(
        "svc",
        failure_threshold=1,
        recovery_timeout=0.001,
        half_open_max_calls=1,
        success_threshold=1,
        clock=clock,
    )
    started = asyncio.Event

    @cb
    async def slow(gate: "asyncio.Event") -> None:
        gate.set()
        await asyncio.Event().wait()  # never set: runs until cancelled

    async def main() -> None:
        gate = started()
        t = asyncio.create_task(slow(gate))
        await gate.wait()
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t

    asyncio.run(main())
    assert snapshot(cb) == (0, 0, 0)
    # Half-open: the only probe slot comes back when the probe is cancelled.
    cb.force_open()
    cb.reset()
    with pytest.raises(Down):
        cb.call(lambda: (_ for _ in ()).throw(Down()))
    clock.advance(0.002)  # past the 1 ms recovery timeout

    async def probe_cancelled() -> None:
        gate = started()
        t = asyncio.create_task(slow(gate))
        await gate.wait()
        assert cb.state == "half_open"
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t

    asyncio.run(probe_cancelled())
    cb.call(lambda: None)  # the slot is free again: this probe is admitted
    assert cb.state == "closed"


def test_never_awaited_takes_no_permit_and_close_releases(path: str) -> None:
    cb = bw.CircuitBreaker("svc", half_open_max_calls=1)

    @cb
    async def f() -> int:
        await asyncio.sleep(0)
        return 1

    c = f()
    c.close()  # never started: nothing acquired, nothing recorded
    c2 = f()
    assert c2.send(None) is None  # runs to the first yield (asyncio.sleep(0) yields None)
    c2.close()  # closed mid-flight: the permit is released, nothing counted
    assert snapshot(cb) == (0, 0, 0)
    del c, c2
    gc.collect()


def test_awaiting_twice_and_bad_sends(path: str) -> None:
    cb = bw.CircuitBreaker("svc")

    @cb
    async def f() -> int:
        return 1

    async def main() -> None:
        c = f()
        assert await c == 1
        with pytest.raises(RuntimeError):
            await c

    asyncio.run(main())
    c = f()
    with pytest.raises(TypeError):
        c.send(1)
    c.close()
    c = f()
    with pytest.raises(KeyError):
        c.throw(KeyError("thrown before the start"))
    assert snapshot(cb) == (1, 0, 0)


def test_throw_into_a_running_coroutine(path: str) -> None:
    cb = bw.CircuitBreaker("svc")
    seen: List[str] = []

    @cb
    async def waits() -> str:
        try:
            await asyncio.sleep(0)
        except Down:
            seen.append("caught")
            return "recovered"
        return "plain"

    c = waits()
    c.send(None)
    with pytest.raises(StopIteration) as si:
        c.throw(Down())
    assert si.value.value == "recovered" and seen == ["caught"]
    c2 = waits()
    c2.send(None)
    with pytest.raises(ValueError):
        c2.throw(ValueError("not handled"))
    assert snapshot(cb) == (1, 1, 0)


def test_rejection_and_non_awaitables(path: str) -> None:
    cb = bw.CircuitBreaker("svc")

    @cb
    def not_a_coroutine() -> int:
        return 1

    async def main() -> None:
        with pytest.raises(TypeError):
            await cb.call_async(not_a_coroutine)  # type: ignore[arg-type]
        cb.force_open()

        @cb
        async def f() -> None:
            return None

        with pytest.raises(bw.CircuitOpenError):
            await f()

    asyncio.run(main())
    assert cb.snapshot().failures_total == 1 and cb.snapshot().rejected_total == 1


def test_other_awaitables(path: str) -> None:
    cb = bw.CircuitBreaker("svc")

    class Later:
        def __await__(self) -> Iterator[Any]:
            yield from asyncio.sleep(0).__await__()
            return "later"

    async def main() -> None:
        assert await cb.call_async(lambda: Later()) == "later"
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        loop.call_soon(fut.set_result, 5)
        assert await cb.call_async(lambda: fut) == 5

    asyncio.run(main())
    assert snapshot(cb) == (2, 0, 0)


def test_failure_if_and_classify_on_async(path: str) -> None:
    cb = bw.CircuitBreaker(
        "svc",
        failure_if=lambda r: r == "bad",
        classify=lambda e: "client" if isinstance(e, KeyError) else None,
    )

    @cb
    async def f(r: str) -> str:
        if r == "key":
            raise KeyError(r)
        return r

    async def main() -> None:
        assert await f("bad") == "bad"
        with pytest.raises(KeyError):
            await f("key")

    asyncio.run(main())
    assert snapshot(cb) == (0, 1, 1)


def test_a_coroutine_never_awaited_warns(path: str) -> None:
    cb = bw.CircuitBreaker("svc")

    @cb
    async def forgotten() -> None:
        return None

    c = forgotten()
    with pytest.warns(RuntimeWarning, match="forgotten' was never awaited"):
        del c
        gc.collect()


def test_guarded_coroutine_cycles_are_collected(path: str) -> None:
    cb = bw.CircuitBreaker("svc")

    @cb
    async def f(box: List[Any]) -> None:
        await asyncio.sleep(0)

    box: List[Any] = []
    c = f(box)
    box.append(c)  # a cycle through the coroutine's arguments
    if path == "python":
        c.close()  # a Python coroutine never awaited warns; its frame holds the cycle
    import weakref

    class Marker:
        pass

    m = Marker()
    box.append(m)
    r = weakref.ref(m)
    del c, box, m
    if path == "native":
        with pytest.warns(RuntimeWarning, match="never awaited"):
            gc.collect()  # collected through the coroutine's traverse / clear
    else:
        gc.collect()
    assert r() is None
