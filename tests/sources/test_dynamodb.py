"""DynamoDBSource against moto's server: the versioned layout (pk/sk), version-only checks, S3 pointers,
inline items, and errors."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from statsig_lite.errors import SpecSourceError
from statsig_lite.sources.dynamodb import CURRENT, DynamoDBSource, build_items, chunk_sk
from tests.sources.aws import SentRequests, create_snapshot_table
from tests.sources.payloads import envelope_bytes, payload_bytes

TABLE, KEY = "statsig-specs", "prod"


@pytest.fixture
def table(dynamodb_client: Any) -> str:
    create_snapshot_table(dynamodb_client, TABLE)
    return TABLE


def _write(client: Any, built: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    chunks, main = built
    for item in [*chunks, main]:
        client.put_item(TableName=TABLE, Item=item)


def _main(**attributes: Any) -> dict[str, Any]:
    return {"pk": {"S": KEY}, "sk": {"S": CURRENT}, **attributes}


def test_one_chunk_round_trips(table: str, dynamodb_client: Any) -> None:
    chunks, main = build_items(KEY, envelope_bytes(1), "v1", now_ms=1, lcut=1)
    assert len(chunks) == 1 and main["chunks"] == {"N": "1"} and main["time"] == {"N": "1"}
    assert chunks[0]["sk"] == {"S": "v#v1#0000"} and main["sk"] == {"S": "current"}
    _write(dynamodb_client, (chunks, main))
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client)
    fetched = source.fetch(2.0)
    assert fetched.payload == envelope_bytes(1)
    assert fetched.version == "v1"
    assert fetched.source == source.name == f"dynamodb://{TABLE}/{KEY}"


def test_chunked_payload_round_trips_with_one_get_and_one_query(table: str, dynamodb_client: Any) -> None:
    snapshot = payload_bytes(1, noise_kb=16)
    chunks, main = build_items(KEY, snapshot, "v-chunked", chunk_bytes=4096)
    assert int(main["chunks"]["N"]) == len(chunks) >= 3
    assert [c["sk"]["S"] for c in chunks] == [chunk_sk("v-chunked", i) for i in range(len(chunks))]
    assert b"".join(c["payload"]["B"] for c in chunks) == gzip.compress(snapshot, mtime=0)
    _write(dynamodb_client, (chunks, main))
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client)
    with (
        SentRequests(dynamodb_client, "dynamodb", "GetItem") as gets,
        SentRequests(dynamodb_client, "dynamodb", "Query") as queries,
    ):
        fetched = source.fetch(2.0)
    assert fetched.payload == snapshot and fetched.version == "v-chunked"
    assert len(gets) == 1 and gets.params[0]["ConsistentRead"] is True
    assert len(queries) == 1 and queries.params[0]["ConsistentRead"] is True
    assert queries.params[0]["ExpressionAttributeValues"][":prefix"] == {"S": "v#v-chunked#"}


def test_chunks_over_several_query_pages_are_all_read(table: str, dynamodb_client: Any) -> None:
    snapshot = payload_bytes(1, noise_kb=2500)  # ~2.5 MB of gzip'd noise: more than one 1 MB Query page
    _write(dynamodb_client, build_items(KEY, snapshot, "v-many"))
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client)
    with SentRequests(dynamodb_client, "dynamodb", "Query") as queries:
        assert source.fetch(10.0).payload == snapshot
    assert len(queries) >= 2


def test_unchanged_version_reads_only_the_version_attribute(table: str, dynamodb_client: Any) -> None:
    _write(dynamodb_client, build_items(KEY, payload_bytes(1, noise_kb=8), "v1", chunk_bytes=2048))
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client)
    version = source.fetch(2.0).version
    with (
        SentRequests(dynamodb_client, "dynamodb", "GetItem") as gets,
        SentRequests(dynamodb_client, "dynamodb", "Query") as queries,
    ):
        assert source.fetch_if_changed(version, 2.0) is None
    assert len(gets) == 1 and len(queries) == 0
    assert gets.params[0]["ProjectionExpression"] == "#v"
    assert gets.params[0]["Key"] == {"pk": {"S": KEY}, "sk": {"S": CURRENT}}


def test_changed_version_reads_the_new_snapshot(table: str, dynamodb_client: Any) -> None:
    _write(dynamodb_client, build_items(KEY, payload_bytes(1), "v1"))
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client)
    old = source.fetch(2.0)
    new = payload_bytes(2, noise_kb=8)
    _write(dynamodb_client, build_items(KEY, new, "v2", chunk_bytes=2048))

    fetched = source.fetch_if_changed(old.version, 2.0)
    assert fetched is not None and fetched.version == "v2" and fetched.payload == new
    assert source.fetch_if_changed("v2", 2.0) is None


def test_chunks_of_a_new_version_are_invisible_until_the_switch(table: str, dynamodb_client: Any) -> None:
    _write(dynamodb_client, build_items(KEY, payload_bytes(1, noise_kb=8), "v1", chunk_bytes=2048))
    new_chunks, _ = build_items(KEY, payload_bytes(2, noise_kb=8), "v2", chunk_bytes=2048)
    for chunk in new_chunks[:2]:  # a writer between its chunks (or killed there)
        dynamodb_client.put_item(TableName=TABLE, Item=chunk)
    fetched = DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch(2.0)
    assert fetched.version == "v1"


def test_missing_chunk_fails_after_one_fresh_look(table: str, dynamodb_client: Any) -> None:
    chunks, main = build_items(KEY, payload_bytes(1, noise_kb=8), "v1", chunk_bytes=2048)
    _write(dynamodb_client, (chunks[:-1], main))
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client)
    with (
        SentRequests(dynamodb_client, "dynamodb", "GetItem") as gets,
        pytest.raises(SpecSourceError, match=f"1 of {len(chunks)} chunks of version 'v1' missing"),
    ):
        source.fetch(2.0)
    assert len(gets) == 2


def test_sha256_mismatch_fails(table: str, dynamodb_client: Any) -> None:
    chunks, main = build_items(KEY, payload_bytes(1), "v1")
    chunks[0]["payload"] = {"B": gzip.compress(payload_bytes(2))}
    _write(dynamodb_client, (chunks, main))
    with pytest.raises(SpecSourceError, match="sha256"):
        DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch(2.0)


def test_a_hand_written_inline_item_is_read(table: str, dynamodb_client: Any) -> None:
    dynamodb_client.put_item(TableName=TABLE, Item=_main(version={"S": "v9"},
                                                        payload={"B": gzip.compress(envelope_bytes(9))}))
    assert DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch(2.0).payload == envelope_bytes(9)


def test_s3_pointer_is_followed(table: str, dynamodb_client: Any, s3_client: Any) -> None:
    s3_client.create_bucket(Bucket="big-snapshots")
    s3_client.put_object(Bucket="big-snapshots", Key="prod.json.gz", Body=gzip.compress(envelope_bytes(7)))
    dynamodb_client.put_item(
        TableName=TABLE, Item=_main(version={"S": "v7"}, s3_pointer={"S": "s3://big-snapshots/prod.json.gz"})
    )
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client, s3_client=s3_client)
    fetched = source.fetch(2.0)
    assert fetched.payload == envelope_bytes(7) and fetched.version == "v7"
    assert fetched.source == source.name


def test_broken_s3_pointer_names_the_pointer(table: str, dynamodb_client: Any, s3_client: Any) -> None:
    dynamodb_client.put_item(TableName=TABLE, Item=_main(version={"S": "v7"}, s3_pointer={"S": "s3://gone/x.json"}))
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client, s3_client=s3_client)
    with pytest.raises(SpecSourceError, match=r"s3_pointer s3://gone/x\.json: bucket does not exist") as caught:
        source.fetch(2.0)
    assert caught.value.source == source.name


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"payload": {"B": b"x"}}, "no string 'version'"),
        ({"version": {"S": "v"}}, "none of 'chunks', 'payload' or 's3_pointer'"),
        ({"version": {"S": "v"}, "chunks": {"N": "0"}}, "'chunks' must be a number"),
        ({"version": {"S": "v"}, "s3_pointer": {"S": "https://x/y"}}, "must be s3://bucket/key"),
        ({"version": {"S": "v"}, "payload": {"S": "text"}}, "not a binary"),
    ],
)
def test_malformed_item_fails(table: str, dynamodb_client: Any, item: dict[str, Any], reason: str) -> None:
    dynamodb_client.put_item(TableName=TABLE, Item=_main(**item))
    with pytest.raises(SpecSourceError, match=reason):
        DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch(2.0)


def test_missing_table_raises_spec_source_error(dynamodb_client: Any) -> None:
    source = DynamoDBSource("no-such-table", KEY, boto3_client=dynamodb_client)
    with pytest.raises(SpecSourceError, match="table does not exist"):
        source.fetch(2.0)
    with pytest.raises(SpecSourceError, match="table does not exist"):
        source.fetch_if_changed("v1", 2.0)


def test_missing_item_raises_spec_source_error(table: str, dynamodb_client: Any) -> None:
    with pytest.raises(SpecSourceError, match="no item pk='prod', sk='current'"):
        DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch_if_changed("v1", 2.0)


def test_build_items_refuses_too_many_chunks_and_hash_in_versions() -> None:
    with pytest.raises(ValueError, match="store it in S3"):
        build_items(KEY, payload_bytes(1, noise_kb=8), "v", chunk_bytes=1)
    with pytest.raises(ValueError, match="'#'"):
        build_items(KEY, b"{}", "v#1")
