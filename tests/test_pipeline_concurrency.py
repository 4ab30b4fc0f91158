"""A flush keeps several log_event batches in flight, on threads that end with it (loopback API, real sockets).

Timing assertions leave wide margins (the machine is shared): "well under the sequential time", and lower
bounds that follow from the server's own delays ("a fifth request waits for one of the first four").
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from statsig_lite.buffer import Batch
from statsig_lite.errors import ConfigurationError
from statsig_lite.options import StatsigOptions
from statsig_lite.pipeline import DeliveryPolicy, EventPipeline, build_pipeline
from statsig_lite.sinks import DirSpillStore, StatsigHTTPSink
from tests.servers.statsig_api import FakeStatsigAPI, delay, status
from tests.sinks.wire_events import make_events
from tests.test_pipeline import KEY, SESSION, assert_all_delivered_once, batch_id, enqueue_all

DELAY_S = 0.2
BATCH = 100


class ThreadRecordingSink(StatsigHTTPSink):
    """The real HTTP sink, noting which threads called it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.threads: set[threading.Thread] = set()

    def send(self, batch: Batch, *, attempt: int, timeout_s: float) -> None:
        self.threads.add(threading.current_thread())
        super().send(batch, attempt=attempt, timeout_s=timeout_s)


def make_pipeline(api: FakeStatsigAPI, spill: Any = None, **policy: Any) -> tuple[EventPipeline, ThreadRecordingSink]:
    sink = ThreadRecordingSink(KEY, SESSION, base_url=api.url)
    pipeline = EventPipeline(
        100_000, sink=sink, spill=spill, session_id=SESSION, policy=DeliveryPolicy(batch_size=BATCH, **policy)
    )
    return pipeline, sink


def arrivals(api: FakeStatsigAPI) -> list[float]:
    return sorted(r.received_at for r in api.log_event_requests())


def new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads alive now that were not before, apart from the fake server's connection handlers."""
    return [t for t in threading.enumerate() if t not in before and not t.name.startswith("fake-statsig")]


