"""Runs every scenario in conformance/scenarios/ through the Python API, on a ManualClock.

The format is conformance/README.md's. Scenario configs are in config-file spelling (ms with
`_ms`); each scenario runs twice: once through the Python keywords (seconds, mapped here) when
the config can be written that way, and once through `CircuitBreaker.from_config` (the
mapping as written). Components the binding does not support yet are skipped, counted and
reported at the end of the run.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest

import breakwater as bw

from .conftest import CONFORMANCE_RUN, CONFORMANCE_SKIPS
from .scenario_degradation import CacheScenario, DegradationScenario
from .scenario_health import AlertsScenario, HealthScenario, SloScenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "conformance" / "scenarios"
FILES = sorted(SCENARIOS.rglob("*.json"))

PLAIN_KEYS = {
    "failure_threshold",
    "failure_rate_threshold",
    "minimum_calls",
    "slow_call_rate_threshold",
    "half_open_max_calls",
    "success_threshold",
}
MS_KEYS = {
    "recovery_timeout_ms": "recovery_timeout",
    "slow_call_duration_ms": "slow_call_duration",
    "max_half_open_ms": "max_half_open",
}


class NotMappable(Exception):
    """The config uses a spelling only config files have (the seeds' camelCase aliases...)."""


def ms_to_s(v: Any) -> Any:
    if isinstance(v, float) and not v.is_integer():
        raise NotMappable  # files take whole ms; seconds in Python have no such rule
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v / 1000.0
    return v  # None, or a wrong type the binding must reject


def window_of(w: Any) -> Any:
    if not isinstance(w, dict) or not set(w) <= {"type", "size", "duration_ms", "buckets"}:
        raise NotMappable
    kind = w.get("type", "time")
    if kind == "count" and set(w) <= {"type", "size"}:
        return bw.CountWindow(w.get("size", 100))
    if kind == "time" and "size" not in w:
        return bw.TimeWindow(ms_to_s(w.get("duration_ms", 60000)), buckets=w.get("buckets", 10))
    raise NotMappable


def to_kwargs(cfg: Dict[str, Any]) -> Dict[str, Any]:
    """Python keywords for a file-spelled config; may raise ConfigError (windows validate
    eagerly) or NotMappable."""
    kw: Dict[str, Any] = {}
    for k, v in cfg.items():
        if k in PLAIN_KEYS:
            kw[k] = v
        elif k in MS_KEYS:
            kw[MS_KEYS[k]] = ms_to_s(v)
        elif k == "window":
            kw["window"] = window_of(v)
        elif k == "recovery_backoff":
            if not isinstance(v, dict) or set(v) != {"multiplier", "max_ms"}:
                raise NotMappable
            kw[k] = (v["multiplier"], ms_to_s(v["max_ms"]))
        elif k == "timeout" or any(c.isupper() for c in k) or k.endswith("Ms"):
            raise NotMappable  # seed aliases: config files and JS only
        else:
            kw[k] = v  # an unknown key: the binding must name it
    return kw


def python_key(file_key: str) -> str:
    """The keyword a Python caller writes for a config-file key."""
    if file_key.startswith("window."):
        sub = file_key.split(".", 1)[1]
        return {"duration_ms": "duration"}.get(sub, sub)
    if file_key.startswith("recovery_backoff."):
        return "recovery_backoff"
    if file_key in MS_KEYS:
        return MS_KEYS[file_key]
    return file_key


# -- exceptions the default classifier maps to each category ---------------------------------


class HTTPError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status


class OperationalError(Exception):
    """Named like a DB-API driver error."""


class Tagged(Exception):
    """Categories no exception type implies; the scenario's classify hook names them."""

    def __init__(self, category: str) -> None:
        super().__init__(category)
        self.category = category


def error_for(category: Optional[str]) -> BaseException:
    factories: Dict[Optional[str], Callable[[], BaseException]] = {
        None: lambda: Exception("boom"),
        "unknown": lambda: RuntimeError("boom"),
        "network": lambda: ConnectionResetError("reset"),
        "timeout": lambda: TimeoutError("slow"),
        "rate_limited": lambda: HTTPError(429),
        "server": lambda: HTTPError(503),
        "auth": lambda: HTTPError(401),
        "client": lambda: HTTPError(400),
        "database": lambda: OperationalError("database is locked"),
        "external_api": lambda: Tagged("external_api"),
        "cancelled": lambda: Tagged("cancelled"),
    }
    return factories[category]()


def classify_hook(e: BaseException) -> Optional[str]:
    return e.category if isinstance(e, Tagged) else None


# -- the runner ----------------------------------------------------------------------------


def close(got: Any, want: Any) -> bool:
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=0, abs_tol=1e-6)
    return bool(got == want)


