"""EventPipeline against the loopback Statsig API and a real spill directory."""

from __future__ import annotations

import ast
import gzip
import json
import logging
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from statsig_lite.journal import Journal
from statsig_lite.options import StatsigOptions
from statsig_lite.pipeline import DeliveryPolicy, EventPipeline, build_pipeline, default_max_buffered_bytes
from statsig_lite.sinks import DirSpillStore, SpillRef, StatsigHTTPSink
from tests.servers.statsig_api import FakeStatsigAPI, RecordedRequest, delay, status
from tests.sinks.wire_events import accepted_by_batch_id, make_events, seq_of

KEY = "secret-pipeline-key"
SESSION = "8d7f1f55-0000-4000-8000-000000000002"
REPO = Path(__file__).resolve().parent.parent


def make_pipeline(
    api: FakeStatsigAPI, spill: Any = None, *, max_events: int = 100_000, journal: Any = None, **policy: Any
) -> EventPipeline:
    sink = StatsigHTTPSink(KEY, SESSION, base_url=api.url)
    return EventPipeline(
        max_events, sink=sink, spill=spill, journal=journal, session_id=SESSION, policy=DeliveryPolicy(**policy)
    )


def enqueue_all(pipeline: EventPipeline, events: list[dict[str, Any]]) -> None:
    for event in events:
        pipeline.enqueue(event)


def batch_id(request: RecordedRequest) -> str:
    value = request.header("statsig-batch-id")
    assert value
    return value


def delivered(api: FakeStatsigAPI) -> list[dict[str, Any]]:
    """Accepted events, each batch id counted once."""
    return [e for events in accepted_by_batch_id(api).values() for e in events]


def assert_all_delivered_once(api: FakeStatsigAPI, events: list[dict[str, Any]]) -> None:
    got = delivered(api)
    assert Counter(seq_of(e) for e in got) == Counter(seq_of(e) for e in events)
    assert sorted(got, key=seq_of) == sorted(events, key=seq_of)


def test_flush_delivers_every_event_in_batches_of_event_queue_size(statsig_api: FakeStatsigAPI) -> None:
    pipeline = make_pipeline(statsig_api, batch_size=1000)
    events = make_events(2_500)
    enqueue_all(pipeline, events)
    result = pipeline.flush(5.0)
    assert (result.sent, result.kept, result.spilled, result.errors) == (2_500, 0, 0, ())
    requests = statsig_api.log_event_requests()
    assert [r.header("statsig-event-count") for r in requests] == ["1000", "1000", "500"]
    assert [e for r in requests for e in r.json["events"]] == events
    assert len(pipeline) == 0 and pipeline.flush(1.0).sent == 0


class Recorded:
    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event

    def wire(self) -> dict[str, Any]:
        return self.event


