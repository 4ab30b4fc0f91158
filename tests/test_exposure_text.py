"""Recorded exposures encoded straight to text (`exposure_text`) give the bytes of `encode_event(wire())`.

Every case of every conformance suite (v1 and v2 payloads, sampling, layers, holdouts), logged and manual,
then users JSON carries badly or oddly; an event one way refuses, the other refuses too.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
from statsig_lite.buffer import EventBuffer, encode_event
from statsig_lite.exposure_text import ExposureEncoder
from statsig_lite.exposures import PendingExposure
from tests.conformance.suites import Suite, load_suite, suite_names


class Recorder:
    """Stands in for the event pipeline: keeps the recorded exposures."""

    def __init__(self) -> None:
        self.recorded: list[PendingExposure] = []

    def enqueue(self, event: Any, strict: bool = False) -> None:
        pass

    def enqueue_exposure(self, event: PendingExposure) -> None:
        self.recorded.append(event)

    def flush(self, timeout_s: float | None = None) -> None:
        return None

    def shutdown(self, timeout_s: float | None = None) -> None:
        return None


def _server(suite: Suite, **options: Any) -> tuple[StatsigServer, Recorder]:
    recorder = Recorder()
    now_s = suite.meta["eval_time_ms"] / 1000.0 if suite.meta.get("eval_time_ms") else time.time()
    server = StatsigServer(clock=lambda: now_s, event_pipeline=recorder)  # type: ignore[arg-type]
    # nothing leaves the machine: a refused payload would be downloaded from a closed loopback port
    options = {"bootstrap_values": suite.dcs, "api": "http://127.0.0.1:9/v1/", "id_lists": False, **options}
    assert server.initialize("secret-test", StatsigOptions(**options)).init_success
    return server, recorder


def _outcome(encode: Any, event: PendingExposure) -> bytes | str:
    try:
        return bytes(encode(event))
    except Exception as exc:
        return f"refused: {type(exc).__name__}"


def _same(events: list[PendingExposure]) -> None:
    encoder = ExposureEncoder()  # one for the whole list: the shared user blocks are exercised too
    for event in events:
        assert _outcome(encoder.encode, event) == _outcome(lambda e: encode_event(e.wire()), event)


def _check_everything(server: StatsigServer, user: StatsigUser, names: dict[str, list[str]]) -> None:
    for name in names["gate"]:
        server.check_gate(user, name)
        server.manually_log_gate_exposure(user, name)
    for name in names["config"]:
        server.get_config(user, name)
        server.manually_log_config_exposure(user, name)
    for name in names["layer"]:
        layer = server.get_layer(user, name)
        for parameter in [*layer.get_values(), "missing"]:
            layer.get(parameter, None)
            server.manually_log_layer_parameter_exposure(user, name, parameter)


@pytest.mark.parametrize("suite_name", suite_names())
def test_every_conformance_exposure_encodes_to_the_same_bytes(suite_name: str) -> None:
    suite = load_suite(suite_name)
    server, recorder = _server(suite)
    names: dict[str, list[str]] = {"gate": [], "config": [], "layer": []}
    for case in suite.cases:
        kind = "config" if case["kind"] in ("config", "experiment") else case["kind"]
        name = case.get("name")
        if kind in names and isinstance(name, str) and name not in names[kind] and len(names[kind]) < 150:
            names[kind].append(name)
    for uid in list(suite.users)[:12]:
        _check_everything(server, StatsigUser.from_dict(suite.users[uid]["user"]), names)
    assert recorder.recorded
    _same(recorder.recorded)


ODD_USERS = [
    StatsigUser(),  # no ID: core logs "userID": ""
    StatsigUser(user_id="u", custom={"big": 1 << 70, "small": -(1 << 63), "f": 1.5, "b": True, "n": None}),
    StatsigUser(user_id="u", custom={"nested": {"a": [1, {"b": "c"}]}, "list": [1 << 64]}),
    StatsigUser(user_id="u", custom={"bad": math.nan}),  # refused both ways
    StatsigUser(user_id="u", custom={"bad": {1, 2}}),  # refused both ways
    StatsigUser(user_id="u", custom={1: "int key", "ok": "x"}),
    StatsigUser(user_id="\u2028 \"quoted\" \\ é 𝄞", email="e\x00", custom_ids={"stableID": "s\n"}),
    StatsigUser(user_id="u", custom_ids={}, custom={}),
    StatsigUser(user_id="u", _statsig_environment={"tier": "staging"}),
    StatsigUser(user_id="u", _statsig_environment={"tier": 3}),
    StatsigUser(user_id="u", custom={"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}),
]


@pytest.mark.parametrize("payload", ["v1", "v2"])
@pytest.mark.parametrize("tier", [None, "development"])
def test_odd_users_encode_to_the_same_bytes_or_are_refused_alike(payload: str, tier: str | None) -> None:
    suite = load_suite("eval_proj" if payload == "v2" else "python_sdk_testdata_dcs")
    server, recorder = _server(suite, tier=tier)
    names: dict[str, list[str]] = {"gate": [], "config": [], "layer": []}
    for case in suite.cases[:60]:
        kind = "config" if case["kind"] in ("config", "experiment") else case["kind"]
        name = case.get("name")
        if kind in names and isinstance(name, str) and name not in names[kind] and len(names[kind]) < 150:
            names[kind].append(name)
    for user in ODD_USERS:
        _check_everything(server, user, names)
    _check_everything(server, StatsigUser(user_id="plain"), names)
    events = list(recorder.recorded)
    for user in ODD_USERS:  # whatever a check lets through, the same recorded events with these users' fields
        for event in recorder.recorded[-40:]:
            events.append(PendingExposure(
                event.kind, event.name, event.evaluation, user, event.reason, event.now_ms, event.parameter,
                event.manual, event.sampling_meta, event.init_time,
            ))
    outcomes = {_outcome(lambda e: encode_event(e.wire()), e) for e in events}
    assert any(isinstance(o, str) for o in outcomes) and any(isinstance(o, bytes) for o in outcomes)
    _same(events)


def test_a_batch_cut_from_the_buffer_keeps_order_and_bytes() -> None:
    suite = load_suite("eval_proj")
    server, recorder = _server(suite)
    names = [c["name"] for c in suite.cases if c["kind"] == "gate"][:20]
    for name in names:
        server.check_gate(StatsigUser(user_id="same", custom={"plan": "pro"}), name)
    events = recorder.recorded
    buffer = EventBuffer(b"{}")
    for event in events:
        buffer.add(event)
    assert buffer.pending() == [encode_event(e.wire()) for e in events]