def snapshot_field(s: bw.Snapshot, key: str) -> Any:
    if key == "state_since_ms":
        return s.state_since * 1000.0
    if key == "retry_after_ms":
        return None if s.retry_after is None else s.retry_after * 1000.0
    return getattr(s, key)


def event_field(e: bw.Event, key: str) -> Any:
    if key == "duration_ms":
        return None if e.duration is None else e.duration * 1000.0
    if key == "delay_ms":
        return None if e.delay is None else e.delay * 1000.0
    if key == "from":
        return e.from_
    return getattr(e, key)


class Run:
    def __init__(self, doc: Dict[str, Any], mode: str) -> None:
        self.doc = doc
        self.mode = mode
        self.failures: List[str] = []
        self.step = -1
        self.clock = bw.ManualClock()
        self.events: List[bw.Event] = []
        self.permits: Dict[str, bw.Permit] = {}

    def fail(self, msg: str) -> None:
        self.failures.append(f"step {self.step}: {msg}")

    def build(self, cfg: Dict[str, Any]) -> bw.CircuitBreaker:
        hooks: Dict[str, Any] = {"clock": self.clock, "classify": classify_hook}
        if self.mode == "python":
            try:
                kw = to_kwargs(cfg)
            except NotMappable:
                pass
            else:
                return bw.CircuitBreaker("test", **kw, **hooks)
        return bw.CircuitBreaker.from_config("test", cfg, **hooks)

    def key_as_written(self, file_key: str, cfg: Dict[str, Any]) -> str:
        if self.mode == "python":
            try:
                to_kwargs(cfg)
            except NotMappable:
                return file_key
            except bw.ConfigError:
                pass
            return python_key(file_key)
        return file_key

    def check_rejection(self, err: bw.CircuitOpenError, want: Dict[str, Any]) -> None:
        if "code" in want and err.code != want["code"]:
            self.fail(f"rejection code {err.code} != {want['code']}")
        if "retry_after_ms" in want:
            got = None if err.retry_after is None else err.retry_after * 1000.0
            w = want["retry_after_ms"]
            if (got is None) != (w is None) or (w is not None and not close(got, w)):
                self.fail(f"retry_after {got} ms != {w} ms")

    def check(self, expect: Dict[str, Any], cb: bw.CircuitBreaker, events: List[bw.Event]) -> None:
        if "state" in expect and cb.state != expect["state"]:
            self.fail(f"state {cb.state} != {expect['state']}")
        if "snapshot" in expect:
            snap = cb.snapshot()
            for k, w in expect["snapshot"].items():
                g = snapshot_field(snap, k)
                if not close(g, w):
                    self.fail(f"snapshot.{k} = {g!r}, expected {w!r}")
        if "events" in expect:
            want = expect["events"]
            if len(want) != len(events):
                self.fail(f"{len(events)} events {[e.kind for e in events]}, expected {want}")
                return
            for i, (w, e) in enumerate(zip(want, events)):
                for k, wv in w.items():
                    g = event_field(e, k)
                    if not close(g, wv):
                        self.fail(f"event {i} ({e.kind}).{k} = {g!r}, expected {wv!r}")

    def run(self) -> List[str]:
        doc = self.doc
        cfg = doc.get("config") or {}
        if "config_error" in doc:
            want = doc["config_error"]
            try:
                self.build(cfg)
            except bw.ConfigError as e:
                if e.code != want.get("code", e.code):
                    self.fail(f"code {e.code} != {want['code']}")
                wkey = self.key_as_written(want["key"], cfg) if "key" in want else None
                if wkey is not None and e.key != wkey:
                    self.fail(f"error key {e.key!r} != {wkey!r} (all: {e.errors})")
            else:
                self.fail(f"config accepted, expected {want}")
            return self.failures
        try:
            cb = self.build(cfg)
        except bw.ConfigError as e:
            return [f"config rejected: {e}"]
        cb.on("*", self.events.append)
        for i, step in enumerate(doc.get("steps", [])):
            self.step = i
            self.do_step(cb, step)
        return self.failures

    def do_step(self, cb: bw.CircuitBreaker, step: Dict[str, Any]) -> None:
        expect: Dict[str, Any] = step.get("expect", {})
        if "at" in step and not self.clock.set(step["at"] / 1000.0):
            self.fail(f"`at` {step['at']} moves the clock backwards")
        self.events.clear()
        op = step["op"]
        if op == "acquire":
            try:
                p = cb.try_acquire()
            except bw.CircuitOpenError as e:
                if "rejected" not in expect:
                    self.fail(f"expected a permit, got {e!r}")
                else:
                    self.check_rejection(e, expect["rejected"])
            else:
                if "rejected" in expect:
                    self.fail(f"expected rejection {expect['rejected']}, got a permit")
                if "permit" in step:
                    self.permits[step["permit"]] = p
        elif op in ("record", "release"):
            p = self.permits.pop(step.get("permit", ""), None)
            if p is None:
                self.fail(f"no permit named {step.get('permit')!r}")
            elif op == "release":
                cb.release(p)
            else:
                cb.record(p, step["outcome"], step.get("category"))
        elif op == "call":
            self.do_call(cb, step, expect)
        elif op == "advance":
            self.clock.advance(step.get("ms", 0) / 1000.0)
        elif op in ("force_open", "force_close", "disable", "metrics_only", "reset"):
            getattr(cb, op)()
        elif op in ("state", "snapshot"):
            pass
        elif op == "configure":
            self.do_configure(cb, step.get("config") or {}, expect)
        else:
            self.fail(f"unknown op {op!r}")
        events = list(self.events)
        self.events.clear()
        self.check(expect, cb, events)

    def do_call(self, cb: bw.CircuitBreaker, step: Dict[str, Any], expect: Dict[str, Any]) -> None:
        outcome = step["outcome"]
        category = step.get("category")
        duration = step.get("duration_ms", 0) / 1000.0
        if outcome == "ignored":
            category = category or "client"

        def body() -> None:
            self.clock.advance(duration)
            if outcome != "success":
                raise error_for(category)

        rejected = False
        for _ in range(step.get("repeat", 1)):
            try:
                cb.call(body)
            except bw.CircuitOpenError as e:
                rejected = True
                if "rejected" not in expect:
                    self.fail(f"expected every call permitted, got {e!r}")
                else:
                    self.check_rejection(e, expect["rejected"])
                break
            except Exception as e:  # the body's own error reaches the caller
                if outcome == "success":
                    self.fail(f"unexpected {e!r}")
        if "rejected" in expect and not rejected:
            self.fail("expected the call to be rejected")

    def do_configure(self, cb: bw.CircuitBreaker, cfg: Dict[str, Any], expect: Dict[str, Any]) -> None:
        try:
            if self.mode == "python":
                try:
                    kw = to_kwargs(cfg)
                except NotMappable:
                    cb.configure(cfg)
                else:
                    cb.configure(**kw)
            else:
                cb.configure(cfg)
        except bw.ConfigError as e:
            if "error" not in expect:
                self.fail(f"configure rejected: {e}")
            elif "key" in expect["error"]:
                wkey = self.key_as_written(expect["error"]["key"], cfg)
                if e.key != wkey:
                    self.fail(f"configure error key {e.key!r} != {wkey!r}")
        else:
            if "error" in expect:
                self.fail(f"configure accepted, expected {expect['error']}")


