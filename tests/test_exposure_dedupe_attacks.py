"""Attacks on deciding an exposure's dedupe when its event is built (exposures.ExposureDeduper.wire_record):
whatever happens between a check and the build (a SnapStart restore or a shutdown forgetting the exposures
seen, sampling turned on or off by a refresh, the overflow dropping the oldest while another thread records,
the background worker counting what is queued), the events sent, the counts and the flush trigger must be those
of a client that decides on every check."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from statsig_lite import StatsigEnvironmentTier, StatsigOptions, StatsigServer, StatsigUser
from statsig_lite.buffer import EventBuffer
from statsig_lite.pipeline import EventPipeline
from tests.differential.harness import payload_for
from tests.differential.specs import cond, gate, payload, rule
from tests.servers.statsig_api import FakeStatsigAPI
from tests.test_exposure_dedupe_at_build import SPEC, Clock, _server


def _pipeline(server: StatsigServer) -> EventPipeline:
    pipeline = server._pipeline
    assert pipeline is not None
    return pipeline


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_a_restore_forgets_only_the_exposures_seen_before_it(fmt: str) -> None:
    # an exposure recorded before a SnapStart snapshot was logged before it: the same check after the restore
    # logs again (the restore forgets what was seen), whether or not the first was built by then
    with FakeStatsigAPI() as api:
        clock = Clock()
        server = _server(api, fmt, clock)
        user = StatsigUser(user_id="u")
        server.check_gate(user, "on")
        server.reset_after_restore()
        server.check_gate(user, "on")
        server.check_gate(user, "on")  # a repeat of the one after the restore
        result = server.flush(5.0)
        server.shutdown()
        assert (result.sent, result.dropped, result.kept) == (2, 0, 0)
        assert len(api.accepted_events()) == 2


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_shutdown_then_initialize_again_on_an_injected_pipeline_logs_again(fmt: str) -> None:
    # the pipeline is the caller's (shared, kept across shutdown): the exposure recorded before the shutdown is
    # sent, and the first check after initialize logs again
    with FakeStatsigAPI() as api:
        clock = Clock()
        owner = _server(api, fmt, clock)
        pipeline = _pipeline(owner)
        server = StatsigServer(clock=clock, event_pipeline=pipeline)
        options = StatsigOptions(bootstrap_values=json.dumps(payload_for(SPEC, fmt)), api=api.url, id_lists=False,
                                 lambda_mode=True, tier=StatsigEnvironmentTier.development)
        assert server.initialize("secret-dedupe", options).init_success
        user = StatsigUser(user_id="u")
        server.check_gate(user, "on")
        server.shutdown()
        assert server.initialize("secret-dedupe", options).init_success
        server.check_gate(user, "on")
        server.check_gate(user, "on")
        owner.check_gate(user, "on")  # the other client's deduper: its own first
        owner.flush(5.0)
        server.shutdown()
        owner.shutdown()
        assert [e["user"]["userID"] for e in api.accepted_events()] == ["u", "u", "u"]


def _sampled_rules(fmt: str, mode: str) -> Any:
    rules = payload([gate("on", [rule("r_on", [cond("public")], samplingRate=1)])],
                    sdk_configs={"sampling_mode": mode, "special_case_sampling_rate": 1})
    return payload_for(rules, fmt)


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_sampling_turned_on_then_off_with_records_pending(fmt: str) -> None:
    # exposures recorded while sampling is off are decided before the first check under sampling decides on
    # its own time, and those decided under sampling are not decided again when it is off
    with FakeStatsigAPI() as api:
        clock = Clock()
        server = StatsigServer(clock=clock)
        off = json.dumps(_sampled_rules(fmt, "none"))
        assert server.initialize("secret-dedupe", StatsigOptions(
            bootstrap_values=off, api=api.url, id_lists=False, lambda_mode=True,
            tier=StatsigEnvironmentTier.production)).init_success
        other = StatsigServer(clock=clock)
        assert other.initialize("secret-dedupe", StatsigOptions(
            bootstrap_values=json.dumps(_sampled_rules(fmt, "on")), local_mode=True,
            tier=StatsigEnvironmentTier.production)).init_success
        plain, sampled = server._loaded, other._loaded
        a, b = StatsigUser(user_id="a"), StatsigUser(user_id="b")
        server.check_gate(a, "on")  # recorded, built at flush
        server._loaded = sampled  # a refresh turns sampling on
        server.check_gate(a, "on")  # a repeat: not sampled, not logged
        server.check_gate(b, "on")  # decided now
        server._loaded = plain  # and off again
        server.check_gate(b, "on")  # a repeat of one decided on its check
        server.check_gate(a, "on")
        result = server.flush(5.0)
        other.shutdown()
        server.shutdown()
        assert [e["user"]["userID"] for e in api.accepted_events()] == ["a", "b"]
        assert (result.sent, result.dropped) == (2, 0)


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_the_overflow_drops_no_record_it_has_not_decided(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # no journal: past its bound the buffer drops its oldest events. Checks on another thread record between the
    # overflow's settling and its drop (simulated at that point): a repeat among them is not counted as dropped,
    # and a first exposure dropped is still decided (its next check is a repeat, as when decided on the check)
    with FakeStatsigAPI() as api:
        clock = Clock()
        server = _server(api, fmt, clock)
        pipeline = _pipeline(server)
        a, b, c = StatsigUser(user_id="a"), StatsigUser(user_id="b"), StatsigUser(user_id="c")
        server.check_gate(a, "on")
        server.check_gate(b, "on")
        pipeline.pending()  # both built
        measured = EventBuffer.in_flight_size
        raced: list[int] = []

        def other_threads_record(self: EventBuffer) -> tuple[int, int]:
            if not raced:
                raced.append(1)
                server.check_gate(a, "on")  # a repeat
                server.check_gate(c, "on")  # a first
                pipeline._policy.max_buffered_bytes = 1  # past the bound: everything held goes
            return measured(self)

        monkeypatch.setattr(EventBuffer, "in_flight_size", other_threads_record)
        bound = pipeline._policy.max_buffered_bytes
        pipeline._relieve_pressure()  # as if a check had found the buffer at its bound
        monkeypatch.undo()
        pipeline._policy.max_buffered_bytes = bound
        assert raced
        server.check_gate(b, "on")  # repeats of exposures the overflow dropped: not logged again
        server.check_gate(c, "on")
        result = server.flush(5.0)
        server.shutdown()
        assert result.dropped == 3  # a's, b's and c's first exposures; not a's repeat
        assert api.accepted_events() == []


def test_the_background_flush_counts_events_not_repeated_checks() -> None:
    # event_queue_size is a count of events queued: 300 checks of one exposure queue one event, which waits for
    # the flush interval (as in the legacy SDK, whose queue holds exposures already deduped)
    with FakeStatsigAPI() as api:
        server = StatsigServer()
        assert server.initialize("secret-dedupe", StatsigOptions(
            bootstrap_values=json.dumps(payload_for(SPEC, "v2")), api=api.url, id_lists=False, lambda_mode=False,
            event_queue_size=10, logging_interval=600, rulesets_sync_interval=600,
            tier=StatsigEnvironmentTier.development)).init_success
        user = StatsigUser(user_id="u")
        for _ in range(300):
            server.check_gate(user, "on")
        time.sleep(0.5)
        early = len(api.accepted_log_event_requests())
        for i in range(12):  # 12 events: the worker flushes them
            server.check_gate(StatsigUser(user_id=f"n{i}"), "on")
        deadline = time.monotonic() + 5.0
        while len(api.accepted_events()) < 13 and time.monotonic() < deadline:
            time.sleep(0.02)
        sent = len(api.accepted_events())
        server.shutdown()
        assert early == 0
        assert sent == 13


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_the_warm_up_checks_reach_neither_the_buffer_nor_the_deduper(fmt: str) -> None:
    # initialize runs checks of made-up users on a scratch client: the same checks on the real client are
    # first exposures, and nothing else is sent
    with FakeStatsigAPI() as api:
        server = _server(api, fmt, Clock())
        assert len(_pipeline(server)) == 0
        users = [StatsigUser(f"statsig-lite-warm-up-{i}") for i in range(16)]
        for user in users:
            server.check_gate(user, "on")
            server.check_gate(user, "half")
        server.flush(5.0)
        server.shutdown()
        sent = [(e["user"]["userID"], e["metadata"]["gate"]) for e in api.accepted_events()]
        assert sent == [(u.user_id, g) for u in users for g in ("on", "half")]


def test_a_snapstart_restore_under_the_decorator_sends_the_exposure_recorded_before_the_snapshot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # init code checks a gate before the snapshot (recorded, not flushed); the first invocation after the restore
    # forgets what was seen, so the same check there logs again; the next invocation's is a repeat
    from statsig_lite import lambda_handler, statsig_handler
    from tests.test_lambda_handler import Context

    with FakeStatsigAPI() as api:
        server = StatsigServer()
        options = StatsigOptions(spec_source="example", api=api.url)
        assert server.initialize("secret-k", options).init_success
        user = StatsigUser(user_id="u-snap")
        server.check_gate(user, "new_checkout")
        monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
        monkeypatch.setattr(lambda_handler, "_invocations", 0)

        @statsig_handler(server=server, options=options, secret_key="secret-k")
        def handler(event: dict[str, Any], context: Context) -> None:
            server.check_gate(user, "new_checkout")

        handler({}, Context())
        handler({}, Context())
        server.shutdown()
        assert [e["user"]["userID"] for e in api.accepted_events()] == ["u-snap", "u-snap"]
