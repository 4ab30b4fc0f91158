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