# -- classify and policy scenarios ------------------------------------------------------------


class Unsupported(Exception):
    """A scenario uses facts a Python exception cannot carry (reported as a skip)."""


def exception_from_facts(facts: Dict[str, Any]) -> BaseException:
    """A Python exception carrying the facts a host would extract (contract section 4)."""
    if facts.get("abort_reason_timeout"):
        raise Unsupported("facts with no Python exception shape (AbortSignal timeout reasons)")
    names: List[str] = list(facts.get("codes", []))
    if facts.get("cancelled"):
        names.insert(0, "asyncio.CancelledError")
    if facts.get("connection_refused"):
        names.append("ConnectError")  # httpx's could-not-connect class
    if facts.get("timeout"):
        names.append("ReadTimeout")  # requests' / httpx's timeout class
    cls: type = Exception
    for name in reversed(names):
        module, _, short = name.rpartition(".")
        cls = type(short, (cls,), {"__module__": module or "scenario"})
    e = cls("scenario error")
    if "status" in facts:
        e.status_code = facts["status"]  # type: ignore[attr-defined]
    headers: Dict[str, str] = {}
    if "retry_after" in facts:
        headers["Retry-After"] = facts["retry_after"]
    if "retry_after_ms" in facts:
        headers["retry-after-ms"] = str(facts["retry_after_ms"])
    if headers:
        e.headers = headers  # type: ignore[attr-defined]
    return e


def run_classify(doc: Dict[str, Any]) -> List[str]:
    failures: List[str] = []
    clock = bw.ManualClock()
    for i, step in enumerate(doc.get("steps", [])):
        if "at" in step:
            clock.set(step["at"] / 1000.0)
        if step["op"] == "advance":
            clock.advance(step.get("ms", 0) / 1000.0)
            continue
        facts = step.get("facts", {})
        e = exception_from_facts(facts)
        user = facts.get("user_category")
        hook = None if user is None else (lambda _e, u=user: u)  # the user's classifier
        want = step.get("expect", {})
        got = {
            "category": bw.classify(e, clock, classify=hook),
            "not_sent": bw.not_sent(e, clock, classify=hook),
            "retry_after_ms": None if (ra := bw.retry_after(e, clock)) is None else ra * 1000.0,
        }
        for k, w in want.items():
            g = got.get(k, "<missing>")
            if (g is None) != (w is None) or (w is not None and not close(g, w)):
                failures.append(f"step {i}: {k} = {g!r}, expected {w!r} (facts {step.get('facts')})")
    return failures


