"""The chaos matrix: the event path under faults, with real parts (loopback Statsig API, moto in server mode
behind a delaying proxy, real awslambdaric killed with SIGKILL and restarted in the same sandbox directory).

Each row makes events with a unique ``seq``, breaks something, lets the SDK do its work through flushes with
short budgets, lifts the fault and flushes again. It then looks where every event is: delivered (accepted by
the fake Statsig API), quarantined (in a quarantine, moved there by the SDK), still held (memory, journal,
spill store), or nowhere: ``lost``. ``duplicated`` counts deliveries past the first of one event. Every flush
is timed against its budget. The matrix is printed at the end of the module.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from statsig_lite import StatsigEvent, StatsigOptions, StatsigServer, StatsigUser, statsig_handler
from statsig_lite import constants as c
from statsig_lite.journal import Journal
from statsig_lite.pipeline import DeliveryPolicy, EventPipeline
from statsig_lite.results import FlushResult
from statsig_lite.sinks import DirSpillStore, DynamoDBSpillStore, S3SpillStore, SpillStore, StatsigHTTPSink
from statsig_lite.sinks.retry import RetryPolicy
from tests.chaos.delay_proxy import DelayProxy
from tests.servers.lambda_runtime import LambdaProcess
from tests.servers.statsig_api import FakeStatsigAPI, delay
from tests.sinks.wire_events import make_events, make_record, seq_of

KEY = "secret-chaos-key"
TOLERANCE_S = c.FLUSH_TOLERANCE_S
FAST_RETRY = RetryPolicy(backoff_base_s=0.005, backoff_max_s=0.05)


@dataclass
class Row:
    name: str
    made: int = 0
    delivered: int = 0
    spilled: int = 0
    quarantined: int = 0
    duplicated: int = 0
    lost: int = 0
    longest_s: float = 0.0
    budget_s: float = 0.0
    flushes: list[tuple[float, float]] = field(default_factory=list)

    def timed(self, budget_s: float, flush: Callable[[], FlushResult]) -> FlushResult:
        started = time.monotonic()
        result = flush()
        took = time.monotonic() - started
        self.flushes.append((took, budget_s))
        if took >= self.longest_s:
            self.longest_s, self.budget_s = took, budget_s
        self.spilled += result.spilled
        return result


MATRIX: list[Row] = []


@pytest.fixture(scope="module", autouse=True)
def print_matrix(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not MATRIX:
        return
    header = (f"{'row':<46} {'made':>5} {'deliv':>5} {'spill':>5} {'quar':>4} {'dup':>4} {'lost':>4} "
              f"{'longest flush / budget':>23}")
    lines = ["", "chaos matrix (events; flush times in seconds, tolerance "
             f"{TOLERANCE_S:.2f} s)", header, "-" * len(header)]
    for r in MATRIX:
        timing = f"{r.longest_s:.2f} / {r.budget_s:.2f}" if r.flushes else "killed: n/a"
        lines.append(f"{r.name:<46} {r.made:>5} {r.delivered:>5} {r.spilled:>5} {r.quarantined:>4} "
                     f"{r.duplicated:>4} {r.lost:>4} {timing:>23}")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        print("\n".join(lines), flush=True)


# -------------------------------------------------------------------------------------------- ledger


def delivered_counts(api: FakeStatsigAPI) -> Counter[int]:
    """Deliveries per seq, over every accepted request (a resend under the same batch id counts too)."""
    counts: Counter[int] = Counter()
    for request in api.accepted_log_event_requests():
        for event in request.json["events"]:
            meta = event.get("metadata") or {}
            if "seq" in meta:
                counts[int(meta["seq"])] += 1
    return counts


def seqs_in(store: Any) -> list[int]:
    """Seqs of the events held in a store's records (quarantine excluded); unreadable records skipped."""
    found: list[int] = []
    for ref in store.list():
        with contextlib.suppress(Exception):
            record = store.read(ref)
            if record is not None:
                found += [seq_of(json.loads(e)) for b in record.batches for e in b.events]
    return found


def quarantined_in(store: DirSpillStore) -> tuple[list[int], int]:
    """(seqs of quarantined events, number of quarantined records that cannot be read)."""
    seqs, unreadable = [], 0
    for ref in store.quarantined():
        try:
            record = store.read_quarantined(ref)
        except Exception:
            unreadable += 1
            continue
        seqs += [seq_of(json.loads(e)) for b in record.batches for e in b.events]
    return seqs, unreadable


