"""A check that logs records its exposure; whether it repeats one already logged is decided when the buffer
builds its event, in recording order (exposures.ExposureDeduper.wire_record). Decided then, the events sent
must be those of a client that decides on every check: the same repeats dropped across clock jumps (the
dedupe window ends after its time, or when the clock steps back), user IDs changed between checks, manual
exposures (deduped by the legacy SDK, not by core), layers, events read with `pending()` before the flush, a
buffer past its bound, and threads recording while a flush cuts batches. Both payload formats."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import pytest

from statsig_lite import StatsigEnvironmentTier, StatsigOptions, StatsigServer, StatsigUser
from tests.differential.harness import payload_for
from tests.interleave import run_interleaved
from tests.servers.statsig_api import FakeStatsigAPI
from tests.test_exposure_after_check import V1

SPEC = V1  # two gates, a config, an experiment and a layer delegating to it
START_S = 1_765_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START_S

    def __call__(self) -> float:
        return self.now


def _server(api: FakeStatsigAPI, fmt: str, clock: Clock, **options: Any) -> StatsigServer:
    server = StatsigServer(clock=clock)
    details = server.initialize("secret-dedupe", StatsigOptions(
        bootstrap_values=json.dumps(payload_for(SPEC, fmt)), api=api.url, id_lists=False, lambda_mode=True,
        tier=StatsigEnvironmentTier.development, **options))
    assert details.init_success
    return server


def _script(seed: int) -> list[tuple[str, Any]]:
    """Steps: checks of a few users (repeats likely), clock moves (small, past the 60 s window, backwards),
    user ID changes, manual exposures and layer parameters."""
    rng = random.Random(seed)
    steps: list[tuple[str, Any]] = []
    for _ in range(160):
        r = rng.random()
        if r < 0.08:
            steps.append(("clock", rng.choice([0.5, 5.0, 61.0, 30.0, -3600.0, -0.5])))
        elif r < 0.12:
            steps.append(("ids", (rng.randrange(3), rng.choice(["c1", "c2", None]))))
        elif r < 0.18:
            steps.append(("manual", (rng.randrange(3), rng.choice(["on", "cfg"]))))
        else:
            steps.append(("check", (rng.randrange(3), rng.choice(["on", "half", "cfg", "exp", "lay", "nope"]))))
    return steps


def _users() -> list[StatsigUser]:
    return [StatsigUser(user_id=f"u{i}", custom={"n": i}, custom_ids={"stableID": f"s{i}", "companyID": "c1"})
            for i in range(3)]


def _run(server: StatsigServer, clock: Clock, users: list[StatsigUser], steps: list[tuple[str, Any]],
         after_each: Any = None) -> None:
    for step, arg in steps:
        if step == "clock":
            clock.now += arg
        elif step == "ids":
            who, company = arg
            ids = users[who].custom_ids
            assert isinstance(ids, dict)
            if company is None:
                ids.pop("companyID", None)
            else:
                ids["companyID"] = company
        elif step == "manual":
            who, name = arg
            if name == "on":
                server.manually_log_gate_exposure(users[who], name)
            else:
                server.manually_log_config_exposure(users[who], name)
        else:
            who, name = arg
            user = users[who]
            if name in ("on", "half", "nope"):
                server.check_gate(user, name)
            elif name == "cfg":
                server.get_config(user, name)
            elif name == "exp":
                server.get_experiment(user, name)
            else:
                server.get_layer(user, name).get("color")
        if after_each is not None:
            after_each()


def _events(api: FakeStatsigAPI) -> list[str]:
    return [json.dumps({k: v for k, v in e.items() if k != "time"}, sort_keys=True) for e in api.accepted_events()]


@pytest.mark.parametrize("fmt", ["v1", "v2"])
@pytest.mark.parametrize("seed", range(6))
def test_decided_at_flush_as_on_every_check(fmt: str, seed: int) -> None:
    steps = _script(seed)
    with FakeStatsigAPI() as api:  # reference: every exposure built (and decided) right after its check
        clock = Clock()
        server = _server(api, fmt, clock)
        _run(server, clock, _users(), steps, after_each=lambda: server.flush(5.0))
        server.shutdown()
        want = _events(api)
    with FakeStatsigAPI() as api:  # all recorded, read once with pending() midway, decided at one flush
        clock = Clock()
        server = _server(api, fmt, clock, event_batch_size=7)
        half, users = len(steps) // 2, _users()
        _run(server, clock, users, steps[:half])
        pipeline = server._pipeline
        assert pipeline is not None
        seen = len(pipeline.pending())
        _run(server, clock, users, steps[half:])
        assert server.flush(5.0).kept == 0
        server.shutdown()
        got = _events(api)
    assert 0 < seen <= len(got)
    assert len(want) >= 20 and len(want) < sum(1 for s, _ in steps if s in ("check", "manual"))  # repeats dropped
    assert got == want  # the same events, in the same order


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_repeats_take_no_room_in_a_full_buffer(fmt: str) -> None:
    # a bound of 50 events, no journal: 5,000 checks of 4 exposures (the rest repeats) drop nothing
    with FakeStatsigAPI() as api:
        clock = Clock()
        server = _server(api, fmt, clock, max_buffered_events=50)
        users = [StatsigUser(user_id=f"u{i}") for i in range(2)]
        for i in range(5000):
            server.check_gate(users[i % 2], "on" if i % 4 < 2 else "half")
        result = server.flush(5.0)
        server.shutdown()
        assert result.dropped == 0
        assert len(api.accepted_events()) == 4


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_threads_record_while_flushes_decide(fmt: str) -> None:
    # four threads check the same gates for the same users while another flushes over and over: each
    # (user, gate) exposure is sent exactly once
    with FakeStatsigAPI() as api:
        clock = Clock()
        server = _server(api, fmt, clock, event_batch_size=5)
        users = [StatsigUser(user_id=f"u{i}") for i in range(20)]

        def checks(t: int) -> None:
            rng = random.Random(t)
            for _ in range(3000):
                server.check_gate(users[rng.randrange(20)], rng.choice(["on", "half"]))

        def flushes(done: threading.Event) -> None:
            while not done.is_set():
                server.flush(5.0)

        run_interleaved(checks, 4, flushes)
        server.flush(5.0)
        server.shutdown()
        sent = [(e["user"]["userID"], e["metadata"]["gate"]) for e in api.accepted_events()]
    assert len(sent) == len(set(sent)) == 40


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_the_check_that_fills_the_buffer_builds_a_chunk_not_all(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the bound is 2,000 events and batches are 50: the check that reaches it builds the oldest chunk (and what
    # the overflow takes after it), not the 2,000 records held; the events sent are still each check's once
    from statsig_lite.exposures import ExposureDeduper

    decided: list[int] = []
    first_record = ExposureDeduper.first_record

    def counted(self: ExposureDeduper, record: tuple[Any, ...]) -> bool:
        decided.append(1)
        return first_record(self, record)

    monkeypatch.setattr(ExposureDeduper, "first_record", counted)
    with FakeStatsigAPI() as api:
        clock = Clock()
        server = _server(api, fmt, clock, max_buffered_events=2000, event_batch_size=50)
        users = [StatsigUser(user_id=f"u{i}") for i in range(2000)]
        for user in users[:1999]:
            server.check_gate(user, "on")
        assert decided == []  # nothing decided on the checks' time
        server.check_gate(users[1999], "on")  # the 2,000th: past the bound
        assert 1 <= len(decided) <= 100
        result = server.flush(5.0)
        server.shutdown()
        sent = [e["user"]["userID"] for e in api.accepted_events()]
    assert result.dropped + len(sent) == 2000 and len(sent) == len(set(sent))


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_a_layer_parameter_read_again_holds_nothing(fmt: str) -> None:
    # a layer's exposures are decided on the read (a repeat kept until the flush would hold its evaluation):
    # 1,000 reads of one parameter by one user hold one exposure, and send it once
    with FakeStatsigAPI() as api:
        clock = Clock()
        server = _server(api, fmt, clock)
        user = StatsigUser(user_id="u")
        for _ in range(1000):
            server.get_layer(user, "lay").get("color")
        pipeline = server._pipeline
        assert pipeline is not None and len(pipeline) == 1
        server.flush(5.0)
        server.shutdown()
        assert [e["eventName"] for e in api.accepted_events()] == ["statsig::layer_exposure"]