class RetryScenario:
    """`retry` scenarios through `Retry.begin()` / `RetryCall.decide()` on a ManualClock."""

    def __init__(self, doc: Dict[str, Any], mode: str) -> None:
        self.doc = doc
        self.mode = mode
        self.clock = bw.ManualClock()
        self.failures: List[str] = []

    def fail(self, i: int, msg: str) -> None:
        self.failures.append(f"step {i}: {msg}")

    def build(self) -> bw.Retry:
        cfg = dict(self.doc.get("config") or {})
        if "config_error" not in self.doc:
            cfg.setdefault("seed", 0)  # what the other runners draw as entropy
        return bw.Retry.from_config(cfg)

    def run(self) -> List[str]:
        if "config_error" in self.doc:
            want = self.doc["config_error"]
            try:
                self.build()
            except bw.ConfigError as e:
                if "key" in want and e.key != want["key"]:
                    self.fail(-1, f"error key {e.key!r} != {want['key']!r} (all: {e.errors})")
            else:
                self.fail(-1, f"config accepted, expected {want}")
            return self.failures
        retry = self.build()
        calls: Dict[str, Any] = {}
        for i, step in enumerate(self.doc.get("steps", [])):
            if "at" in step and not self.clock.set(step["at"] / 1000.0):
                self.fail(i, "`at` moves the clock backwards")
            op = step["op"]
            name = step.get("call", "c")
            if op == "start":
                calls[name] = retry.begin(self.clock)
                continue
            if op == "advance":
                self.clock.advance(step.get("ms", 0) / 1000.0)
                continue
            if op != "decide":
                self.fail(i, f"unknown op {op!r}")
                continue
            call = calls[name]
            if "facts" in step:
                d = call.decide(exception_from_facts(step["facts"]), category=step.get("category"))
            else:
                d = call.decide(category=step["category"])
            got = {
                "decision": d.decision,
                "delay_ms": None if d.delay is None else d.delay * 1000.0,
                "attempt": d.attempt,
                "reason": d.reason,
            }
            for k, w in step.get("expect", {}).items():
                g = got.get(k, "<missing>")
                if (g is None) != (w is None) or (w is not None and not close(g, w)):
                    self.fail(i, f"{k} = {g!r}, expected {w!r} (decision {got})")
        return self.failures


