"""bw.prometheus, bw.Slo, bw.EventLog, bw.AlertManager, hand-made bw.Event, Retry.begin()."""

from __future__ import annotations

import re
from typing import Dict, List

import pytest

import breakwater as bw


class Down(Exception):
    status_code = 503


def fail() -> None:
    raise Down()


def samples(text: str) -> Dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_prometheus_shows_every_component(clock: bw.ManualClock) -> None:
    cb = bw.CircuitBreaker("payments", clock=clock, failure_threshold=1)
    fb = bw.Fallback([bw.OfflineResponse("offline")], clock=clock)
    limiter = bw.RateLimiter(max_requests=5, time_window=1.0, clock=clock, name="api")
    policy = bw.Policy(breaker=cb, rate_limiter=limiter, fallback=fb)
    assert policy.call(fail) == "offline"
    health = bw.HealthRegistry(clock=clock)
    health.register("db")
    health.report("db", "healthy")
    slo = bw.Slo("payments", clock=clock)
    slo.record_counts(good=9, bad=1)
    alerts = bw.AlertManager(clock=clock)
    alerts.watch(cb)
    cb.force_close()
    with pytest.raises(Down):
        cb.call(fail)
    text = bw.prometheus(policy, health, slo, alerts, bw.Bulkhead(name="pool"), registry=None)
    s = samples(text)
    assert s['breakwater_circuit_breaker_state{component="payments",state="open"}'] == 1
    assert s['breakwater_policy_fallbacks_total{component="payments"}'] == 1
    assert s['breakwater_degradation_served_total{component="payments"}'] == 1
    assert s['breakwater_rate_limiter_max_requests{component="api"}'] == 5
    assert s['breakwater_bulkhead_max_concurrent{component="pool"}'] == 25
    assert s["breakwater_health_ready"] == 1 and s['breakwater_health_check_failing{component="db"}'] == 0
    assert s['breakwater_slo_requests{component="payments",result="bad"}'] == 1
    assert any(k.startswith("breakwater_alerts_raised_total") for k in s)
    for family in re.findall(r"^# TYPE (\S+) ", text, re.M):
        assert text.count(f"# TYPE {family} ") == 1
    with pytest.raises(ValueError):
        bw.prometheus(bw.HealthRegistry(), bw.HealthRegistry(), registry=None)
    with pytest.raises(ValueError):
        bw.prometheus(object(), registry=None)
    assert bw.METRICS_CONTENT_TYPE.startswith("text/plain; version=0.0.4")


def test_prometheus_reads_a_registry(clock: bw.ManualClock) -> None:
    reg = bw.Registry.from_dict(
        {"circuitBreakers": {"defaults": {"failureThreshold": 1}}, "rate_limiters": {"defaults": {"max_requests": 7}}},
        clock=clock,
    )
    with pytest.raises(Down):
        reg.breaker("architect").call(fail)
    reg.rate_limiter("search")
    s = samples(bw.prometheus(registry=reg))
    assert s['breakwater_circuit_breaker_state{component="architect",state="open"}'] == 1
    assert s['breakwater_rate_limiter_max_requests{component="search"}'] == 7
    bw.registry.breaker("global-one")
    assert 'component="global-one"' in bw.prometheus()


def test_slo_watches_a_breaker(clock: bw.ManualClock) -> None:
    cb = bw.CircuitBreaker("search", clock=clock, failure_threshold=2)
    slo = bw.Slo("search", target=0.9, window=3600.0, buckets=60, burn_rate_window=60.0, clock=clock)
    sub = slo.watch(cb)
    for _ in range(8):
        cb.call(lambda: 1)
    for _ in range(2):
        with pytest.raises(Down):
            cb.call(fail)
    with pytest.raises(bw.CircuitOpenError):
        cb.call(lambda: 1)
    s = slo.status()
    assert (s.total, s.good, s.bad) == (11, 8, 3)
    assert s.recommendation == "exhausted" and s.error_budget_remaining == 0.0
    assert slo.observe("success") and not slo.observe("retry")
    assert sub.unsubscribe()
    clock.advance(3600.0)
    assert slo.status().total == 0
    assert slo.config == {"target": 0.9, "window": 3600.0, "buckets": 60, "burn_rate_window": 60.0}
    with pytest.raises(bw.ConfigError) as ei:
        bw.Slo("x", target=1.0)
    assert (ei.value.key, ei.value.value) == ("target", 1.0)
    with pytest.raises(bw.ConfigError) as ei:
        bw.Slo.from_config("x", {"window_ms": 1000, "buckets": 7})
    assert ei.value.key == "buckets"


