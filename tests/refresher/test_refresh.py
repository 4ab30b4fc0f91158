"""SnapshotRefresher against the loopback Statsig API and moto: ID lists, formats, stores, repairs, races."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from statsig_lite.evaluator.hashing import id_list_hash
from statsig_lite.options import StatsigOptions
from statsig_lite.refresher.targets import DynamoDBTarget, S3Target
from statsig_lite.server import StatsigServer
from statsig_lite.sources.dynamodb import DynamoDBSource
from statsig_lite.store.envelope import encode_snapshot, split_snapshot
from statsig_lite.store.snapshot import load_snapshot
from statsig_lite.user import StatsigUser
from tests.refresher.aws_env import use_moto
from tests.refresher.helpers import (
    BUCKET,
    DDB_KEY,
    KEY,
    S3_KEY,
    T1,
    T2,
    TABLE,
    TARGETS,
    RacingTarget,
    id_list_manifest,
    make_refresher,
    payload,
    stored_state,
    with_list_gate,
)
from tests.servers.statsig_api import FakeStatsigAPI

CHUNK = 400  # small chunks, so the example snapshot needs several DynamoDB items

_PUBLIC = {"type": "public", "targetValue": None, "operator": None, "field": None, "additionalValues": {},
           "idType": "userID"}
V1_PAYLOAD = {
    "feature_gates": [
        {
            "name": "v1_gate", "type": "feature_gate", "entity": "feature_gate", "salt": "s", "enabled": True,
            "defaultValue": False, "idType": "userID",
            "rules": [{"name": "all", "id": "all", "salt": "all", "passPercentage": 100, "returnValue": True,
                       "idType": "userID", "conditions": [_PUBLIC]}],
        }
    ],
    "dynamic_configs": [],
    "layer_configs": [],
    "time": T1,
    "has_updates": True,
}


def _line(op: str, unit: str) -> bytes:
    return f"{op}{id_list_hash(unit)}\n".encode()


def _s3_document(s3: Any) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=S3_KEY)["Body"].read())


def test_id_lists_sync_incrementally_by_byte_range(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(with_list_gate(T1), "v2")
    first = _line("+", "u1") + _line("+", "u2")
    api.set_id_lists(id_list_manifest("list_a", first), {"list_a": first})
    one = make_refresher(api, s3, ddb).refresh(10.0)
    assert (one.id_lists, one.id_list_bytes, len(one.written)) == ({"list_a": 2}, len(first), 2)
    [initial] = api.requests_for("id_list_file")
    assert initial.header("range") == "bytes=0-" and initial.header("statsig-id-list-file-size") == str(len(first))

    more = _line("+", "u3") + _line("-", "u1")
    api.set_id_lists(id_list_manifest("list_a", first + more), {"list_a": first + more})
    api.clear_requests()
    two = make_refresher(api, s3, ddb).refresh(10.0)
    [incremental] = api.requests_for("id_list_file")
    assert incremental.header("range") == f"bytes={len(first)}-" and incremental.status == 206
    assert api.requests_for("dcs")[0].query["sinceTime"] == str(T1)
    assert (two.fetched, two.id_list_bytes, two.id_lists, len(two.written)) == (False, len(more), {"list_a": 2}, 2)
    _, lists = split_snapshot(_s3_document(s3))
    assert lists["list_a"].ids == {id_list_hash("u2"), id_list_hash("u3")}
    assert lists["list_a"].read_bytes == len(first + more) and lists["list_a"].file_id == "file-1"

    api.clear_requests()
    three = make_refresher(api, s3, ddb).refresh(10.0)
    assert three.unchanged and three.written == () and api.requests_for("id_list_file") == []


def test_a_new_file_id_starts_the_list_over(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(with_list_gate(T1), "v2")
    old = _line("+", "u1") + _line("+", "u2")
    api.set_id_lists(id_list_manifest("list_a", old), {"list_a": old})
    make_refresher(api, s3, ddb).refresh(10.0)
    new = _line("+", "u9")
    api.set_id_lists(id_list_manifest("list_a", new, file_id="file-2", created=2), {"list_a": new})
    api.clear_requests()
    report = make_refresher(api, s3, ddb).refresh(10.0)
    assert [r.header("range") for r in api.requests_for("id_list_file")] == ["bytes=0-"]
    assert report.id_lists == {"list_a": 1} and len(report.written) == 2


def test_the_sdk_reads_what_the_refresher_writes(
    api: FakeStatsigAPI, stores: tuple[Any, Any], aws_endpoint_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, ddb = stores
    api.set_specs(with_list_gate(T1), "v2")
    data = _line("+", "u2")
    api.set_id_lists(id_list_manifest("list_a", data), {"list_a": data})
    assert len(make_refresher(api, s3, ddb, chunk_bytes=CHUNK).refresh(10.0).written) == 2
    use_moto(monkeypatch, aws_endpoint_url)

    for spec_source in TARGETS.split(","):
        server = StatsigServer()
        details = server.initialize(KEY, StatsigOptions(spec_source=spec_source, local_mode=True))
        assert details.init_success, (spec_source, details.error)
        assert server.check_gate(StatsigUser(user_id="u2"), "listed_users")
        assert not server.check_gate(StatsigUser(user_id="u1"), "listed_users")
        server.shutdown()


def test_v1_format_reads_the_v1_endpoint(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(V1_PAYLOAD, "v1")
    report = make_refresher(api, s3, ddb, fmt="v1").refresh(10.0)
    assert len(report.written) == 2
    assert api.requests_for("dcs")[0].path == f"/v1/download_config_specs/{KEY}.json"
    dcs, lists = split_snapshot(_s3_document(s3))
    assert load_snapshot(dcs, id_lists=lists).format == "v1"


def test_switching_format_rewrites_the_snapshot_without_since_time(
    api: FakeStatsigAPI, stores: tuple[Any, Any]
) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    make_refresher(api, s3, ddb).refresh(10.0)
    api.set_specs({**V1_PAYLOAD, "time": T1}, "v1")  # same lcut, the other format
    api.clear_requests()
    # the v1 stand-in holds fewer entities than the example (a collapse): the operator's switch lets it through
    report = make_refresher(api, s3, ddb, fmt="v1", allow_shrink=True).refresh(10.0)
    assert "sinceTime" not in api.requests_for("dcs")[0].query
    assert report.fetched and len(report.written) == 2
    dcs, lists = split_snapshot(_s3_document(s3))
    assert load_snapshot(dcs, id_lists=lists).format == "v1"
    assert make_refresher(api, s3, ddb, fmt="v1").refresh(10.0).unchanged


def test_s3_snapshot_is_written_with_server_side_encryption(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    make_refresher(api, s3, ddb).refresh(10.0)
    head = s3.head_object(Bucket=BUCKET, Key=S3_KEY)
    assert head["ServerSideEncryption"] == "AES256" and head["ContentType"] == "application/json"


def _versions(ddb: Any) -> list[str]:
    """The snapshot versions whose chunks the table holds."""
    items = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
                      ExpressionAttributeValues={":pk": {"S": DDB_KEY}, ":v": {"S": "v#"}}, ConsistentRead=True)
    return sorted({item["sk"]["S"].split("#")[1] for item in items["Items"]})


def _main_item(ddb: Any) -> dict[str, Any]:
    item: dict[str, Any] = ddb.get_item(TableName=TABLE, Key={"pk": {"S": DDB_KEY}, "sk": {"S": "current"}},
                                        ConsistentRead=True)["Item"]
    return item


def test_chunked_dynamodb_snapshot_round_trips(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    make_refresher(api, s3, ddb, chunk_bytes=CHUNK).refresh(10.0)
    main = _main_item(ddb)
    assert int(main["chunks"]["N"]) >= 2 and "payload" not in main and main["time"] == {"N": str(T1)}
    assert DynamoDBSource(TABLE, DDB_KEY, boto3_client=ddb).fetch(2.0).payload == _s3_document(s3)
    first = main["version"]["S"]

    api.set_specs(payload(T2), "v2")
    report = make_refresher(api, s3, ddb, chunk_bytes=CHUNK).refresh(10.0)
    assert len(report.written) == 2
    dcs, _ = split_snapshot(DynamoDBSource(TABLE, DDB_KEY, boto3_client=ddb).fetch(2.0).payload)
    assert dcs["time"] == T2
    main = _main_item(ddb)
    assert main["previous"]["S"] == first and _versions(ddb) == sorted([first, main["version"]["S"]])


def test_old_versions_are_deleted_only_after_the_grace_period(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores

    def write(lcut: int, grace_s: float) -> str:
        api.set_specs(payload(lcut), "v2")
        target = DynamoDBTarget(TABLE, DDB_KEY, ddb, chunk_bytes=CHUNK, grace_s=grace_s)
        assert make_refresher(api, s3, ddb, only=[target]).refresh(10.0).written == (target.name,)
        return str(_main_item(ddb)["version"]["S"])

    v1, v2, v3 = write(T1, 60.0), write(T2, 60.0), write(T2 + 1, 60.0)
    assert _versions(ddb) == sorted([v1, v2, v3])  # within the grace period nothing goes
    time.sleep(0.05)
    v4 = write(T2 + 2, 0.01)
    assert _versions(ddb) == sorted([v3, v4])  # the current one and the one it replaced stay


def test_chunked_writer_that_lost_the_race_leaves_the_winners_snapshot_and_no_chunks(
    api: FakeStatsigAPI, stores: tuple[Any, Any]
) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    make_refresher(api, s3, ddb, chunk_bytes=CHUNK).refresh(10.0)
    api.set_specs(payload(T2), "v2")
    after_b: list[tuple[object, ...]] = []

    def b_commits() -> None:
        api.set_specs(payload(T2 + 1), "v2")
        assert len(make_refresher(api, s3, ddb, chunk_bytes=CHUNK).refresh(10.0).written) == 2
        after_b.append(stored_state(s3, ddb))
        api.set_specs(payload(T2), "v2")

    ran: list[bool] = []

    def once() -> None:
        if not ran:
            ran.append(True)
            b_commits()

    report = make_refresher(api, s3, ddb, chunk_bytes=CHUNK, wrap=lambda t: RacingTarget(t, once)).refresh(10.0)
    assert [t.action for t in report.targets] == ["skipped", "skipped"]
    assert all("conflict" in (t.reason or "") for t in report.targets)
    assert stored_state(s3, ddb) == after_b[0]  # the loser's chunks are gone too
    dcs, _ = split_snapshot(DynamoDBSource(TABLE, DDB_KEY, boto3_client=ddb).fetch(2.0).payload)
    assert dcs["time"] == T2 + 1


def test_chunks_left_by_a_dead_writer_do_not_disturb_readers_and_are_collected(
    api: FakeStatsigAPI, stores: tuple[Any, Any]
) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    make_refresher(api, s3, ddb, chunk_bytes=CHUNK).refresh(10.0)
    good = DynamoDBSource(TABLE, DDB_KEY, boto3_client=ddb).fetch(2.0)
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": DDB_KEY}, "sk": {"S": "v#0000000000001-dead#0000"},
                                        "payload": {"B": b"x"}, "written_at": {"N": "1"}})  # died after a chunk
    assert DynamoDBSource(TABLE, DDB_KEY, boto3_client=ddb).fetch(2.0).payload == good.payload
    assert DynamoDBTarget(TABLE, DDB_KEY, ddb).read(2.0).payload == good.payload

    api.set_specs(payload(T2), "v2")
    target = DynamoDBTarget(TABLE, DDB_KEY, ddb, chunk_bytes=CHUNK, grace_s=0.0)
    assert make_refresher(api, s3, ddb, only=[target]).refresh(10.0).written == (target.name,)
    assert "0000000000001-dead" not in _versions(ddb)


def test_an_unusable_s3_object_is_replaced_conditionally(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    s3.put_object(Bucket=BUCKET, Key=S3_KEY, Body=b"\x1f\x8b not really gzip")
    report = make_refresher(api, s3, ddb).refresh(10.0)
    assert len(report.written) == 2 and "corrupt gzip" in (report.targets[0].reason or "")
    dcs, _ = split_snapshot(_s3_document(s3))
    assert dcs["time"] == T1


def test_an_unreachable_target_is_skipped_and_the_others_written(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    only = [S3Target(BUCKET, S3_KEY, s3), DynamoDBTarget("no-such-table", DDB_KEY, ddb)]
    report = make_refresher(api, s3, ddb, only=only).refresh(10.0)
    assert report.written == (f"s3://{BUCKET}/{S3_KEY}",) and report.failed
    assert "table does not exist" in (report.targets[0].reason or "")


def test_an_exhausted_budget_writes_nothing(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    report = make_refresher(api, s3, ddb).refresh(0.0)
    assert report.skipped_reason == "out of time" and report.written == ()
    assert api.requests_for("dcs") == []


def test_a_future_dated_stored_snapshot_pins_nothing(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    """A snapshot dated a year ahead (written before validation existed, or by hand) is replaced by the next
    sane payload, and is never sent as sinceTime."""
    s3, ddb = stores
    now = int(time.time() * 1000)
    future = encode_snapshot(payload(now + 365 * 86_400_000), {}, created_at=now)
    s3.put_object(Bucket=BUCKET, Key=S3_KEY, Body=future)
    api.set_specs(payload(now - 60_000), "v2")
    api.clear_requests()
    report = make_refresher(api, s3, ddb).refresh(10.0)
    assert len(report.written) == 2, report
    assert "sinceTime" not in api.requests_for("dcs")[0].query
    dcs, _ = split_snapshot(_s3_document(s3))
    assert dcs["time"] == now - 60_000


def test_a_forced_shrink_is_written_and_marked_for_readers(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    make_refresher(api, s3, ddb).refresh(10.0)
    gone = payload(T2)
    gone["feature_gates"] = {}
    api.set_specs(gone, "v2")
    refused = make_refresher(api, s3, ddb).refresh(10.0)
    assert refused.refused == "collapse" and not refused.written
    forced = make_refresher(api, s3, ddb, allow_shrink=True).refresh(10.0)
    assert len(forced.written) == 2
    assert json.loads(_s3_document(s3))["allow_shrink"] is True
