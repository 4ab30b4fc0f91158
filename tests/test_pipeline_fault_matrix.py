"""Fault matrix: for each fault and spill store, no event is lost and none is delivered under two batch ids.

Each row: 1,200 mixed exposure and custom events go through enqueue and one flush with a short deadline while
the loopback Statsig API lets the first two requests through and then answers with the fault on every request.
Then the fault is lifted and the spill store is replayed: by a later flush of the same pipeline (dir rows), or
by ``replay_spilled`` on a new pipeline, as a cold start in another container would (S3 and DynamoDB rows).
Every event must arrive exactly as built, once per batch id (a batch may be resent under its own id: that is
the at-least-once contract).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from statsig_lite.pipeline import DeliveryPolicy, EventPipeline
from statsig_lite.sinks import DirSpillStore, DynamoDBSpillStore, S3SpillStore, SpillStore, StatsigHTTPSink
from tests.servers.statsig_api import RESET, SUCCESS_FALSE, TRUNCATED, FakeStatsigAPI, Fault, delay, status
from tests.sinks.wire_events import accepted_by_batch_id, make_events, seq_of

KEY = "secret-fault-matrix-key"
SESSION = "5a0c39a3-0000-4000-8000-000000000003"
EVENTS = 1_200
BATCH_SIZE = 250
DEADLINE_S = 0.6

FAULTS: dict[str, Fault | int] = {
    "500": 500,
    "502": 502,
    "429 Retry-After": status(429, retry_after=1),
    "slow past timeout": delay(2.0),
    "connection reset": RESET,
    "truncated": TRUNCATED,
    "success_false": SUCCESS_FALSE,
}
ROWS = [("dir", name) for name in FAULTS] + [
    ("s3", "500"),
    ("s3", "connection reset"),
    ("s3", "slow past timeout"),
    ("dynamodb", "502"),
    ("dynamodb", "truncated"),
    ("dynamodb", "success_false"),
]


@dataclass(frozen=True)
class Row:
    store: str
    fault: str
    made: int
    delivered: int  # by the first flush, during the fault
    spilled: int
    replayed: int
    lost: int
    resent: int  # accepted requests that repeated a batch id already accepted
    seconds: float


_MATRIX: list[Row] = []


@pytest.fixture(scope="module", autouse=True)
def print_matrix(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not _MATRIX:
        return
    header = (
        f"{'store':<9} {'fault':<18} {'made':>5} {'delivered':>9} {'spilled':>7} {'replayed':>8} "
        f"{'lost':>4} {'resent':>6} {'secs':>5}"
    )
    lines = ["", "pipeline fault matrix", header, "-" * len(header)]
    for r in _MATRIX:
        lines.append(
            f"{r.store:<9} {r.fault:<18} {r.made:>5} {r.delivered:>9} {r.spilled:>7} {r.replayed:>8} "
            f"{r.lost:>4} {r.resent:>6} {r.seconds:>5.2f}"
        )
    # Shown without -s: fixture teardown output is captured unless capturing is suspended.
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        print("\n".join(lines), flush=True)


def _store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> SpillStore:
    if kind == "dir":
        return DirSpillStore(tmp_path / "spill")
    if kind == "s3":
        s3: Any = request.getfixturevalue("s3_client")
        s3.create_bucket(Bucket="spill")
        return S3SpillStore("spill", "events", client=s3)
    ddb: Any = request.getfixturevalue("dynamodb_client")
    ddb.create_table(
        TableName="spill",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return DynamoDBSpillStore("spill", client=ddb)


def _pipeline(api: FakeStatsigAPI, store: SpillStore) -> EventPipeline:
    sink = StatsigHTTPSink(KEY, SESSION, base_url=api.url)
    return EventPipeline(
        100_000, sink=sink, spill=store, session_id=SESSION, policy=DeliveryPolicy(batch_size=BATCH_SIZE)
    )


@pytest.mark.parametrize(("store_kind", "fault"), ROWS, ids=[f"{s}-{f.replace(' ', '_')}" for s, f in ROWS])
def test_no_event_is_lost_or_delivered_twice(
    store_kind: str, fault: str, statsig_api: FakeStatsigAPI, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    started = time.monotonic()
    store = _store(store_kind, request, tmp_path)
    pipeline = _pipeline(statsig_api, store)
    events = make_events(EVENTS, seed=len(_MATRIX))
    for event in events:
        pipeline.enqueue(event)

    statsig_api.inject("log_event", delay(0), times=2)  # two batches get through ...
    statsig_api.inject("log_event", FAULTS[fault], times=None)  # ... then every request fails
    during = pipeline.flush(DEADLINE_S)
    assert during.dropped == 0
    assert during.sent + during.spilled + during.kept == EVENTS
    if during.kept:  # no time left to spill (a loaded machine): the next invocation spills them
        later = pipeline.flush(DEADLINE_S)
        assert later.spilled == during.kept and later.kept == 0
        during.spilled += later.spilled
    assert during.spilled > 0 and store.list()

    statsig_api.clear_faults()
    # dir: a later invocation of the same container; S3, DynamoDB: a cold start in another container.
    replayer = pipeline.flush if store_kind == "dir" else _pipeline(statsig_api, store).replay_spilled
    after = replayer(10.0)
    if store_kind != "dir" and store.list():
        # a write-ahead record whose claim the first container could not release in its budget (a slow store
        # on a loaded machine) waits for that claim to expire, or for the container itself: its next invocation
        left = store.list()
        assert all(ref.owner == pipeline._owner for ref in left), left
        again = pipeline.replay_spilled(10.0)
        after.replayed += again.replayed
        after.kept += again.kept
    assert after.kept == 0 and store.list() == []

    by_id = accepted_by_batch_id(statsig_api)
    got = [e for batch in by_id.values() for e in batch]
    counts = Counter(seq_of(e) for e in got)
    lost = sum(1 for e in events if counts[seq_of(e)] == 0)
    accepted_requests = len(statsig_api.accepted_log_event_requests())
    _MATRIX.append(
        Row(
            store_kind,
            fault,
            EVENTS,
            during.sent,
            during.spilled,
            after.replayed,
            lost,
            accepted_requests - len(by_id),
            time.monotonic() - started,
        )
    )
    assert lost == 0
    assert max(counts.values()) == 1, "an event was delivered under two batch ids"
    assert sorted(got, key=seq_of) == events  # exactly as built
    assert during.sent + after.replayed == EVENTS
