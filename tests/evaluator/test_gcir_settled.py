"""get_client_initialize_response_json settles a spec of value tests only by the rule that decides and whether the
unit passes it (gcir._decide), and reuses the entry its full evaluation wrote for the same outcome: the text is
the same as evaluating every spec in full, cold and warm, on random payloads of both dialects (the differential's
generator), the conformance suites, tests that raise, percentages, target apps, legacy layers that read their
experiment's group and session replay."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from statsig_lite import StatsigServer, StatsigUser
from statsig_lite.evaluator import gcir
from tests.conformance.suites import load_suite, suite_names
from tests.differential.generate import random_job
from tests.differential.specs import cond, config, gate, payload, rule
from tests.evaluator.local_servers import local_server as _server


def _texts(server: StatsigServer, users: list[StatsigUser], apps: tuple[str | None, ...] = (None,)) -> Iterator[Any]:
    for user in users:
        for algo in ("none", "djb2"):
            for app in apps:
                yield server.get_client_initialize_response_json(user, hash=algo, target_app_id=app)


def _clear(server: StatsigServer) -> None:
    server._loaded.snapshot.derived.clear()  # type: ignore[union-attr]


def _same_with_and_without(
    server: StatsigServer, users: list[StatsigUser], apps: tuple[str | None, ...] = (None,)
) -> int:
    """Settled cold (every outcome met for the first time), warm (every one met before) and in full agree."""
    _clear(server)
    cold = list(_texts(server, users, apps))
    warm = list(_texts(server, users, apps))
    derived = server._loaded.snapshot.derived  # type: ignore[union-attr]
    settled = sum(len(v) for k, v in derived.items()
                  if isinstance(k, tuple) and k[0] == "gcir-settled")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gcir, "_settleable", lambda spec: False)
        _clear(server)
        full = list(_texts(server, users, apps))
    _clear(server)
    assert cold == full
    assert warm == full
    return settled


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_random_payloads_answer_the_same_settled_and_in_full(fmt: str) -> None:
    settled = 0
    for seed in range(100):
        v1, calls, tier = random_job(seed, users=8)
        people = {json.dumps(c["user"], sort_keys=True): c["user"] for c in calls}
        users = [StatsigUser.from_dict(u) for u in people.values()]
        settled += _same_with_and_without(_server(v1, fmt, tier=tier), users)
    assert settled > 1000  # the generator's payloads do have specs of value tests only


@pytest.mark.parametrize("name", suite_names())
def test_conformance_suites_answer_the_same_settled_and_in_full(name: str) -> None:
    suite = load_suite(name)
    if suite.has_id_lists:
        pytest.skip("ID lists come from the loopback API (tests/evaluator/test_gcir_text.py covers those)")
    server = _server(suite.dcs, "", (suite.meta.get("eval_time_ms") or time.time() * 1000) / 1000.0)
    users = [StatsigUser.from_dict(u["user"]) for u in suite.users.values()][:15]
    _same_with_and_without(server, users)


def _mixed() -> dict[str, Any]:
    """Specs settled by rule and pass: a percentage, a test that raises in the legacy SDK (an ISO date that is
    not one), a target app, a gate other specs name, an experiment that a layer delegates to."""
    plan = cond("user_field", "any", ["pro"], "plan")
    iso = cond("user_field", "after", 1600000000000, "iso")
    gates = [
        gate("half", [rule("half_rule", [plan], pct=50), rule("rest", [cond("public")], pct=30)]),
        gate("iso_gate", [rule("iso_rule", [iso]), rule("after_iso", [plan])]),
        gate("app_gate", [rule("app_rule", [cond("target_app", "any", ["app1"])])], targetAppIDs=["app1", "app2"]),
        gate("parent", [rule("parent_rule", [cond("pass_gate", None, "half"), plan])]),
        gate("replay_target", [rule("replay_rule", [plan], pct=60)]),
    ]
    configs = [
        config("exp", [rule("exp_rule", [plan], pct=50, value={"v": 1}, groupName="treatment",
                            isExperimentGroup=True),
                       rule("exp_rest", [cond("public")], pct=50, value={"v": 2}, groupName="control",
                            isExperimentGroup=True)],
               entity="experiment", isActive=True, hasSharedParams=True, explicitParameters=["v"]),
        config("iso_config", [rule("iso_config_rule", [iso], value={"v": 3})]),
    ]
    layers = [config("layer", [rule("to_exp", [cond("public")], configDelegate="exp")], entity="layer",
                     default={"v": 0})]
    return payload(gates, configs, layers, layer_map={"layer": ["exp"]},
                   session_replay_info={"targeting_gate": "replay_target", "sampling_rate": 0.5})


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_percentages_errors_apps_delegates_and_replay_answer_the_same(fmt: str) -> None:
    users = [StatsigUser(user_id=f"u{i}", custom={"plan": "pro" if i % 2 else "free",
                                                  "iso": "" if i % 3 == 0 else "2024-01-01T00:00:00Z"})
             for i in range(24)]
    server = _server(_mixed(), fmt)
    assert _same_with_and_without(server, users, apps=(None, "app1", "app2")) >= 4
    response = json.loads(server.get_client_initialize_response_json(users[0], hash="none") or "null")
    assert response["feature_gates"]["iso_gate"]["rule_id"] == ("error" if fmt == "v1" else "default")
