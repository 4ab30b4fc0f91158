"""Encoding and batching, with no server: bad events fail at enqueue, big batches split, nothing is lost."""

from __future__ import annotations

import datetime
import gzip
import json
import math
import os
from typing import Any

import pytest

from statsig_lite.buffer import MAX_EVENT_BYTES, cut_batches, encode_event, encode_json, split_batch
from statsig_lite.errors import StatsigValueError
from statsig_lite.options import StatsigOptions
from statsig_lite.pipeline import EventPipeline, build_pipeline
from tests.sinks.wire_events import make_events, seq_of

META = encode_json({"sdkType": "t", "sdkVersion": "0", "languageVersion": "3", "sessionID": "s"})


def _body_events(body: bytes) -> list[dict[str, Any]]:
    doc = json.loads(gzip.decompress(body))
    assert json.loads(META) == doc["statsigMetadata"]
    events: list[dict[str, Any]] = doc["events"]
    return events


class _Opaque:
    pass


def _circular() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


@pytest.mark.parametrize(
    "bad",
    [
        {"sku": {1, 2}},
        {"when": datetime.datetime(2024, 1, 1)},
        {"obj": _Opaque()},
        {"price": math.nan},
        {"price": math.inf},
        {"tuple_key": {(1, 2): "x"}},
        {"surrogate": "\ud800"},
        _circular(),
    ],
    ids=["set", "datetime", "object", "nan", "inf", "tuple-key", "lone-surrogate", "circular"],
)
def test_non_serialisable_metadata_raises_at_enqueue(bad: dict[str, Any]) -> None:
    pipeline = EventPipeline(100)
    good = make_events(1)[0]
    pipeline.enqueue(good)
    with pytest.raises(StatsigValueError, match="purchase"):
        pipeline.enqueue({"eventName": "purchase", "user": {"userID": "u"}, "time": 1, "metadata": bad})
    assert pipeline.pending() == [good]  # the bad event left nothing behind


def test_non_serialisable_value_raises_at_enqueue() -> None:
    with pytest.raises(StatsigValueError):
        EventPipeline(10).enqueue({"eventName": "buy", "value": b"bytes", "time": 1})


@pytest.mark.parametrize("event", [{"time": 1}, {"eventName": ""}, {"eventName": 3}, ["eventName", "x"]])
def test_event_without_a_name_or_not_a_mapping_is_refused(event: Any) -> None:
    with pytest.raises(StatsigValueError):
        encode_event(event)


def test_event_over_the_size_limit_is_refused_at_enqueue() -> None:
    with pytest.raises(StatsigValueError, match="bytes as JSON"):
        encode_event({"eventName": "big", "metadata": {"blob": "x" * MAX_EVENT_BYTES}})


def test_enqueue_snapshots_the_event() -> None:
    pipeline = EventPipeline(10)
    event = make_events(1)[0]
    expected = json.loads(json.dumps(event))
    pipeline.enqueue(event)
    event["metadata"]["sku"] = "changed after enqueue"
    assert pipeline.pending() == [expected]


def test_disabled_pipeline_validates_but_keeps_nothing() -> None:
    pipeline = build_pipeline(StatsigOptions(local_mode=True), "secret-key", "session")
    pipeline.enqueue(make_events(1)[0])
    with pytest.raises(StatsigValueError):
        pipeline.enqueue({"eventName": "x", "metadata": {"s": {1}}})
    assert pipeline.pending() == []
    assert pipeline.flush(1.0).sent == 0


def test_batches_hold_at_most_event_queue_size_events_in_order() -> None:
    events = make_events(2_345)
    batches = cut_batches([encode_event(e) for e in events], META, 1, max_events=1_000, max_body_bytes=10**9)
    assert [len(b) for b in batches] == [1_000, 1_000, 345]
    assert [e for b in batches for e in _body_events(b.body)] == events
    assert len({b.batch_id for b in batches}) == 3


def test_batch_over_the_byte_cap_is_split_not_dropped() -> None:
    # Incompressible metadata so the gzip body really is large: 200 events x ~6 KB.
    events = [
        {"eventName": "blob", "time": i, "metadata": {"seq": str(i), "noise": os.urandom(3_000).hex()}}
        for i in range(200)
    ]
    cap = 100_000
    batches = cut_batches([encode_event(e) for e in events], META, 1, max_events=1_000, max_body_bytes=cap)
    assert len(batches) > 1
    assert all(len(b.body) <= cap for b in batches)
    assert [e for b in batches for e in _body_events(b.body)] == events


