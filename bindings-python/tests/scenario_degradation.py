"""Runners for the `degradation` and `cache` scenarios (conformance/README.md, "Degradation and
cache") through the Python API: `bw.DegradationManager`, `bw.Fallback` in a `bw.Policy`, and
`bw.ResponseCache`, on a ManualClock."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import breakwater as bw

NAME = "test"
HEALTH_LEVEL = {"degraded": "partial", "unhealthy": "significant", "critical": "severe", "healthy": "none"}


def close(got: Any, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want or got == want and type(got) is type(want)
    if isinstance(want, (int, float)):
        return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=0, abs_tol=1e-6)
    return bool(got == want)


def subset(fail: Any, what: str, got: Dict[str, Any], want: Any) -> None:
    if want is None:
        if got is not None:
            fail(f"{what} = {got}, expected null")
        return
    if got is None:
        fail(f"{what} is null, expected {want}")
        return
    for k, w in want.items():
        g = got.get(k, "<missing>")
        if (g is None) != (w is None) or (w is not None and not close(g, w)):
            fail(f"{what}.{k} = {g!r}, expected {w!r}")


def ms(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else seconds * 1000.0


class Tagged(Exception):
    def __init__(self, category: str) -> None:
        super().__init__(category)
        self.category = category


def classify_hook(e: BaseException) -> Optional[str]:
    return e.category if isinstance(e, Tagged) else None


class HandlesOnly(bw.Strategy):
    """A user strategy whose own `can_handle` accepts only some triggers."""

    def __init__(self, name: str, kind: str, priority: int, available: bool, handles: List[str]) -> None:
        self.name = name
        self.kind = kind
        self.priority = priority
        self.available = available
        self.accepts = set(handles)

    def can_handle(self, context: bw.FallbackContext) -> bool:
        return context.trigger in self.accepts

    def execute(self, context: bw.FallbackContext) -> str:
        return f"served by {self.name}"


class UserStrategy(bw.Strategy):
    def __init__(self, name: str, priority: int, available: bool) -> None:
        self.name = name
        self.priority = priority
        self.available = available

    def execute(self, context: bw.FallbackContext) -> str:
        return f"served by {self.name}"


def strategy_for(step: Dict[str, Any]) -> Any:
    name = step.get("strategy", "")
    kind = step.get("kind", "custom")
    priority = step.get("priority", 0)
    available = step.get("available", True)
    if "handles" in step:
        return HandlesOnly(name, kind, priority, available, step["handles"])
    common: Dict[str, Any] = {"name": name, "priority": priority, "available": available}
    if kind == "cached_response":
        return bw.CachedResponse(**common)
    if kind == "simplified_response":
        return bw.SimplifiedResponse(f"simplified by {name}", **common)
    if kind == "fallback_target":
        return bw.FallbackTarget(lambda *a, **k: f"target {name}", **common)
    if kind == "offline_response":
        return bw.OfflineResponse(f"offline {name}", **common)
    return UserStrategy(name, priority, available)


def error_for(category: Optional[str]) -> BaseException:
    return Tagged(category or "unknown")


class DegradationScenario:
    def __init__(self, doc: Dict[str, Any]) -> None:
        self.doc = doc
        self.clock = bw.ManualClock()
        self.failures: List[str] = []
        self.events: List[bw.Event] = []
        self.i = -1
        self.policy: Optional[bw.Policy] = None
        self.breaker: Optional[bw.CircuitBreaker] = None
        self.fallback: Optional[bw.Fallback] = None
        self.fallback_called: List[BaseException] = []

    def fail(self, msg: str) -> None:
        self.failures.append(f"step {self.i}: {msg}")

    def build(self) -> bw.DegradationManager:
        cfg = dict(self.doc.get("config") or {})
        pc = cfg.pop("policy", None)
        manager = bw.DegradationManager.from_config(cfg, clock=self.clock)
        if pc is not None:
            self.breaker = (
                bw.CircuitBreaker.from_config(NAME, pc["breaker"], clock=self.clock, classify=classify_hook)
                if "breaker" in pc
                else None
            )
            retry = None
            if "retry" in pc:
                rc = dict(pc["retry"])
                rc.setdefault("seed", 0)
                retry = bw.Retry.from_config(rc)
            self.fallback = bw.Fallback(
                manager=manager,
                cache=bw.ResponseCache(clock=self.clock),
                cache_key=lambda *a, **k: "the call",
                fallback=self.host_fallback if pc.get("fallback") else None,
            )
            self.policy = bw.Policy(
                breaker=self.breaker,
                retry=retry,
                rate_limiter=bw.RateLimiter.from_config(pc["rate_limiter"], clock=self.clock)
                if "rate_limiter" in pc
                else None,
                bulkhead=bw.Bulkhead.from_config(pc["bulkhead"]) if "bulkhead" in pc else None,
                timeout=None if pc.get("timeout_ms") is None else pc["timeout_ms"] / 1000.0,
                fallback=self.fallback,
                clock=self.clock,
                classify=classify_hook,
                name=NAME,
            )
        manager.on("*", self.events.append)
        return manager

    def host_fallback(self, error: BaseException) -> str:
        self.fallback_called.append(error)
        return "from the fallback function"

    def run(self) -> List[str]:
        if "config_error" in self.doc:
            want = self.doc["config_error"]
            try:
                self.build()
            except bw.ConfigError as e:
                if want.get("key") is not None and e.key != want["key"]:
                    self.fail(f"error key {e.key!r} != {want['key']!r} (all: {e.errors})")
                if e.code != want.get("code", e.code):
                    self.fail(f"code {e.code}")
            else:
                self.fail(f"config accepted, expected {want}")
            return self.failures
        m = self.build()
        for i, step in enumerate(self.doc.get("steps", [])):
            self.i = i
            if "at" in step and not self.clock.set(step["at"] / 1000.0):
                self.fail("`at` moves the clock backwards")
            self.events.clear()
            expect = step.get("expect", {})
            self.step(m, step, expect)
            events = list(self.events)
            self.events.clear()
            if "events" in expect:
                self.check_events(expect["events"], events)
            self.expectations(m, step, expect)
        return self.failures

    def check(self, expect: Dict[str, Any], key: str, got: Any) -> None:
        if key in expect:
            w = expect[key]
            if (got is None) != (w is None) or (w is not None and not close(got, w)):
                self.fail(f"{key} = {got!r}, expected {w!r}")

    def severity(self, step: Dict[str, Any]) -> Optional[str]:
        if "severity" in step:
            return str(step["severity"])
        if "status" in step:
            return HEALTH_LEVEL[step["status"]]
        return None

    def step(self, m: bw.DegradationManager, step: Dict[str, Any], expect: Dict[str, Any]) -> None:
        op = step["op"]
        target = step.get("target", NAME)
        if op == "register":
            self.check(expect, "changed", m.register(strategy_for(step)))
        elif op == "unregister":
            self.check(expect, "changed", m.unregister(step.get("strategy", "")))
        elif op == "set_available":
            self.check(expect, "changed", m.set_available(step.get("strategy", ""), step.get("available", True)))
        elif op == "trigger":
            self.check(expect, "changed", m.trigger(target, step["trigger"], self.severity(step)))
        elif op in ("fallback", "choose"):
            decide = m.select if op == "fallback" else m.choose
            c = decide(target, step["trigger"], severity=self.severity(step), cached=step.get("cached"))
            self.check(expect, "strategy", None if c is None else c.strategy)
            self.check(expect, "kind", None if c is None else c.kind)
            self.check(expect, "rule", None if c is None else c.rule)
            self.check(expect, "stale", False if c is None else c.stale)
        elif op == "clear":
            self.check(expect, "recovered", m.trigger_cleared(target, step["trigger"]))
        elif op == "success":
            self.check(expect, "recovered", m.report_success(target))
        elif op == "breaker_state":
            self.check(expect, "changed", m.on_breaker_state(target, step["state"]))
        elif op == "health_status":
            self.check(expect, "changed", m.on_health_status(target, step["status"]))
        elif op == "force_recovery":
            self.check(expect, "recovered", m.force_recovery(target))
        elif op == "force_recovery_all":
            self.check(expect, "recovered", m.force_recovery_all())
        elif op == "configure":
            try:
                m.configure(step.get("config") or {})
            except bw.ConfigError as e:
                if "error" not in expect:
                    self.fail(f"configure rejected: {e}")
                elif expect["error"].get("key") not in (None, e.key):
                    self.fail(f"configure error key {e.key!r} != {expect['error']['key']!r}")
            else:
                if "error" in expect:
                    self.fail(f"configure accepted, expected {expect['error']}")
        elif op == "advance":
            self.clock.advance(step.get("ms", 0) / 1000.0)
        elif op == "inspect":
            pass
        elif op == "run":
            self.run_call(step, expect)
        elif op in ("force_open", "force_close"):
            if self.breaker is None:
                self.fail(f"op {op} needs a policy breaker")
            else:
                getattr(self.breaker, op)()
        else:
            self.fail(f"unknown op {op!r}")

    def run_call(self, step: Dict[str, Any], expect: Dict[str, Any]) -> None:
        if self.policy is None or self.fallback is None:
            self.fail("op run needs a `policy` in the config")
            return
        cache = self.fallback.cache
        assert cache is not None
        cache.clear()
        cached = step.get("cached")
        if cached == "fresh":
            cache.put("the call", "cached value")
        elif cached == "stale":
            cache.put("the call", "cached value", ttl=0)
        script = step.get("attempts", [])
        trace: List[str] = []
        made = [0]

        def on_retry(e: bw.Event) -> None:
            assert e.delay is not None
            trace.append(f"sleep:{round(e.delay * 1000)}")

        sub = self.policy.on("retry", on_retry)

        def attempt() -> str:
            n = made[0]
            made[0] += 1
            trace.append(f"attempt:{n + 1}")
            if n >= len(script):
                raise AssertionError(f"attempt {n + 1} was not scripted")
            a = script[n]
            self.clock.advance(a.get("duration_ms", 0) / 1000.0)
            if a["outcome"] == "success":
                return "live value"
            if a["outcome"] == "cancelled":
                raise KeyboardInterrupt()
            raise error_for(a.get("category"))

        before = self.policy.stats()
        self.fallback_called.clear()
        info: Optional[bw.CallInfo] = None
        error: Optional[BaseException] = None
        try:
            info = self.policy.call_with_info(attempt)
        except AssertionError:
            raise
        except BaseException as e:  # noqa: BLE001 - every verdict is inspected
            error = e
        finally:
            sub.unsubscribe()
        after = self.policy.stats()
        result = self.verdict(before, after)
        if made[0] < len(script):
            self.fail("the script has attempts the policy never made")
        if "trace" in expect and trace != expect["trace"]:
            self.fail(f"trace {trace} != {expect['trace']}")
        if "result" in expect:
            subset(self.fail, "result", result, expect["result"])
        if "info" in expect:
            got = None
            if info is not None:
                got = {
                    "from_fallback": info.from_fallback,
                    "strategy": info.strategy,
                    "kind": info.kind,
                    "reason": info.reason,
                    "stale": info.stale,
                    "attempts": info.attempts,
                }
                if info.from_fallback and info.strategy is None and len(self.fallback_called) != 1:
                    self.fail("the fallback function did not serve")
            subset(self.fail, "info", got, expect["info"])  # type: ignore[arg-type]

    @staticmethod
    def verdict(before: Dict[str, Any], after: Dict[str, Any]) -> Dict[str, Any]:
        def delta(section: str) -> Dict[str, int]:
            return {k: after[section][k] - before[section][k] for k in after[section]}

        results = [k for k, n in delta("results").items() if n]
        assert len(results) == 1, results
        out: Dict[str, Any] = {
            "kind": results[0],
            "fallback": after["fallbacks_total"] > before["fallbacks_total"],
        }
        if out["kind"] == "rejected":
            code = {"circuit_open": "CIRCUIT_OPEN", "rate_limited": "RATE_LIMITED", "bulkhead_full": "BULKHEAD_FULL"}
            out["code"] = [code[k] for k, n in delta("rejections").items() if n][0]
        if out["kind"] == "retry_exhausted":
            out["reason"] = [k for k, n in delta("give_ups").items() if n][0]
        if out["kind"] in ("retry_exhausted", "rejected"):
            out["attempts"] = after["attempts_total"] - before["attempts_total"]
        return out

    def check_events(self, want: List[Dict[str, Any]], got: List[bw.Event]) -> None:
        if len(want) != len(got):
            self.fail(f"{len(got)} events {[e.kind for e in got]}, expected {want}")
            return
        for j, (w, e) in enumerate(zip(want, got)):
            g = {
                "kind": e.kind,
                "component": e.component,
                "at": e.at,
                "reason": e.reason,
                "severity": e.severity,
                "strategy": e.strategy,
                "duration_ms": ms(e.duration),
            }
            subset(self.fail, f"event {j} ({e.kind})", g, w)

    def expectations(self, m: bw.DegradationManager, step: Dict[str, Any], expect: Dict[str, Any]) -> None:
        if "level" in expect:
            self.check(expect, "level", m.level(step.get("target", NAME)))
        self.check(expect, "overall_level", m.overall_level)
        if "active" in expect:
            want = expect["active"]
            all_active = m.active_degradations()
            names = [a.component for a in all_active]
            if names != sorted(want):
                self.fail(f"active components {names}, expected {sorted(want)}")
            for a in all_active:
                if a.component in want:
                    g = {
                        "level": a.level,
                        "trigger": a.trigger,
                        "strategy": a.strategy,
                        "calls_served": a.calls_served,
                        "since_ms": a.since * 1000.0,
                        "started_at": a.started_at,
                    }
                    subset(self.fail, f"active.{a.component}", g, want[a.component])
        if "history" in expect:
            want = expect["history"]
            h = m.history()
            if len(h) != len(want):
                self.fail(f"history has {len(h)} entries, expected {len(want)}")
            else:
                for j, (e, w) in enumerate(zip(h, want)):
                    g = {
                        "component": e.component,
                        "trigger": e.trigger,
                        "level": e.level,
                        "since_ms": e.since * 1000.0,
                        "duration_ms": ms(e.duration),
                        "strategy": e.strategy,
                        "calls_served": e.calls_served,
                        "recovery": e.recovery,
                    }
                    subset(self.fail, f"history[{j}]", g, w)
        if "statistics" in expect:
            s = m.statistics()
            g = {
                "active": s.active,
                "total_triggered": s.total_triggered,
                "total_recovered": s.total_recovered,
                "calls_served": s.calls_served,
                "most_frequent_reason": s.most_frequent_reason,
                "mean_duration_ms": ms(s.mean_duration),
                "max_duration_ms": ms(s.max_duration),
            }
            subset(self.fail, "statistics", g, expect["statistics"])


class CacheScenario:
    def __init__(self, doc: Dict[str, Any], mode: str) -> None:
        self.doc = doc
        self.mode = mode
        self.clock = bw.ManualClock()
        self.failures: List[str] = []
        self.i = -1

    def fail(self, msg: str) -> None:
        self.failures.append(f"step {self.i}: {msg}")

    def build(self) -> bw.ResponseCache:
        cfg = self.doc.get("config") or {}
        if self.mode == "python" and set(cfg) <= {"ttl_ms", "max_entries", "stale_if_error"}:
            kw: Dict[str, Any] = {}
            for k, v in cfg.items():
                if k == "ttl_ms":
                    kw["ttl"] = v / 1000.0 if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                else:
                    kw[k] = v
            return bw.ResponseCache(**kw, clock=self.clock)
        return bw.ResponseCache.from_config(cfg, clock=self.clock)

    def python_key(self, key: str) -> str:
        cfg = self.doc.get("config") or {}
        if self.mode == "python" and set(cfg) <= {"ttl_ms", "max_entries", "stale_if_error"}:
            return {"ttl_ms": "ttl"}.get(key, key)
        return key

    def check(self, expect: Dict[str, Any], key: str, got: Any) -> None:
        if key in expect:
            w = expect[key]
            if (got is None) != (w is None) or (w is not None and not close(got, w)):
                self.fail(f"{key} = {got!r}, expected {w!r}")

    def run(self) -> List[str]:
        if "config_error" in self.doc:
            want = self.doc["config_error"]
            try:
                self.build()
            except bw.ConfigError as e:
                if "key" in want and e.key != self.python_key(want["key"]):
                    self.fail(f"error key {e.key!r} != {want['key']!r} (all: {e.errors})")
            else:
                self.fail(f"config accepted, expected {want}")
            return self.failures
        cache = self.build()
        for i, step in enumerate(self.doc.get("steps", [])):
            self.i = i
            if "at" in step and not self.clock.set(step["at"] / 1000.0):
                self.fail("`at` moves the clock backwards")
            self.step(cache, step, step.get("expect", {}))
        return self.failures

    def step(self, cache: bw.ResponseCache, step: Dict[str, Any], expect: Dict[str, Any]) -> None:
        op = step["op"]
        key = step.get("key", "")
        if op == "put":
            ttl = step.get("ttl_ms")
            r = cache.put(key, step.get("value"), None if ttl is None else ttl / 1000.0)
            self.check(expect, "replaced", r.replaced)
            self.check(expect, "evicted", r.evicted)
        elif op == "get":
            sentinel = object()
            v = cache.get(key, sentinel)
            self.check(expect, "hit", "miss" if v is sentinel else "fresh")
            self.check(expect, "value", None if v is sentinel else v)
        elif op == "on_error":
            h = cache.on_error(key)
            self.check(expect, "hit", "miss" if h is None else ("stale" if h.stale else "fresh"))
            self.check(expect, "value", None if h is None else h.value)
        elif op == "status":
            self.check(expect, "hit", cache.status(key) or "miss")
        elif op == "remove":
            self.check(expect, "value", cache.remove(key))
        elif op in ("clear", "purge_expired"):
            self.check(expect, "removed", getattr(cache, op)())
        elif op == "configure":
            try:
                removed = cache.configure(step.get("config") or {})
            except bw.ConfigError as e:
                if "error" not in expect:
                    self.fail(f"configure rejected: {e}")
                elif expect["error"].get("key") not in (None, e.key):
                    self.fail(f"configure error key {e.key!r} != {expect['error']['key']!r}")
            else:
                if "error" in expect:
                    self.fail(f"configure accepted, expected {expect['error']}")
                self.check(expect, "removed", removed)
        elif op == "advance":
            self.clock.advance(step.get("ms", 0) / 1000.0)
        elif op != "inspect":
            self.fail(f"unknown op {op!r}")
        self.check(expect, "keys", cache.keys())
        self.check(expect, "size", len(cache))
        if "stats" in expect:
            s = cache.stats()
            g = {
                "entries": s.entries,
                "hits": s.hits,
                "stale_hits": s.stale_hits,
                "misses": s.misses,
                "evictions": s.evictions,
            }
            subset(self.fail, "stats", g, expect["stats"])
