"""Runners for the `health`, `slo` and `alerts` scenarios (conformance/README.md, "Health, SLOs
and alerts") through `bw.HealthRegistry`, `bw.Slo`, `bw.AlertManager` and `bw.EventLog`, on a
ManualClock."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Set

import breakwater as bw

EVENT_FIELDS = ("kind", "component", "at", "from", "to", "reason", "severity", "attempt", "category")


def match(got: Any, want: Any) -> bool:
    """The Rust runners' `values_match`: objects compare the wanted keys, lists element-wise,
    numbers to 1e-9, null means absent."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(match(got.get(k), w) for k, w in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(match(g, w) for g, w in zip(got, want))
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, (int, float)):
        return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=0, abs_tol=1e-9)
    return bool(got == want)


def event_json(e: bw.Event) -> Dict[str, Any]:
    return {
        "kind": e.kind,
        "component": e.component,
        "at": e.at,
        "from": e.from_,
        "to": e.to,
        "reason": e.reason,
        "severity": e.severity,
        "attempt": e.attempt,
        "category": e.category,
    }


class Base:
    def __init__(self, doc: Dict[str, Any]) -> None:
        self.doc = doc
        self.clock = bw.ManualClock()
        self.failures: List[str] = []
        self.i = -1

    def fail(self, msg: str) -> None:
        self.failures.append(f"step {self.i}: {msg}")

    def expect_eq(self, what: str, got: Any, want: Any) -> None:
        if not match(got, want):
            self.fail(f"{what}: got {got!r}, want {want!r}")

    def config_error(self, build: Any, rename: Optional[Dict[str, str]] = None) -> List[str]:
        want = self.doc["config_error"]
        try:
            build()
        except bw.ConfigError as e:
            key = (rename or {}).get(e.key or "", e.key)
            self.expect_eq("config_error", {"code": e.code, "key": key}, want)
        else:
            self.fail(f"config accepted, want {want}")
        return self.failures

    def prelude(self, step: Dict[str, Any]) -> None:
        if "at" in step and not self.clock.set(step["at"] / 1000.0):
            self.fail("`at` goes backwards")
        if step["op"] == "advance":
            self.clock.advance(step.get("ms", 0) / 1000.0)