def test_recorded_exposures_are_encoded_at_flush_and_an_unencodable_one_is_reported(
    statsig_api: FakeStatsigAPI, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = make_pipeline(statsig_api)
    events = make_events(3)
    bad = {**events[1], "user": {"userID": "u", "custom": {"when": object()}}}
    for event in (events[0], bad, events[2]):
        pipeline.enqueue_exposure(Recorded(event))
    assert len(pipeline) == 3
    with caplog.at_level(logging.ERROR, logger="statsig_lite"):
        result = pipeline.flush(5.0)
    assert result.sent == 2 and len(pipeline) == 0
    assert [e for r in statsig_api.log_event_requests() for e in r.json["events"]] == [events[0], events[2]]
    assert "cannot be sent and are dropped" in caplog.text and "not JSON-serialisable" in caplog.text
    assert result.dropped == 1


def test_5xx_is_retried_under_the_same_batch_id(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.inject("log_event", 503, times=2)
    pipeline = make_pipeline(statsig_api)
    events = make_events(40)
    enqueue_all(pipeline, events)
    assert pipeline.flush(5.0).sent == 40
    requests = statsig_api.log_event_requests()
    assert [r.status for r in requests] == [503, 503, 202]
    assert [r.header("statsig-retry") for r in requests] == ["0", "1", "2"]
    assert len({batch_id(r) for r in requests}) == 1
    assert_all_delivered_once(statsig_api, events)


def test_retry_after_is_honoured(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.inject("log_event", status(429, retry_after=0.4))
    pipeline = make_pipeline(statsig_api)
    enqueue_all(pipeline, make_events(5))
    assert pipeline.flush(5.0).sent == 5
    first, second = statsig_api.log_event_requests()
    assert second.received_at - first.received_at >= 0.4


def test_retry_after_past_the_deadline_spills_without_waiting(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    statsig_api.inject("log_event", status(429, retry_after=30))
    pipeline = make_pipeline(statsig_api, DirSpillStore(tmp_path))
    enqueue_all(pipeline, make_events(5))
    started = time.monotonic()
    result = pipeline.flush(2.0)
    assert time.monotonic() - started < 1.0
    assert (result.sent, result.spilled, result.kept) == (0, 5, 0)
    assert len(statsig_api.log_event_requests()) == 1


def test_a_batch_refused_with_400_is_bisected_and_only_the_refused_event_is_quarantined(
    statsig_api: FakeStatsigAPI, tmp_path: Path
) -> None:
    store = DirSpillStore(tmp_path)
    events = make_events(100)
    poison = events[37]
    statsig_api.refuse_events(lambda e: e == poison, 400)
    pipeline = make_pipeline(statsig_api, store, batch_size=100)
    enqueue_all(pipeline, events)
    result = pipeline.flush(5.0)
    assert (result.sent, result.rejected, result.quarantined, result.kept, result.dropped) == (99, 1, 1, 0, 0)
    assert len(statsig_api.log_event_requests()) <= 2 * 7 + 1  # a bisection, not a request per event
    assert_all_delivered_once(statsig_api, [e for e in events if e is not poison])
    [ref] = store.quarantined()
    assert [json.loads(e) for b in store.read_quarantined(ref).batches for e in b.events] == [poison]
    assert store.list() == []  # not replayed again


def test_a_batch_refused_as_a_whole_is_quarantined_within_a_bounded_number_of_requests(
    statsig_api: FakeStatsigAPI, tmp_path: Path
) -> None:
    statsig_api.inject("log_event", 400, times=None)
    store = DirSpillStore(tmp_path)
    pipeline = make_pipeline(statsig_api, store, batch_size=500)
    enqueue_all(pipeline, make_events(1_000))
    result = pipeline.flush(5.0)
    assert (result.rejected, result.quarantined, result.sent, result.dropped, result.kept) == (1_000, 1_000, 0, 0, 0)
    assert len(statsig_api.log_event_requests()) <= 2 * 24 + 2
    assert sum(len(store.read_quarantined(r).batches[0].events) for r in store.quarantined()) <= 1_000


@pytest.mark.parametrize("code", [401, 403])
def test_401_and_403_keep_every_event_and_say_what_to_fix(
    code: int, statsig_api: FakeStatsigAPI, caplog: pytest.LogCaptureFixture
) -> None:
    statsig_api.inject("log_event", code, times=None)
    pipeline = make_pipeline(statsig_api, batch_size=10)
    events = make_events(35)
    enqueue_all(pipeline, events)
    result = pipeline.flush(5.0)
    assert (result.sent, result.kept, result.dropped, result.rejected) == (0, 35, 0, 0)
    assert len(statsig_api.log_event_requests()) == 1  # the key is wrong for every batch: stop at the first
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"HTTP {code}" in m and "STATSIG_SERVER_SECRET" in m for m in messages)
    assert all(KEY not in r.getMessage() for r in caplog.records)
    statsig_api.clear_faults()
    assert pipeline.flush(5.0).sent == 35  # retried on a later flush, once the key works
    assert_all_delivered_once(statsig_api, events)


def test_413_splits_the_batch_and_delivers_both_halves(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.inject("log_event", 413)
    pipeline = make_pipeline(statsig_api)
    events = make_events(9)
    enqueue_all(pipeline, events)
    assert pipeline.flush(5.0).sent == 9
    assert [r.header("statsig-event-count") for r in statsig_api.log_event_requests()] == ["9", "4", "5"]
    assert_all_delivered_once(statsig_api, events)


def test_payload_over_the_byte_cap_is_split_not_dropped(statsig_api: FakeStatsigAPI) -> None:
    pipeline = make_pipeline(statsig_api, max_body_bytes=20_000)
    events = make_events(3_000)
    enqueue_all(pipeline, events)
    assert pipeline.flush(10.0).sent == 3_000
    requests = statsig_api.log_event_requests()
    assert len(requests) > 3 and all(len(r.body) <= 20_000 for r in requests)
    assert_all_delivered_once(statsig_api, events)


def test_undelivered_events_are_spilled_then_replayed_on_a_later_flush(
    statsig_api: FakeStatsigAPI, tmp_path: Path
) -> None:
    store = DirSpillStore(tmp_path)
    statsig_api.inject("log_event", 503, times=None)
    pipeline = make_pipeline(statsig_api, store, batch_size=100)
    events = make_events(250)
    enqueue_all(pipeline, events)
    result = pipeline.flush(0.6)
    assert (result.sent, result.spilled, result.kept) == (0, 250, 0)
    assert result.errors and "HTTP 503" in result.errors[0]
    [ref] = store.list()
    record = store.read(ref)
    assert record is not None and len(record.batches) == 3
    failed_ids = {batch_id(r) for r in statsig_api.log_event_requests()}
    assert failed_ids <= {b.batch_id for b in record.batches}

    statsig_api.clear_faults()
    again = pipeline.flush(5.0)
    assert (again.sent, again.replayed) == (0, 250)
    assert store.list() == []
    assert {batch_id(r) for r in statsig_api.accepted_log_event_requests()} == {b.batch_id for b in record.batches}
    assert_all_delivered_once(statsig_api, events)


def test_partial_replay_keeps_only_the_batches_not_accepted(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    store = DirSpillStore(tmp_path)
    statsig_api.inject("log_event", 500, times=None)
    pipeline = make_pipeline(statsig_api, store, batch_size=10)
    events = make_events(30)
    enqueue_all(pipeline, events)
    assert pipeline.flush(0.3).spilled == 30
    [ref] = store.list()
    original = store.read(ref)
    assert original is not None

    statsig_api.clear_faults()
    statsig_api.inject("log_event", delay(0))  # the next request passes ...
    statsig_api.inject("log_event", 500, times=None)  # ... the ones after it fail
    assert pipeline.replay_spilled(0.5).replayed == 10
    [rewritten] = store.list()
    assert rewritten.created_at_ms == ref.created_at_ms and rewritten.spill_id != ref.spill_id
    left = store.read(rewritten)
    assert left is not None
    assert [b.batch_id for b in left.batches] == [b.batch_id for b in original.batches[1:]]

    statsig_api.clear_faults()
    assert pipeline.replay_spilled(5.0).replayed == 20
    accepted = [batch_id(r) for r in statsig_api.accepted_log_event_requests()]
    assert sorted(accepted) == sorted(b.batch_id for b in original.batches)  # each exactly once
    assert_all_delivered_once(statsig_api, events)


def test_spill_records_never_contain_the_secret(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    statsig_api.inject("log_event", 500, times=None)
    pipeline = make_pipeline(statsig_api, DirSpillStore(tmp_path))
    enqueue_all(pipeline, make_events(20))
    assert pipeline.flush(0.3).spilled == 20
    [path] = tmp_path.iterdir()
    raw = gzip.decompress(path.read_bytes())
    assert KEY.encode() not in raw and SESSION.encode() in raw


def test_full_buffer_moves_the_oldest_events_to_the_journal_without_a_round_trip(
    statsig_api: FakeStatsigAPI, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal")
    pipeline = make_pipeline(statsig_api, DirSpillStore(tmp_path / "spill"), max_events=500, batch_size=100,
                             journal=journal)
    events = make_events(1_200)
    started = time.perf_counter()
    enqueue_all(pipeline, events)
    assert time.perf_counter() - started < 1.0
    assert len(pipeline) < 500 and journal.store.list()
    assert statsig_api.log_event_requests() == []  # no round trip on the enqueue path
    result = pipeline.flush(5.0)
    assert result.dropped == 0 and result.sent + result.replayed == 1_200
    assert_all_delivered_once(statsig_api, events)
    assert journal.store.list() == []


def test_buffer_is_bounded_by_bytes(statsig_api: FakeStatsigAPI) -> None:
    pipeline = make_pipeline(statsig_api, max_buffered_bytes=300_000)
    events = make_events(3_000)
    enqueue_all(pipeline, events)
    assert pipeline.buffered_bytes <= 300_000
    result = pipeline.flush(5.0)
    assert result.dropped > 0 and result.sent + result.dropped == 3_000


def test_default_byte_bound_follows_the_function_memory() -> None:
    assert default_max_buffered_bytes({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}) == int(256 * 1024 * 1024 * 0.05)
    assert default_max_buffered_bytes({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "32"}) == 2 * 1024 * 1024
    assert default_max_buffered_bytes({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240"}) == 64 * 1024 * 1024
    assert default_max_buffered_bytes({}) == 64 * 1024 * 1024


def test_full_buffer_with_nowhere_to_go_drops_the_oldest_loudly(
    statsig_api: FakeStatsigAPI, caplog: pytest.LogCaptureFixture
) -> None:
    statsig_api.inject("log_event", 503, times=None)
    pipeline = make_pipeline(statsig_api, max_events=300, batch_size=100)
    events = make_events(350)
    enqueue_all(pipeline, events)
    dropped_logs = [r for r in caplog.records if r.levelno == logging.ERROR and "dropped the oldest" in r.getMessage()]
    assert sum(r.__dict__["events"] for r in dropped_logs) == 51
    assert [seq_of(e) for e in pipeline.pending()] == list(range(51, 350))  # the newest are kept
    assert statsig_api.log_event_requests() == []
    assert pipeline.flush(0.1).dropped == 51


def _fill_during_a_slow_flush(api: FakeStatsigAPI, pipeline: EventPipeline, events: list[dict[str, Any]],
                              in_flight: int) -> list[Any]:
    """Flush `in_flight` events on another thread (the background one) against a slow Statsig, and enqueue the
    rest while it sends them; then flush again with Statsig back. The two FlushResults."""
    import threading

    api.inject("log_event", delay(0.2), times=None)
    enqueue_all(pipeline, events[:in_flight])
    results: list[Any] = []
    flush = threading.Thread(target=lambda: results.append(pipeline.flush(10.0)))
    flush.start()
    api.wait_for_requests("log_event", 1)  # sending the first batch
    enqueue_all(pipeline, events[in_flight:])
    flush.join(10)
    api.clear_faults()
    results.append(pipeline.flush(5.0))
    return results


def test_batches_in_flight_are_not_dropped_nor_counted_against_the_bound_by_a_full_buffer(
    statsig_api: FakeStatsigAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside Lambda (no journal by default) checks may fill the buffer while the background thread sends it.
    The batches in flight are the flush's: dropping them freed no memory (the flush holds them) and lost
    nothing (they were delivered, or put back), yet they were counted dropped, with an ERROR. They stay out
    of the overflow's count and reach: the bound is kept on the rest (past it, the oldest of the rest are
    dropped), and every event is delivered or dropped, and counted, once."""
    for made, in_flight in ((350, 299), (700, 299)):  # the rest within the bound, then past it
        statsig_api.clear_requests()
        caplog.clear()
        pipeline = make_pipeline(statsig_api, max_events=300, batch_size=100)
        events = make_events(made)
        results = _fill_during_a_slow_flush(statsig_api, pipeline, events, in_flight)  # 100, 100, 99 in flight
        sent, dropped = sum(r.sent for r in results), sum(r.dropped for r in results)
        logged = sum(r.__dict__["events"] for r in caplog.records if "dropped the oldest" in r.getMessage())
        got = [seq_of(e) for e in delivered(statsig_api)]
        assert (sent + dropped + results[-1].kept, logged, len(got), len(set(got))) == (made, dropped, sent, sent)
        assert set(range(in_flight)) <= set(got)  # what was in flight arrives
        assert dropped == max(0, made - in_flight - 299), (made, dropped)  # the rest is held to the bound


def test_the_halves_of_a_batch_split_in_flight_stay_the_flush_s_until_its_pass_ends(
    statsig_api: FakeStatsigAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch split during a pass (413 here; a refusal's bisection, a poisoned batch) comes back to the buffer as
    halves with ids of their own, and the pass spills them. An overflow meanwhile (another thread's check,
    here during the spill write) dropped those halves: counted dropped with an ERROR, though they were
    spilled, and replayed, the same events."""
    statsig_api.inject("log_event", 413, times=1)
    statsig_api.inject("log_event", 503, times=None)  # the halves are not sent: Statsig is down
    store = DirSpillStore(tmp_path / "spill", fsync=False)
    pipeline = make_pipeline(statsig_api, store, max_events=300, batch_size=100)
    events = make_events(400)
    enqueue_all(pipeline, events[:100])
    write = store.write

    def write_then_fill(record: Any, **kwargs: Any) -> Any:  # the checks of another thread, during the write
        ref = write(record, **kwargs)
        if kwargs.get("claim") is None and len(pipeline) <= 100:  # the halves' spill record, not the write-ahead
            enqueue_all(pipeline, events[100:])  # past the bound with the halves: the oldest 100 must go
        return ref

    store.write = write_then_fill  # type: ignore[method-assign]
    results = [pipeline.flush(2.0)]
    store.write = write  # type: ignore[method-assign]
    statsig_api.clear_faults()
    results.append(pipeline.flush(5.0))
    dropped, spilled = sum(r.dropped for r in results), results[0].spilled
    logged = sum(r.__dict__["events"] for r in caplog.records if "dropped the oldest" in r.getMessage())
    got = [seq_of(e) for e in delivered(statsig_api)]
    assert (spilled, logged) == (100, dropped)
    assert len(got) + dropped == 400 and len(set(got)) == len(got), (len(got), dropped)


def test_a_full_buffer_journals_a_chunk_not_each_event_while_its_batches_are_in_flight(
    statsig_api: FakeStatsigAPI, tmp_path: Path
) -> None:
    """With a journal: the overflow leaves the batches in flight (9a60aad). Counting them against the bound, each
    event enqueued meanwhile wrote a journal file of its own (51 writes for 51 events here, each with a
    warning), on the check's thread. Past the bound without them, it journals a chunk."""
    journal = Journal(tmp_path / "journal")
    pipeline = make_pipeline(statsig_api, max_events=300, batch_size=100, journal=journal)
    events = make_events(700)
    writes: list[int] = []
    write = journal.store.write

    def counted(record: Any, **kwargs: Any) -> Any:  # the real write, each one's size noted
        writes.append(record.event_count)
        return write(record, **kwargs)

    journal.store.write = counted  # type: ignore[method-assign]
    results = _fill_during_a_slow_flush(statsig_api, pipeline, events, 299)
    overflow = [n for n in writes if n < 299]  # not the write-ahead of the flushes' batches
    assert overflow and min(overflow) >= 75, writes  # a chunk: a quarter of max_events at least
    assert sum(r.dropped for r in results) == 0
    assert_all_delivered_once(statsig_api, events)
    assert journal.store.list() == []


def test_shutdown_spills_whatever_is_left(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    statsig_api.inject("log_event", delay(5), times=None)
    store = DirSpillStore(tmp_path)
    pipeline = make_pipeline(statsig_api, store)
    enqueue_all(pipeline, make_events(60))
    started = time.monotonic()
    result = pipeline.shutdown(0.5)
    assert time.monotonic() - started < 1.0
    assert (result.spilled, result.kept) == (60, 0)
    assert len(store.list()) == 1


def test_shutdown_without_a_spill_store_reports_what_is_left(
    statsig_api: FakeStatsigAPI, caplog: pytest.LogCaptureFixture
) -> None:
    statsig_api.inject("log_event", 500, times=None)
    pipeline = make_pipeline(statsig_api)
    enqueue_all(pipeline, make_events(8))
    assert pipeline.shutdown(0.2).kept == 8
    assert any("left in memory at shutdown" in r.getMessage() for r in caplog.records)


def test_spill_failure_keeps_events_in_memory_with_their_batch_ids(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    statsig_api.inject("log_event", 500, times=None)
    pipeline = make_pipeline(statsig_api, DirSpillStore(blocker))
    events = make_events(12)
    enqueue_all(pipeline, events)
    result = pipeline.flush(0.3)
    assert (result.spilled, result.kept) == (0, 12)
    assert any("cannot write" in e for e in result.errors)
    first_id = batch_id(statsig_api.log_event_requests()[0])

    statsig_api.clear_faults()
    assert pipeline.flush(5.0).sent == 12
    assert batch_id(statsig_api.accepted_log_event_requests()[0]) == first_id
    assert_all_delivered_once(statsig_api, events)


class CountingStore(DirSpillStore):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.listings = 0

    def list(self, *, deadline: Any = None) -> list[SpillRef]:
        self.listings += 1
        return super().list(deadline=deadline)


def test_flush_lists_the_spill_store_at_most_once_per_interval(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    now = [1_000.0]
    store = CountingStore(tmp_path)
    pipeline = EventPipeline(
        100,
        sink=StatsigHTTPSink(KEY, SESSION, base_url=statsig_api.url),
        spill=store,
        policy=DeliveryPolicy(replay_interval_s=60.0),
        clock=lambda: now[0],
    )
    pipeline.flush(1.0, replay=False)  # cold start: looks once
    pipeline.flush(1.0, replay=False)
    assert store.listings == 1
    now[0] += 61
    pipeline.flush(1.0, replay=False)
    assert store.listings == 2
    assert pipeline.replay_spilled(1.0).replayed == 0 and store.listings == 3
    pipeline.flush(1.0)  # an explicit flush() always looks, even with nothing buffered
    assert store.listings == 4


def test_build_pipeline_follows_the_options(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    options = StatsigOptions(
        api_for_log_event=statsig_api.url, spill_target=f"file://{tmp_path}", event_batch_size=7, flush_timeout=4.0
    )
    pipeline = build_pipeline(options, KEY, SESSION)
    assert isinstance(pipeline.spill_store, DirSpillStore)
    assert (pipeline.policy.batch_size, pipeline.policy.flush_timeout_s) == (7, 4.0)
    enqueue_all(pipeline, make_events(10))
    assert pipeline.flush().sent == 10
    requests = statsig_api.log_event_requests()
    assert [r.header("statsig-event-count") for r in requests] == ["7", "3"]
    assert requests[0].json["statsigMetadata"]["sessionID"] == SESSION
    assert requests[0].header("statsig-server-session-id") == SESSION


def test_disable_all_logging_sends_nothing(statsig_api: FakeStatsigAPI) -> None:
    pipeline = build_pipeline(StatsigOptions(api=statsig_api.url, disable_all_logging=True), KEY, SESSION)
    enqueue_all(pipeline, make_events(3))
    assert pipeline.flush(1.0) == pipeline.shutdown(1.0)
    assert statsig_api.requests == []


_DELIVERY_MODULES = [
    REPO / "statsig_lite" / "pipeline.py",
    REPO / "statsig_lite" / "buffer.py",
    *sorted((REPO / "statsig_lite" / "sinks").glob("*.py")),
]
_FORBIDDEN = {"threading", "_thread", "atexit", "sched", "asyncio", "concurrent", "multiprocessing", "signal"}


@pytest.mark.parametrize("path", _DELIVERY_MODULES, ids=lambda p: p.name)
def test_delivery_code_uses_no_threads_timers_or_atexit(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & _FORBIDDEN


def test_importing_and_building_the_pipeline_loads_neither_urllib3_nor_boto3() -> None:
    code = (
        "import sys\n"
        "from statsig_lite.options import StatsigOptions\n"
        "from statsig_lite.pipeline import build_pipeline\n"
        "for target in ('s3://b/p', 'dynamodb://t', 'file:///tmp/x'):\n"
        "    build_pipeline(StatsigOptions(spill_target=target), 'k', 's')\n"
        "print(sorted(m for m in ('urllib3', 'boto3', 'botocore') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_replay_goes_oldest_first_and_quarantines_unreadable_records(
    statsig_api: FakeStatsigAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = DirSpillStore(tmp_path)
    clock = [1_700_000_000.0]
    pipeline = EventPipeline(
        100,
        sink=StatsigHTTPSink(KEY, SESSION, base_url=statsig_api.url),
        spill=store,
        wall_clock=lambda: clock[0],
    )
    statsig_api.inject("log_event", 500, times=None)
    for start in (0, 10, 20):  # three records, one second apart
        enqueue_all(pipeline, make_events(10, start=start))
        assert pipeline.flush(0.2).spilled == 10
        clock[0] += 1
    _, middle, _ = store.list()
    (tmp_path / middle.key).write_bytes(b"garbage")
    statsig_api.clear_faults()
    statsig_api.clear_requests()

    result = pipeline.replay_spilled(5.0)
    assert result.replayed == 20 and len(result.errors) == 1
    sent = [seq_of(r.json["events"][0]) for r in statsig_api.log_event_requests()]
    assert sent == [0, 20]
    assert store.list() == []
    assert [r.key for r in store.quarantined()] == [middle.name]  # moved aside with its reason, not deleted
    assert "incorrect header check" in (tmp_path / "quarantine" / f"{middle.name}.reason").read_text()
    assert any("quarantining an unreadable spill record" in r.getMessage() for r in caplog.records)
    assert pipeline.replay_spilled(5.0).errors == ()


def test_flush_and_shutdown_replay_spilled_events_with_nothing_buffered(
    statsig_api: FakeStatsigAPI, tmp_path: Path
) -> None:
    from statsig_lite import StatsigServer
    from tests.sinks.wire_events import make_record

    store = DirSpillStore(tmp_path / "spill")
    store.write(make_record(30, batch_size=10))
    options = StatsigOptions(spec_source="example", api=statsig_api.url, spill_target=store.description,
                             spill_replay_interval_seconds=3600)
    server = StatsigServer()
    server.initialize(KEY, options)
    assert server.flush(2.0).replayed == 30 and store.list() == []
    store.write(make_record(20, batch_size=10, start=100))
    assert server.flush(2.0).replayed == 20  # an explicit flush looks again, whatever the interval
    store.write(make_record(5, batch_size=10, start=200))
    assert server.shutdown(2.0).replayed == 5 and store.list() == []