def test_event_log_attach_and_query(clock: bw.ManualClock) -> None:
    log = bw.EventLog(capacity=3)
    cb = bw.CircuitBreaker("db", clock=clock, failure_threshold=1)
    log.attach(cb)
    cb.call(lambda: 1)
    with pytest.raises(Down):
        cb.call(fail)
    assert [x.event.kind for x in log.recent(10)] == ["state_change", "failure", "success"]
    assert [x.seq for x in log.query(kinds="failure")] == [2]
    assert log.query(component="other") == []
    log.record(bw.Event("alert", "db", at=5, severity="warning", reason="breaker_opened"))
    assert len(log) == 3 and log.last_seq == 4
    assert [x.seq for x in log.query(after_seq=2)] == [4, 3]
    e = log.recent(1)[0].event
    assert (e.kind, e.at, e.severity, e.reason) == ("alert", 5, "warning", "breaker_opened")
    with pytest.raises(bw.ConfigError) as ei:
        bw.EventLog(0)
    assert ei.value.key == "capacity"
    with pytest.raises(ValueError):
        log.attach(object())


def test_alerts_one_per_outage(clock: bw.ManualClock) -> None:
    alerts = bw.AlertManager(clock=clock)
    raised: List[bw.Event] = []
    alerts.on("alert", raised.append)
    cb = bw.CircuitBreaker("llm", clock=clock, failure_threshold=1, recovery_timeout=1.0, success_threshold=1)
    alerts.watch(cb)
    with pytest.raises(Down):
        cb.call(fail)
    clock.advance(1.0)
    with pytest.raises(Down):
        cb.call(fail)  # the probe fails: the same outage
    assert [(e.component, e.severity, e.reason) for e in raised] == [("llm", "warning", "breaker_opened")]
    assert alerts.active()[0].suppressed == 1
    clock.advance(2.0)
    cb.call(lambda: 1)
    assert alerts.active() == []
    assert alerts.stats()["raised_total"] == 2  # + recovery_completed (info)
    assert [a.condition for a in alerts.history()] == ["recovery_completed", "breaker_opened"]

    health = bw.HealthRegistry(clock=clock, alerts=alerts)
    health.register("db")
    for _ in range(3):
        health.report("db", "unhealthy")
    assert raised[-1].reason == "health_check_failing" and raised[-1].severity == "critical"
    slo = bw.Slo("llm", target=0.5, clock=clock)
    slo.record_counts(bad=10)
    alerts.observe_slo(slo)
    assert {e.reason for e in raised} >= {"error_budget"}


def test_alert_rules(clock: bw.ManualClock) -> None:
    a = bw.AlertManager([{"condition": "breaker_opened", "severity": "critical", "component": "x"}], clock=clock)
    assert a.rules() == [
        {"name": "breaker_opened", "condition": "breaker_opened", "severity": "critical", "component": "x"}
    ]
    a.add_rule({"condition": "error_budget", "threshold": 0.5})
    assert len(a.rules()) == 2
    a.observe(bw.Event("state_change", "y", to="open"))
    assert a.active() == []
    a.observe(bw.Event("state_change", "x", to="open"))
    assert a.active()[0].severity == "critical"
    with pytest.raises(bw.ConfigError) as ei:
        bw.AlertManager([{"condition": "sometimes"}])
    assert ei.value.key == "rules[0].condition"
    with pytest.raises(ValueError):
        bw.Event("nope", "x")


def test_retry_begin_and_decide(clock: bw.ManualClock) -> None:
    retry = bw.Retry(max_attempts=3, base_delay=0.1, jitter="none")
    call = retry.begin(clock)
    d = call.decide(Down())
    assert (d.decision, d.delay, d.attempt) == ("retry", 0.1, 2)
    assert call.decide(category="timeout").delay == 0.2
    assert call.decide(category="timeout") == bw.RetryDecision("give_up", reason="max_attempts")
    assert retry.begin().decide(ValueError("bug")).reason == "not_retryable"
    assert call.attempts == 3
    with pytest.raises(ValueError):
        call.decide()
