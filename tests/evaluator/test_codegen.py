"""The generated check path (evaluator/codegen.py) answers exactly as the interpreter (`Evaluation._interpret`).

Each operator family gets its generated source printed and its shape asserted, and every compiled spec is
run against the interpreter on hostile users: same value, rule, result fields, exposures, or the same error.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from statsig_lite.evaluator import codegen, evaluate
from statsig_lite.evaluator import operators as ops
from statsig_lite.evaluator.evaluate import Evaluation
from statsig_lite.store.model import Spec
from statsig_lite.store.snapshot import load_snapshot
from statsig_lite.user import StatsigUser

TARGETS: dict[str, Any] = {
    "gt": 5, "gte": "5", "lt": 10.5, "lte": None, "version_gt": "1.2.3", "version_gte": "1.2", "version_lt": "2.0.0",
    "version_lte": "1.2.3-beta", "version_eq": "1.2.3", "version_neq": "1.2.3", "any": ["US", "ca", 1, 2.0, None],
    "none": ["us", "5"], "any_case_sensitive": ["US", "5"], "none_case_sensitive": ["US", 1], "eq": "US", "neq": 5,
    "str_starts_with_any": ["u", 1], "str_ends_with_any": ["S"], "str_contains_any": ["s", "."],
    "str_contains_none": ["x"], "str_matches": "^[a-z]+$", "before": "2023-01-01T00:00:00Z", "after": 1700000000000,
    "on": 1700000000000, "array_contains_any": ["US", 1], "array_contains_none": ["x"],
    "array_contains_all": ["US"], "not_array_contains_all": ["US", "CA"], "in_segment_list": "list1",
    "not_in_segment_list": "list1",
}
OPERATORS = sorted(set(ops.CORE) | set(ops.LEGACY))
FIELDS = [("user_field", "country"), ("user_field", "age"), ("user_field", "userID"), ("user_field", "appVersion"),
          ("unit_id", None), ("user_bucket", None), ("environment_field", "tier"), ("current_time", None)]


class Text(str):
    """A str subclass: not on the inlined `type(v) is str` path."""


HOSTILE: list[Any] = [None, "", "US", "us", " 5 ", "5", "1_000", "1.2.3", "2023-01-01", Text("US"), 0, 1, -1, 5, 1.5,
                      True, False, 2**70, -(2**1100), math.nan, math.inf, ["US", 1], {"a": 1}, "ÜS", "ǅ"]


def _condition(ctype: str, field: str | None, op: str, target: Any, id_type: str = "userID") -> dict[str, Any]:
    cond: dict[str, Any] = {"type": ctype, "operator": op, "targetValue": target, "idType": id_type}
    if field is not None:
        cond["field"] = field
    if ctype == "user_bucket":
        cond["additionalValues"] = {"salt": "s1"}
        numeric, member = op in ("gt", "gte", "lt", "lte"), op in ("any", "none")
        cond["targetValue"] = 500 if numeric else [1, 2, 3, 500] if member else target
    return cond


def _rule(rid: str, conditions: list[dict[str, Any]], pct: float = 100, **extra: Any) -> dict[str, Any]:
    return {"id": rid, "salt": rid, "passPercentage": pct, "returnValue": {"r": rid}, "idType": "userID",
            "conditions": conditions, **extra}


def _specs() -> list[dict[str, Any]]:
    gates = []
    for op in OPERATORS:
        for ctype, field in FIELDS:
            name = f"{op}.{ctype}.{field}"
            gates.append({"name": name, "type": "feature_gate", "salt": name, "enabled": True, "idType": "userID",
                          "defaultValue": False, "rules": [_rule("r0", [_condition(ctype, field, op, TARGETS[op])])]})
    # several rules and conditions: short-circuit or not, pass percentages, a nested gate, another unit
    gates.append({"name": "multi", "type": "feature_gate", "salt": "m", "enabled": True, "idType": "userID",
                  "defaultValue": False, "rules": [
                      _rule("a", [_condition("user_field", "country", "any", ["US"]),
                                  _condition("user_field", "age", "gt", 3)], 50),
                      _rule("b", [{"type": "pass_gate", "targetValue": "any.user_field.country"},
                                  _condition("user_bucket", None, "lt", 0)], 100),
                      _rule("c", [_condition("user_field", "email", "none", ["x"]),
                                  _condition("unit_id", None, "any", ["u1"], "stableID")], 30, idType="stableID"),
                      _rule("d", [{"type": "public"}], 0),
                      _rule("e", [], 70)]})
    # pass percentages by userID and by another unit, over several salts (a missing unit hashes as "")
    for i in range(12):
        gates.append({"name": f"pct{i}", "type": "feature_gate", "salt": f"p{i}", "enabled": True, "idType": "userID",
                      "rules": [_rule(f"p{i}", [], 50), _rule(f"q{i}", [], 50, idType="stableID")]})
    return gates


def _payload(fmt: str, gates: list[dict[str, Any]] | None = None) -> str:
    gates = _specs() if gates is None else gates
    if fmt == "v1":
        return json.dumps({"time": 1, "feature_gates": gates, "dynamic_configs": [], "layer_configs": []})
    return json.dumps({"time": 1, "feature_gates": {g["name"]: g for g in gates}, "dynamic_configs": {},
                       "layer_configs": {}, "condition_map": {}})


def _users() -> list[StatsigUser]:
    # users that reach each rule of "multi" with units hashing all ways (pass percentages strictly inside)
    users = [StatsigUser(), StatsigUser(country="US", custom={"age": 9})]
    users += [StatsigUser(user_id=f"u{i}", country="US", custom={"age": 9}, custom_ids={"stableID": f"s{i}"})
              for i in range(20)]
    for value in HOSTILE:
        users.append(StatsigUser(user_id="u1", country=value, app_version=value, email=value,
                                 custom={"age": value, "country": value}, custom_ids={"stableID": "u1"}))
        users.append(StatsigUser(user_id=value if isinstance(value, str) else None, custom={"age": value},
                                 _statsig_environment={"tier": value}))
    return users


def _outcome(snapshot: Any, spec: Spec, user: StatsigUser) -> tuple[Any, ...]:
    ev = Evaluation(snapshot, user, user.environment(), 1700000000000)
    try:
        ev.run(spec)
    except Exception as exc:  # the same exception escapes both forms, or none
        return ("raised", type(exc).__name__)
    return (ev.value, ev.rule_id, dict(ev.json_value), ev.id_type, ev.group_name, ev.reason, ev.version,
            list(ev.secondary_exposures), ev.sampling_rate, ev.deciding_rate, ev.ctx_rate, ev.prev_rate,
            ev.forward_all_exposures, ev.seen_analytical_gates, ev.is_experiment_group, ev.unsupported)


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_generated_specs_answer_like_the_interpreter_on_hostile_users(fmt: str) -> None:
    interpreted = load_snapshot(_payload(fmt))
    compiled = load_snapshot(_payload(fmt))
    for spec in interpreted.gates.values():
        spec.fast = lambda ev, s=spec: ev._interpret(s)
    for spec in compiled.gates.values():
        spec.fast = codegen.compile_spec(spec)
    users = _users()
    compared = 0
    for name, spec in compiled.gates.items():
        for user in users:
            want = _outcome(interpreted, interpreted.gates[name], user)
            got = _outcome(compiled, spec, user)
            assert got == want or (want != want and repr(got) == repr(want)), (name, user, want, got)
            compared += 1
    assert compared > 5000


@pytest.mark.parametrize("legacy", [False, True], ids=["core", "legacy"])
@pytest.mark.parametrize("op", OPERATORS)
def test_generated_form_of_each_operator(op: str, legacy: bool) -> None:
    """The rule source for `country <op>` and `bucket <op>`: fused where the family is inlined, else a call."""
    gates = [{"name": g, "type": "feature_gate", "salt": g, "enabled": True,
              "rules": [_rule("r", [_condition(c, f, op, TARGETS[op])])]}
             for g, c, f in (("attr", "user_field", "country"), ("bucket", "user_bucket", None))]
    snapshot = load_snapshot(_payload("v1" if legacy else "v2", gates))
    for gate in ("attr", "bucket"):
        rule = snapshot.gates[gate].rules[0]
        if rule.checks is None:  # an operator this dialect cannot compile to a value test (unsupported)
            continue
        shape, _ = codegen.rule_shape(rule)
        ((get, test),) = rule.checks
        get_kind, test_kind = codegen._family(get)[0], codegen._family(test)[0]
        source = codegen.rule_source(shape)
        print(f"--- {'legacy' if legacy else 'core'} {gate} {op}: getter {get_kind}, predicate {test_kind}\n{source}")
        if shape[0] == (False,):
            assert "t0(g0(ev))" in source
            continue
        assert "c0(ev)" in source
        if gate == "bucket" and test_kind[0] not in ("cnum", "lnum"):
            test_kind = codegen.CALL  # the bucket (an int) takes only the numeric inline forms
        fused = codegen.condition_source(get_kind, test_kind)
        print(fused)
        if gate == "attr":
            assert "v = ev.user.country" in fused
        else:
            assert "_hash(gv + (u if type(u) is str" in fused
        if op in ("any", "none", "any_case_sensitive", "none_case_sensitive") and gate == "attr":
            assert ("not in tv" if op.startswith("none") else " in tv") in fused
            assert ("v.casefold()" if legacy else "v.lower()") in fused or op.endswith("case_sensitive")
        if op in ("gt", "gte", "lt", "lte"):
            symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            assert f"float(v) {symbol} tv" in fused or test_kind == codegen.CALL


def test_rule_and_spec_shapes() -> None:
    short = codegen.rule_source(((True, False), True))
    print(short)
    assert ("if not c0(ev):\n            ev.ctx_rate = rate\n            ev.value = False\n            return False"
            in short)
    assert "if not t1(g1(ev)):" in short
    every = codegen.rule_source(((False, False), False))  # legacy: all conditions run, a later one may raise
    assert every.count("    p = False") == 2 and "ev.value = p" in every
    nested = codegen.rule_source((None, False))  # nested gates and the rest: the interpreter's loop
    assert "p = ev._rule_matches(R)" in nested and "if ev.unsupported:" in nested
    spec = codegen.spec_source(2)
    print(spec)
    assert spec.index("if f0(ev):") < spec.index("if f1(ev):") < spec.index("ev._finish(S, None, False)")


def test_a_spec_compiles_once_it_is_hot() -> None:
    snapshot = load_snapshot(_payload("v1"))
    spec = snapshot.gates["multi"]
    user = StatsigUser(user_id="u1", country="US", custom={"age": 9})
    assert spec.fast == 0
    first = _outcome(snapshot, spec, user)
    assert spec.fast == 1  # counted: the interpreter ran
    spec.fast = evaluate.COMPILE_AFTER
    second = _outcome(snapshot, spec, user)
    assert callable(spec.fast) and spec.fast.__name__ == "spec" and first == second
