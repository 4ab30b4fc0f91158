"""Every case of every suite in ../shared/conformance, through the public API.

Point it at other suites of the same format with STATSIG_CONFORMANCE_DIR=/path/to/suites.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from statsig_lite import HashingAlgorithm, StatsigOptions, StatsigServer, StatsigUser
from statsig_lite.buffer import wire_deferred
from tests.conformance.suites import Suite, conformance_dir, load_suite, suite_names
from tests.servers.statsig_api import FakeStatsigAPI

RESULTS: dict[str, tuple[int, int]] = {}
_METADATA_KEYS = (
    "gate", "config", "gateValue", "ruleID", "rulePassed", "configVersion", "allocatedExperiment",
    "parameterName", "isExplicitParameter",
)
_GCIR_VOLATILE = ("time", "generator", "sdkInfo", "sdkParams")


class CapturePipeline:
    """Stands in for the event pipeline: keeps what the client enqueues."""

    def __init__(self) -> None:
        self.events: list[Mapping[str, Any]] = []

    def enqueue(self, event: Mapping[str, Any]) -> None:
        self.events.append(json.loads(json.dumps(event)))  # as it would go on the wire

    def settle(self) -> int:  # builds each exposure as it is recorded: nothing is left to decide
        return 0

    def enqueue_exposure(self, event: Any) -> None:
        built = wire_deferred(event)  # None: a repeat (decided when built, in order)
        if built is not None:
            self.enqueue(built)

    def flush(self, timeout_s: float | None = None) -> Any:
        return None

    def shutdown(self, timeout_s: float | None = None) -> Any:
        return None


def _server(suite: Suite, api: FakeStatsigAPI | None) -> tuple[StatsigServer, CapturePipeline]:
    eval_time = suite.meta.get("eval_time_ms")
    clock = (lambda: eval_time / 1000.0) if eval_time else __import__("time").time
    pipeline = CapturePipeline()
    server = StatsigServer(clock=clock, event_pipeline=pipeline)  # type: ignore[arg-type]
    options = StatsigOptions(bootstrap_values=suite.dcs, api=api.url if api else None)
    details = server.initialize("secret-conformance", options)
    assert details.init_success, details.error
    return server, pipeline


def _user(suite: Suite, uid: str) -> StatsigUser:
    return StatsigUser.from_dict(suite.users[uid]["user"])


def _actual(server: StatsigServer, suite: Suite, case: dict[str, Any]) -> dict[str, Any]:
    kind, name, user = case["kind"], case["name"], _user(suite, case["uid"])
    if kind == "gate":
        g = server.get_feature_gate(user, name, log_exposure=False)
        return {"value": g.value, "rule_id": g.rule_id, "id_type": g.id_type, "group_name": g.group_name,
                "secondary_exposures": list(g.secondary_exposures)}
    if kind in ("config", "experiment"):
        c = server.get_config(user, name, log_exposure=False)
        return {"value": dict(c.value), "rule_id": c.rule_id, "id_type": c.id_type, "group_name": c.group_name,
                "secondary_exposures": list(c.secondary_exposures),
                "is_user_in_experiment": c.is_user_in_experiment, "is_experiment_active": c.is_experiment_active}
    layer = server.get_layer(user, name, log_exposure=False)
    return {"value": dict(layer.get_values()), "rule_id": layer.rule_id, "id_type": layer.id_type,
            "group_name": layer.group_name, "allocated_experiment_name": layer.allocated_experiment,
            "secondary_exposures": list(layer.secondary_exposures),
            "undelegated_secondary_exposures": list(layer.undelegated_secondary_exposures),
            "explicit_parameters": sorted(layer.explicit_parameters),
            "is_experiment_active": layer.is_experiment_active}


def _compare_eval(suite: Suite, case: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    expected = dict(case["expected"])
    if "value_ref" in expected:
        expected["value"] = suite.values[expected.pop("value_ref")]
    if expected.get("returned_bare_bool"):
        expected.pop("rule_id", None)
    problems = []
    for key, want in expected.items():
        if want is None or key not in actual:
            continue
        got = actual[key]
        if key == "explicit_parameters":
            want = sorted(want)
        if got != want:
            problems.append(f"{key}: expected {want!r}, got {got!r}")
    return problems


def _exposures(server: StatsigServer, pipeline: CapturePipeline, suite: Suite, case: dict[str, Any]) -> list[str]:
    call, user = case["call"], _user(suite, case["uid"])
    before = len(pipeline.events)
    api, name = call["api"], call["name"]
    if api == "check_gate":
        server.check_gate(user, name)
    elif api == "get_config":
        server.get_config(user, name)
    elif api == "get_experiment":
        server.get_experiment(user, name)
    else:
        server.get_layer(user, name).get(call["param"])
    got = pipeline.events[before:]
    want = case["expected"]["events"]
    if len(got) != len(want):
        return [f"expected {len(want)} events, got {len(got)}: {got!r}"]
    problems = []
    for g, w in zip(got, want, strict=True):
        for key in ("eventName", "user", "secondaryExposures"):
            if g.get(key) != w.get(key):
                problems.append(f"{key}: expected {w.get(key)!r}, got {g.get(key)!r}")
        for key in _METADATA_KEYS:
            if g["metadata"].get(key) != w["metadata"].get(key):
                problems.append(f"metadata.{key}: expected {w['metadata'].get(key)!r}, got {g['metadata'].get(key)!r}")
    return problems


_CALL_KINDS = {"gates": "check_gate", "configs": "get_config", "experiments": "get_experiment"}


def _replay_unrecorded_calls(server: StatsigServer, pipeline: CapturePipeline, suite: Suite, uid: str) -> None:
    """The generator made every exposure call for a user and kept a sample of them as cases: the calls it
    did not keep still moved the SDK's sampling state (the first exposure of a rule is always logged), so
    they are made here too, before the user's recorded ones, and their events dropped."""
    recorded = {(c["call"]["api"], c["call"]["name"]) for c in suite.cases
                if c["kind"] == "exposure" and c["uid"] == uid}
    user = _user(suite, uid)
    before = len(pipeline.events)
    for section, api in _CALL_KINDS.items():
        for name in suite.meta.get("queried_names", {}).get(section, []):
            if name and (api, name) not in recorded:
                {"check_gate": server.check_gate, "get_config": server.get_config,
                 "get_experiment": server.get_experiment}[api](user, name)
    del pipeline.events[before:]


