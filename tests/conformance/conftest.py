"""Print the JDM conformance table at the end of a session that ran the conformance tests."""

from __future__ import annotations

from typing import Any

from jdm_harness import RESULTS, summary_lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("JDM conformance against zen-engine")
    for line in summary_lines(RESULTS):
        terminalreporter.write_line(line)