def settle(row: Row, made: set[int], api: FakeStatsigAPI, *, poison_records: int = 0,
           held: Callable[[], list[int]] = list, quarantines: tuple[DirSpillStore, ...] = ()) -> None:
    """Fill the row from where every event is, and record it."""
    counts = delivered_counts(api)
    quarantined: set[int] = set()
    unreadable = 0
    for store in quarantines:
        seqs, bad = quarantined_in(store)
        quarantined |= set(seqs)
        unreadable += bad
    still = set(held())
    row.made = len(made) + poison_records
    row.delivered = sum(1 for s in made if counts[s])
    row.duplicated = sum(n - 1 for s, n in counts.items() if s in made and n > 1)
    row.quarantined = len(quarantined & made) + unreadable
    row.lost = sum(1 for s in made if not counts[s] and s not in quarantined and s not in still)
    row.lost += max(0, poison_records - unreadable)
    MATRIX.append(row)


def assert_row(row: Row, *, duplicates_allowed: bool = True) -> None:
    assert row.lost == 0, row
    if not duplicates_allowed:
        assert row.duplicated == 0, row
    for took, budget in row.flushes:
        assert took <= budget + TOLERANCE_S, (row.name, took, budget)


def pipeline_for(api: FakeStatsigAPI, *, spill: SpillStore | None = None, journal: Journal | None = None,
                 **policy: Any) -> EventPipeline:
    policy.setdefault("retry", FAST_RETRY)
    policy.setdefault("batch_backoff_base_s", 0.0)
    policy.setdefault("claim_slack_s", 1.0)
    return EventPipeline(100_000, sink=StatsigHTTPSink(KEY, "chaos", base_url=api.url), spill=spill,
                         journal=journal, session_id="chaos", policy=DeliveryPolicy(**policy))


def held_by(pipeline: EventPipeline, *stores: Any) -> Callable[[], list[int]]:
    def held() -> list[int]:
        found = [seq_of(dict(e)) for e in pipeline.pending()]
        for store in stores:
            found += seqs_in(store)
        return found

    return held


# ------------------------------------------------------------------------------ poisoned spill records


def _poison_bytes(kind: str) -> bytes:
    doc = {"format": 1, "spillID": "00000000-0000-4000-8000-0000000000aa", "createdAt": 1_700_000_000_500,
           "statsigMetadata": {"sessionID": "x"},
           "batches": [{"batchID": "b", "createdAt": 1, "events": [{"eventName": "e", "metadata": {"seq": "9999"}}]}]}
    text = json.dumps(doc)
    if kind == "deep":
        return gzip.compress(text.replace('{"seq": "9999"}', '{"k":' * 990 + "1" + "}" * 990).encode())
    if kind == "1e400":
        return gzip.compress(text.replace("1700000000500", "1e400").encode())
    if kind == "truncated gzip":
        return gzip.compress(text.encode())[:-30]
    return gzip.compress(b" " * (70 * 1024 * 1024), 9)  # gzip bomb: 70 MB of spaces in ~70 KB


@pytest.mark.parametrize("kind", ["deep", "1e400", "truncated gzip", "gzip bomb"])
def test_poisoned_spill_record_never_breaks_the_function(
    kind: str, statsig_api: FakeStatsigAPI, tmp_path: Path
) -> None:
    spill = DirSpillStore(tmp_path / "spill")
    spill.write(make_record(50, created_at_ms=1_700_000_000_000, start=0))
    (tmp_path / "spill" / "1700000000500-00000000-0000-4000-8000-0000000000aa.json.gz").write_bytes(
        _poison_bytes(kind))
    spill.write(make_record(50, created_at_ms=1_700_000_001_000, start=50))
    server = StatsigServer()
    options = StatsigOptions(spec_source="example", api=statsig_api.url, spill_target=spill.description,
                             journal_dir=str(tmp_path / "journal"), flush_margin_ms=100, flush_timeout=1.0)

    @statsig_handler(server=server, options=options, secret_key=KEY)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for seq in event["seqs"]:
            server.log_event(StatsigEvent(StatsigUser(user_id="u"), "chaos", metadata={"seq": str(seq)}))
        return {"n": len(event["seqs"])}

    row = Row(f"poisoned spill record: {kind}")
    made = set(range(100))
    for i in range(3):
        seqs = list(range(100 + 10 * i, 110 + 10 * i))
        made |= set(seqs)
        started = time.monotonic()
        assert handler({"seqs": seqs}, _Context(2000)) == {"n": 10}  # the handler's result, every time
        row.flushes.append((time.monotonic() - started, 1.0))  # the whole invocation, against the flush budget
        row.longest_s, row.budget_s = max(row.longest_s, row.flushes[-1][0]), 1.0
    settle(row, made, statsig_api, poison_records=1, quarantines=(spill,), held=held_by(server._pipeline, spill))
    assert row.delivered == 130 and row.quarantined == 1
    assert_row(row)


