"""`initialize` ends by running the check path on a scratch client (server._warm_up): the real client must not
see any of it (no exposure recorded or deduped, no problem logged or reported, no callback called), and a
warm-up that fails never fails initialize."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
from statsig_lite import server as server_module
from statsig_lite.buffer import wire_deferred
from tests.differential.specs import cond, gate, payload, rule


class Capture:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def settle(self) -> int:  # builds each exposure as it is recorded: nothing is left to decide
        return 0

    def enqueue_exposure(self, event: Any) -> None:
        built = wire_deferred(event)  # None: a repeat (decided when built, in order)
        if built is not None:
            self.events.append(built)

    def enqueue(self, event: Any, strict: bool = False) -> None:
        self.events.append(event)


def _payload() -> str:
    gates = [gate(f"g{i}", [rule(f"r{i}", [cond("user_field", "str_contains_any", ["warm"], field="userID")])])
             for i in range(6)]
    # a gate the SDK cannot evaluate (unknown operator) and one the legacy SDK fails with an error (no field)
    gates.insert(0, gate("odd", [rule("o", [cond("user_field", "brand_new_operator", 1, field="email")])]))
    gates.insert(1, gate("fails", [rule("x", [cond("user_field", "any", ["a"], field=None)])]))
    return json.dumps(payload(gates, [], [], {}))


def _server(**options: Any) -> tuple[StatsigServer, Capture, list[Any], list[Any]]:
    capture, evaluated, errors = Capture(), [], []
    server = StatsigServer(clock=lambda: 1_765_000_000.0, event_pipeline=capture)  # type: ignore[arg-type]
    details = server.initialize("secret-test", StatsigOptions(
        bootstrap_values=_payload(), evaluation_callback=evaluated.append,
        sdk_error_callback=lambda tag, exc: errors.append((tag, exc)), **options))
    assert details.init_success
    return server, capture, evaluated, errors


def test_initialize_leaves_nothing_of_the_warm_up_behind(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="statsig_lite"):
        server, capture, evaluated, errors = _server()
    assert capture.events == [] and evaluated == [] and errors == []
    assert [r.getMessage() for r in caplog.records] == []
    # the made-up users' exposures were not deduped on the real client: the same user and gate log now
    for i in range(6):
        assert server.check_gate(StatsigUser(f"statsig-lite-warm-up-{i}"), f"g{i % 6}") is True
    assert [e["metadata"]["gate"] for e in capture.events] == [f"g{i}" for i in range(6)]
    assert len(evaluated) == 6


def test_the_warm_up_reaches_the_exposure_record(monkeypatch: pytest.MonkeyPatch) -> None:
    from statsig_lite.pipeline import EventPipeline

    recorded: list[Any] = []
    original, enqueue = EventPipeline.exposure_target, EventPipeline.enqueue_exposure

    def enqueue_spy(self: EventPipeline, event: Any) -> None:  # an exposure that is not a plain check's
        recorded.append(wire_deferred(event)["metadata"]["gate"])
        enqueue(self, event)

    class Records(list[Any]):
        def append(self, event: Any) -> None:
            recorded.append(wire_deferred(event)["metadata"]["gate"])
            super().append(event)

    def spy(self: EventPipeline) -> Any:  # only the scratch client has an EventPipeline here
        target = original(self)
        assert target is not None
        return Records(), target[1]  # a check that logs appends its record to the pipeline's list

    monkeypatch.setattr(EventPipeline, "exposure_target", spy)
    monkeypatch.setattr(EventPipeline, "enqueue_exposure", enqueue_spy)
    _server()
    assert len(recorded) == server_module._WARM_UP_CHECKS
    assert "odd" not in recorded  # a spec with an unsupported condition is not warmed (it would log a problem)


def test_a_failing_warm_up_never_fails_initialize(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any, *args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("warm-up broke")

    monkeypatch.setattr(server_module._ScratchServer, "check_gate", broken)
    server, capture, _, errors = _server()
    assert errors == []
    assert server.check_gate(StatsigUser("u-warm"), "g1") is True
    assert len(capture.events) == 1
