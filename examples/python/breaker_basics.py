"""A flaky inventory service behind a circuit breaker, driven by a ManualClock so the whole
outage and recovery plays out instantly. Run: python examples/python/breaker_basics.py"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

import breakwater as bw


class ServiceUnavailable(Exception):
    """What an HTTP client raises for a 503; breakwater reads `status_code`."""

    def __init__(self, sku: str) -> None:
        super().__init__(f"inventory service unavailable while looking up {sku}")
        self.status_code = 503


@dataclass
class Stock:
    sku: str
    available: int


class InventoryService:
    def __init__(self) -> None:
        self.down = False
        self.stock: Dict[str, int] = {"apple": 3, "pear": 0}

    def lookup(self, sku: str) -> Stock:
        if self.down:
            raise ServiceUnavailable(sku)
        return Stock(sku, self.stock.get(sku, 0))


clock = bw.ManualClock()
breaker = bw.CircuitBreaker(
    "inventory",
    failure_threshold=3,
    recovery_timeout=30.0,
    success_threshold=1,
    clock=clock,
)
service = InventoryService()
log: List[str] = []
breaker.on("state_change", lambda e: log.append(f"{e.from_} -> {e.to} ({e.reason})"))


@breaker
def stock_of(sku: str) -> Stock:
    return service.lookup(sku)


def available(sku: str) -> int:
    """The stock count, or 0 when the inventory service is failing (fail closed)."""
    try:
        return stock_of(sku).available
    except bw.CircuitOpenError as e:
        print(f"  {sku}: skipped, circuit {e.state}, retry in {e.retry_after}s")
        return 0
    except ServiceUnavailable:
        print(f"  {sku}: service error")
        return 0


def main() -> None:
    print("healthy:", available("apple"))
    service.down = True
    for _ in range(4):
        available("apple")
    clock.advance(30.0)
    service.down = False
    print("recovered:", available("apple"))
    with breaker:  # a block instead of a function
        service.lookup("pear")
    snap = breaker.snapshot()
    print(f"state={snap.state} failures={snap.failures_total} rejected={snap.rejected_total}")
    print("transitions:", "; ".join(log))


if __name__ == "__main__":
    main()
