"""Random specs and random users: a check never raises, and evaluation is deterministic."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser

_TYPES = ["public", "user_field", "pass_gate", "fail_gate", "multi_pass_gate", "environment_field", "current_time",
          "user_bucket", "unit_id", "ip_based", "ua_based", "target_app", "no_such_type"]
_OPERATORS = ["gt", "gte", "lt", "lte", "version_gt", "version_lte", "version_eq", "any", "none",
              "any_case_sensitive", "none_case_sensitive", "str_starts_with_any", "str_ends_with_any",
              "str_contains_any", "str_contains_none", "str_matches", "eq", "neq", "before", "after", "on",
              "in_segment_list", "not_in_segment_list", "array_contains_any", "array_contains_none",
              "array_contains_all", "not_array_contains_all", "no_such_op", None]
_FIELDS = ["email", "userID", "level", "country", "os_name", "browser_version", "tier", "appVersion", None]
_GATES = ["g0", "g1", "g2", "missing_gate", "segment:s0"]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=6), inner, max_size=4), max_leaves=8)


@st.composite
def conditions(draw: Any) -> dict[str, Any]:
    ctype = draw(st.sampled_from(_TYPES))
    target: Any = draw(st.sampled_from(_GATES)) if "gate" in ctype else draw(json_values)
    if ctype == "multi_pass_gate":
        target = draw(st.lists(st.sampled_from(_GATES), max_size=3))
    return {
        "type": ctype,
        "operator": draw(st.sampled_from(_OPERATORS)),
        "field": draw(st.sampled_from(_FIELDS)),
        "targetValue": target,
        "additionalValues": draw(st.sampled_from([{}, {"salt": "s"}, None])),
        "idType": draw(st.sampled_from(["userID", "stableID", "companyID"])),
    }


@st.composite
def specs(draw: Any, kind: str) -> dict[str, Any]:
    rules = []
    for i in range(draw(st.integers(0, 3))):
        rules.append({
            "id": f"r{i}", "name": f"r{i}", "salt": "rs",
            "passPercentage": draw(st.sampled_from([0, 33.3, 50, 100])),
            "conditions": draw(st.lists(conditions(), max_size=3)),
            "returnValue": True if kind == "feature_gate" else {"p": draw(json_values)},
            "idType": "userID",
        })
    return {
        "type": kind, "salt": "salt", "enabled": draw(st.booleans()), "idType": "userID",
        "defaultValue": False if kind == "feature_gate" else {"p": 0}, "rules": rules, "entity": "feature_gate",
    }


@st.composite
def payloads(draw: Any) -> dict[str, Any]:
    gates = {name: draw(specs("feature_gate")) for name in ("g0", "g1", "g2", "segment:s0")}
    config = draw(specs("dynamic_config"))
    if draw(st.booleans()):  # v1
        return {"time": 1, "feature_gates": [{"name": n, **s} for n, s in gates.items()],
                "dynamic_configs": [{"name": "c0", **config}], "layer_configs": []}
    cmap: dict[str, Any] = {}
    for spec in [*gates.values(), config]:
        for rule in spec["rules"]:
            keys = []
            for cond in rule["conditions"]:
                keys.append(str(len(cmap)))
                cmap[keys[-1]] = cond
            rule["conditions"] = keys
    return {"time": 1, "response_format": "dcs-v2", "feature_gates": gates, "dynamic_configs": {"c0": config},
            "layer_configs": {}, "condition_map": cmap}


users = st.builds(
    StatsigUser,
    user_id=st.one_of(st.none(), st.text(max_size=10), st.integers()),
    email=st.one_of(st.none(), st.text(max_size=10), st.integers(), st.booleans()),
    ip=st.one_of(st.none(), st.sampled_from(["8.8.8.8", "::1", " 1.0.0.0", "x"])),
    user_agent=st.one_of(st.none(), st.sampled_from(["curl/8.4.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4)", ""])),
    app_version=st.one_of(st.none(), st.text(max_size=8), st.floats(allow_nan=False)),
    custom=st.one_of(st.none(), st.dictionaries(st.sampled_from(["level", "LEVEL", "tier"]), json_values, max_size=3)),
    custom_ids=st.one_of(st.none(), st.dictionaries(st.sampled_from(["stableID", "companyID"]), st.text(max_size=5))),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=payloads(), user=users)
def test_checks_never_raise_and_are_deterministic(payload: dict[str, Any], user: StatsigUser) -> None:
    server = StatsigServer(clock=lambda: 1_700_000_000.0)
    details = server.initialize("secret-prop", StatsigOptions(bootstrap_values=json.dumps(payload), local_mode=True))
    assert details.init_success
    for name in ("g0", "g1", "g2", "segment:s0", "missing_gate"):
        first = server.get_feature_gate(user, name)
        second = server.get_feature_gate(user, name)
        assert isinstance(first.value, bool)
        assert (first.value, first.rule_id, first.secondary_exposures) == (
            second.value, second.rule_id, second.secondary_exposures)
    config = server.get_config(user, "c0")
    assert config.value == server.get_config(user, "c0").value
    assert server.get_client_initialize_response(user) is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=payloads(), user=users)
def test_evaluator_itself_never_raises(payload: dict[str, Any], user: StatsigUser) -> None:
    """Below the client's error boundary: the evaluator turns every bad input into a result."""
    from statsig_lite.evaluator.evaluate import evaluate
    from statsig_lite.store.snapshot import load_snapshot

    snapshot = load_snapshot(json.dumps(payload))
    for name in ("g0", "g1", "g2", "segment:s0", "missing_gate"):
        result = evaluate(snapshot, "gates", name, user, user.environment(), 1_700_000_000_000)
        assert result.reason in ("", "Unrecognized", "Unsupported", "error")
    evaluate(snapshot, "configs", "c0", user, None, 1_700_000_000_000)
