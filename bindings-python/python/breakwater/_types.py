"""Plain read-only records the native module hands out (degradation, cache, health, SLO,
alerts, retry decisions). Durations are float seconds; `*_at` fields are wall time in ms since
the Unix epoch (like ``Event.at``); `since` fields are monotonic seconds on the object's clock.

They are frozen dataclasses: comparable, printable, and ``dataclasses.asdict`` works on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Hashable, Mapping, Optional, Tuple

__all__ = [
    "ActiveDegradation",
    "Alert",
    "CacheHit",
    "CachePut",
    "CacheStats",
    "CheckResult",
    "CheckStatus",
    "DegradationRecord",
    "DegradationStats",
    "FallbackChoice",
    "FallbackContext",
    "HealthReport",
    "LoggedEvent",
    "RetryDecision",
    "SloStatus",
    "StrategyInfo",
]


@dataclass(frozen=True)
class FallbackContext:
    """What a fallback strategy gets (``can_handle(context)``, ``execute(context)``).

    ``component`` is the policy's name; ``trigger`` why the call degraded
    (``circuit_breaker_open``, ``timeout``, ``rate_limited``, ``error_rate``...); ``severity``
    its level; ``error`` the error the fallback replaces; ``attempts`` the attempts made;
    ``category`` the last failure's category; ``cache_key`` the call's key in the response cache
    (None when the call is not cached); ``cached`` what the cache holds for it (``"fresh"``,
    ``"stale"`` or None); ``args`` / ``kwargs`` the call's arguments; ``stale`` whether the
    chosen cached entry is past its TTL (only meaningful in ``execute``).
    """

    component: str
    trigger: str
    severity: str
    error: Optional[BaseException] = None
    attempts: int = 0
    category: Optional[str] = None
    cache_key: Optional[Hashable] = None
    cached: Optional[str] = None
    args: Tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    stale: bool = False


@dataclass(frozen=True)
class FallbackChoice:
    """Which strategy serves a failed call: its ``strategy`` name and ``kind``, the ``rule``
    that named it (None: picked by priority), the ``trigger`` and ``severity`` decided on, and
    whether a cached response is ``stale``."""

    strategy: str
    kind: str
    rule: Optional[str]
    trigger: str
    severity: str
    stale: bool


@dataclass(frozen=True)
class StrategyInfo:
    """A registered strategy as the core sees it (``handles``: the triggers it accepts, None
    for all)."""

    name: str
    kind: str
    priority: int
    description: str
    available: bool
    handles: Optional[Tuple[str, ...]]


@dataclass(frozen=True)
class ActiveDegradation:
    """A component degraded now."""

    component: str
    level: str
    trigger: str
    since: float
    started_at: int
    strategy: Optional[str]
    calls_served: int


@dataclass(frozen=True)
class DegradationRecord:
    """One degradation in the history: ``duration`` and ``recovery`` (``"auto"`` or
    ``"forced"``) are None while it lasts; ``level`` is the highest it reached."""

    component: str
    trigger: str
    level: str
    since: float
    started_at: int
    duration: Optional[float]
    strategy: Optional[str]
    calls_served: int
    recovery: Optional[str]


@dataclass(frozen=True)
class DegradationStats:
    """Lifetime counts (not bounded by the history)."""

    active: int
    total_triggered: int
    total_recovered: int
    calls_served: int
    most_frequent_reason: Optional[str]
    by_reason: Dict[str, int]
    mean_duration: Optional[float]
    max_duration: Optional[float]


@dataclass(frozen=True)
class CacheHit:
    """A value served from the response cache; ``stale`` when past its TTL (stale-if-error)."""

    value: Any
    stale: bool


@dataclass(frozen=True)
class CachePut:
    """What a ``put`` displaced: the old value under the same key (``replaced``) and the key
    of the least recently used entry evicted to make room (``evicted``)."""

    replaced: Any
    evicted: Optional[Hashable]


@dataclass(frozen=True)
class CacheStats:
    entries: int
    hits: int
    stale_hits: int
    misses: int
    evictions: int


@dataclass(frozen=True)
class CheckResult:
    """One stored health report: what the check said, when (``at``, wall ms), how long it took
    (``latency`` seconds), whether it counted as a failed report and whether it ran past its
    timeout."""

    status: str
    message: Optional[str] = None
    latency: float = 0.0
    metadata: Mapping[str, Any] = field(default_factory=dict)
    at: int = 0
    failed: bool = False
    timed_out: bool = False


@dataclass(frozen=True)
class CheckStatus:
    """One entry of a health report: a check, or a dependency without a check of its name
    (``is_check`` False). ``breaker_state`` / ``degraded`` describe the dependency, if any."""

    name: str
    kind: str
    critical: bool
    status: str
    failing: bool
    stale: bool
    consecutive_failures: int
    reports_total: int
    failures_total: int
    last: Optional[CheckResult]
    is_check: bool
    dependency: bool
    breaker_state: Optional[str]
    degraded: bool


@dataclass(frozen=True)
class HealthReport:
    """The aggregate: ``status`` over everything, ``liveness`` / ``readiness`` / ``startup``
    over their scopes, the booleans a probe endpoint answers with, and every entry."""

    status: str
    liveness: str
    readiness: str
    startup: str
    live: bool
    ready: bool
    started: bool
    checks: Tuple[CheckStatus, ...]
    at: int

    def check(self, name: str) -> Optional[CheckStatus]:
        """The entry named ``name``, or None."""
        for c in self.checks:
            if c.name == name:
                return c
        return None


@dataclass(frozen=True)
class SloStatus:
    """An SLO's figures now (``window`` seconds; ``burn_rate`` 1.0 spends the budget exactly
    over the window)."""

    name: str
    target: float
    window: float
    total: int
    good: int
    bad: int
    availability: float
    allowed_failures: float
    error_budget_consumed: float
    error_budget_remaining: float
    burn_rate: float
    recommendation: str
    advice: str


@dataclass(frozen=True)
class Alert:
    """A raised alert; ``resolved_at`` is None while it is active."""

    id: int
    rule: str
    condition: str
    component: str
    severity: str
    raised_at: int
    resolved_at: Optional[int]
    suppressed: int

    @property
    def active(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class LoggedEvent:
    """An event in an ``EventLog`` with its sequence number (1 for the first ever logged)."""

    seq: int
    event: Any


@dataclass(frozen=True)
class RetryDecision:
    """What follows a failed attempt: ``decision`` ``"retry"`` (sleep ``delay`` seconds, then
    make attempt number ``attempt``) or ``"give_up"`` (``reason``)."""

    decision: str
    delay: Optional[float] = None
    attempt: Optional[int] = None
    reason: Optional[str] = None
