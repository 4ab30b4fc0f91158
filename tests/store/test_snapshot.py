"""Loading payloads: both formats, all or nothing, and errors that name the problem and where."""

from __future__ import annotations

import json
from typing import Any

import pytest

from statsig_lite.errors import SpecFormatError
from statsig_lite.evaluator.evaluate import evaluate
from statsig_lite.store.snapshot import detect_format, load_snapshot

GATE = {"type": "feature_gate", "salt": "s", "enabled": True, "defaultValue": False, "idType": "userID",
        "entity": "feature_gate", "rules": [{"id": "r1", "passPercentage": 100, "returnValue": True,
                                             "conditions": [{"type": "public"}]}]}


def v1(**extra: Any) -> dict[str, Any]:
    return {"time": 5, "feature_gates": [{"name": "g", **GATE}], "dynamic_configs": [], "layer_configs": [], **extra}


def v2(**extra: Any) -> dict[str, Any]:
    gate = {**GATE, "rules": [{**GATE["rules"][0], "conditions": ["c1"]}]}  # type: ignore[dict-item]
    return {"time": 5, "response_format": "dcs-v2", "feature_gates": {"g": gate}, "dynamic_configs": {},
            "layer_configs": {}, "condition_map": {"c1": {"type": "public"}}, **extra}


def test_both_formats_load_to_the_same_answer() -> None:
    for payload, fmt in ((v1(), "v1"), (v2(), "v2")):
        snapshot = load_snapshot(json.dumps(payload).encode())
        assert snapshot.format == fmt == detect_format(payload)
        result = evaluate(snapshot, "gates", "g", None, None, 0)
        assert (result.value, result.rule_id) == (True, "r1")


@pytest.mark.parametrize(
    ("payload", "path", "problem"),
    [
        (b"{not json", "", "not valid JSON"),
        (b"[1, 2]", "", "not a JSON object"),
        (json.dumps({"feature_gates": []}).encode(), "time", "missing"),
        (json.dumps(v1(feature_gates=[{"type": "feature_gate"}])).encode(), "feature_gates[0]", "name missing"),
        (json.dumps(v1(feature_gates=[{"name": "g", **GATE, "rules": [{"passPercentage": 5}]}])).encode(),
         "feature_gates.g.rules[0]", "id missing"),
        (json.dumps(v1(feature_gates=[{"name": "g", **GATE, "rules": [
            {"id": "r", "passPercentage": 1, "conditions": ["x"]}]}])).encode(),
         "feature_gates.g.rules[0].conditions[0]", "condition is not an object"),
        (json.dumps(v2(condition_map=[])).encode(), "condition_map", "expected an object"),
        (json.dumps(v1(dynamic_configs={"a": 1})).encode(), "dynamic_configs", "expected a list"),
        (json.dumps(v1(feature_gates=[{"name": "g", **GATE, "rules": [
            {"id": "r", "passPercentage": "lots"}]}])).encode(), "feature_gates.g.rules[0].passPercentage",
         "not a number"),
        (json.dumps(v2(feature_gates={"g": {**GATE, "rules": [{"id": "r", "conditions": ["c1", 7]}]}})).encode(),
         "feature_gates.g.rules[0].conditions[1]", "condition key is not a string"),
        (json.dumps(v2(condition_map={"c1": {"operator": "any"}})).encode(),
         "feature_gates.g.rules[0].conditions[0]", "type missing"),
    ],
)
def test_malformed_payload_names_what_and_where(payload: bytes, path: str, problem: str) -> None:
    with pytest.raises(SpecFormatError) as info:
        load_snapshot(payload)
    assert info.value.path == path
    assert problem in info.value.problem


def test_has_updates_false_is_not_a_payload() -> None:
    with pytest.raises(SpecFormatError, match="no updates"):
        load_snapshot(b'{"has_updates": false}')


def test_unknown_condition_type_is_unsupported_not_a_crash() -> None:
    payload = v2(condition_map={"c1": {"type": "brand_new_condition", "operator": "any", "targetValue": [1]}})
    result = evaluate(load_snapshot(json.dumps(payload)), "gates", "g", None, None, 0)
    assert (result.value, result.reason) == (False, "Unsupported")
    legacy = v1(feature_gates=[{"name": "g", **GATE, "rules": [
        {"id": "r", "passPercentage": 100, "conditions": [{"type": "user_field", "operator": "new_op"}]}]}])
    snapshot = load_snapshot(json.dumps(legacy))
    assert "g" in snapshot.unsupported  # the legacy SDK drops the spec at load time
    assert evaluate(snapshot, "gates", "g", None, None, 0).reason == "Unsupported"


def test_missing_condition_key_is_unsupported_in_v2() -> None:
    payload = v2(condition_map={})
    assert evaluate(load_snapshot(json.dumps(payload)), "gates", "g", None, None, 0).reason == "Unsupported"


