"""bw.Registry: components by name from a config document (JSON, TOML, env variables)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import breakwater as bw

SEED = {
    "circuitBreakers": {
        "defaults": {"failureThreshold": 5, "timeout": 60000, "halfOpenMaxCalls": 3},
        "agentSpecific": {"architect": {"failureThreshold": 3, "timeout": 30000}},
    },
    "retry": {"defaults": {"max_attempts": 3}, "agentSpecific": {}},
    "healthChecks": {"enabled": True, "interval": 30000, "timeout": 5000},
    "monitoring": {"enabled": True, "port": 3001},
}


def test_seed_document_layers_defaults_and_per_name(clock: bw.ManualClock) -> None:
    reg = bw.Registry.from_dict(SEED, clock=clock)
    a = reg.breaker("architect")
    assert isinstance(a, bw.CircuitBreaker) and a.name == "architect" and a.clock is clock
    assert a.config["failure_threshold"] == 3 and a.config["recovery_timeout"] == 30.0
    other = reg.breaker("coder")
    assert other.config["failure_threshold"] == 5 and other.config["half_open_max_calls"] == 3
    assert reg.breaker("architect") is a
    assert reg.names == ["architect", "coder"]
    assert reg.get_breaker("nobody") is None
    assert reg.retry("architect").config["max_attempts"] == 3
    p = reg.policy("architect")
    assert isinstance(p, bw.Policy) and p.breaker is a and p.clock is clock
    assert reg.remove_breaker("coder") and reg.names == ["architect"]


def test_from_file_json_and_toml(tmp_path: Path) -> None:
    j = tmp_path / "breakwater.json"
    j.write_text(json.dumps(SEED))
    assert bw.Registry.from_file(j).breaker("architect").config["failure_threshold"] == 3
    t = tmp_path / "breakwater.toml"
    t.write_text("[circuit_breakers.defaults]\nfailure_threshold = 7\nrecovery_timeout_ms = 1500\n")
    b = bw.Registry.from_file(str(t)).breaker("x")
    assert b.config["failure_threshold"] == 7 and b.config["recovery_timeout"] == 1.5
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(bw.ConfigError):
        bw.Registry.from_file(bad)


def test_env_variables_on_top(monkeypatch: Any) -> None:
    monkeypatch.setenv("CIRCUIT_BREAKER_ENABLED", "false")
    reg = bw.Registry.from_dict(SEED, env=True)
    assert reg.breaker("architect").state == "disabled"
    assert bw.Registry.from_dict(SEED).breaker("architect").state == "closed"
    monkeypatch.setenv("CIRCUIT_BREAKER_ENABLD", "true")
    with pytest.raises(bw.ConfigError) as info:
        bw.Registry.from_dict(SEED, env=True)
    assert info.value.key == "CIRCUIT_BREAKER_ENABLD"


def test_invalid_documents_name_the_key_as_written() -> None:
    with pytest.raises(bw.ConfigError) as info:
        bw.Registry.from_dict({"circuitBreakers": {"agentSpecific": {"a": {"successThreshold": 0}}}})
    e = info.value
    assert e.key == "successThreshold" and e.value == 0
    assert e.path == "circuitBreakers.agentSpecific.a.successThreshold"
    with pytest.raises(bw.ConfigError) as info:
        bw.Registry.from_dict({"retyr": {}})
    assert info.value.key == "retyr" and "retry" in (info.value.allowed or "")
    assert info.value.path == "retyr"


def test_reload_keeps_state_and_applies_overrides(clock: bw.ManualClock) -> None:
    reg = bw.Registry.from_dict(SEED, clock=clock)
    a = reg.breaker("architect")
    a.force_open()
    reg.reload({"circuitBreakers": {"agentSpecific": {"architect": {"failureThreshold": 9}}}})
    assert reg.breaker("architect") is a and a.state == "forced_open"
    assert a.config["failure_threshold"] == 9
    with pytest.raises(bw.ConfigError):
        reg.reload({"circuitBreakers": {"defaults": {"failureThreshold": -1}}})
    assert a.config["failure_threshold"] == 9


def test_limits_by_name_and_bounds(clock: bw.ManualClock) -> None:
    reg = bw.Registry.from_dict(
        {"rateLimiters": {"defaults": {"maxRequests": 5, "timeWindow": 1000}},
         "bulkheads": {"defaults": {"maxConcurrent": 2}}},
        clock=clock,
        max_size=2,
    )
    lim = reg.rate_limiter("db")
    assert lim is reg.rate_limiter("db") and lim.config["max_requests"] == 5 and lim.name == "db"
    bh = reg.bulkhead("db")
    assert bh.config["max_concurrent"] == 2
    p = reg.policy("db")
    assert p.rate_limiter is lim and p.bulkhead is bh
    for n in ("a", "b", "c"):
        reg.breaker(n)
    assert len(reg.names) == 2  # bounded: the least recently used closed breaker went
    with pytest.raises(bw.ConfigError):
        bw.Registry(max_size=0)
    with pytest.raises(bw.ConfigError):
        bw.Registry(idle_ttl=-1.0)


def test_process_wide_registry() -> None:
    b = bw.registry.breaker("test-process-wide")
    assert bw.registry.breaker("test-process-wide") is b
    assert "test-process-wide" in bw.registry.names
    bw.registry.remove_breaker("test-process-wide")
