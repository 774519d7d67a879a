"""An agent's model calls behind a Policy with fallbacks (the last good answer, a second
model, a static answer), a degradation manager fed by health checks, and the Prometheus text
at the end. A ManualClock plays the whole outage instantly.
Run: python examples/python/fallback_and_health.py"""

from __future__ import annotations

from typing import Dict, List

import breakwater as bw


class ModelUnavailable(Exception):
    """What an HTTP client raises for a 503 (breakwater reads `status_code`)."""

    status_code = 503


class Model:
    def __init__(self, name: str) -> None:
        self.name = name
        self.up = True

    def complete(self, prompt: str) -> str:
        if not self.up:
            raise ModelUnavailable(f"{self.name} is down")
        return f"{self.name}: answer to {prompt!r}"


clock = bw.ManualClock()
primary, backup = Model("primary"), Model("backup")

# Rules as the config file writes them: while the circuit is open, ask the backup model.
rules = [
    {
        "name": "backup-when-open",
        "conditions": {"reasons": ["circuit_breaker_open"]},
        "severityThreshold": "significant",
        "strategy": "backup-model",
        "priority": 1,
    }
]


class AskBackup(bw.Strategy):
    """A user strategy: another model, only while it is up."""

    name = "backup-model"
    kind = "fallback_target"
    priority = 5
    description = "ask the backup model"

    def is_available(self) -> bool:
        return backup.up

    def execute(self, context: bw.FallbackContext) -> str:
        return backup.complete(*context.args, **context.kwargs)


fallback = bw.Fallback(
    [
        bw.CachedResponse(priority=1),  # the last good answer to the same prompt
        AskBackup(),
        bw.OfflineResponse("The assistant is busy; please try again shortly.", priority=9),
    ],
    rules=rules,
    clock=clock,
)
policy = bw.Policy(
    breaker=bw.CircuitBreaker("llm", failure_threshold=2, recovery_timeout=30.0, success_threshold=1, clock=clock),
    retry=bw.Retry(max_attempts=2, base_delay=0.5, jitter="none"),
    fallback=fallback,
)
manager = fallback.manager
log: List[str] = []
manager.on("*", lambda e: log.append(f"{e.kind}: {e.component} {e.reason} {e.severity} {e.strategy or ''}".rstrip()))

health = bw.HealthRegistry(clock=clock, degradation=manager, interval=10.0, failure_threshold=1)
health.add_dependency(policy.breaker or "llm")


@health.check(kind="readiness", timeout=2.0)
def vector_store() -> str:
    return "healthy" if primary.up else "degraded"


def ask(prompt: str) -> None:
    info = policy.call_with_info(primary.complete, prompt)
    how = f"fallback {info.strategy} ({info.reason}, stale={info.stale})" if info.from_fallback else "live"
    print(f"  {prompt!r}: {info.value!r} [{how}, {info.attempts} attempts]")


def main() -> None:
    print("healthy:")
    ask("capital of France")
    primary.up = False
    print("primary down: retried, then the last good answer; the circuit opens")
    ask("capital of France")
    print("circuit open: the rule picks the backup model")
    ask("capital of Spain")
    backup.up = False
    print("both down:")
    ask("capital of Spain")
    ask("capital of France")
    health.run_due()
    report = health.status()
    print(f"health: {report.status}, ready={report.ready}; degraded: {manager.overall_level}")
    clock.advance(400.0)  # past the cache's TTL: served stale (stale-if-error)
    ask("capital of France")
    print("both back:")
    primary.up = backup.up = True
    clock.advance(30.0)
    ask("capital of Germany")
    clock.advance(10.0)
    health.run_due()
    print(f"recovered: health {health.status().status}, degraded: {manager.overall_level}")
    stats = manager.statistics()
    print(f"degradations: {stats.total_triggered} started, {stats.total_recovered} ended, {stats.calls_served} served")
    print("events:", *log, sep="\n  ")
    metrics = bw.prometheus(policy, health, registry=None)
    wanted: Dict[str, str] = {}
    for line in metrics.splitlines():
        if line.startswith(("breakwater_policy_fallbacks_total", "breakwater_degradation_served_total")):
            name, value = line.rsplit(" ", 1)
            wanted[name] = value
    print("metrics:", wanted)


if __name__ == "__main__":
    main()
