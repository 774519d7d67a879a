"""breakwater: resilience for Python (circuit breaker, retry, policies) on a Rust core.

Durations are float seconds everywhere in the Python API. Names, defaults, errors and events
follow the project's contract; see ``help(breakwater.CircuitBreaker)``.

    import breakwater as bw

    cb = bw.CircuitBreaker("payments", failure_threshold=5, recovery_timeout=30.0)

    @cb
    def charge(order_id: str) -> Receipt: ...

    with cb:
        ...
"""

from __future__ import annotations

from ._breakwater import (
    CATEGORIES,
    EVENTS,
    STATES,
    BreakwaterError,
    Bulkhead,
    BulkheadFullError,
    CallInfo,
    CircuitOpenError,
    ConfigError,
    CountWindow,
    Event,
    GuardedFunction,
    ManualClock,
    Permit,
    RateLimitedError,
    RateLimiter,
    Registry,
    RetryBudget,
    RetryError,
    Snapshot,
    Subscription,
    TimeoutError,
    TimeWindow,
    __version__,
    classify,
    not_sent,
    registry,
    retry_after,
)
from ._breaker import CircuitBreaker
from ._policy import Policy, Retry

__all__ = [
    "CATEGORIES",
    "EVENTS",
    "STATES",
    "BreakwaterError",
    "Bulkhead",
    "BulkheadFullError",
    "CallInfo",
    "CircuitBreaker",
    "CircuitOpenError",
    "ConfigError",
    "CountWindow",
    "Event",
    "GuardedFunction",
    "ManualClock",
    "Permit",
    "Policy",
    "RateLimitedError",
    "RateLimiter",
    "Registry",
    "Retry",
    "RetryBudget",
    "RetryError",
    "Snapshot",
    "Subscription",
    "TimeWindow",
    "TimeoutError",
    "__version__",
    "classify",
    "not_sent",
    "registry",
    "retry_after",
]