def test_single_event_over_the_byte_cap_goes_alone() -> None:
    events = [{"eventName": "blob", "metadata": {"noise": os.urandom(30_000).hex()}}, make_events(1)[0]]
    batches = cut_batches([encode_event(e) for e in events], META, 1, max_events=10, max_body_bytes=10_000)
    assert [len(b) for b in batches] == [1, 1]
    assert [e for b in batches for e in _body_events(b.body)] == events


def test_split_batch_gives_the_same_child_ids_every_time() -> None:
    [batch] = cut_batches([encode_event(e) for e in make_events(9)], META, 5, max_events=10, max_body_bytes=10**9)
    first, second = split_batch(batch, META), split_batch(batch, META)
    assert [b.batch_id for b in first] == [b.batch_id for b in second]
    assert batch.batch_id not in {b.batch_id for b in first}
    assert [seq_of(e) for b in first for e in _body_events(b.body)] == list(range(9))


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("metadata", "limit"),
    [
        (_nested(990), "MAX_JSON_DEPTH"),
        (_nested(40), "MAX_JSON_DEPTH"),
        ({"price": float("1e400")}, "finite"),
        ({1: "a", "1": "b"}, "not a string"),
        ({"blob": "x" * 300_000}, "limit is 256000"),
        ({"n": 10**5000}, "JSON"),
    ],
    ids=["deep-990", "deep-40", "1e400", "int-key", "metadata-size", "huge-int"],
)
def test_log_event_refuses_what_would_not_decode_back_at_the_call(metadata: Any, limit: str) -> None:
    from statsig_lite import StatsigEvent, StatsigServer, StatsigUser

    server = StatsigServer()
    event = StatsigEvent(StatsigUser(user_id="u"), "purchase", metadata=metadata)
    with pytest.raises(StatsigValueError, match=limit):
        server.log_event(event)
    pipeline = EventPipeline(100)
    with pytest.raises(StatsigValueError, match=limit):
        pipeline.enqueue({**event.to_dict()}, strict=True)
    assert pipeline.pending() == []


def test_log_event_accepts_what_decodes_back_identically() -> None:
    pipeline = EventPipeline(100)
    event = {"eventName": "e", "time": 1, "metadata": {"a": [1, 2.5, None, True, "ü"], "t": (1, 2), "d": _nested(20)}}
    pipeline.enqueue(event, strict=True)
    [back] = pipeline.pending()
    assert back == {**event, "metadata": {**event["metadata"], "t": [1, 2]}}


def test_exposure_with_a_deep_user_field_is_dropped_at_flush_not_spilled() -> None:
    pipeline = EventPipeline(100)

    class Deep:
        def wire(self) -> dict[str, Any]:
            return {"eventName": "statsig::gate_exposure", "user": {"custom": _nested(200)}}

    pipeline.enqueue_exposure(Deep())
    assert pipeline.flush(0.1).dropped == 1


def test_threads_adding_and_taking_the_oldest_while_a_flush_cuts_and_removes_lose_nothing() -> None:
    """Outside Lambda: application threads add (and, past the bound, take the oldest for the journal) while the
    background thread cuts batches and removes what it sent. Every event comes out at least once, and no call
    raises (before every change of the cut batches held the lock, a removal could skip a batch another thread
    shifted, and the overflow's pop could find the list emptied under it)."""
    import threading

    from statsig_lite.buffer import EventBuffer
    from tests.interleave import run_interleaved

    buffer, out, errors = EventBuffer(META), [], []
    per_thread, threads = 20000, 4

    def producer(t: int) -> None:
        try:
            for i in range(per_thread):
                buffer.add(encode_json({"eventName": "e", "value": f"{t}-{i}"}))
                if len(buffer) > 200:
                    taken, events = buffer.take_oldest(0, 20)
                    out.extend(e for b in taken for e in b.events)
                    out.extend(events)
        except Exception as exc:  # pragma: no cover - the failure this test is for
            errors.append(exc)

    def flusher(done: threading.Event) -> None:
        try:
            while not done.is_set():
                cut = buffer.batches(0, max_events=4, max_body_bytes=1 << 20)  # many small batches: long scans
                out.extend(e for b in cut for e in b.events)
                buffer.remove(cut)
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    run_interleaved(producer, threads, flusher)
    out.extend(e for b in buffer.batches(0, max_events=40, max_body_bytes=1 << 20) for e in b.events)
    assert not errors, errors
    seen = {json.loads(e)["value"] for e in out}
    missing = {f"{t}-{i}" for t in range(threads) for i in range(per_thread)} - seen
    assert not missing, f"{len(missing)} lost, e.g. {sorted(missing)[:5]}"


