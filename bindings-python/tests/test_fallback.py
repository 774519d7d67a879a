"""bw.Fallback in a Policy (the four built-in strategy kinds, user strategies, rules from config,
the response cache with stale-if-error), bw.DegradationManager and bw.ResponseCache."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import pytest

import breakwater as bw


class Unavailable(Exception):
    status_code = 503


class Throttled(Exception):
    status_code = 429


class Service:
    def __init__(self) -> None:
        self.down: Optional[BaseException] = None
        self.calls = 0

    def get(self, key: str, *, version: int = 1) -> str:
        self.calls += 1
        if self.down is not None:
            raise self.down
        return f"{key}@{version}"

    async def aget(self, key: str) -> str:
        self.calls += 1
        await asyncio.sleep(0)
        if self.down is not None:
            raise self.down
        return f"async {key}"


def make(clock: bw.ManualClock, *strategies: Any, **kw: Any) -> bw.Policy:
    fb = bw.Fallback(list(strategies), clock=clock, **kw)
    return bw.Policy(breaker=bw.CircuitBreaker("svc", clock=clock, failure_threshold=2), fallback=fb)


# -- built-in kinds ---------------------------------------------------------------------------


def test_offline_response_replaces_the_error(clock: bw.ManualClock) -> None:
    svc = Service()
    p = make(clock, bw.OfflineResponse("offline"))
    assert p.call(svc.get, "a") == "a@1"
    svc.down = Unavailable()
    info = p.call_with_info(svc.get, "a")
    assert (info.value, info.from_fallback, info.strategy, info.kind) == (
        "offline",
        True,
        "offline_response",
        "offline_response",
    )
    assert (info.reason, info.stale, info.attempts) == ("error_rate", False, 1)


def test_cached_response_serves_the_last_good_result_then_stale(clock: bw.ManualClock) -> None:
    svc = Service()
    p = make(clock, bw.CachedResponse(priority=1), bw.OfflineResponse("offline", priority=9))
    fb = p.fallback
    assert isinstance(fb, bw.Fallback) and fb.cache is not None
    assert p.call(svc.get, "a", version=2) == "a@2"
    svc.down = Unavailable()
    info = p.call_with_info(svc.get, "a", version=2)
    assert (info.value, info.strategy, info.stale) == ("a@2", "cached_response", False)
    # Other arguments: another key, nothing cached, the next strategy serves.
    assert p.call(svc.get, "a", version=3) == "offline"
    # The breaker opened: still served from the cache, reason circuit_breaker_open, 0 attempts.
    info = p.call_with_info(svc.get, "a", version=2)
    assert (info.value, info.reason, info.attempts) == ("a@2", "circuit_breaker_open", 0)
    # Past the TTL (300 s): served stale.
    clock.advance(301.0)
    info = p.call_with_info(svc.get, "a", version=2)
    assert (info.value, info.stale, info.reason) == ("a@2", True, "error_rate")
    assert fb.cache.stats().stale_hits == 1


def test_stale_if_error_off_makes_expired_entries_misses(clock: bw.ManualClock) -> None:
    svc = Service()
    cache = bw.ResponseCache(ttl=10.0, stale_if_error=False, clock=clock)
    p = make(clock, bw.CachedResponse(), bw.OfflineResponse("offline", priority=5), cache=cache)
    p.call(svc.get, "a")
    svc.down = Unavailable()
    clock.advance(10.0)
    assert p.call_with_info(svc.get, "a").strategy == "offline_response"


def test_simplified_response_gets_the_context(clock: bw.ManualClock) -> None:
    svc = Service()
    seen: List[bw.FallbackContext] = []

    def reduced(ctx: bw.FallbackContext) -> str:
        seen.append(ctx)
        return f"reduced {ctx.args[0]}"

    p = make(clock, bw.SimplifiedResponse(reduced))
    svc.down = Throttled()
    assert p.call(svc.get, "x", version=7) == "reduced x"
    ctx = seen[0]
    assert (ctx.component, ctx.trigger, ctx.severity, ctx.category) == ("svc", "rate_limited", "partial", "rate_limited")
    assert ctx.args == ("x",) and dict(ctx.kwargs) == {"version": 7}
    assert isinstance(ctx.error, Throttled) and ctx.attempts == 1
    assert make(clock, bw.SimplifiedResponse("plain")).call(svc.get, "x") == "plain"


def test_fallback_target_calls_the_alternative_with_the_same_arguments(clock: bw.ManualClock) -> None:
    svc = Service()
    p = make(clock, bw.FallbackTarget(lambda key, version=1: f"agent-b {key} {version}"))
    svc.down = Unavailable()
    assert p.call(svc.get, "k", version=4) == "agent-b k 4"


def test_async_strategies_and_targets_are_awaited(clock: bw.ManualClock) -> None:
    svc = Service()

    async def other(key: str) -> str:
        return f"other {key}"

    class AsyncStrategy(bw.Strategy):
        priority = 1

        async def execute(self, ctx: bw.FallbackContext) -> str:
            await asyncio.sleep(0)
            return f"async strategy {ctx.trigger}"

    p = make(clock, bw.FallbackTarget(other, priority=2), AsyncStrategy())
    svc.down = Unavailable()

    async def main() -> None:
        info = await p.call_with_info_async(svc.aget, "q")
        assert (info.value, info.strategy, info.kind) == ("async strategy error_rate", "AsyncStrategy", "custom")
        assert p.fallback is not None and isinstance(p.fallback, bw.Fallback)
        p.fallback.manager.set_available("AsyncStrategy", False)
        assert await p.call_async(svc.aget, "q") == "other q"

    asyncio.run(main())


def test_async_cached_response(clock: bw.ManualClock) -> None:
    svc = Service()
    p = make(clock, bw.CachedResponse())

    async def main() -> None:
        assert await p.call_async(svc.aget, "q") == "async q"
        svc.down = Unavailable()
        info = await p.call_with_info_async(svc.aget, "q")
        assert (info.value, info.strategy, info.from_fallback) == ("async q", "cached_response", True)

    asyncio.run(main())


# -- user strategies --------------------------------------------------------------------------


def test_user_strategy_objects_duck_typed(clock: bw.ManualClock) -> None:
    calls: List[str] = []

    class AgentB:
        name = "agent-b"
        kind = "fallback_target"
        priority = 0
        description = "ask agent B"
        up = True

        def is_available(self) -> bool:
            calls.append("is_available")
            return self.up

        def can_handle(self, ctx: bw.FallbackContext) -> bool:
            calls.append(f"can_handle {ctx.trigger}")
            return ctx.trigger == "circuit_breaker_open"

        def execute(self, ctx: bw.FallbackContext) -> str:
            return "agent b"

    agent = AgentB()
    svc = Service()
    p = make(clock, agent, bw.OfflineResponse("offline", priority=5))
    svc.down = Unavailable()
    assert p.call(svc.get, "a") == "offline"  # error_rate: can_handle says no
    assert calls == ["is_available", "can_handle error_rate"]
    p.call(svc.get, "a")  # opens the breaker (2 failures)
    assert p.call(svc.get, "a") == "agent b"
    agent.up = False
    assert p.call(svc.get, "a") == "offline"
    info = p.fallback.manager.strategies()[0]  # type: ignore[union-attr]
    assert (info.name, info.kind, info.description) == ("agent-b", "fallback_target", "ask agent B")


def test_a_strategy_that_raises_reaches_the_caller_chained(clock: bw.ManualClock) -> None:
    class Broken(bw.Strategy):
        def execute(self, ctx: bw.FallbackContext) -> str:
            raise ValueError("strategy failed")

    svc = Service()
    svc.down = Unavailable()
    p = make(clock, Broken())
    with pytest.raises(ValueError) as ei:
        p.call(svc.get, "a")
    assert isinstance(ei.value.__context__, Unavailable)


def test_a_predicate_that_raises_is_isolated_and_logged_once(
    clock: bw.ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Flaky(bw.Strategy):
        priority = 0

        def can_handle(self, ctx: bw.FallbackContext) -> bool:
            raise RuntimeError("predicate bug")

        def execute(self, ctx: bw.FallbackContext) -> str:
            return "never"

    svc = Service()
    svc.down = Unavailable()
    p = make(clock, Flaky(), bw.OfflineResponse("offline", priority=1))
    with caplog.at_level(logging.ERROR, logger="breakwater"):
        assert p.call(svc.get, "a") == "offline"
        assert p.call(svc.get, "b") == "offline"
    assert len([r for r in caplog.records if "can_handle" in r.getMessage()]) == 1


def test_bad_strategies_are_config_errors(clock: bw.ManualClock) -> None:
    class NoExecute(bw.Strategy):
        pass

    with pytest.raises(bw.ConfigError) as ei:
        bw.Fallback([NoExecute()])
    assert ei.value.key == "execute"
    with pytest.raises(bw.ConfigError) as ei:
        bw.Fallback([bw.OfflineResponse("x", priority=-1)])
    assert ei.value.key == "priority"
    with pytest.raises(bw.ConfigError) as ei:
        bw.Fallback([bw.OfflineResponse("x", handles=["bogus"])])
    assert ei.value.key == "handles"
    with pytest.raises(TypeError):
        bw.FallbackTarget("not callable")  # type: ignore[arg-type]
    with pytest.raises(bw.ConfigError) as ei:
        bw.Policy(fallback=42)  # type: ignore[arg-type]
    assert ei.value.key == "fallback"


def test_handles_limits_a_builtin_to_some_triggers(clock: bw.ManualClock) -> None:
    svc = Service()
    p = make(
        clock,
        bw.OfflineResponse("for timeouts", handles=["timeout"]),
        bw.OfflineResponse("default", name="default", priority=9),
    )
    svc.down = TimeoutError()
    assert p.call(svc.get, "a") == "for timeouts"
    svc.down = Unavailable()
    assert p.call(svc.get, "a") == "default"


# -- rules, the plain fallback function, errors -----------------------------------------------


def test_rules_from_config_name_strategies(clock: bw.ManualClock) -> None:
    rules = [
        {
            "name": "svc-offline-when-open",
            "conditions": {"reasons": ["circuit_breaker_open"], "component": "svc"},
            "severityThreshold": "significant",
            "strategy": "offline_response",
            "priority": 1,
        }
    ]
    svc = Service()
    p = make(clock, bw.CachedResponse(priority=1), bw.OfflineResponse("offline", priority=9), rules=rules)
    p.call(svc.get, "a")
    svc.down = Unavailable()
    assert p.call_with_info(svc.get, "a").strategy == "cached_response"
    p.call(svc.get, "a")  # opens
    info = p.call_with_info(svc.get, "a")
    assert (info.strategy, info.reason) == ("offline_response", "circuit_breaker_open")
    m = bw.DegradationManager.from_config({"degradationRules": rules, "maxHistory": 5}, clock=clock)
    assert m.config["max_history"] == 5 and m.config["rules"][0]["name"] == "svc-offline-when-open"
    with pytest.raises(bw.ConfigError) as ei:
        bw.DegradationManager.from_config({"degradationRules": [{"conditions": {"reasons": []}, "strategy": "x"}]})
    assert ei.value.key == "degradationRules[0].conditions.reasons"
    with pytest.raises(bw.ConfigError) as ei:
        bw.DegradationManager(max_histroy=3)  # type: ignore[call-arg]
    assert ei.value.key == "max_histroy" and "max_history" in (ei.value.allowed or "")


def test_no_strategy_serves_the_fallback_function_or_the_error(clock: bw.ManualClock) -> None:
    svc = Service()
    svc.down = Unavailable()
    got: List[BaseException] = []

    def fn(e: BaseException) -> str:
        got.append(e)
        return "from fn"

    p = make(clock, fallback=fn)
    info = p.call_with_info(svc.get, "a")
    assert (info.value, info.strategy, info.reason) == ("from fn", None, "error_rate")
    assert isinstance(got[0], Unavailable)
    p2 = make(clock)
    with pytest.raises(Unavailable):
        p2.call(svc.get, "a")
    assert p2.stats()["fallbacks_total"] == 1


def test_a_fallback_never_replaces_cancellation(clock: bw.ManualClock) -> None:
    p = make(clock, bw.OfflineResponse("offline"))

    def interrupted() -> None:
        raise KeyboardInterrupt()

    with pytest.raises(KeyboardInterrupt):
        p.call(interrupted)

    async def cancelled() -> None:
        raise asyncio.CancelledError()

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(p.call_async(cancelled))
    assert p.fallback.manager.statistics().calls_served == 0  # type: ignore[union-attr]


def test_every_other_error_is_replaced(clock: bw.ManualClock) -> None:
    retry = bw.Retry(max_attempts=2, base_delay=0.1, jitter="none")
    fb = bw.Fallback([bw.OfflineResponse("offline")], clock=clock)
    p = bw.Policy(
        breaker=bw.CircuitBreaker("svc", clock=clock, failure_threshold=1),
        retry=retry,
        rate_limiter=bw.RateLimiter(max_requests=1, time_window=60.0, clock=clock),
        fallback=fb,
    )
    svc = Service()
    svc.down = Unavailable()
    info = p.call_with_info(svc.get, "a")  # breaker opens after the first failure: rejected mid-retry
    assert (info.value, info.reason) == ("offline", "circuit_breaker_open")
    p.breaker.reset()  # type: ignore[union-attr]
    info = p.call_with_info(svc.get, "a")  # the limiter's one request is gone
    assert (info.value, info.reason) == ("offline", "rate_limited")


def test_the_fallback_must_share_the_policys_clock(clock: bw.ManualClock) -> None:
    # Made without a clock, it takes the policy's (here the breaker's)...
    fb = bw.Fallback([bw.CachedResponse(), bw.OfflineResponse(1, priority=5)])
    assert fb.clock is None
    p = bw.Policy(breaker=bw.CircuitBreaker("x", clock=clock), fallback=fb)
    assert fb.clock is clock and p.clock is clock
    assert fb.manager.clock is clock and fb.cache is not None and fb.cache.clock is clock
    # ...and keeps it: a policy on another clock is refused.
    with pytest.raises(bw.ConfigError) as ei:
        bw.Policy(breaker=bw.CircuitBreaker("y", clock=bw.ManualClock()), fallback=fb)
    assert ei.value.key == "fallback"
    with pytest.raises(bw.ConfigError) as ei:
        bw.Policy(breaker=bw.CircuitBreaker("z"), fallback=fb)  # the system clock
    assert ei.value.key == "fallback"
    # Given clocks must match.
    with pytest.raises(bw.ConfigError) as ei:
        bw.Policy(
            breaker=bw.CircuitBreaker("x", clock=clock),
            fallback=bw.Fallback([bw.OfflineResponse(1)], clock=bw.ManualClock()),
        )
    assert ei.value.key == "fallback"
    # A Fallback whose manager was read first stays on the clock it had (the system clock).
    early = bw.Fallback([bw.OfflineResponse(1)])
    assert early.manager.clock is None
    with pytest.raises(bw.ConfigError) as ei:
        bw.Policy(breaker=bw.CircuitBreaker("x", clock=clock), fallback=early)
    assert ei.value.key == "fallback"
    # A policy with no other clock takes the fallback's.
    p = bw.Policy(fallback=bw.Fallback([bw.OfflineResponse(1)], clock=clock))
    assert p.clock is clock
    with pytest.raises(bw.ConfigError) as ei:
        bw.Fallback(cache=bw.ResponseCache(), clock=clock)
    assert ei.value.key == "cache"


# -- the manager --------------------------------------------------------------------------------


def test_manager_events_history_statistics_and_forced_recovery(clock: bw.ManualClock) -> None:
    m = bw.DegradationManager(clock=clock)
    events: List[bw.Event] = []
    m.on("*", events.append)
    m.register(bw.OfflineResponse("offline"))
    c = m.select("db", "timeout")
    assert c is not None and (c.strategy, c.trigger, c.severity, c.rule) == (
        "offline_response",
        "timeout",
        "partial",
        None,
    )
    assert m.trigger("cache", "manual", "critical")
    assert (m.level("db"), m.overall_level, m.has_active) == ("partial", "critical", True)
    assert [e.kind for e in events] == ["degradation_triggered", "fallback", "degradation_triggered"]
    clock.advance(2.0)
    assert m.report_success("db")
    assert not m.trigger_cleared("cache", "manual")  # manual needs force
    assert m.force_recovery_all() == 1
    h = m.history()
    assert [(r.component, r.recovery, r.duration) for r in h] == [("db", "auto", 2.0), ("cache", "forced", 2.0)]
    s = m.statistics()
    assert (s.total_triggered, s.total_recovered, s.calls_served, s.most_frequent_reason) == (2, 2, 1, "timeout")
    assert s.by_reason["manual"] == 1 and s.max_duration == 2.0
    assert events[-1].kind == "degradation_recovered" and events[-1].duration == 2.0
    with pytest.raises(ValueError):
        m.trigger("x", "manual")  # manual needs a severity
    with pytest.raises(ValueError):
        m.trigger("x", "bogus")


def test_manager_watches_a_breaker(clock: bw.ManualClock) -> None:
    m = bw.DegradationManager(clock=clock)
    cb = bw.CircuitBreaker("payments", clock=clock, failure_threshold=1, recovery_timeout=1.0, success_threshold=1)
    sub = m.watch(cb)
    with pytest.raises(Unavailable):
        cb.call(_raise_unavailable)
    a = m.active("payments")
    assert a is not None and (a.trigger, a.level) == ("circuit_breaker_open", "significant")
    clock.advance(1.0)
    cb.call(lambda: 1)
    assert m.active("payments") is None
    assert sub.unsubscribe()


def _raise_unavailable() -> None:
    raise Unavailable()


def test_policy_success_recovers_the_component(clock: bw.ManualClock) -> None:
    svc = Service()
    p = make(clock, bw.OfflineResponse("offline"))
    svc.down = Unavailable()
    p.call(svc.get, "a")
    m = p.fallback.manager  # type: ignore[union-attr]
    assert m.level("svc") == "partial"
    svc.down = None
    p.call(svc.get, "a")
    assert m.level("svc") == "none"


# -- the cache and its keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    x: int
    y: int


def test_cache_keys_compare_by_equality(clock: bw.ManualClock) -> None:
    c = bw.ResponseCache(max_entries=2, clock=clock)
    c.put(Point(1, 2), "a")
    assert c.get(Point(1, 2)) == "a"  # an equal key, another object
    assert Point(1, 2) in c
    r = c.put((1, "x"), "b")
    assert r.evicted is None and r.replaced is None
    assert c.put(Point(1, 2), "a2").replaced == "a"
    r = c.put("third", "c")
    assert r.evicted == (1, "x") and c.keys() == [Point(1, 2), "third"]
    with pytest.raises(TypeError):
        c.put(["unhashable"], 1)
    assert c.remove("third") == "c" and len(c) == 1
    assert c.clear() == [Point(1, 2)]
    assert c.stats().hits == 1


def test_unhashable_arguments_are_not_cached(clock: bw.ManualClock) -> None:
    p = make(clock, bw.CachedResponse(), bw.OfflineResponse("offline", priority=5))
    fb = p.fallback
    assert isinstance(fb, bw.Fallback) and fb.cache is not None

    def f(items: List[int]) -> int:
        return sum(items)

    assert p.call(f, [1, 2]) == 3
    assert len(fb.cache) == 0
    assert fb.key_for("svc", f, [1]) is None
    assert fb.key_for("svc", f, 1, b=2) == (__name__, f.__qualname__, "svc", (1,), (("b", 2),))


def test_bound_methods_key_on_their_instance(clock: bw.ManualClock) -> None:
    a, b = Service(), Service()
    p = make(clock, bw.CachedResponse())
    p.call(a.get, "k")
    fb = p.fallback
    assert isinstance(fb, bw.Fallback) and fb.cache is not None
    b.down = Unavailable()
    with pytest.raises(Unavailable):
        p.call(b.get, "k")  # b never answered: nothing cached for it
    assert len(fb.cache) == 1


def test_custom_cache_key(clock: bw.ManualClock) -> None:
    keys: List[Any] = []

    def key(*args: Any, **kwargs: Any) -> Any:
        keys.append((args, kwargs))
        return args[0]

    svc = Service()
    p = make(clock, bw.CachedResponse(), cache_key=key)
    p.call(svc.get, "a", version=9)
    svc.down = Unavailable()
    assert p.call(svc.get, "a", version=1) == "a@9"
    fb = p.fallback
    assert isinstance(fb, bw.Fallback) and fb.cache is not None and fb.cache.keys() == ["a"]


def test_decorated_policy_with_fallback(clock: bw.ManualClock) -> None:
    p = make(clock, bw.CachedResponse())
    state: Dict[str, bool] = {"down": False}

    @p
    def lookup(sku: str) -> int:
        if state["down"]:
            raise Unavailable()
        return len(sku)

    assert lookup("apple") == 5
    state["down"] = True
    assert lookup("apple") == 5
    with pytest.raises(Unavailable):
        lookup("pear")