class PolicyScenario:
    def __init__(self, doc: Dict[str, Any], mode: str) -> None:
        self.doc = doc
        self.mode = mode
        self.clock = bw.ManualClock()
        self.failures: List[str] = []
        self.events: List[bw.Event] = []
        self.trace: List[str] = []
        self.fallback_errors: List[BaseException] = []
        cfg = doc.get("config") or {}
        extra = set(cfg) - {"breaker", "retry", "rate_limiter", "bulkhead", "timeout_ms", "fallback"}
        if extra:
            raise Unsupported(f"policy parts not in the Python binding yet: {sorted(extra)}")
        self.breaker = (
            bw.CircuitBreaker.from_config("test", cfg["breaker"], clock=self.clock)
            if "breaker" in cfg
            else None
        )
        retry = None
        if "retry" in cfg:
            rc = dict(cfg["retry"])
            rc.setdefault("seed", 0)  # what the other runners draw as entropy
            retry = bw.Retry.from_config(rc)
        limiter = (
            bw.RateLimiter.from_config(cfg["rate_limiter"], clock=self.clock)
            if "rate_limiter" in cfg
            else None
        )
        self.policy = bw.Policy(
            breaker=self.breaker,
            retry=retry,
            rate_limiter=limiter,
            bulkhead=bw.Bulkhead.from_config(cfg["bulkhead"]) if "bulkhead" in cfg else None,
            timeout=None if cfg.get("timeout_ms") is None else cfg["timeout_ms"] / 1000.0,
            fallback=self.fallback if cfg.get("fallback") else None,
            clock=self.clock,
            classify=classify_hook,
            name="test",
        )
        if self.breaker is not None:
            self.breaker.on("*", self.events.append)
        self.policy.on("*", self.events.append)
        self.policy.on("retry", self.on_retry)

    def fallback(self, error: BaseException) -> str:
        self.fallback_errors.append(error)
        return "from fallback"

    def on_retry(self, e: bw.Event) -> None:
        assert e.delay is not None
        self.trace.append(f"sleep:{round(e.delay * 1000)}")

    def fail(self, i: int, msg: str) -> None:
        self.failures.append(f"step {i}: {msg}")

    def attempt_error(self, a: Dict[str, Any]) -> BaseException:
        if a["outcome"] == "cancelled":
            return KeyboardInterrupt() if self.mode == "sync" else asyncio.CancelledError()
        if "facts" in a:
            return exception_from_facts(a["facts"])
        return error_for(a.get("category"))

    def run(self) -> List[str]:
        for i, step in enumerate(self.doc.get("steps", [])):
            if "at" in step and not self.clock.set(step["at"] / 1000.0):
                self.fail(i, "`at` moves the clock backwards")
            self.events.clear()
            op = step["op"]
            expect = step.get("expect", {})
            if op == "run":
                self.do_run(i, step["attempts"], expect)
            elif op == "advance":
                self.clock.advance(step.get("ms", 0) / 1000.0)
            elif op in ("force_open", "force_close", "disable", "metrics_only", "reset"):
                assert self.breaker is not None
                getattr(self.breaker, op)()
            elif op not in ("state", "snapshot"):
                self.fail(i, f"op {op!r} not supported by the Python policy runner")
            self.check(i, expect)
        return self.failures

    def do_run(self, i: int, script: List[Dict[str, Any]], expect: Dict[str, Any]) -> None:
        self.trace.clear()
        self.fallback_errors.clear()
        made = [0]

        def next_attempt() -> Dict[str, Any]:
            n = made[0]
            made[0] += 1
            self.trace.append(f"attempt:{n + 1}")
            if n >= len(script):
                raise AssertionError(f"attempt {n + 1} was not scripted")
            a = script[n]
            self.clock.advance(a.get("duration_ms", 0) / 1000.0)
            return a

        def attempt() -> str:
            a = next_attempt()
            if a["outcome"] == "success":
                return "value"
            raise self.attempt_error(a)

        async def attempt_async() -> str:
            a = next_attempt()
            await asyncio.sleep(0)
            if a["outcome"] == "success":
                return "value"
            raise self.attempt_error(a)

        result: Dict[str, Any] = {"attempts": made[0]}
        try:
            if self.mode == "sync":
                info = self.policy.call_with_info(attempt)
            else:
                info = asyncio.run(self.policy.call_with_info_async(attempt_async))
        except BaseException as e:  # noqa: BLE001 - every verdict is inspected
            if isinstance(e, AssertionError):
                raise
            result.update(self.describe(e))
            result["fallback"] = False
        else:
            result["fallback"] = info.from_fallback
            if info.from_fallback:
                assert len(self.fallback_errors) == 1 and info.value == "from fallback"
                result.update(self.describe(self.fallback_errors[0]))
            else:
                result["kind"] = "value"
        result.setdefault("attempts", made[0])
        if result.get("kind") != "retry_exhausted":
            result["attempts"] = made[0]
        if "trace" in expect and self.trace != expect["trace"]:
            self.fail(i, f"trace {self.trace} != {expect['trace']}")
        for k, w in expect.get("result", {}).items():
            g = result.get(k, "<missing>")
            if (g is None) != (w is None) or (w is not None and not close(g, w)):
                self.fail(i, f"result.{k} = {g!r}, expected {w!r} (result {result})")

    @staticmethod
    def describe(e: BaseException) -> Dict[str, Any]:
        if isinstance(e, bw.CircuitOpenError):
            return {
                "kind": "rejected",
                "code": e.code,
                "state": e.state,
                "retry_after_ms": None if e.retry_after is None else e.retry_after * 1000.0,
            }
        if isinstance(e, bw.RateLimitedError):
            return {
                "kind": "rejected",
                "code": e.code,
                "retry_after_ms": None if e.retry_after is None else e.retry_after * 1000.0,
            }
        if isinstance(e, bw.BulkheadFullError):
            return {"kind": "rejected", "code": e.code}
        if isinstance(e, bw.RetryError):
            return {"kind": "retry_exhausted", "reason": e.reason, "attempts": e.attempts}
        if isinstance(e, (KeyboardInterrupt, asyncio.CancelledError)):
            return {"kind": "cancelled"}
        return {"kind": "user_error"}

    def check(self, i: int, expect: Dict[str, Any]) -> None:
        if "state" in expect:
            assert self.breaker is not None
            if self.breaker.state != expect["state"]:
                self.fail(i, f"state {self.breaker.state} != {expect['state']}")
        if "snapshot" in expect:
            assert self.breaker is not None
            snap = self.breaker.snapshot()
            for k, w in expect["snapshot"].items():
                g = snapshot_field(snap, k)
                if not close(g, w):
                    self.fail(i, f"snapshot.{k} = {g!r}, expected {w!r}")
        if "events" in expect:
            want = expect["events"]
            got = self.events
            if len(want) != len(got):
                self.fail(i, f"{len(got)} events {[e.kind for e in got]}, expected {[w['kind'] for w in want]}")
                return
            for j, (w, e) in enumerate(zip(want, got)):
                for k, wv in w.items():
                    g = event_field(e, k)
                    if (g is None) != (wv is None) or (wv is not None and not close(g, wv)):
                        self.fail(i, f"event {j} ({e.kind}).{k} = {g!r}, expected {wv!r}")


