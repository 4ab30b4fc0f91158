"""get_client_initialize_response evaluates a gate that other specs name once per response (gcir.NestedGates),
and the memo changes no response: the same answers, dict and text, as evaluating every reference again, on
random payloads of both dialects (the differential's generator), the conformance suites, cycles, unknown
gates and chains deeper than the memo goes."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from statsig_lite import StatsigServer, StatsigUser
from statsig_lite.evaluator import gcir
from statsig_lite.evaluator.evaluate import Evaluation
from statsig_lite.store.model import Spec
from tests.conformance.suites import load_suite, suite_names
from tests.differential.generate import random_job
from tests.differential.specs import cond, config, gate, payload, rule
from tests.evaluator.local_servers import local_server as _server


def _without_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gcir.NestedGates, "evaluate", lambda self, ev, spec: ev._nested(spec))
    monkeypatch.setattr(gcir.NestedGates, "seed", lambda self, spec, ev: None)


def _answers(server: StatsigServer, users: list[StatsigUser]) -> Iterator[Any]:
    for user in users:
        for algo in ("none", "djb2"):
            yield server.get_client_initialize_response(user, hash=algo)
            yield server.get_client_initialize_response_json(user, hash=algo)


def _same_with_and_without(server: StatsigServer, users: list[StatsigUser]) -> int:
    with_memo = list(_answers(server, users))
    with pytest.MonkeyPatch.context() as mp:
        _without_memo(mp)
        server._loaded.snapshot.derived.clear()  # type: ignore[union-attr]  # no entry text from the memo's run
        without = list(_answers(server, users))
        server._loaded.snapshot.derived.clear()  # type: ignore[union-attr]  # nor the other way round
    assert with_memo == without
    return sum(1 for a in with_memo if a is not None)


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_random_payloads_answer_the_same_with_and_without_the_memo(fmt: str) -> None:
    # seed 67 (v1): a gate below the memoised one fails, and the exposure its parent records carries the
    # value the shared result held when it failed, which the context decides
    compared = 0
    for seed in range(100):
        v1, calls, tier = random_job(seed, users=8)
        people = {json.dumps(c["user"], sort_keys=True): c["user"] for c in calls}
        users = [StatsigUser.from_dict(u) for u in people.values()]
        compared += _same_with_and_without(_server(v1, fmt, tier=tier), users)
    assert compared == 100 * 8 * 4


@pytest.mark.parametrize("name", suite_names())
def test_conformance_suites_answer_the_same_with_and_without_the_memo(name: str) -> None:
    suite = load_suite(name)
    if suite.has_id_lists:
        pytest.skip("ID lists come from the loopback API (tests/evaluator/test_gcir_text.py covers those)")
    server = _server(suite.dcs, "", (suite.meta.get("eval_time_ms") or time.time() * 1000) / 1000.0)
    users = [StatsigUser.from_dict(u["user"]) for u in suite.users.values()][:15]
    _same_with_and_without(server, users)


def _count_nested(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each spec is evaluated nested (below a top-level one: a nested gate or a delegate)."""
    counts: Counter[str] = Counter()
    evaluate = Evaluation._evaluate

    def counted(self: Evaluation, spec: Spec) -> None:
        if self.depth > 0:
            counts[spec.name] += 1
        evaluate(self, spec)

    monkeypatch.setattr(Evaluation, "_evaluate", counted)
    return counts


