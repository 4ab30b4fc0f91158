"""Gate cycles end in an error result, quickly, whichever way the gates reference each other."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from statsig_lite.evaluator.evaluate import evaluate
from statsig_lite.store.snapshot import load_snapshot


@pytest.fixture(autouse=True)
def _fail_if_it_hangs() -> Iterator[None]:
    def timeout(signum: int, frame: Any) -> None:
        raise TimeoutError("evaluation did not finish: exponential retries through a cycle?")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _gate(name: str, conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "type": "feature_gate", "salt": name, "enabled": True, "defaultValue": False,
            "idType": "userID", "rules": [{"id": f"{name}_rule", "passPercentage": 100, "returnValue": True,
                                           "conditions": conditions}]}


@pytest.mark.parametrize("ctype", ["pass_gate", "fail_gate", "multi_pass_gate", "multi_fail_gate"])
def test_cycle_is_an_error_not_a_hang(ctype: str) -> None:
    def ref(target: str) -> dict[str, Any]:
        value: Any = [target, "g0", "g1"] if ctype.startswith("multi") else target
        return {"type": ctype, "targetValue": value}

    payload = {"time": 1, "feature_gates": [
        _gate("g0", [ref("g1"), ref("g1")]), _gate("g1", [ref("g0"), ref("g0")])], "dynamic_configs": [],
        "layer_configs": []}
    result = evaluate(load_snapshot(json.dumps(payload)), "gates", "g0", None, None, 0)
    assert result.reason == "error"
    assert result.value is False or result.rule_id == "error"