@dataclass
class _Context:
    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


# ----------------------------------------------------------------------------------- poison batches


@pytest.mark.parametrize("with_spill", [True, False], ids=["spill", "journal-only"])
def test_retryable_poison_batch_does_not_hold_back_the_others(
    with_spill: bool, statsig_api: FakeStatsigAPI, tmp_path: Path
) -> None:
    spill = DirSpillStore(tmp_path / "spill") if with_spill else None
    journal = Journal(tmp_path / "journal")
    pipeline = pipeline_for(statsig_api, spill=spill, journal=journal, batch_size=100)
    events = make_events(1_000)
    poison = events[37]
    statsig_api.refuse_events(lambda e: e.get("metadata") == poison["metadata"], 500)
    row = Row(f"retryable poison batch ({'spill' if with_spill else 'no spill'})")
    for i in range(10):  # ten invocations of 100 events each; the first one holds the poison event
        for event in events[100 * i : 100 * (i + 1)]:
            pipeline.enqueue(event)
        row.timed(1.0, lambda: pipeline.flush(1.0))
    stores = (spill, journal.store) if spill is not None else (journal.store,)
    settle(row, {seq_of(e) for e in events}, statsig_api, quarantines=stores, held=held_by(pipeline, *stores))
    assert row.delivered == 999 and row.quarantined == 1  # the one event Statsig chokes on, isolated
    assert_row(row)