def _named_often() -> dict[str, Any]:
    """`leaf` (no nested gate), `mid` (names leaf) and `in_segment` (names a segment) each named by several
    specs; `wild` names an unknown gate (legacy: it resets the shared result), `loop_a`/`loop_b` name each
    other."""
    plan = cond("user_field", "any", ["pro"], "plan")
    gates = [
        gate("leaf", [rule("leaf_rule", [plan], pct=50)]),
        gate("mid", [rule("mid_rule", [cond("pass_gate", None, "leaf"), plan])]),
        gate("segment:pros", [rule("seg_rule", [plan])], entity="segment"),
        gate("in_segment", [rule("in_rule", [cond("pass_gate", None, "segment:pros")])]),
        # legacy: fails after in_segment (a gate named by a list), so its exposures are reported uncleaned
        gate("fails_late", [rule("late", [cond("pass_gate", None, "in_segment"), cond("pass_gate", None, ["x"])])]),
        gate("wild", [rule("wild_rule", [cond("pass_gate", None, "not_in_payload")])]),
        gate("loop_a", [rule("a_rule", [cond("pass_gate", None, "loop_b")])]),
        gate("loop_b", [rule("b_rule", [cond("fail_gate", None, "loop_a")])]),
    ]
    for i in range(4):
        gates.append(gate(f"user{i}", [rule(f"u{i}", [cond("pass_gate", None, "mid"), cond("fail_gate", None, "leaf"),
                                                     cond("pass_gate", None, "in_segment"),
                                                     cond("pass_gate", None, "wild")])]))
    configs = [config(f"config{i}", [rule(f"c{i}", [cond("pass_gate", None, "wild"), cond("pass_gate", None, "mid")],
                                          value={"v": i})]) for i in range(3)]
    return payload(gates, configs)


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_a_gate_named_by_many_specs_is_evaluated_once_per_response(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    server = _server(_named_often(), fmt)
    users = [StatsigUser(user_id=f"u{i}", custom={"plan": "pro" if i % 2 else "free"}) for i in range(8)]
    _same_with_and_without(server, users)
    counts = _count_nested(monkeypatch)
    for user in users:
        counts.clear()
        assert server.get_client_initialize_response_json(user) is not None
        # leaf: its top-level evaluation serves every reference (it appends no exposure, so in both dialects)
        assert counts["leaf"] == 0
        # mid appends leaf's exposure, which legacy's cleaning at the top leaves as it is: kept from the top too
        assert counts["mid"] == 0
        # in_segment appends the segment's exposure, which legacy's cleaning drops (the core records none): in
        # legacy it is evaluated once nested, then reused
        assert counts["in_segment"] == (1 if fmt == "v1" else 0)
        # not held: a gate below which a condition resets the shared result (legacy) is evaluated each time
        # it is named, and so is a cycle
        assert counts["wild"] == (7 if fmt == "v1" else 0)
        assert counts["loop_a"] >= 2 and counts["loop_b"] >= 2
        if fmt == "v1":  # a failed evaluation reports its exposures uncleaned, the segment's included
            response = server.get_client_initialize_response(user, hash="none")
            assert response is not None
            fails_late = response["feature_gates"]["fails_late"]
            assert [e["gate"] for e in fails_late["secondary_exposures"]] == ["segment:pros", "in_segment"]


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_chains_deeper_than_the_memo_answer_the_same(fmt: str) -> None:
    depth = gcir._MEMO_DEPTH + 8
    gates = [gate("g0", [rule("r0", [cond("user_field", "any", ["pro"], "plan")])])]
    gates += [gate(f"g{i}", [rule(f"r{i}", [cond("pass_gate", None, f"g{i - 1}")])]) for i in range(1, depth)]
    configs = [config(f"c{i}", [rule(f"cr{i}", [cond("pass_gate", None, f"g{depth - 1 - i}")])]) for i in range(4)]
    server = _server(payload(gates, configs), fmt)
    users = [StatsigUser(user_id="a", custom={"plan": "pro"}), StatsigUser(user_id="b")]
    response = server.get_client_initialize_response(users[0], hash="none")
    assert response is not None and response["dynamic_configs"]["c0"]["value"] is not None
    heights = server._loaded.snapshot.derived["gcir-heights"]  # type: ignore[union-attr]
    assert {heights[server._loaded.snapshot.gates[f"g{i}"]] for i in (0, 5)} == {0, 5}  # type: ignore[union-attr]
    _same_with_and_without(server, users)


def test_not_used_with_local_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    server = _server(_named_often(), "v2")
    server.override_gate("leaf", True, "u1")
    counts = _count_nested(monkeypatch)
    user = StatsigUser(user_id="u1", custom={"plan": "pro"})
    response = server.get_client_initialize_response(user, include_local_overrides=True)
    assert response is not None and counts["mid"] == 7  # every reference evaluated, with the override
    _same_with_and_without(server, [user])
