"""A payload decoded for one load has its specs emptied as they compile (memory); nothing else changes.

The same payload as text (released), as bytes through `read_snapshot` (released) and as a caller's dict
(kept whole) must load to the same answers, including the legacy pass that compiles again after dropping
an unsupported spec, and a caller's dict must come back untouched.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from statsig_lite import StatsigUser
from statsig_lite.evaluator.evaluate import evaluate
from statsig_lite.store.envelope import read_snapshot
from statsig_lite.store.model import Snapshot
from statsig_lite.store.snapshot import load_snapshot

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
USERS = [StatsigUser(user_id=f"u{i}", email=f"p{i}@statsig.com", country="US" if i % 2 else "DE",
                     custom={"level": i}) for i in range(8)]


def _answers(snapshot: Snapshot) -> list[Any]:
    out: list[Any] = [sorted(snapshot.unsupported)]
    for kind, specs in (("gates", snapshot.gates), ("configs", snapshot.configs), ("layers", snapshot.layers)):
        for name in sorted(specs):
            for user in USERS:
                ev = evaluate(snapshot, kind, name, user, None, 1_700_000_000_000)
                out.append((name, ev.value, ev.rule_id, dict(ev.json_value), ev.group_name, ev.reason,
                            list(ev.secondary_exposures), ev.allocated_experiment))
    return out


def _legacy_with_a_dropped_gate() -> dict[str, Any]:
    gate = {"type": "feature_gate", "salt": "s", "enabled": True, "defaultValue": False, "idType": "userID",
            "entity": "feature_gate"}
    passing = {"id": "r1", "passPercentage": 100, "returnValue": True, "conditions": [{"type": "public"}]}
    return {
        "time": 5, "dynamic_configs": [], "layer_configs": [],
        "feature_gates": [
            {"name": "new", **gate, "rules": [{"id": "r", "passPercentage": 100, "conditions": [
                {"type": "user_field", "field": "email", "operator": "brand_new_operator"}]}]},
            {"name": "parent", **gate, "rules": [{"id": "p", "passPercentage": 100, "returnValue": True,
                                                  "conditions": [{"type": "pass_gate", "targetValue": "new"}]}]},
            {"name": "plain", **gate, "rules": [passing]},
        ],
    }


def _payloads() -> list[tuple[str, str]]:
    found = [("legacy with a dropped gate", json.dumps(_legacy_with_a_dropped_gate()))]
    for suite in ("eval_proj", "python_sdk_testdata_dcs", "python_sdk_testdata_layer_exposures"):
        path = CONFORMANCE / suite / "dcs.json"
        if path.exists():
            found.append((suite, path.read_text()))
    return found


@pytest.mark.parametrize(("label", "text"), _payloads(), ids=[label for label, _ in _payloads()])
def test_released_and_kept_trees_load_to_the_same_answers(label: str, text: str) -> None:
    given = json.loads(text)
    before = copy.deepcopy(given)
    kept = _answers(load_snapshot(given))
    assert given == before  # a caller's dict is never emptied
    assert _answers(load_snapshot(text)) == kept
    assert _answers(read_snapshot(text.encode()).snapshot) == kept


def test_the_legacy_second_pass_sees_the_whole_tree() -> None:
    snapshot = load_snapshot(json.dumps(_legacy_with_a_dropped_gate()))
    assert snapshot.unsupported == frozenset({"new"})
    assert set(snapshot.gates) == {"parent", "plain"}
    # the dropped gate is unknown to its parent, as the legacy SDK has it, and the rest is intact
    assert evaluate(snapshot, "gates", "plain", USERS[0], None, 0).value is True
    parent = evaluate(snapshot, "gates", "parent", USERS[0], None, 0)
    assert parent.value is False and parent.secondary_exposures[0]["gate"] == "new"