def error_location_matches(e: bw.ConfigError, want: Dict[str, Any]) -> Optional[str]:
    """The `key` (relative to its component's config), `path` (in the whole document) and
    `paths` (every error's, in order) of a document or registry error expectation."""
    if "key" in want and e.key != want["key"]:
        return f"key {e.key!r} != {want['key']!r} (all: {e.errors})"
    if "path" in want and e.path != want["path"]:
        return f"path {e.path!r} != {want['path']!r} (all: {e.paths})"
    if "paths" in want and list(e.paths) != want["paths"]:
        return f"paths {list(e.paths)} != {want['paths']}"
    if len(e.paths) != len(e.errors):
        return f"{len(e.paths)} paths for {len(e.errors)} errors"
    return None


class RegistryScenario:
    """`registry` scenarios through `bw.Registry` on a ManualClock."""

    KINDS = {"breaker": "breaker", "retry": "retry", "rate_limiter": "rate_limiter", "bulkhead": "bulkhead"}

    def __init__(self, doc: Dict[str, Any]) -> None:
        self.doc = doc
        self.clock = bw.ManualClock()
        self.failures: List[str] = []
        self.got: Dict[Any, Any] = {}

    def fail(self, i: int, msg: str) -> None:
        self.failures.append(f"step {i}: {msg}")

    def build(self) -> bw.Registry:
        cfg = self.doc.get("config") or {}
        bounds = cfg.get("bounds") or {}
        idle = bounds.get("idle_ttl_ms")
        return bw.Registry.from_dict(
            cfg.get("document") or {},
            clock=self.clock,
            max_size=bounds.get("max_size"),
            idle_ttl=None if idle is None else idle / 1000.0,
        )

    @staticmethod
    def error_matches(e: bw.ConfigError, want: Dict[str, Any]) -> Optional[str]:
        if "code" in want and e.code != want["code"]:
            return f"code {e.code} != {want['code']}"
        where = error_location_matches(e, want)
        if where:
            return where
        if "value" in want and str(e.value) != str(want["value"]) and json.dumps(e.value) != want["value"]:
            return f"value {e.value!r} != {want['value']!r}"
        if "allowed" in want and want["allowed"] not in (e.allowed or ""):
            return f"allowed {e.allowed!r} does not mention {want['allowed']!r}"
        if "hint" in want and want["hint"] not in (e.allowed or ""):
            return f"no hint {want['hint']!r} in {e.allowed!r}"
        return None

    @staticmethod
    def config_value(config: Dict[str, Any], key: str) -> Any:
        if key.endswith("_ms"):
            v = config.get(key[:-3])
            return None if v is None else v * 1000.0
        return config.get(key, "<missing>")

    def run(self) -> List[str]:
        if "config_error" in self.doc:
            try:
                self.build()
            except bw.ConfigError as e:
                msg = self.error_matches(e, self.doc["config_error"])
                if msg:
                    self.fail(-1, msg)
            else:
                self.fail(-1, "document accepted")
            return self.failures
        reg = self.build()
        for i, step in enumerate(self.doc.get("steps", [])):
            if "at" in step and not self.clock.set(step["at"] / 1000.0):
                self.fail(i, "`at` moves the clock backwards")
            self.step(i, reg, step)
        return self.failures

    def step(self, i: int, reg: bw.Registry, step: Dict[str, Any]) -> None:
        op = step["op"]
        want = step.get("expect", {})
        name = step.get("name", "test")
        got: Dict[str, Any] = {}
        try:
            if op == "get":
                kind = step.get("kind", "breaker")
                obj = getattr(reg, self.KINDS[kind])(name)
                got["created"] = self.got.get((kind, name)) is not obj
                self.got[(kind, name)] = obj
                got["config"] = obj.config
            elif op == "call":
                cb = reg.breaker(name)
                self.got[("breaker", name)] = cb
                self.call(i, cb, step, want)
            elif op in ("force_open", "force_close", "disable", "reset"):
                cb = reg.breaker(name)
                self.got[("breaker", name)] = cb
                getattr(cb, op)()
            elif op == "reload":
                reg.reload(step["document"])
            elif op == "advance":
                self.clock.advance(step.get("ms", 0) / 1000.0)
            elif op not in ("state", "names"):
                self.fail(i, f"op {op!r} not supported by the Python registry runner")
        except bw.ConfigError as e:
            if "error" not in want:
                self.fail(i, f"unexpected {e!r}")
            else:
                msg = self.error_matches(e, want["error"])
                if msg:
                    self.fail(i, msg)
            return
        if "error" in want:
            self.fail(i, f"expected error {want['error']}")
        if "created" in want and got.get("created") != want["created"]:
            self.fail(i, f"created {got.get('created')} != {want['created']}")
        for k, w in (want.get("config") or {}).items():
            g = self.config_value(got.get("config") or {}, k)
            if (g is None) != (w is None) or (w is not None and not close(g, w)):
                self.fail(i, f"config.{k} = {g!r}, expected {w!r}")
        if "state" in want:
            b = reg.get_breaker(name)
            g = None if b is None else b.state
            if g != want["state"]:
                self.fail(i, f"state {g} != {want['state']}")
        if "names" in want and reg.names != want["names"]:
            self.fail(i, f"names {reg.names} != {want['names']}")

    def call(self, i: int, cb: bw.CircuitBreaker, step: Dict[str, Any], want: Dict[str, Any]) -> None:
        outcome = step.get("outcome", "success")
        category = step.get("category")
        if outcome == "ignored":
            category = category or "client"
        duration = step.get("duration_ms", 0) / 1000.0

        def body() -> None:
            self.clock.advance(duration)
            if outcome != "success":
                raise error_for(category)

        rejected = None
        for _ in range(step.get("repeat", 1)):
            try:
                cb.call(body)
            except bw.CircuitOpenError as e:
                rejected = e
                break
            except Exception:
                pass
        if "rejected" in want:
            if rejected is None:
                self.fail(i, "expected a rejection")
            else:
                r = want["rejected"]
                if "code" in r and rejected.code != r["code"]:
                    self.fail(i, f"code {rejected.code}")
                if "retry_after_ms" in r:
                    g = None if rejected.retry_after is None else rejected.retry_after * 1000.0
                    w = r["retry_after_ms"]
                    if (g is None) != (w is None) or (w is not None and not close(g, w)):
                        self.fail(i, f"retry_after {g} ms != {w} ms")
        elif rejected is not None and want.get("permitted", True):
            self.fail(i, f"unexpected {rejected!r}")