def _gcir(server: StatsigServer, suite: Suite, case: dict[str, Any]) -> list[str]:
    expected = case["expected"]
    if expected is None:
        return []
    got = server.get_client_initialize_response(_user(suite, case["uid"]), hash=HashingAlgorithm(case["hash"]))
    if got is None:
        return ["no response"]
    got = json.loads(json.dumps({k: v for k, v in got.items() if k not in _GCIR_VOLATILE}))
    want = {k: v for k, v in expected.items() if k not in _GCIR_VOLATILE}
    if got == want:
        return []
    problems = []
    for key in sorted(set(got) | set(want)):
        if isinstance(want.get(key), dict) and isinstance(got.get(key), dict) and key.endswith(("gates", "configs")):
            for entry in sorted(set(want[key]) | set(got[key])):
                if want[key].get(entry) != got[key].get(entry):
                    problems.append(f"{key}.{entry}: expected {want[key].get(entry)!r}, got {got[key].get(entry)!r}")
        elif got.get(key) != want.get(key):
            problems.append(f"{key}: expected {want.get(key)!r}, got {got.get(key)!r}")
    return problems


@pytest.mark.parametrize("suite_name", suite_names())
def test_conformance_suite(suite_name: str) -> None:
    suite = load_suite(suite_name)
    api = FakeStatsigAPI().start() if suite.has_id_lists else None
    try:
        if api is not None:
            api.load_conformance_id_lists(suite.path)
        server, pipeline = _server(suite, api)
        failures: list[str] = []
        kinds: Counter[str] = Counter()
        warmed: set[str] = set()
        for case in suite.cases:
            kind = case["kind"]
            if kind == "log_event_request":
                continue  # the wire request is checked by the event pipeline's tests
            if kind == "exposure" and case["uid"] not in warmed:
                warmed.add(case["uid"])
                _replay_unrecorded_calls(server, pipeline, suite, case["uid"])
            kinds[kind] += 1
            if kind in ("gate", "config", "experiment", "layer"):
                problems = _compare_eval(suite, case, _actual(server, suite, case))
            elif kind == "exposure":
                problems = _exposures(server, pipeline, suite, case)
            else:
                problems = _gcir(server, suite, case)
            if problems:
                failures.append(f"{case['id']}: " + "; ".join(problems)[:600])
    finally:
        if api is not None:
            api.stop()
    total = sum(kinds.values())
    RESULTS[suite_name] = (total - len(failures), total)
    assert not failures, f"{len(failures)} of {total} cases differ:\n" + "\n".join(failures[:20])


def test_conformance_dir_has_suites() -> None:
    assert suite_names(), f"no conformance suites found in {conformance_dir()}"
