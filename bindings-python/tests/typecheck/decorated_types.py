"""Checked by `mypy --strict` (see test.sh): decorated functions keep their types."""

from __future__ import annotations

from typing import Any, Callable, Coroutine

from typing_extensions import assert_type

import breakwater as bw

cb = bw.CircuitBreaker("typed", failure_threshold=3, window=bw.CountWindow(10))


@cb
def add(a: int, b: int = 1) -> int:
    return a + b


@cb
async def fetch(url: str, *, timeout: float = 1.0) -> bytes:
    return url.encode()


class Client:
    @cb
    def get(self, key: str) -> str:
        return key

    @cb
    async def aget(self, key: str) -> str:
        return key

    @staticmethod
    @cb
    def helper(n: int) -> int:
        return n


assert_type(add(1, b=2), int)
c1 = fetch("u", timeout=2.0)
assert_type(c1, Coroutine[Any, Any, bytes])  # type: ignore[unused-coroutine]
c1.close()
assert_type(Client().get("k"), str)
c2 = Client().aget("k")
assert_type(c2, Coroutine[Any, Any, str])  # type: ignore[unused-coroutine]
c2.close()
assert_type(Client.helper(1), int)
assert_type(cb.call(add, 1), Any)
f: Callable[[int], int] = add


async def use() -> None:
    assert_type(await fetch("u"), bytes)
    assert_type(await cb.call_async(fetch, "u"), bytes)
    async with cb:
        pass
    with cb as same:
        assert_type(same, bw.CircuitBreaker)
    snap = cb.snapshot()
    assert_type(snap.retry_after, "float | None")
    try:
        add(1)
    except bw.CircuitOpenError as e:
        assert_type(e.retry_after, "float | None")
    except bw.ConfigError as e:
        assert_type(e.key, "str | None")


policy = bw.Policy(breaker=cb, retry=bw.Retry(max_attempts=3, budget=bw.RetryBudget()), timeout=2.0)
retry = bw.Retry(max_attempts=2, jitter="none")


@policy
def lookup(key: str) -> int:
    return len(key)


@policy
async def alookup(key: str) -> int:
    return len(key)


@retry
def again(n: int) -> float:
    return n / 2


assert_type(lookup("k"), int)
assert_type(again(3), float)
assert_type(policy.call_with_info(lookup, "k").attempts, int)


async def use_policy() -> None:
    assert_type(await alookup("k"), int)
    assert_type(await policy.call_async(alookup, "k"), int)
    assert_type(await retry.call_async(alookup, "k"), int)
    info = await policy.call_with_info_async(alookup, "k")
    assert_type(info.from_fallback, bool)
    try:
        lookup("x")
    except bw.RetryError as e:
        assert_type(e.attempts, "int | None")