class DocumentScenario:
    """`document` scenarios through `bw.Document` (configs read back in canonical file
    spelling)."""

    OPS = {
        "breaker_config": ("breaker_config", "circuit_breakers"),
        "retry_config": ("retry_config", "retry"),
        "rate_limiter_config": ("rate_limiter_config", "rate_limiters"),
        "bulkhead_config": ("bulkhead_config", "bulkheads"),
    }

    def __init__(self, doc: Dict[str, Any]) -> None:
        self.doc = doc
        self.failures: List[str] = []

    def fail(self, i: int, msg: str) -> None:
        self.failures.append(f"step {i}: {msg}")

    @staticmethod
    def error_matches(e: bw.ConfigError, want: Dict[str, Any]) -> Optional[str]:
        if "code" in want and e.code != want["code"]:
            return f"code {e.code} != {want['code']}"
        where = error_location_matches(e, want)
        if where:
            return where
        w = want.get("value")
        marker = isinstance(w, str) and w.startswith("(") and w.endswith(")")
        if w is not None and not marker and str(e.value) != w and json.dumps(e.value) != w:
            return f"value {e.value!r} != {w!r}"
        if "allowed" in want and want["allowed"] not in (e.allowed or ""):
            return f"allowed {e.allowed!r} does not mention {want['allowed']!r}"
        if "hint" in want:
            h = want["hint"]
            hinted = "did you mean" in (e.allowed or "")
            if h is None and hinted:
                return f"unexpected hint in {e.allowed!r}"
            if h is not None and not (hinted and h in (e.allowed or "")):
                return f"no hint {h!r} in {e.allowed!r}"
        return None

    @staticmethod
    def same(got: Any, want: Any) -> bool:
        if isinstance(want, bool) or isinstance(got, bool):
            return got is want
        if isinstance(want, (int, float)) and isinstance(got, (int, float)):
            return abs(got - want) <= 1e-9
        if isinstance(want, list):
            return isinstance(got, list) and len(got) == len(want) and all(
                DocumentScenario.same(g, w) for g, w in zip(got, want)
            )
        if isinstance(want, dict):
            return isinstance(got, dict) and len(got) == len(want) and all(
                k in got and DocumentScenario.same(got[k], v) for k, v in want.items()
            )
        return bool(got == want)

    def subset(self, i: int, what: str, got: Dict[str, Any], want: Dict[str, Any]) -> None:
        for k, w in want.items():
            if k not in got:
                self.fail(i, f"{what} has no field {k!r} ({sorted(got)})")
            elif not self.same(got[k], w):
                self.fail(i, f"{what}.{k} = {got[k]!r}, expected {w!r}")

    def run(self) -> List[str]:
        cfg = self.doc.get("config")
        try:
            d = bw.Document.from_dict(cfg)
        except bw.ConfigError as e:
            if "config_error" not in self.doc:
                return [f"config rejected: {e}"]
            msg = self.error_matches(e, self.doc["config_error"])
            return [msg] if msg else []
        if "config_error" in self.doc:
            return ["document accepted"]
        for i, step in enumerate(self.doc.get("steps", [])):
            op = step["op"]
            want = step.get("expect", {})
            err: Optional[bw.ConfigError] = None
            if op in ("parse", "env"):
                try:
                    d = bw.Document.from_dict(step["document"]) if op == "parse" else d.with_env(step["vars"])
                except bw.ConfigError as e:
                    err = e
            elif op in self.OPS:
                method, section = self.OPS[op]
                got = getattr(d, method)(step.get("name"))
                if "config" in want:
                    self.subset(i, "config", got, want["config"])
                if "enabled" in want and d.enabled(section) != want["enabled"]:
                    self.fail(i, f"enabled {d.enabled(section)} != {want['enabled']}")
                if "overrides" in want and d.overrides(section) != want["overrides"]:
                    self.fail(i, f"overrides {d.overrides(section)} != {want['overrides']}")
            elif op == "monitoring":
                if "config" in want:
                    self.subset(i, "monitoring", d.monitoring, want["config"])
            elif op == "section":
                got = d.section(step["section"])
                if "value" in want and not self.same(got, want["value"]):
                    self.fail(i, f"section {got!r} != {want['value']!r}")
            else:
                self.fail(i, f"unknown op {op!r}")
            if "error" in want:
                if err is None:
                    self.fail(i, f"accepted, expected error {want['error']}")
                else:
                    msg = self.error_matches(err, want["error"])
                    if msg:
                        self.fail(i, msg)
            elif err is not None:
                self.fail(i, f"rejected: {err}")
        return self.failures