def test_batches_travel_concurrently_and_each_is_delivered_once(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.inject("log_event", delay(DELAY_S), times=None)
    pipeline, _ = make_pipeline(statsig_api)
    events = make_events(8 * BATCH)
    enqueue_all(pipeline, events)
    started = time.monotonic()
    result = pipeline.flush(10.0)
    elapsed = time.monotonic() - started
    assert (result.sent, result.kept, result.spilled, result.errors) == (8 * BATCH, 0, 0, ())
    assert elapsed < 0.6 * 8 * DELAY_S  # one after another takes 8 x 0.2 s; four at a time about 0.4 s
    requests = statsig_api.log_event_requests()
    assert len(requests) == 8 and len({batch_id(r) for r in requests}) == 8
    assert_all_delivered_once(statsig_api, events)
    first, *_, fifth = arrivals(statsig_api)[:5]
    assert fifth - first >= DELAY_S - 0.01  # never more than four in flight: the fifth waited for a free slot


def test_max_in_flight_1_sends_one_batch_after_another(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.inject("log_event", delay(DELAY_S), times=None)
    pipeline, sink = make_pipeline(statsig_api, max_in_flight=1)
    enqueue_all(pipeline, make_events(3 * BATCH))
    assert pipeline.flush(10.0).sent == 3 * BATCH
    times = arrivals(statsig_api)
    assert all(later - earlier >= DELAY_S - 0.01 for earlier, later in itertools.pairwise(times))
    assert sink.threads == {threading.current_thread()}


def test_no_thread_started_by_a_flush_or_shutdown_outlives_it(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    before = set(threading.enumerate())
    statsig_api.inject("log_event", delay(DELAY_S), times=6)
    statsig_api.inject("log_event", delay(30), times=None)  # then the server hangs: workers block in a read
    pipeline, sink = make_pipeline(statsig_api, DirSpillStore(tmp_path))

    enqueue_all(pipeline, make_events(6 * BATCH))
    assert pipeline.flush(10.0).sent == 6 * BATCH
    workers = sink.threads - {threading.current_thread()}
    assert 2 <= len(workers) <= 4  # the sends did run on other threads ...
    assert not any(t.is_alive() for t in workers)  # ... and each of them ended with the flush
    assert new_threads(before) == []

    enqueue_all(pipeline, make_events(6 * BATCH, start=6 * BATCH))
    started = time.monotonic()
    result = pipeline.shutdown(0.6)
    assert time.monotonic() - started < 1.5  # reads time out at the deadline; nothing waits for the server
    assert (result.sent, result.spilled, result.kept) == (0, 6 * BATCH, 0)
    assert not any(t.is_alive() for t in sink.threads - {threading.current_thread()})
    assert new_threads(before) == []


def test_what_the_deadline_does_not_allow_is_spilled_under_its_batch_ids_and_replayed(
    statsig_api: FakeStatsigAPI, tmp_path: Path
) -> None:
    store = DirSpillStore(tmp_path)
    statsig_api.inject("log_event", delay(0), times=4)  # the first four requests are answered at once ...
    statsig_api.inject("log_event", delay(30), times=None)  # ... the next four never in time
    pipeline, _ = make_pipeline(statsig_api, store)
    events = make_events(8 * BATCH)
    enqueue_all(pipeline, events)
    started = time.monotonic()
    result = pipeline.flush(1.0)
    assert time.monotonic() - started < 1.5
    assert (result.sent, result.spilled, result.kept, result.dropped) == (4 * BATCH, 4 * BATCH, 0, 0)
    [ref] = store.list()
    record = store.read(ref)
    assert record is not None
    timed_out = {batch_id(r) for r in statsig_api.log_event_requests() if r.fault == "delay_30s"}
    assert {b.batch_id for b in record.batches} == timed_out and len(timed_out) == 4

    statsig_api.clear_faults()
    again = pipeline.flush(5.0)
    assert (again.sent, again.replayed, again.kept) == (0, 4 * BATCH, 0)
    assert store.list() == []
    assert_all_delivered_once(statsig_api, events)  # the timed-out sends and their replays share ids


def test_once_statsig_seems_unavailable_no_new_batch_is_started(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    store = DirSpillStore(tmp_path)
    statsig_api.inject("log_event", status(429, retry_after=30))  # the first answer: come back in 30 s
    statsig_api.inject("log_event", delay(0.3), times=None)  # the three others in flight are accepted, slowly
    pipeline, _ = make_pipeline(statsig_api, store)
    events = make_events(12 * BATCH)
    enqueue_all(pipeline, events)
    started = time.monotonic()
    result = pipeline.flush(5.0)
    assert time.monotonic() - started < 2.0  # no waiting for Retry-After, nor for the deadline
    assert len(statsig_api.log_event_requests()) == 4  # the four in flight finished; none started after
    assert (result.sent, result.spilled, result.kept) == (3 * BATCH, 9 * BATCH, 0)
    assert len(result.errors) == 1 and "HTTP 429" in result.errors[0]

    statsig_api.clear_faults()
    assert pipeline.flush(5.0).replayed == 9 * BATCH
    assert_all_delivered_once(statsig_api, events)


def test_413_on_a_batch_in_flight_splits_it_while_the_others_go_on(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.inject("log_event", 413)
    pipeline, _ = make_pipeline(statsig_api)
    events = make_events(3 * BATCH)
    enqueue_all(pipeline, events)
    assert pipeline.flush(5.0).sent == 3 * BATCH
    requests = statsig_api.log_event_requests()
    assert sorted(int(r.header("statsig-event-count") or 0) for r in requests) == [50, 50, 100, 100, 100]
    assert len({batch_id(r) for r in requests}) == 5
    assert_all_delivered_once(statsig_api, events)


def test_build_pipeline_takes_max_in_flight_batches_from_the_options(statsig_api: FakeStatsigAPI) -> None:
    options = StatsigOptions(api_for_log_event=statsig_api.url, event_queue_size=BATCH, max_in_flight_batches=2)
    pipeline = build_pipeline(options, KEY, SESSION)
    assert pipeline.policy.max_in_flight == 2
    assert DeliveryPolicy().max_in_flight == 4
    statsig_api.inject("log_event", delay(DELAY_S), times=None)
    enqueue_all(pipeline, make_events(4 * BATCH))
    assert pipeline.flush(5.0).sent == 4 * BATCH
    first, _, third, _ = arrivals(statsig_api)
    assert third - first >= DELAY_S - 0.01  # two at a time


def test_max_in_flight_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="max_in_flight=0"):
        DeliveryPolicy(max_in_flight=0)