class HealthScenario(Base):
    def run(self) -> List[str]:
        cfg = self.doc.get("config") or {}
        if "config_error" in self.doc:
            return self.config_error(lambda: bw.HealthRegistry(config=cfg, clock=self.clock))
        self.h = bw.HealthRegistry("health", config=cfg, clock=self.clock)
        self.degraded: Set[str] = set()
        self.h.set_degraded_probe(lambda name: name in self.degraded)
        self.events: List[bw.Event] = []
        self.h.on("*", self.events.append)
        self.breakers: Dict[str, bw.CircuitBreaker] = {}
        for i, step in enumerate(self.doc.get("steps", [])):
            self.i = i
            self.prelude(step)
            expect = step.get("expect", {})
            err = self.step(step)
            want_err = expect.get("error")
            if err is None and want_err is not None:
                self.fail(f"no error, want {want_err}")
            elif err is not None and want_err is None:
                self.fail(f"unexpected error {err}")
            elif err is not None:
                self.expect_eq("error", err, want_err)
            events = list(self.events)
            self.events.clear()
            self.expectations(expect, events)
        return self.failures

    def step(self, step: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        op = step["op"]
        h = self.h
        name = step.get("check", "")
        if op == "register":
            try:
                h.register(name, config=step.get("config"))
            except bw.ConfigError as e:
                return {"code": e.code, "key": e.key}
        elif op == "unregister":
            h.unregister(name)
        elif op == "dependency":
            critical = step.get("critical", True)
            if "breaker" in step:
                try:
                    b = bw.CircuitBreaker.from_config(name, step["breaker"], clock=self.clock)
                except bw.ConfigError as e:
                    return {"code": e.code, "key": e.key}
                self.breakers[name] = b
                h.add_dependency(b, critical=critical)
            else:
                h.add_dependency(name, critical=critical)
        elif op == "breaker":
            b = self.breakers[name]
            action = step.get("action")
            if action == "acquire":
                try:
                    b.try_acquire()  # held, never handed back: a probe in flight
                except bw.CircuitOpenError:
                    pass
            elif action is not None:
                getattr(b, action)()
            else:
                outcome = step["outcome"]
                for _ in range(step.get("repeat", 1)):
                    try:
                        p = b.try_acquire()
                    except bw.CircuitOpenError:
                        continue
                    if outcome == "success":
                        b.record(p)
                    else:
                        b.record(p, "failure", step.get("category", "server"))
        elif op == "degrade":
            if step["degraded"]:
                self.degraded.add(name)
            else:
                self.degraded.discard(name)
        elif op == "report":
            for _ in range(step.get("repeat", 1)):
                try:
                    h.report(
                        name,
                        step["status"],
                        step.get("message"),
                        latency=step.get("latency_ms", 0) / 1000.0,
                    )
                except bw.BreakwaterError as e:
                    return {"code": e.code}
        elif op == "evaluate":
            h.evaluate()
        elif op not in ("advance", "snapshot"):
            self.fail(f"unknown op {op!r}")
        return None

    def expectations(self, expect: Dict[str, Any], events: List[bw.Event]) -> None:
        r = self.h.status()
        for k in ("status", "liveness", "readiness", "startup", "ready", "live", "started"):
            if k in expect:
                self.expect_eq(k, getattr(r, k), expect[k])
        for name, want in (expect.get("checks") or {}).items():
            c = r.check(name)
            got = None
            if c is not None:
                got = {
                    "status": c.status,
                    "failing": c.failing,
                    "stale": c.stale,
                    "consecutive_failures": c.consecutive_failures,
                    "kind": c.kind,
                    "critical": c.critical,
                    "breaker_state": c.breaker_state,
                    "degraded": c.degraded,
                }
            self.expect_eq(f"checks.{name}", got, want)
        for name, want in (expect.get("history") or {}).items():
            got = [x.status for x in self.h.history(name, 1_000_000)]
            self.expect_eq(f"history.{name}", got, want)
        if "events" in expect:
            self.expect_eq("events", [event_json(e) for e in events], expect["events"])


class SloScenario(Base):
    def run(self) -> List[str]:
        cfg = self.doc.get("config") or {}
        if "config_error" in self.doc:
            return self.config_error(lambda: bw.Slo.from_config("test", cfg, clock=self.clock))
        slo = bw.Slo.from_config("test", cfg, clock=self.clock)
        for i, step in enumerate(self.doc.get("steps", [])):
            self.i = i
            self.prelude(step)
            expect = step.get("expect", {})
            counted = None
            if step["op"] == "record":
                slo.record_counts(step.get("good", 0), step.get("bad", 0))
            elif step["op"] == "event":
                counted = slo.observe(step["kind"])
            if "counted" in expect:
                self.expect_eq("counted", counted, expect["counted"])
            if "status" in expect:
                s = slo.status()
                got = {
                    k: getattr(s, k)
                    for k in (
                        "total",
                        "good",
                        "bad",
                        "availability",
                        "allowed_failures",
                        "error_budget_consumed",
                        "error_budget_remaining",
                        "burn_rate",
                        "recommendation",
                    )
                }
                self.expect_eq("status", got, expect["status"])
        return self.failures


def alert_json(a: bw.Alert) -> Dict[str, Any]:
    return {
        "rule": a.rule,
        "condition": a.condition,
        "component": a.component,
        "severity": a.severity,
        "suppressed": a.suppressed,
        "active": a.active,
    }


class AlertsScenario(Base):
    def run(self) -> List[str]:
        cfg = dict(self.doc.get("config") or {})
        log_capacity = cfg.pop("log_capacity", None)
        health_cfg = cfg.pop("health", None)
        slo_cfg = cfg.pop("slo", None) or {}

        def build() -> None:
            self.alerts = bw.AlertManager.from_config(cfg, clock=self.clock)
            self.log = bw.EventLog(log_capacity)
            self.health = bw.HealthRegistry("health", config=health_cfg, clock=self.clock, alerts=self.alerts)
            bw.Slo.from_config("check", slo_cfg)

        if "config_error" in self.doc:
            return self.config_error(build, {"capacity": "log_capacity"})
        build()
        # The components' events are logged, then seen by the manager; its alerts and the
        # registry's health changes are logged too.
        self.log.attach(self.alerts)
        self.log.attach(self.health)
        raised: List[bw.Event] = []
        self.alerts.on("*", raised.append)
        slos: Dict[str, bw.Slo] = {}
        for i, step in enumerate(self.doc.get("steps", [])):
            self.i = i
            self.prelude(step)
            expect = step.get("expect", {})
            entries = None
            op = step["op"]
            if op == "event":
                e = dict(step["event"])
                for _ in range(step.get("repeat", 1)):
                    ev = bw.Event(
                        e["kind"],
                        e["component"],
                        at=self.clock.wall_ms(),
                        from_=e.get("from"),
                        to=e.get("to"),
                        reason=e.get("reason"),
                        severity=e.get("severity"),
                    )
                    self.log.record(ev)
                    self.alerts.observe(ev)
            elif op == "register":
                self.health.register(step["check"], config=step.get("config"))
            elif op == "report":
                for _ in range(step.get("repeat", 1)):
                    self.health.report(step["check"], step["status"], latency=step.get("latency_ms", 0) / 1000.0)
            elif op == "slo":
                name = step["component"]
                if name not in slos:
                    slos[name] = bw.Slo.from_config(name, slo_cfg, clock=self.clock)
                slos[name].record_counts(step.get("good", 0), step.get("bad", 0))
                self.alerts.observe_slo(slos[name])
            elif op == "log":
                got = self.log.query(component=step.get("component"), kinds=step.get("kinds"), limit=step.get("limit"))
                entries = [dict(event_json(x.event), seq=x.seq) for x in got]
            if "events" in expect:
                self.expect_eq("events", [event_json(e) for e in raised], expect["events"])
            raised.clear()
            if "active" in expect:
                self.expect_eq("active", [alert_json(a) for a in self.alerts.active()], expect["active"])
            if "history" in expect:
                self.expect_eq("history", [alert_json(a) for a in self.alerts.history(1_000_000)], expect["history"])
            if "stats" in expect:
                s = self.alerts.stats()
                self.expect_eq(
                    "stats",
                    {"raised_total": s["raised_total"], "suppressed_total": s["suppressed_total"]},
                    expect["stats"],
                )
            if "entries" in expect:
                if entries is None:
                    self.fail("`entries` needs a `log` op")
                else:
                    self.expect_eq("entries", entries, expect["entries"])
        return self.failures