def test_400_poison_event_inside_a_100_event_batch(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    spill = DirSpillStore(tmp_path / "spill")
    pipeline = pipeline_for(statsig_api, spill=spill, journal=Journal(tmp_path / "journal"), batch_size=100)
    events = make_events(100)
    statsig_api.refuse_events(lambda e: e.get("metadata") == events[61]["metadata"], 400)
    row = Row("400 poison event in a 100-event batch")
    for event in events:
        pipeline.enqueue(event)
    row.timed(1.0, lambda: pipeline.flush(1.0))
    settle(row, {seq_of(e) for e in events}, statsig_api, quarantines=(spill,), held=held_by(pipeline, spill))
    assert (row.delivered, row.quarantined) == (99, 1)
    assert_row(row)


@pytest.mark.parametrize("code", [401, 403])
def test_key_refused_keeps_everything_until_it_works(code: int, statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    spill = DirSpillStore(tmp_path / "spill")
    pipeline = pipeline_for(statsig_api, spill=spill, journal=Journal(tmp_path / "journal"), batch_size=50)
    statsig_api.inject("log_event", code, times=None)
    events = make_events(300)
    row = Row(f"{code} (key refused), then a working key")
    for i in range(3):
        for event in events[100 * i : 100 * (i + 1)]:
            pipeline.enqueue(event)
        result = row.timed(1.0, lambda: pipeline.flush(1.0))
        assert result.sent == 0 and any("STATSIG_SERVER_SECRET" in e for e in result.errors)
    statsig_api.clear_faults()
    row.timed(3.0, lambda: pipeline.flush(3.0))
    settle(row, {seq_of(e) for e in events}, statsig_api, quarantines=(spill,), held=held_by(pipeline, spill))
    assert row.delivered == 300
    assert_row(row)


# ------------------------------------------------------------------------------- slow and down stores


def _session() -> Any:
    import boto3

    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 aws_session_token="testing", region_name="us-east-1")


def _make_store(kind: str, proxy: DelayProxy, moto: Any) -> SpillStore:
    if kind == "s3":
        moto.s3_client().create_bucket(Bucket="spill")
        return S3SpillStore("spill", "events", session=_session(), endpoint_url=proxy.base)
    moto.dynamodb_client().create_table(
        TableName="spill",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return DynamoDBSpillStore("spill", "events", session=_session(), endpoint_url=proxy.base)


@pytest.mark.parametrize(("kind", "mode"), [("s3", "slow"), ("dynamodb", "slow"), ("s3", "down")],
                         ids=["slow-s3", "slow-dynamodb", "s3-down"])
def test_slow_or_down_store_with_statsig_down_stays_within_budget(
    kind: str, mode: str, statsig_api: FakeStatsigAPI, tmp_path: Path, moto_server: Any, aws_endpoint_url: str
) -> None:
    with DelayProxy(aws_endpoint_url) as proxy:
        store = _make_store(kind, proxy, moto_server)
        journal = Journal(tmp_path / "journal")
        pipeline = pipeline_for(statsig_api, spill=store, journal=journal, batch_size=100)
        statsig_api.inject("log_event", 503, times=None)
        proxy.delay_s, proxy.down = (0.6, False) if mode == "slow" else (0.0, True)
        events = make_events(300)
        label = {"slow": f"slow {'S3' if kind == 's3' else 'DynamoDB'} (+0.6 s a call), Statsig down",
                 "down": "S3 and Statsig down together"}[mode]
        row = Row(label)
        for i in range(3):
            for event in events[100 * i : 100 * (i + 1)]:
                pipeline.enqueue(event)
            result = row.timed(1.0, lambda: pipeline.flush(1.0))
            assert result.dropped == 0
        proxy.delay_s, proxy.down = 0.0, False
        statsig_api.clear_faults()
        row.timed(5.0, lambda: pipeline.flush(5.0))
        settle(row, {seq_of(e) for e in events}, statsig_api, held=held_by(pipeline, store, journal.store))
        assert row.delivered == 300
        assert_row(row)


# ------------------------------------------------------------------------------ two sandboxes, one store


@pytest.mark.parametrize("kind", ["dir", "s3", "dynamodb"])
def test_two_sandboxes_replaying_one_store_send_each_record_once(
    kind: str, statsig_api: FakeStatsigAPI, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store: SpillStore
    if kind == "dir":
        store = DirSpillStore(tmp_path / "spill")
    else:
        moto = request.getfixturevalue("moto_server")
        request.getfixturevalue("aws_endpoint_url")
        proxy = DelayProxy(moto.endpoint_url).__enter__()
        proxy.serialize = True  # conditional writes atomic, as in the real services (see delay_proxy)
        request.addfinalizer(lambda: proxy.__exit__())
        store = _make_store(kind, proxy, moto)
    made: set[int] = set()
    for i in range(24):
        store.write(make_record(20, batch_size=10, created_at_ms=1_700_000_000_000 + i, start=20 * i))
        made |= set(range(20 * i, 20 * i + 20))
    statsig_api.inject("log_event", delay(0.01), times=None)  # both sandboxes are mid-request at times
    sandboxes = [pipeline_for(statsig_api, spill=store, journal=Journal(tmp_path / f"sandbox-{n}"))
                 for n in range(2)]
    row = Row(f"two sandboxes replaying one {kind} store")
    results: list[FlushResult] = []
    barrier = threading.Barrier(2)

    def replay(pipeline: EventPipeline) -> None:
        barrier.wait()
        results.append(row.timed(10.0, lambda: pipeline.replay_spilled(10.0)))

    threads = [threading.Thread(target=replay, args=(p,)) for p in sandboxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statsig_api.clear_faults()
    for pipeline in sandboxes:  # anything a claim held back goes on a later pass
        row.timed(5.0, lambda p=pipeline: p.replay_spilled(5.0))  # type: ignore[misc]
    settle(row, made, statsig_api, held=lambda: seqs_in(store))
    assert row.delivered == len(made) and all(r.replayed for r in results)  # both took part
    assert_row(row, duplicates_allowed=False)


# -------------------------------------------------------------------------------------- memory bound


def test_buffer_overflow_by_bytes_moves_events_to_the_journal(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    pipeline = pipeline_for(statsig_api, journal=journal, max_buffered_bytes=256_000, batch_size=500)
    events = make_events(5_000)  # about 2.5 MB of JSON: ten times the bound
    overflows: list[float] = []  # enqueue calls that moved events to the journal
    for event in events:
        files = len(journal.store.list()) if pipeline.buffered_bytes > 250_000 else -1
        started = time.perf_counter()
        pipeline.enqueue(event)
        took = time.perf_counter() - started
        if files >= 0 and len(journal.store.list()) > files:
            overflows.append(took)
        assert pipeline.buffered_bytes <= 256_000 + 1_000
    row = Row("buffer overflow by bytes (256 KB bound)")
    row.timed(5.0, lambda: pipeline.flush(5.0))
    settle(row, {seq_of(e) for e in events}, statsig_api, held=held_by(pipeline, journal.store))
    assert row.delivered == 5_000
    # generous bounds (a shared machine): an overflow is one small local write, a few ms, no network
    assert overflows and sorted(overflows)[len(overflows) // 2] < 0.05 and max(overflows) < 1.0
    assert_row(row)


# ------------------------------------------------------------------------ kill -9 under awslambdaric

HANDLER = textwrap.dedent(
    """
    from statsig_lite import StatsigEvent, StatsigUser, statsig, statsig_handler


    @statsig_handler
    def handler(event, context):
        for seq in event["seqs"]:
            statsig.log_event(StatsigEvent(StatsigUser(user_id="u"), "chaos", metadata={"seq": str(seq)}))
        return {"logged": len(event["seqs"])}
    """
)


def _lambda_env(api: FakeStatsigAPI, sandbox: Path, spill: str, **extra: str) -> dict[str, str | None]:
    return {"STATSIG_SERVER_SECRET": KEY, "STATSIG_API_URL": api.url, "STATSIG_SPEC_SOURCE": "example",
            "STATSIG_SPILL_TARGET": spill,
            "STATSIG_JOURNAL_DIR": str(sandbox / "journal"), "STATSIG_FLUSH_MARGIN_MS": "200", **extra}


@pytest.mark.parametrize("stage", ["during the send", "during the spill write", "during the replay"])
def test_kill_9_during_a_flush_loses_nothing(
    stage: str, statsig_api: FakeStatsigAPI, tmp_path: Path, moto_server: Any, aws_endpoint_url: str
) -> None:
    root = tmp_path / "task"
    root.mkdir()
    (root / "app.py").write_text(HANDLER)
    spill_dir = tmp_path / "spill"
    with DelayProxy(aws_endpoint_url) as proxy:
        env = _lambda_env(statsig_api, tmp_path, spill_dir.as_uri())
        if stage == "during the spill write":
            moto_server.s3_client().create_bucket(Bucket="spill")
            env.update({"STATSIG_SPILL_TARGET": "s3://spill/events", "AWS_ENDPOINT_URL": proxy.base})
        made: set[int] = set()
        if stage == "during the replay":  # spilled by an earlier invocation while Statsig was down
            DirSpillStore(spill_dir).write(make_record(60, batch_size=20, start=1_000))
            made |= set(range(1_000, 1_060))
        first = LambdaProcess("app.handler", root, env=env)
        first.start()
        try:
            seqs = [] if stage == "during the replay" else list(range(40))
            made |= set(seqs)
            if stage == "during the spill write":
                statsig_api.inject("log_event", 503, times=None)
                proxy.delay_s = 10.0
            else:
                statsig_api.inject("log_event", delay(10.0), times=None)
            request_id = first.runtime.submit({"seqs": seqs}, timeout_ms=4000)
            if stage == "during the spill write":  # the write-ahead's claim timed out; then the spill PUT
                proxy.wait_for(lambda s: s.method == "PUT" and "claims" not in s.path, count=1)
            else:
                statsig_api.wait_for_requests("log_event", 1, timeout=10.0)
            first.stop()  # SIGKILL mid-flush
            assert first.returncode == -9 and request_id not in {r.request_id for r in first.runtime.results()}
        finally:
            first.stop()
        statsig_api.clear_faults()
        proxy.delay_s = 0.0
        with LambdaProcess("app.handler", root, env=env) as second:  # the same sandbox, a new runtime
            more = list(range(500, 510))
            made |= set(more)
            assert second.invoke({"seqs": more}, timeout_ms=5000).ok
            if delivered_counts(statsig_api).keys() < made:
                assert second.invoke({"seqs": []}, timeout_ms=5000).ok
        row = Row(f"kill -9 {stage} (awslambdaric)")

        def held() -> list[int]:
            return seqs_in(DirSpillStore(spill_dir)) + seqs_in(DirSpillStore(tmp_path / "journal"))

        settle(row, made, statsig_api, held=held)
        assert row.delivered == len(made)
        assert_row(row)
