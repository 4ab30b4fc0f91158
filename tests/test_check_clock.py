"""A check reads the client's clock when it first needs the time (a time condition, an exposure), and then
never again: the conditions and the exposure see the same instant, nested and multi-gate evaluations
included, and a check that logs nothing and has no time condition does not read it at all."""

from __future__ import annotations

import json
from typing import Any

import pytest

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
from statsig_lite.buffer import wire_deferred
from tests.differential.harness import payload_for
from tests.differential.specs import cond, config, gate, payload, rule

START_MS = 1_765_000_000_000


class SteppingClock:
    """Each reading is 1 ms after the one before (from `base_ms`): two readings in one check would show."""

    def __init__(self) -> None:
        self.base_ms = START_MS
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return (self.base_ms + self.reads) / 1000.0


class Capture:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def settle(self) -> int:  # builds each exposure as it is recorded: nothing is left to decide
        return 0

    def enqueue_exposure(self, event: Any) -> None:
        built = wire_deferred(event)  # None: a repeat (decided when built, in order)
        if built is not None:
            self.events.append(json.loads(json.dumps(built)))

    def enqueue(self, event: Any, strict: bool = False) -> None:
        self.events.append(event)

    def flush(self, timeout_s: float | None = None) -> None:
        return None

    def shutdown(self, timeout_s: float | None = None) -> None:
        return None


def _payload(fmt: str, after_ms: int) -> dict[str, Any]:
    timed = cond("current_time", "after", after_ms)
    gates = [
        gate("plain", [rule("p", [cond("public")])]),
        gate("timed", [rule("t", [timed])]),
        gate("outer", [rule("o", [cond("pass_gate", None, "timed")])]),
    ]
    if fmt == "v1":  # the legacy SDK's multi-gate conditions (core has none)
        gates.append(gate("multi", [rule("m", [cond("multi_pass_gate", None, ["plain", "timed"])])]))
    configs = [config("c", [rule("cr", [cond("pass_gate", None, "timed")], value={"v": 1})])]
    return payload_for(payload(gates, configs), fmt)


@pytest.mark.parametrize("fmt", ["v1", "v2"])
@pytest.mark.parametrize("name", ["timed", "outer", "multi", "c"])
def test_a_check_reads_the_clock_once_and_its_exposure_has_the_time_its_conditions_saw(fmt: str, name: str) -> None:
    if name == "multi" and fmt == "v2":
        pytest.skip("multi-gate conditions are the legacy SDK's")
    clock, capture = SteppingClock(), Capture()
    server = StatsigServer(clock=clock, event_pipeline=capture)  # type: ignore[arg-type]
    # the check's one reading is the instant the rules name: "after" that very instant is false, a reading
    # taken later (for the exposure, say) would be true
    the_instant = START_MS + 1
    options = StatsigOptions(bootstrap_values=json.dumps(_payload(fmt, the_instant)), id_lists=False)
    assert server.initialize("secret-clock", options).init_success
    clock.base_ms, clock.reads = START_MS, 0
    user = StatsigUser("u")
    if name == "c":
        value: Any = dict(server.get_config(user, name).value)
        assert value == {"v": "default"}  # the nested gate failed: "after" its own instant is false
        reads_by_details = 1  # a result object carries EvaluationDetails, with a time of its own
    else:
        value = server.check_gate(user, name)
        reads_by_details = 0
        assert value is (name == "multi")  # multi passes on "plain"; the others fail on the time condition
    assert clock.reads == 1 + reads_by_details
    (event,) = capture.events
    assert event["time"] == the_instant


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_a_check_without_a_time_condition_or_an_exposure_does_not_read_the_clock(fmt: str) -> None:
    clock = SteppingClock()
    server = StatsigServer(clock=clock, event_pipeline=Capture())  # type: ignore[arg-type]
    server.initialize("secret-clock", StatsigOptions(bootstrap_values=json.dumps(_payload(fmt, 0)), id_lists=False))
    before = clock.reads
    assert server.check_gate(StatsigUser("u"), "plain", log_exposure=False) is True
    assert clock.reads == before
    assert server.check_gate(StatsigUser("u"), "timed", log_exposure=False) is True  # "after" 0: read once
    assert clock.reads == before + 1
