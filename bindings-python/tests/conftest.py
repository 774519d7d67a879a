from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

# Scenario files the Python runner could not run (component not supported yet), by component.
# Printed at the end of the session: a skip is never silent.
CONFORMANCE_SKIPS: Counter[str] = Counter()
CONFORMANCE_RUN: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not CONFORMANCE_RUN and not CONFORMANCE_SKIPS:
        return
    tr = terminalreporter
    tr.section("breakwater conformance")
    for comp, n in sorted(CONFORMANCE_RUN.items()):
        tr.write_line(f"ran     {n:4d} scenario runs for component {comp!r}")
    for comp, n in sorted(CONFORMANCE_SKIPS.items()):
        tr.write_line(f"SKIPPED {n:4d} scenario runs: {comp}")


@pytest.fixture
def clock() -> Any:
    import breakwater as bw

    return bw.ManualClock()
