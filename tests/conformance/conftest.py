from __future__ import annotations

from typing import Any

from tests.conformance.test_conformance import RESULTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("conformance")
    for name, (passed, total) in sorted(RESULTS.items()):
        pct = 100.0 * passed / total if total else 100.0
        terminalreporter.write_line(f"{name:40s} {passed:6d}/{total:<6d} {pct:6.2f}%")