def _legacy_rule(*conditions: dict[str, Any]) -> Any:
    gate = {"name": "g", **GATE, "rules": [{"id": "r", "passPercentage": 100, "conditions": list(conditions)}]}
    return load_snapshot(json.dumps(v1(feature_gates=[gate])).encode()).gates["g"].rules[0]


def test_legacy_rules_stop_early_only_when_no_condition_can_raise() -> None:
    email = {"type": "user_field", "field": "email", "operator": "any", "targetValue": ["a@x.io"]}
    country = {"type": "user_field", "field": "country", "operator": "none", "targetValue": ["FR"]}
    bucket = {"type": "user_bucket", "operator": "lt", "targetValue": 50, "additionalValues": {"salt": "s"}}
    age = {"type": "user_field", "field": "age", "operator": "gt", "targetValue": 5}
    assert _legacy_rule(email, country).short_circuit
    assert not _legacy_rule(email, age).short_circuit  # float("abc") raises in the legacy SDK: age must run
    assert not _legacy_rule(email, bucket).short_circuit  # the bucket hash encodes the unit ID: it can raise
    # and the error still surfaces after an earlier condition failed
    from statsig_lite import StatsigUser

    gate = {"name": "g", **GATE, "rules": [{"id": "r", "passPercentage": 100, "conditions": [email, age]}]}
    snapshot = load_snapshot(json.dumps(v1(feature_gates=[gate])).encode())
    result = evaluate(snapshot, "gates", "g", StatsigUser("u", email="b@y.io", custom={"age": "abc"}), None, 0)
    assert (result.value, result.rule_id, result.reason) == (False, "error", "error")


def test_a_unit_id_utf8_cannot_encode_is_an_error_in_v1_after_a_failed_condition() -> None:
    """The legacy SDK hashes the unit ID of every bucket condition, even after an earlier one failed."""
    from statsig_lite import StatsigUser

    email = {"type": "user_field", "field": "email", "operator": "any", "targetValue": ["nomatch"]}
    bucket = {"type": "user_bucket", "operator": "lt", "targetValue": 1000, "additionalValues": {"salt": "s"}}
    gate = {"name": "g", **GATE, "rules": [{"id": "r", "passPercentage": 100, "conditions": [email, bucket]}]}
    snapshot = load_snapshot(json.dumps(v1(feature_gates=[gate])).encode())
    user = StatsigUser(json.loads('"a\\ud800b"'))
    result = evaluate(snapshot, "gates", "g", user, None, 0)
    assert (result.value, result.rule_id, result.reason) == (False, "error", "error")


def test_core_numbers_beyond_f64_are_not_numbers_and_not_errors() -> None:
    """statsig-python-core reads no number from an integer beyond f64: the comparison fails, nothing raises."""
    from statsig_lite import StatsigUser

    child = {**GATE, "rules": [{"id": "r_child", "passPercentage": 100, "returnValue": True, "conditions": ["n"]}]}
    parent = {**GATE, "rules": [{"id": "r_parent", "passPercentage": 100, "returnValue": True, "conditions": ["f"]}]}
    payload = {"time": 5, "response_format": "dcs-v2", "dynamic_configs": {}, "layer_configs": {},
               "feature_gates": {"child": child, "parent": parent},
               "condition_map": {"n": {"type": "user_field", "field": "n", "operator": "gt", "targetValue": 5},
                                 "f": {"type": "fail_gate", "targetValue": "child"}}}
    snapshot = load_snapshot(json.dumps(payload).encode())
    user = StatsigUser("u", custom={"n": 10**400})
    assert (evaluate(snapshot, "gates", "child", user, None, 0).rule_id) == "default"
    parent_result = evaluate(snapshot, "gates", "parent", user, None, 0)
    assert (parent_result.value, parent_result.rule_id, parent_result.reason) == (True, "r_parent", "")


def test_the_texts_specs_and_rules_repeat_are_one_object_each() -> None:
    from tests.differential.harness import to_v2
    from tests.differential.specs import cond, config, gate, payload, rule

    def group(name: str) -> list[dict[str, Any]]:
        return [rule(f"{name}-r", [cond("public")], groupName="Control", idType="stableID")]

    v1 = payload([gate("a", group("a")), gate("b", group("b"))], [config("c", group("c"))], [], {})
    for text in (json.dumps(v1), json.dumps(to_v2(v1))):
        for snapshot in (load_snapshot(text), load_snapshot(json.loads(text))):
            a, b, c = snapshot.gates["a"], snapshot.gates["b"], snapshot.configs["c"]
            assert a.type is b.type and a.entity is b.entity and a.id_type is b.id_type is c.id_type
            rules = [a.rules[0], b.rules[0], c.rules[0]]
            assert rules[0].group_name == "Control" and all(r.group_name is rules[0].group_name for r in rules)
            assert rules[0].id_type == "stableID" and all(r.id_type is rules[0].id_type for r in rules)
