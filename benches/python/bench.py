"""breakwater's Python binding next to its peers, per call, in one interleaved run.

Every round runs every candidate of a section once, in a rotated order, each on a fresh
breaker / retry object; a candidate's number is the median over rounds of its ns/op, and its
ratio the median over rounds of (candidate / the section's baseline in the same round), so
machine noise hits numerator and denominator alike. Run through run.sh (it installs the peers).

Environment: BENCH_ROUNDS (default 9), BENCH_SCALE (iterations multiplier, default 1.0).
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from importlib import metadata
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
N_SYNC = int(20_000 * SCALE)
N_OPEN = int(5_000 * SCALE)
N_ASYNC = int(5_000 * SCALE)
N_RETRY = int(5_000 * SCALE)

clock_ns = time.perf_counter_ns


class Boom(Exception):
    pass


def trivial() -> int:
    return 1


async def atrivial() -> int:
    return 1


def boom() -> None:
    raise Boom()


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


# -- loops ------------------------------------------------------------------------------------


def loop_call(f: Callable[[], Any], n: int) -> float:
    t0 = clock_ns()
    for _ in range(n):
        f()
    return (clock_ns() - t0) / n


def loop_catch(f: Callable[[], Any], n: int) -> float:
    t0 = clock_ns()
    for _ in range(n):
        try:
            f()
        except Exception:
            pass
    return (clock_ns() - t0) / n


def loop_await(f: Callable[[], Awaitable[Any]], n: int) -> float:
    async def run() -> float:
        t0 = clock_ns()
        for _ in range(n):
            await f()
        return (clock_ns() - t0) / n

    return asyncio.run(run())


def open_by_failing(f: Callable[[], Any], times: int = 10) -> None:
    for _ in range(times):
        try:
            f()
        except Exception:
            pass


# -- candidates -------------------------------------------------------------------------------
# Each candidate: (label, version, setup) where setup() returns the callable to loop over.

Candidate = Tuple[str, str, Callable[[], Callable[[], Any]]]


def sync_closed() -> List[Candidate]:
    import breakwater as bw

    def bw_decorated() -> Callable[[], Any]:
        return bw.CircuitBreaker("bench")(trivial)

    def bw_call() -> Callable[[], Any]:
        call = bw.CircuitBreaker("bench").call
        return lambda: call(trivial)

    def circuitbreaker() -> Callable[[], Any]:
        from circuitbreaker import CircuitBreaker

        return CircuitBreaker(failure_threshold=5, recovery_timeout=60)(trivial)

    def pybreaker() -> Callable[[], Any]:
        import pybreaker as pb

        return pb.CircuitBreaker(fail_max=5, reset_timeout=60)(trivial)

    def aiobreaker() -> Callable[[], Any]:
        from aiobreaker import CircuitBreaker

        b = CircuitBreaker(fail_max=5)
        return lambda: b.call(trivial)

    def purgatory() -> Callable[[], Any]:
        from purgatory import SyncCircuitBreakerFactory

        return SyncCircuitBreakerFactory(default_threshold=5, default_ttl=60)("bench")(trivial)

    def pyresilience() -> Callable[[], Any]:
        from pyresilience import CircuitBreakerConfig, resilient

        return resilient(circuit_breaker=CircuitBreakerConfig())(trivial)

    return [
        ("baseline: bare call `trivial()`", "-", lambda: trivial),
        ("breakwater `@cb`", version("breakwater"), bw_decorated),
        ("breakwater `cb.call(fn)` (via a lambda)", version("breakwater"), bw_call),
        ("baseline: lambda calling `trivial()`", "-", lambda: (lambda: trivial())),
        ("circuitbreaker", version("circuitbreaker"), circuitbreaker),
        ("pybreaker", version("pybreaker"), pybreaker),
        ("aiobreaker (`b.call(fn)` via a lambda)", version("aiobreaker"), aiobreaker),
        ("purgatory", version("purgatory"), purgatory),
        ("pyresilience", version("pyresilience"), pyresilience),
    ]


def sync_open() -> List[Candidate]:
    import breakwater as bw

    def bw_open() -> Callable[[], Any]:
        cb = bw.CircuitBreaker("bench", failure_threshold=5, recovery_timeout=3600.0)
        f = cb(boom)
        open_by_failing(f)
        assert cb.state == "open"
        return f

    def circuitbreaker() -> Callable[[], Any]:
        from circuitbreaker import CircuitBreaker

        f = CircuitBreaker(failure_threshold=5, recovery_timeout=3600)(boom)
        open_by_failing(f)
        return f

    def pybreaker() -> Callable[[], Any]:
        import pybreaker as pb

        f = pb.CircuitBreaker(fail_max=5, reset_timeout=3600)(boom)
        open_by_failing(f)
        return f

    def aiobreaker() -> Callable[[], Any]:
        from datetime import timedelta

        from aiobreaker import CircuitBreaker

        b = CircuitBreaker(fail_max=5, timeout_duration=timedelta(hours=1))
        f = lambda: b.call(boom)  # noqa: E731
        open_by_failing(f)
        return f

    def purgatory() -> Callable[[], Any]:
        from purgatory import SyncCircuitBreakerFactory

        f = SyncCircuitBreakerFactory(default_threshold=5, default_ttl=3600)("bench")(boom)
        open_by_failing(f)
        return f

    def pyresilience() -> Callable[[], Any]:
        from pyresilience import CircuitBreakerConfig, resilient

        f = resilient(circuit_breaker=CircuitBreakerConfig(recovery_timeout=3600.0))(boom)
        open_by_failing(f)
        return f

    return [
        ("baseline: raise a new exception + catch", "-", lambda: boom),
        ("breakwater `@cb`", version("breakwater"), bw_open),
        ("circuitbreaker", version("circuitbreaker"), circuitbreaker),
        ("pybreaker", version("pybreaker"), pybreaker),
        ("aiobreaker", version("aiobreaker"), aiobreaker),
        ("purgatory", version("purgatory"), purgatory),
        ("pyresilience", version("pyresilience"), pyresilience),
    ]


def async_closed() -> List[Candidate]:
    import breakwater as bw

    def bw_decorated() -> Callable[[], Any]:
        return bw.CircuitBreaker("bench")(atrivial)

    def bw_call_async() -> Callable[[], Any]:
        cb = bw.CircuitBreaker("bench")
        return lambda: cb.call_async(atrivial)

    def circuitbreaker() -> Callable[[], Any]:
        from circuitbreaker import CircuitBreaker

        return CircuitBreaker(failure_threshold=5, recovery_timeout=60)(atrivial)

    def aiobreaker() -> Callable[[], Any]:
        from aiobreaker import CircuitBreaker

        return CircuitBreaker(fail_max=5)(atrivial)

    def purgatory() -> Callable[[], Any]:
        from purgatory import AsyncCircuitBreakerFactory

        return AsyncCircuitBreakerFactory(default_threshold=5, default_ttl=60)("bench")(atrivial)

    def pyresilience() -> Callable[[], Any]:
        from pyresilience import CircuitBreakerConfig, resilient

        return resilient(circuit_breaker=CircuitBreakerConfig())(atrivial)

    return [
        ("baseline: `await atrivial()`", "-", lambda: atrivial),
        ("breakwater `@cb` (async def)", version("breakwater"), bw_decorated),
        ("breakwater `cb.call_async(fn)`", version("breakwater"), bw_call_async),
        ("circuitbreaker", version("circuitbreaker"), circuitbreaker),
        ("aiobreaker", version("aiobreaker"), aiobreaker),
        ("purgatory", version("purgatory"), purgatory),
        ("pyresilience", version("pyresilience"), pyresilience),
    ]


def retry_sync() -> List[Candidate]:
    import breakwater as bw

    def bw_retry() -> Callable[[], Any]:
        return bw.Retry(max_attempts=3, base_delay=0.0)(trivial)

    def bw_policy() -> Callable[[], Any]:
        p = bw.Policy(breaker=bw.CircuitBreaker("bench"), retry=bw.Retry(max_attempts=3))
        return p(trivial)

    def tenacity() -> Callable[[], Any]:
        import tenacity as t

        return t.retry(stop=t.stop_after_attempt(3))(trivial)

    def stamina() -> Callable[[], Any]:
        import stamina as s

        return s.retry(on=Exception, attempts=3)(trivial)

    def pyresilience() -> Callable[[], Any]:
        from pyresilience import RetryConfig, resilient

        return resilient(retry=RetryConfig(max_attempts=3, delay=0.0))(trivial)

    return [
        ("baseline: bare call `trivial()`", "-", lambda: trivial),
        ("breakwater `@bw.Retry(max_attempts=3)`", version("breakwater"), bw_retry),
        ("breakwater `@bw.Policy(breaker=, retry=)`", version("breakwater"), bw_policy),
        ("tenacity (`stop_after_attempt(3)`)", version("tenacity"), tenacity),
        ("stamina (`attempts=3`)", version("stamina"), stamina),
        ("pyresilience (`RetryConfig(max_attempts=3)`)", version("pyresilience"), pyresilience),
    ]


def retry_async() -> List[Candidate]:
    import breakwater as bw

    def bw_retry() -> Callable[[], Any]:
        return bw.Retry(max_attempts=3, base_delay=0.0)(atrivial)

    def bw_policy() -> Callable[[], Any]:
        p = bw.Policy(breaker=bw.CircuitBreaker("bench"), retry=bw.Retry(max_attempts=3))
        return p(atrivial)

    def tenacity() -> Callable[[], Any]:
        import tenacity as t

        return t.retry(stop=t.stop_after_attempt(3))(atrivial)

    def stamina() -> Callable[[], Any]:
        import stamina as s

        return s.retry(on=Exception, attempts=3)(atrivial)

    def pyresilience() -> Callable[[], Any]:
        from pyresilience import RetryConfig, resilient

        return resilient(retry=RetryConfig(max_attempts=3, delay=0.0))(atrivial)

    return [
        ("baseline: `await atrivial()`", "-", lambda: atrivial),
        ("breakwater `@bw.Retry(max_attempts=3)`", version("breakwater"), bw_retry),
        ("breakwater `@bw.Policy(breaker=, retry=)`", version("breakwater"), bw_policy),
        ("tenacity", version("tenacity"), tenacity),
        ("stamina", version("stamina"), stamina),
        ("pyresilience", version("pyresilience"), pyresilience),
    ]


SECTIONS: List[Tuple[str, Callable[[], List[Candidate]], Callable[..., float], int, str]] = [
    ("a. Sync guarded call, breaker closed", sync_closed, loop_call, N_SYNC, "x bare call"),
    ("b. Guarded call, breaker open (rejection caught)", sync_open, loop_catch, N_OPEN, "x raise+catch"),
    ("c. Async guarded call, breaker closed", async_closed, loop_await, N_ASYNC, "x bare await"),
    ("d. Retry, first attempt succeeds (sync)", retry_sync, loop_call, N_RETRY, "x bare call"),
    ("e. Retry, first attempt succeeds (async)", retry_async, loop_await, N_RETRY, "x bare await"),
]


def run_section(
    candidates: List[Candidate], loop: Callable[..., float], n: int
) -> Dict[str, Tuple[Optional[float], Optional[float], str]]:
    samples: Dict[str, List[float]] = {c[0]: [] for c in candidates}
    ratios: Dict[str, List[float]] = {c[0]: [] for c in candidates}
    errors: Dict[str, str] = {}
    for r in range(ROUNDS):
        order = candidates[r % len(candidates) :] + candidates[: r % len(candidates)]
        this_round: Dict[str, float] = {}
        for label, _, setup in order:
            if label in errors:
                continue
            try:
                f = setup()
                loop(f, max(n // 10, 1))  # warm-up
                gc.collect()
                this_round[label] = loop(f, n)
            except Exception as e:  # a peer whose API does not fit: reported, not fatal
                errors[label] = f"{type(e).__name__}: {e}"
        base = this_round.get(candidates[0][0])
        for label, ns in this_round.items():
            samples[label].append(ns)
            if base:
                ratios[label].append(ns / base)
    out: Dict[str, Tuple[Optional[float], Optional[float], str]] = {}
    for label, _, _ in candidates:
        if label in errors:
            out[label] = (None, None, errors[label])
        else:
            out[label] = (statistics.median(samples[label]), statistics.median(ratios[label]), "")
    return out


def memory() -> List[str]:
    import breakwater as bw

    lines = []
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = [bw.CircuitBreaker(f"b{i}") for i in range(10_000)]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    lines.append(
        f"- one `CircuitBreaker` (default time window): {(after - before) / len(keep):.0f} bytes "
        "on the Python heap as traced by tracemalloc, plus its native core "
        "(see the Rust benches for the core's size)"
    )
    del keep
    for state in ("closed", "open"):
        cb = bw.CircuitBreaker("mem", failure_threshold=1, recovery_timeout=3600.0)
        f = cb(trivial if state == "closed" else boom)
        if state == "open":
            open_by_failing(f, 1)
        loop_catch(f, 1000)
        gc.collect()
        tracemalloc.start()
        b0 = tracemalloc.get_traced_memory()[0]
        loop_catch(f, 10_000)
        gc.collect()
        b1 = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        lines.append(f"- memory retained after 10 000 calls, {state}: {(b1 - b0) / 10_000:.2f} bytes/call")
    return lines


def main() -> None:
    print(f"# breakwater Python benchmark, {datetime.date.today().isoformat()}")
    print()
    print(
        f"CPython {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{ROUNDS} interleaved rounds; ns/op = median over rounds; ratio = median over rounds of "
        "(candidate / the section's baseline in the same round)."
    )
    for title, make, loop, n, ratio_name in SECTIONS:
        candidates = make()
        print()
        print(f"## {title} ({n} calls per sample)")
        print()
        print(f"| library | version | ns/op | {ratio_name} |")
        print("|---|---|---:|---:|")
        results = run_section(candidates, loop, n)
        for label, ver, _ in candidates:
            ns, ratio, err = results[label]
            if ns is None:
                print(f"| {label} | {ver} | n/a | {err[:60]} |")
            else:
                print(f"| {label} | {ver} | {ns:,.0f} | {ratio:.2f} |")
        sys.stdout.flush()
    print()
    print("## Memory")
    print()
    for line in memory():
        print(line)


if __name__ == "__main__":
    main()
