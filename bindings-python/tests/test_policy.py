"""Retry and Policy through the Python API: sync and asyncio, on a ManualClock (the backoff
sleeps advance it instead of sleeping)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, List

import pytest

import breakwater as bw


class Server(Exception):
    status_code = 503


class NotFound(Exception):
    status_code = 404


def flaky(failures: int, value: Any = "ok") -> Any:
    state = {"left": failures, "calls": 0}

    def f(*args: Any, **kwargs: Any) -> Any:
        state["calls"] += 1
        if state["left"] > 0:
            state["left"] -= 1
            raise Server()
        return value if not args else (value, args, kwargs)

    f.state = state  # type: ignore[attr-defined]
    return f


def policy(clock: bw.ManualClock, **kw: Any) -> bw.Policy:
    kw.setdefault("retry", bw.Retry(max_attempts=3, base_delay=0.1, jitter="none"))
    return bw.Policy(clock=clock, **kw)


def test_retry_then_success_advances_the_manual_clock(clock: bw.ManualClock) -> None:
    p = policy(clock)
    f = flaky(2)
    assert p.call(f) == "ok"
    assert f.state["calls"] == 3  # type: ignore[attr-defined]
    assert clock.now() == pytest.approx(0.3)  # 0.1 + 0.2, no real sleep


def test_exhaustion_raises_retry_error_with_cause(clock: bw.ManualClock) -> None:
    p = policy(clock)
    with pytest.raises(bw.RetryError) as info:
        p.call(flaky(10))
    e = info.value
    assert e.code == "RETRY_EXHAUSTED" and e.attempts == 3 and e.reason == "max_attempts"
    assert isinstance(e.__cause__, Server) and e.last_error is e.__cause__


def test_not_retryable_error_is_the_users_own(clock: bw.ManualClock) -> None:
    p = policy(clock)
    err = NotFound()

    def f() -> None:
        raise err

    with pytest.raises(NotFound) as info:
        p.call(f)
    assert info.value is err and clock.now() == 0.0


def test_breaker_rejection_mid_retry_carries_last_error(clock: bw.ManualClock) -> None:
    cb = bw.CircuitBreaker("svc", failure_threshold=2, recovery_timeout=10.0, clock=clock)
    p = bw.Policy(breaker=cb, retry=bw.Retry(max_attempts=5, base_delay=0.1, jitter="none"))
    assert p.clock is clock and p.name == "svc"
    with pytest.raises(bw.CircuitOpenError) as info:
        p.call(flaky(10))
    e = info.value
    assert e.state == "open" and e.retry_after == pytest.approx(9.8)
    assert isinstance(e.last_error, Server) and e.__cause__ is e.last_error
    with pytest.raises(bw.CircuitOpenError) as again:
        p.call(flaky(0))
    assert again.value.last_error is None  # rejected before any attempt


def test_policy_events(clock: bw.ManualClock) -> None:
    p = policy(clock)
    seen: List[Any] = []
    sub = p.on("*", lambda e: seen.append((e.kind, e.attempt, e.delay, e.category, e.reason)))
    with pytest.raises(bw.RetryError):
        p.call(flaky(10))
    assert seen == [
        ("retry", 2, pytest.approx(0.1), "server", None),
        ("retry", 3, pytest.approx(0.2), "server", None),
        ("give_up", 3, None, "server", "max_attempts"),
    ]
    sub.unsubscribe()


def test_fallback_and_call_with_info(clock: bw.ManualClock) -> None:
    cb = bw.CircuitBreaker("svc", clock=clock)
    got: List[BaseException] = []
    p = bw.Policy(
        breaker=cb,
        retry=bw.Retry(max_attempts=2, base_delay=0.1, jitter="none"),
        fallback=lambda e: got.append(e) or "cached",
    )
    info = p.call_with_info(flaky(0))
    assert (info.value, info.from_fallback, info.attempts, info.reason, info.stale) == ("ok", False, 1, None, False)
    info = p.call_with_info(flaky(5))
    assert info.value == "cached" and info.from_fallback and info.strategy is None
    assert info.reason == "error_rate" and info.attempts == 2
    assert isinstance(got[0], bw.RetryError)
    cb.force_open()
    assert p.call(flaky(0)) == "cached"
    assert isinstance(got[1], bw.CircuitOpenError)
    assert p.call_with_info(flaky(0)).reason == "circuit_breaker_open"


def test_a_serving_fallback_emits_the_policys_fallback_event(clock: bw.ManualClock) -> None:
    p = policy(clock, fallback=lambda e: "cached", name="svc")
    seen: List[Any] = []
    p.on("fallback", lambda e: seen.append((e.kind, e.component, e.strategy, e.reason, e.attempt, e.category)))
    kinds: List[str] = []
    p.on("*", lambda e: kinds.append(e.kind))
    assert p.call(flaky(10)) == "cached"
    assert seen == [("fallback", "svc", None, "error_rate", 3, "server")]
    assert kinds == ["retry", "retry", "give_up", "fallback"]
    assert p.call(flaky(0)) == "ok" and len(seen) == 1  # a live value: no event

    async def failing() -> str:
        raise Server()

    assert asyncio.run(p.call_async(failing)) == "cached"
    assert p.call_with_info(flaky(10)).from_fallback
    assert len(seen) == 3


def test_a_serving_strategy_emits_the_fallback_event_with_its_name(clock: bw.ManualClock) -> None:
    async def later(ctx: bw.FallbackContext) -> str:
        return "simplified"

    seen: List[Any] = []
    p = policy(clock, fallback=bw.Fallback([bw.SimplifiedResponse(later)], clock=clock), name="svc")
    p.on("fallback", lambda e: seen.append((e.strategy, e.reason)))

    async def failing() -> str:
        raise Server()

    assert asyncio.run(p.call_async(failing)) == "simplified"  # emitted once awaited
    p = policy(clock, fallback=bw.Fallback([bw.SimplifiedResponse("plain")], clock=clock), name="svc")
    p.on("fallback", lambda e: seen.append((e.strategy, e.reason)))
    assert p.call(flaky(10)) == "plain"
    assert seen == [("simplified_response", "error_rate")] * 2

    def broken(e: BaseException) -> str:
        raise RuntimeError("no fallback either")

    q = policy(clock, fallback=broken)
    q.on("fallback", seen.append)
    with pytest.raises(RuntimeError):
        q.call(flaky(10))
    assert len(seen) == 2  # a fallback that raises served nothing


@pytest.mark.parametrize("kind", ["state_change", "degradation_triggered", "rejected", "nonsense"])
def test_policy_on_refuses_events_it_never_emits(clock: bw.ManualClock, kind: str) -> None:
    p = policy(clock)
    with pytest.raises(ValueError, match=kind):
        p.on(kind, lambda e: None)
    for ok in ("retry", "give_up", "fallback", "*"):
        p.on(ok, lambda e: None).unsubscribe()


def test_default_failure_detection_for_returned_responses(clock: bw.ManualClock) -> None:
    class Response:
        def __init__(self, status_code: int) -> None:
            self.status_code = status_code

    answers = [Response(503), Response(429), Response(200)]
    p = policy(clock)
    events: List[Any] = []
    p.on("retry", lambda e: events.append(e.category))
    assert p.call(lambda: answers.pop(0)).status_code == 200
    assert events == ["server", "rate_limited"]
    with pytest.raises(bw.RetryError):
        p.call(lambda: Response(500))
    # failure_if= replaces the default.
    q = policy(clock, failure_if=lambda r: False)
    assert q.call(lambda: Response(500)).status_code == 500


# -- clocks: a part made without one takes the policy's (contract section 7) --------------------


def test_parts_made_without_a_clock_take_the_breakers(clock: bw.ManualClock) -> None:
    cb = bw.CircuitBreaker("svc", clock=clock)
    limiter = bw.RateLimiter(max_requests=1, time_window=10.0)
    p = bw.Policy(
        breaker=cb,
        retry=bw.Retry(max_attempts=2, base_delay=1.0, jitter="none"),
        rate_limiter=limiter,
        bulkhead=bw.Bulkhead(max_concurrent=2),
        fallback=bw.Fallback([bw.OfflineResponse("offline")]),
    )
    assert p.clock is clock
    assert p.call(lambda: 1) == 1
    assert p.call(lambda: 2) == "offline"  # the limiter's one request is gone...
    clock.advance(10.0)
    assert p.call(lambda: 3) == 3  # ...and back after 10 s on the policy's clock
    assert p.fallback is not None and p.fallback.clock is clock


def test_parts_made_without_a_clock_take_the_policys(clock: bw.ManualClock) -> None:
    fb = bw.Fallback([bw.CachedResponse()])
    p = bw.Policy(
        retry=bw.Retry(max_attempts=2, base_delay=1.0, jitter="none"),
        rate_limiter=bw.RateLimiter(max_requests=100),
        fallback=fb,
        clock=clock,
    )
    assert p.clock is clock and fb.clock is clock
    answers: List[Any] = ["live", Server(), Server(), Server(), Server()]

    def get(key: str) -> str:
        a = answers.pop(0)
        if isinstance(a, BaseException):
            raise a
        return str(a)

    assert p.call(get, "k") == "live"
    assert p.call(get, "k") == "live"  # from the cache...
    assert clock.now() == pytest.approx(1.0)  # ...after one backoff on the policy's clock
    clock.advance(301.0)  # past the default TTL on the ManualClock: served stale
    info = p.call_with_info(get, "k")
    assert info.from_fallback and info.strategy == "cached_response" and info.stale


def test_a_rate_limiter_without_a_clock_refills_on_the_system_clock() -> None:
    # One token per nanosecond: any time between two calls refills it. Each read used to start a
    # new system clock at zero, so it never refilled.
    limiter = bw.RateLimiter(max_requests=1, time_window=1e-9)
    for _ in range(3):
        limiter.try_acquire()


def test_only_given_clocks_must_match(clock: bw.ManualClock) -> None:
    other = bw.ManualClock()
    with pytest.raises(bw.ConfigError) as ei:
        bw.Policy(breaker=bw.CircuitBreaker("a", clock=clock), rate_limiter=bw.RateLimiter(clock=other))
    assert ei.value.key == "rate_limiter"
    with pytest.raises(bw.ConfigError) as ei:
        bw.Policy(breaker=bw.CircuitBreaker("a"), rate_limiter=bw.RateLimiter(clock=clock))
    assert ei.value.key == "rate_limiter"  # the breaker has the system clock: given, and different
    with pytest.raises(bw.ConfigError) as ei:
        bw.Policy(breaker=bw.CircuitBreaker("a", clock=clock), clock=other)
    assert ei.value.key == "clock"
    # A breaker on the system clock and parts without one: all on the system clock.
    p = bw.Policy(breaker=bw.CircuitBreaker("a"), rate_limiter=bw.RateLimiter(), fallback=bw.Fallback())
    assert p.clock is None and p.fallback is not None and p.fallback.clock is None
    # A RateLimiter on a clock with no other: the policy's clock is the limiter's.
    assert bw.Policy(rate_limiter=bw.RateLimiter(clock=clock)).clock is clock


def test_decorators(clock: bw.ManualClock) -> None:
    p = policy(clock)
    f = flaky(1)

    @p
    def sync_fn(x: int) -> Any:
        """Doc."""
        return f(x)

    assert sync_fn(2) == ("ok", (2,), {})
    assert sync_fn.__name__ == "sync_fn" and sync_fn.__doc__ == "Doc." and sync_fn.__wrapped__

    calls = {"n": 0}

    @p
    async def async_fn(x: int) -> int:
        calls["n"] += 1
        await asyncio.sleep(0)
        if calls["n"] == 1:
            raise Server()
        return x * 2

    assert inspect.iscoroutinefunction(async_fn)
    assert asyncio.run(async_fn(21)) == 42 and calls["n"] == 2

    class Client:
        @p
        def get(self, k: str) -> str:
            return k

        @p
        async def aget(self, k: str) -> str:
            return k

    assert Client().get("a") == "a" and asyncio.run(Client().aget("b")) == "b"


def test_retry_alone(clock: bw.ManualClock) -> None:
    r = bw.Retry(max_attempts=3, base_delay=0.0, jitter="none")
    f = flaky(2)
    assert r.call(f) == "ok"

    @r
    def g() -> str:
        return "g"

    assert g() == "g" and r.call_with_info(flaky(1)).attempts == 2
    assert asyncio.run(r.call_async(asyncio.sleep, 0, "v")) == "v"


def test_async_retries_on_manual_clock_and_cancellation(clock: bw.ManualClock) -> None:
    cb = bw.CircuitBreaker("svc", clock=clock, half_open_max_calls=1)
    p = bw.Policy(breaker=cb, retry=bw.Retry(max_attempts=4, base_delay=1.0, jitter="none"))

    async def main() -> None:
        calls = {"n": 0}

        async def f() -> str:
            calls["n"] += 1
            if calls["n"] < 3:
                raise Server()
            return "done"

        assert await p.call_async(f) == "done"
        assert clock.now() == pytest.approx(3.0)

        gate = asyncio.Event()

        async def hang() -> None:
            await gate.wait()

        t = asyncio.ensure_future(p.call_async(hang))
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        s = cb.snapshot()
        assert s.calls_total == 3 and s.ignored_total == 0  # the cancelled attempt counts nothing

    asyncio.run(main())


def test_async_timeout_abandons_the_attempt() -> None:
    p = bw.Policy(timeout=0.005, retry=bw.Retry(max_attempts=2, base_delay=0.0, jitter="none"))
    cancelled: List[bool] = []

    async def stuck() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with pytest.raises(bw.RetryError) as info:
        asyncio.run(p.call_async(stuck))
    cause = info.value.__cause__
    assert isinstance(cause, bw.TimeoutError) and isinstance(cause, TimeoutError)
    assert cause.code == "TIMEOUT" and cause.timeout == 0.005
    assert cancelled == [True, True]


def test_sync_call_is_not_preempted_by_the_timeout(clock: bw.ManualClock) -> None:
    p = bw.Policy(timeout=1.0, clock=clock)

    def late() -> str:
        clock.advance(5.0)
        return "late but fine"

    assert p.call(late) == "late but fine"


def test_retry_budget_limits_retries(clock: bw.ManualClock) -> None:
    budget = bw.RetryBudget(ratio=0.0, min_per_second=0, ttl=1.0)
    assert (budget.ratio, budget.min_per_second, budget.ttl) == (0.0, 0, 1.0)
    p = bw.Policy(retry=bw.Retry(max_attempts=3, base_delay=0.1, budget=budget), clock=clock)
    with pytest.raises(bw.RetryError) as info:
        p.call(flaky(10))
    assert info.value.reason == "budget_exhausted" and info.value.attempts == 1


def test_retry_after_header_sets_the_delay(clock: bw.ManualClock) -> None:
    class Limited(Exception):
        status_code = 429
        headers = {"Retry-After": "3"}

    p = policy(clock)
    n = {"i": 0}

    def f() -> str:
        n["i"] += 1
        if n["i"] == 1:
            raise Limited()
        return "ok"

    assert p.call(f) == "ok" and clock.now() == pytest.approx(3.0)


def test_seeded_jitter_is_reproducible() -> None:
    def delays(seed: int) -> List[float]:
        clock = bw.ManualClock()
        p = bw.Policy(retry=bw.Retry(max_attempts=4, seed=seed), clock=clock)
        seen: List[float] = []
        p.on("retry", lambda e: seen.append(e.delay or 0.0))
        with pytest.raises(bw.RetryError):
            p.call(flaky(10))
        return seen

    assert delays(7) == delays(7)
    assert len(delays(7)) == 3 and all(0 <= d <= 0.8 for d in delays(7))


@pytest.mark.parametrize(
    "make, key",
    [
        (lambda: bw.Retry(max_attempts=0), "max_attempts"),
        (lambda: bw.Retry(max_attempts=101), "max_attempts"),
        (lambda: bw.Retry(base_delay=-1), "base_delay"),
        (lambda: bw.Retry(base_delay=2.0, max_delay=1.0), "max_delay"),
        (lambda: bw.Retry(multiplier=0.5), "multiplier"),
        (lambda: bw.Retry(jitter="sometimes"), "jitter"),
        (lambda: bw.Retry(jitter_factor=2), "jitter_factor"),
        (lambda: bw.Retry(max_elapsed=0), "max_elapsed"),
        (lambda: bw.Retry(retry_on=["server", "weather"]), "retry_on"),
        (lambda: bw.Retry(retry_on="server"), "retry_on"),
        (lambda: bw.Retry(idempotent="yes"), "idempotent"),
        (lambda: bw.Retry(seed=-1), "seed"),
        (lambda: bw.Retry(budget=0.2), "budget"),
        (lambda: bw.Retry(max_atempts=3), "max_atempts"),
        (lambda: bw.RetryBudget(ratio=-1), "ratio"),
        (lambda: bw.RetryBudget(ttl=0), "ttl"),
        (lambda: bw.Policy(timeout=0), "timeout"),
        (lambda: bw.Policy(timeout=-1.0), "timeout"),
        (lambda: bw.Policy(breaker="cb"), "breaker"),
        (lambda: bw.Policy(fallback="cached"), "fallback"),
        (
            lambda: bw.Policy(
                breaker=bw.CircuitBreaker("b", clock=bw.ManualClock()), clock=bw.ManualClock()
            ),
            "clock",
        ),
    ],
)
def test_bad_arguments(make: Any, key: str) -> None:
    with pytest.raises(bw.ConfigError) as info:
        make()
    assert info.value.key == key and info.value.allowed


def test_retry_config_round_trip() -> None:
    r = bw.Retry(max_attempts=5, base_delay=0.5, retry_on=["server"], seed=3)
    c = r.config
    assert c["max_attempts"] == 5 and c["base_delay"] == 0.5 and c["retry_on"] == ("server",)
    r2 = bw.Retry.from_config({"maxAttempts": 4, "base_delay_ms": 250})
    assert isinstance(r2, bw.Retry) and r2.config["base_delay"] == 0.25


def test_rate_limiter_alone_and_in_a_policy(clock: bw.ManualClock) -> None:
    limiter = bw.RateLimiter(max_requests=2, time_window=1.0, clock=clock, name="api")
    assert limiter.available == 2
    limiter.try_acquire()
    limiter.try_acquire()
    with pytest.raises(bw.RateLimitedError) as info:
        limiter.try_acquire()
    e = info.value
    assert e.code == "RATE_LIMITED" and e.component == "api" and e.retry_after == pytest.approx(0.5)
    assert limiter.reserve() == pytest.approx(0.5)
    limiter.acquire()  # waits on the ManualClock: advances it
    assert clock.now() == pytest.approx(1.0)

    cb = bw.CircuitBreaker("svc", clock=clock)
    p = bw.Policy(breaker=cb, rate_limiter=bw.RateLimiter(max_requests=1, clock=clock))
    assert p.clock is clock and p.rate_limiter is not None
    assert p.call(lambda: 1) == 1
    with pytest.raises(bw.RateLimitedError):
        p.call(lambda: 1)
    s = cb.snapshot()
    assert s.calls_total == 1 and s.rejected_total == 0  # the refusal counted nothing


def test_rate_limiter_arguments() -> None:
    for make, key in [
        (lambda: bw.RateLimiter(max_requests=0), "max_requests"),
        (lambda: bw.RateLimiter(time_window=0), "time_window"),
        (lambda: bw.RateLimiter(time_window=-1), "time_window"),
        (lambda: bw.RateLimiter(burst_limit=0), "burst_limit"),
        (lambda: bw.RateLimiter(max_request=1), "max_request"),
        (lambda: bw.Policy(rate_limiter=bw.RateLimiter(clock=bw.ManualClock()), clock=bw.ManualClock()), "rate_limiter"),
    ]:
        with pytest.raises(bw.ConfigError) as info:
            make()
        assert info.value.key == key
    r = bw.RateLimiter.from_config({"maxRequests": 5, "timeWindow": 2000})
    assert r.available == 5


def test_bulkhead_full_and_queue_with_threads() -> None:
    import threading

    bh = bw.Bulkhead(max_concurrent=1, max_queue=1, max_wait=30.0, name="db")
    assert (bh.in_flight, bh.queued, bh.name) == (0, 0, "db")
    p = bw.Policy(bulkhead=bh)
    inside = threading.Event()
    release = threading.Event()
    results: List[Any] = []

    def hold() -> str:
        inside.set()
        release.wait(30)
        return "first"

    t1 = threading.Thread(target=lambda: results.append(p.call(hold)))
    t1.start()
    inside.wait(30)
    t2 = threading.Thread(target=lambda: results.append(p.call(lambda: "second")))
    t2.start()
    while bh.queued == 0:  # t2 is queued (no sleeping: it yields the GIL to it)
        threading.Event().wait(0)
    with pytest.raises(bw.BulkheadFullError) as info:
        p.call(lambda: "third")  # one in flight, one queued: no room
    assert info.value.code == "BULKHEAD_FULL" and info.value.component == "db"
    release.set()
    t1.join(30)
    t2.join(30)
    assert sorted(results) == ["first", "second"]
    assert (bh.in_flight, bh.queued) == (0, 0)


def test_bulkhead_queue_with_asyncio() -> None:
    bh = bw.Bulkhead(max_concurrent=2, max_queue=100, max_wait=30.0)
    p = bw.Policy(bulkhead=bh)
    peak = {"now": 0, "max": 0}

    async def work(i: int) -> int:
        peak["now"] += 1
        peak["max"] = max(peak["max"], peak["now"])
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        peak["now"] -= 1
        return i

    async def main() -> List[int]:
        return await asyncio.gather(*(p.call_async(work, i) for i in range(50)))

    assert asyncio.run(main()) == list(range(50))
    assert peak["max"] == 2 and (bh.in_flight, bh.queued) == (0, 0)


def test_bulkhead_cancelled_waiter_leaves_the_queue() -> None:
    bh = bw.Bulkhead(max_concurrent=1, max_queue=5, max_wait=30.0)
    p = bw.Policy(bulkhead=bh)

    async def main() -> None:
        gate = asyncio.Event()

        async def hold() -> None:
            await gate.wait()

        first = asyncio.ensure_future(p.call_async(hold))
        await asyncio.sleep(0)
        queued = asyncio.ensure_future(p.call_async(hold))
        await asyncio.sleep(0)
        assert bh.queued == 1
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        assert bh.queued == 0
        gate.set()
        await first
        assert (bh.in_flight, bh.queued) == (0, 0)

    asyncio.run(main())


def test_bulkhead_arguments() -> None:
    for make, key in [
        (lambda: bw.Bulkhead(max_concurrent=0), "max_concurrent"),
        (lambda: bw.Bulkhead(max_queue=-1), "max_queue"),
        (lambda: bw.Bulkhead(max_wait=-1.0), "max_wait"),
        (lambda: bw.Policy(bulkhead=3), "bulkhead"),
    ]:
        with pytest.raises(bw.ConfigError) as info:
            make()
        assert info.value.key == key