def test_a_removal_scanning_the_batches_while_the_overflow_takes_the_oldest_skips_none() -> None:
    """The interleaving above, made certain: while `remove` scans the cut batches, another thread takes the
    oldest one. Without the lock the scan skipped the batch shifted into the place it had just read, and that
    batch was forgotten: neither sent nor taken."""
    import threading

    from statsig_lite.buffer import EventBuffer

    buffer = EventBuffer(META)
    for i in range(6):
        buffer.add(encode_json({"eventName": "e", "value": i}))
    cut = buffer.batches(0, max_events=2, max_body_bytes=1 << 20)  # three batches: [0,1] [2,3] [4,5]
    taken: list[Any] = []
    others: list[threading.Thread] = []

    class Interleaved(list):  # type: ignore[type-arg]
        def __iter__(self) -> Any:
            for at, batch in enumerate(list.__iter__(self)):
                if at == 1:  # mid-scan: another thread takes the oldest batch, and gets as far as it can
                    other = threading.Thread(target=lambda: taken.append(buffer.take_oldest(0, 1)))
                    other.start()
                    others.append(other)
                    other.join(0.3)  # with the lock it waits for the scan to end: do not wait for it here
                yield batch

    buffer._batches = Interleaved(buffer._batches)
    buffer.remove([cut[1]])  # the flush sent the middle batch
    others[0].join(5)
    got = {json.loads(e)["value"] for t, events in taken for b in t for e in b.events}
    got |= {json.loads(e)["value"] for b in buffer.held() for e in b.events}
    assert got == {0, 1, 4, 5}, got  # [2,3] was sent; the rest is taken or still held


def test_the_overflow_leaves_the_batches_a_flush_is_delivering() -> None:
    """A flush cuts its batches in flight; an overflow meanwhile (another thread, a full buffer) takes fresh
    events, never those batches: it would journal a batch being sent, and the journal would send it again
    (a duplicate under the same batch id). Once the pass is over they are the oldest again."""
    from statsig_lite.buffer import EventBuffer

    buffer = EventBuffer(META)
    for i in range(4):
        buffer.add(encode_json({"eventName": "e", "value": i}))
    cut = buffer.batches(0, max_events=2, max_body_bytes=1 << 20, in_flight=True)  # [0,1] [2,3], being sent
    for i in range(4, 6):
        buffer.add(encode_json({"eventName": "e", "value": i}))
    taken, events = buffer.take_oldest(0, 3)
    assert taken == [] and [json.loads(e)["value"] for e in events] == [4, 5]
    assert buffer.held() == cut
    buffer.delivered()
    taken, events = buffer.take_oldest(0, 1)
    assert taken == [cut[0]] and events == []


def test_a_flush_marks_its_batches_in_flight_and_ends_the_mark() -> None:
    from statsig_lite.buffer import EventBuffer

    seen: list[frozenset[str]] = []
    pipeline = build_pipeline(StatsigOptions(), secret_key="secret-k", session_id="s")
    buffer: EventBuffer = pipeline._buffer

    class Sink:
        def send(self, batch: Any, **kwargs: Any) -> Any:
            seen.append(buffer._in_flight)
            raise RuntimeError("down")

    for i in range(3):
        pipeline.enqueue({"eventName": "e", "value": i})
    pipeline._sink = Sink()  # type: ignore[assignment]
    pipeline.flush(0.5)
    assert seen and all(seen), seen  # every send saw its batch in flight
    assert buffer._in_flight == frozenset()
