"""Many threads and many asyncio tasks on one breaker, with exact counts; fork safety."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import Any, List

import pytest

import breakwater as bw


def test_eight_threads_exact_counts() -> None:
    cb = bw.CircuitBreaker("threads", failure_threshold=0, failure_rate_threshold=1.0, minimum_calls=1_000_000)
    per_thread = 5_000
    barrier = threading.Barrier(8)
    errors: List[BaseException] = []

    def work(i: int) -> None:
        barrier.wait()
        try:
            for n in range(per_thread):
                if n % 5 == 0:
                    try:
                        cb.call(_raise_server)
                    except _Server:
                        pass
                elif n % 5 == 1:
                    with cb:
                        pass
                elif n % 5 == 2:
                    p = cb.try_acquire()
                    cb.record(p, "ignored")
                else:
                    assert cb.call(int, "7") == 7
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    s = cb.snapshot()
    total = 8 * per_thread
    assert s.failures_total == total // 5
    assert s.ignored_total == total // 5
    assert s.successes_total == total * 3 // 5
    assert s.calls_total == s.successes_total + s.failures_total
    assert s.rejected_total == 0 and s.state == "closed"


class _Server(Exception):
    status_code = 500


def _raise_server() -> None:
    raise _Server()


def test_threads_race_for_half_open_probes() -> None:
    clock = bw.ManualClock()
    cb = bw.CircuitBreaker("probes", failure_threshold=1, recovery_timeout=1.0, half_open_max_calls=3, clock=clock)
    with pytest.raises(_Server):
        cb.call(_raise_server)
    clock.advance(1.0)
    granted: List[Any] = []
    rejected: List[Any] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def probe() -> None:
        barrier.wait()
        for _ in range(10):
            try:
                p = cb.try_acquire()
            except bw.CircuitOpenError as e:
                with lock:
                    rejected.append(e)
            else:
                with lock:
                    granted.append(p)

    threads = [threading.Thread(target=probe) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 3 and len(rejected) == 77
    assert all(e.state == "half_open" and e.retry_after == 0.0 for e in rejected)


def test_ten_thousand_tasks_exact_counts() -> None:
    cb = bw.CircuitBreaker("tasks", failure_threshold=0, failure_rate_threshold=1.0, minimum_calls=1_000_000)
    n = 10_000

    @cb
    async def work(i: int) -> int:
        await asyncio.sleep(0)
        if i % 4 == 0:
            raise _Server()
        return i

    async def with_block(i: int) -> int:
        async with cb:
            await asyncio.sleep(0)
        return i

    async def main() -> List[Any]:
        coros = [work(i) if i % 2 == 0 else cb.call_async(with_block, i) for i in range(n)]
        return await asyncio.gather(*coros, return_exceptions=True)

    results = asyncio.run(main())
    failures = sum(isinstance(r, _Server) for r in results)
    assert failures == n // 4
    s = cb.snapshot()
    # Odd tasks are recorded twice: by call_async and by the `async with` inside.
    assert s.failures_total == n // 4
    assert s.successes_total == n // 4 + 2 * (n // 2)
    assert s.rejected_total == 0


def test_ten_thousand_tasks_cancelled_count_nothing() -> None:
    cb = bw.CircuitBreaker("cancel")

    async def main() -> None:
        gate = asyncio.Event()

        @cb
        async def wait() -> None:
            await gate.wait()

        tasks = [asyncio.ensure_future(wait()) for _ in range(10_000)]
        await asyncio.sleep(0)
        for t in tasks:
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)

    asyncio.run(main())
    s = cb.snapshot()
    assert (s.calls_total, s.ignored_total, s.rejected_total) == (0, 0, 0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_child_after_fork_uses_the_breaker() -> None:
    cb = bw.CircuitBreaker("fork", failure_threshold=1)
    stop = threading.Event()

    def hammer() -> None:  # keeps the breaker busy while the parent forks
        while not stop.is_set():
            cb.call(int, "1")

    t = threading.Thread(target=hammer)
    t.start()
    try:
        for _ in range(5):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - child
                code = 1
                try:
                    cb.call(int, "2")
                    try:
                        cb.call(_raise_server)
                    except _Server:
                        pass
                    code = 0 if cb.state == "open" else 2
                finally:
                    os.write(w, bytes([code]))
                    os._exit(code)
            os.close(w)
            got = os.read(r, 1)
            os.close(r)
            _, status = os.waitpid(pid, 0)
            assert got == b"\x00" and os.WEXITSTATUS(status) == 0
    finally:
        stop.set()
        t.join()
    assert cb.state == "closed"  # the child's copy is its own


if sys.version_info >= (3, 12):
    # Forking a process that has threads warns on 3.12+; the test does it on purpose.
    test_child_after_fork_uses_the_breaker = pytest.mark.filterwarnings(
        "ignore::DeprecationWarning"
    )(test_child_after_fork_uses_the_breaker)