# -- the tests ------------------------------------------------------------------------------

MODES = {
    "breaker": ["python", "config"],
    "policy": ["sync", "async"],
    "classify": ["python"],
    "registry": ["python"],
    "degradation": ["config"],
    "cache": ["python", "config"],
    "retry": ["config"],
    "health": ["config"],
    "slo": ["config"],
    "alerts": ["config"],
    "document": ["config"],
}


def _cases() -> List[Any]:
    cases = []
    for f in FILES:
        component = json.loads(f.read_text()).get("component")
        for mode in MODES.get(component, ["-"]):
            cases.append(pytest.param(f, mode, id=f"{f.relative_to(SCENARIOS)}-{mode}"))
    return cases


def test_scenarios_exist() -> None:
    assert FILES, f"no scenarios under {SCENARIOS}"


@pytest.mark.parametrize("path, mode", _cases())
def test_scenario(path: Path, mode: str) -> None:
    doc = json.loads(path.read_text())
    component = str(doc.get("component"))
    if component not in MODES:
        CONFORMANCE_SKIPS[f"component {component!r} (no Python API yet)"] += 1
        pytest.skip(f"component {component!r} has no Python API (yet)")
    try:
        if component == "breaker":
            failures = Run(doc, mode).run()
        elif component == "classify":
            failures = run_classify(doc)
        elif component == "registry":
            failures = RegistryScenario(doc).run()
        elif component == "degradation":
            failures = DegradationScenario(doc).run()
        elif component == "cache":
            failures = CacheScenario(doc, mode).run()
        elif component == "retry":
            failures = RetryScenario(doc, mode).run()
        elif component == "health":
            failures = HealthScenario(doc).run()
        elif component == "slo":
            failures = SloScenario(doc).run()
        elif component == "alerts":
            failures = AlertsScenario(doc).run()
        elif component == "document":
            failures = DocumentScenario(doc).run()
        else:
            failures = PolicyScenario(doc, mode).run()
    except Unsupported as e:
        CONFORMANCE_SKIPS[f"component {component!r}: {e}"] += 1
        pytest.skip(str(e))
    CONFORMANCE_RUN[component] += 1
    assert not failures, f"{path.name} ({mode}):\n  " + "\n  ".join(failures)
