"""An asyncio API client whose methods share one circuit breaker, with a cached fallback
when the circuit is open. Run: python examples/python/async_client.py"""

from __future__ import annotations

import asyncio
from typing import Dict, Optional

import breakwater as bw

weather_breaker = bw.CircuitBreaker(
    "weather-api",
    failure_threshold=2,
    window=bw.CountWindow(20),
    recovery_timeout=15.0,
    classify=lambda e: "external_api" if isinstance(e, QuotaExceeded) else None,
)


class QuotaExceeded(Exception):
    """The provider's own quota error (no HTTP status on it)."""


class WeatherClient:
    def __init__(self) -> None:
        self.fail_next = 0
        self.cache: Dict[str, float] = {}

    @weather_breaker
    async def temperature(self, city: str) -> float:
        await asyncio.sleep(0)  # the network round trip
        if self.fail_next:
            self.fail_next -= 1
            raise QuotaExceeded(city)
        value = 21.5 if city == "Lisbon" else 12.0
        self.cache[city] = value
        return value

    async def temperature_or_cached(self, city: str) -> Optional[float]:
        try:
            return await self.temperature(city)
        except (bw.CircuitOpenError, QuotaExceeded):
            return self.cache.get(city)


async def main() -> None:
    client = WeatherClient()
    print("Lisbon:", await client.temperature_or_cached("Lisbon"))
    client.fail_next = 5
    results = await asyncio.gather(*(client.temperature_or_cached("Lisbon") for _ in range(4)))
    print("during the outage (cached):", results)
    print("breaker:", weather_breaker.state, weather_breaker.snapshot().last_failure_category)


if __name__ == "__main__":
    asyncio.run(main())
