"""bw.HealthRegistry: checks run and reported, intervals and timeouts on a ManualClock with
explicit run_*() calls (no sleeps), the aggregate and its scopes, dependencies, events, the
degradation feed; then the real scheduler (daemon thread, asyncio tasks), waited for with
events, never slept on."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, List, Tuple

import pytest

import breakwater as bw


def test_check_results_and_their_meaning(clock: bw.ManualClock) -> None:
    h = bw.HealthRegistry(clock=clock, failure_threshold=1)
    answers: Dict[str, Any] = {
        "none": None,
        "true": True,
        "false": False,
        "degraded": "degraded",
        "pair": ("critical", "disk full"),
        "mapping": {"status": "healthy", "message": "ok", "metadata": {"rows": 3}},
        "junk": 42,
    }
    for name, answer in answers.items():
        h.register(name, lambda a=answer: a)

    def boom() -> None:
        raise ConnectionError("db down")

    h.register("raises", boom)
    report = h.run_once()
    got = {c.name: c.status for c in report.checks}
    assert got == {
        "none": "healthy",
        "true": "healthy",
        "false": "unhealthy",
        "degraded": "degraded",
        "pair": "critical",
        "mapping": "healthy",
        "junk": "unhealthy",  # an answer that is no status: unknown, a failed report
        "raises": "unhealthy",
    }
    last = h.get("mapping")
    assert last is not None and last.last is not None
    assert (last.last.message, dict(last.last.metadata)) == ("ok", {"rows": 3})
    raised = h.get("raises")
    assert raised is not None and raised.last is not None
    assert raised.last.message == "ConnectionError: db down"
    assert report.status == "critical" and not report.ready


def test_latency_above_the_timeout_is_a_failed_report(clock: bw.ManualClock) -> None:
    h = bw.HealthRegistry(clock=clock)
    h.register("slow", lambda: clock.advance(2.0), timeout=1.0, failure_threshold=2)
    s = h.run_check("slow")
    assert (s.status, s.consecutive_failures, s.failing) == ("unknown", 1, False)
    assert s.last is not None and s.last.timed_out and s.last.latency == 2.0
    s = h.run_check("slow")
    assert (s.status, s.failing) == ("unhealthy", True)


def test_intervals_on_the_clock(clock: bw.ManualClock) -> None:
    h = bw.HealthRegistry(clock=clock, interval=10.0)
    runs: List[float] = []
    h.register("db", lambda: runs.append(clock.now()))
    h.register("cache", lambda: runs.append(clock.now()), interval=30.0)
    assert h.run_due() == 2  # never run: both due
    assert h.run_due() == 0
    clock.advance(10.0)
    assert h.run_due() == 1
    clock.advance(20.0)
    assert h.run_due() == 2
    assert runs == [0.0, 0.0, 10.0, 30.0, 30.0]
    assert h.config_for("cache")["interval"] == 30.0


def test_scopes_liveness_readiness_startup(clock: bw.ManualClock) -> None:
    h = bw.HealthRegistry(clock=clock, failure_threshold=1)
    state = {"alive": True, "ready": True}
    h.register("process", lambda: state["alive"], kind="liveness")
    h.register("db", lambda: state["ready"])
    h.register("warmup", lambda: True, kind="startup")
    h.register("optional", lambda: False, critical=False)
    h.run_once()
    assert (h.liveness(), h.readiness(), h.startup()) == ("healthy", "degraded", "healthy")
    assert h.is_live() and h.is_ready() and h.is_started()
    state["ready"] = False
    h.run_once()
    assert (h.is_live(), h.is_ready()) == (True, False)
    state["alive"] = False
    h.run_once()
    assert not h.is_live() and h.status().status == "unhealthy"


def test_externally_reported_checks_and_errors(clock: bw.ManualClock) -> None:
    h = bw.HealthRegistry(clock=clock)
    h.register("queue")
    s = h.report("queue", "degraded", "lagging", latency=0.2, metadata={"lag": 12})
    assert (s.status, s.last.message if s.last else None) == ("degraded", "lagging")
    with pytest.raises(bw.BreakwaterError) as ei:
        h.report("nope", "healthy")
    assert ei.value.code == "INVALID_ARGUMENT"
    with pytest.raises(ValueError):
        h.report("queue", "sort of fine")
    with pytest.raises(ValueError):
        h.run_check("queue")  # no callable
    with pytest.raises(KeyError):
        h.run_check("nope")


def test_config_errors_name_the_keyword(clock: bw.ManualClock) -> None:
    with pytest.raises(bw.ConfigError) as ei:
        bw.HealthRegistry(interval=0)
    assert (ei.value.key, ei.value.value) == ("interval", 0)
    h = bw.HealthRegistry(clock=clock)
    with pytest.raises(bw.ConfigError) as ei:
        h.register("db", lambda: True, kind="sometimes")
    assert ei.value.key == "kind"
    with pytest.raises(bw.ConfigError) as ei:
        h.register("db", lambda: True, config={"timeout_ms": 0})
    assert ei.value.key == "timeout_ms"
    assert h.check_names == []
    with pytest.raises(bw.ConfigError) as ei:
        bw.HealthRegistry(config={"healthChecks": {}})
    assert ei.value.key == "healthChecks"
    h2 = bw.HealthRegistry(config={"interval": 5000, "agentSpecific": {"db": {"timeout": 200}}})
    assert h2.config_for("db") == {
        "kind": "readiness",
        "interval": 5.0,
        "timeout": 0.2,
        "failure_threshold": 3,
        "critical": True,
    }


def test_breaker_dependencies_and_events(clock: bw.ManualClock) -> None:
    h = bw.HealthRegistry(clock=clock)
    events: List[Tuple[str, str]] = []
    h.on("health_changed", lambda e: events.append((e.component, str(e.reason))))
    cb = bw.CircuitBreaker("payments", clock=clock, recovery_timeout=5.0)
    h.add_dependency(cb)
    assert h.evaluate().ready
    cb.force_open()
    r = h.evaluate()
    assert not r.ready
    entry = r.check("payments")
    assert entry is not None and (entry.breaker_state, entry.failing, entry.is_check) == ("forced_open", True, False)
    cb.force_close()
    assert h.evaluate().ready
    assert events == [
        ("payments", "healthy"),
        ("payments", "unhealthy"),
        ("health", "unhealthy"),
        ("payments", "healthy"),
        ("health", "healthy"),
    ]
    h.add_dependency("search", critical=False)
    h.set_degraded_probe(lambda name: name == "search")
    assert h.status().status == "degraded" and h.is_ready()


def test_health_feeds_the_degradation_manager(clock: bw.ManualClock) -> None:
    m = bw.DegradationManager(clock=clock)
    h = bw.HealthRegistry(clock=clock, degradation=m, failure_threshold=1)
    state = {"status": "critical"}
    h.register("vector-db", lambda: state["status"])
    h.run_once()
    a = m.active("vector-db")
    assert a is not None and (a.trigger, a.level) == ("health_check_failed", "severe")
    state["status"] = "healthy"
    h.run_once()
    assert m.active("vector-db") is None
    assert h.degradation is m


def test_async_checks(clock: bw.ManualClock) -> None:
    h = bw.HealthRegistry(clock=clock, failure_threshold=1)
    gate = asyncio.Event()

    async def api() -> str:
        await asyncio.sleep(0)
        return "degraded"

    async def hangs() -> bool:
        await gate.wait()  # never set: the timeout cancels it
        return True

    async def slow() -> bool:
        clock.advance(3.0)
        return True

    h.register("api", api)
    h.register("hangs", hangs, timeout=0.001)
    h.register("slow", slow, timeout=1.0)
    h.register("sync", lambda: True)

    async def main() -> None:
        r = await h.run_once_async()
        got = {c.name: (c.status, c.last.timed_out if c.last else None) for c in r.checks}
        assert got == {
            "api": ("degraded", False),
            "hangs": ("unhealthy", True),
            "slow": ("unhealthy", True),
            "sync": ("healthy", False),
        }
        assert await h.run_due_async() == 0
        clock.advance(30.0)
        assert await h.run_due_async() == 4

    asyncio.run(main())
    with pytest.raises(TypeError):
        h.run_check("api")
    assert h.run_once().check("sync") is not None  # sync only, async left alone


def test_the_background_thread_runs_sync_checks_with_timeouts() -> None:
    h = bw.HealthRegistry(interval=0.005, timeout=0.05, failure_threshold=1)
    ran = threading.Event()
    release = threading.Event()
    timed_out = threading.Event()

    def hung() -> bool:
        release.wait(10)
        return True

    def on_change(e: bw.Event) -> None:
        if e.component == "hung" and e.reason == "unhealthy":
            timed_out.set()

    h.on("health_changed", on_change)
    h.register("db", ran.set)
    h.register("hung", hung)
    with h:
        assert ran.wait(5)
        assert timed_out.wait(5)
    release.set()
    s = h.get("hung")
    assert s is not None and s.last is not None and s.last.message == "timed out after 0.05 s"


def test_start_inside_a_loop_runs_async_checks_as_tasks() -> None:
    h = bw.HealthRegistry(interval=0.005)

    async def main() -> None:
        seen = asyncio.Event()

        async def api() -> bool:
            seen.set()
            return True

        h.register("api", api)
        async with h:
            await asyncio.wait_for(seen.wait(), 5)
        assert not h._tasks

    asyncio.run(main())
    s = h.get("api")
    assert s is not None and s.reports_total >= 1


def test_disabled_health_checks_do_not_start() -> None:
    h = bw.HealthRegistry(config={"enabled": False})
    h.register("db", lambda: True)
    h.start()
    assert not h.enabled and h._thread is None
    h.stop()


def test_decorator_registers_the_function(clock: bw.ManualClock) -> None:
    h = bw.HealthRegistry(clock=clock)

    @h.check(kind="liveness", interval=1.0)
    def heartbeat() -> bool:
        return True

    assert heartbeat() is True
    assert h.check_names == ["heartbeat"]
    assert h.config_for("heartbeat")["kind"] == "liveness"
    assert h.unregister("heartbeat") and h.check_names == []
