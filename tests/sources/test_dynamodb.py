"""DynamoDBSource against moto's server: inline, chunked and S3-pointer items, version-only checks, errors."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from statsig_lite.errors import SpecSourceError
from statsig_lite.sources.dynamodb import DynamoDBSource, build_items, chunk_key
from tests.sources.aws import SentRequests
from tests.sources.payloads import envelope_bytes, payload_bytes

TABLE, KEY = "statsig-specs", "prod"


@pytest.fixture
def table(dynamodb_client: Any) -> str:
    dynamodb_client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE


def _write(client: Any, items: list[dict[str, Any]]) -> None:
    for item in items:
        client.put_item(TableName=TABLE, Item=item)


def test_inline_payload_round_trips(table: str, dynamodb_client: Any) -> None:
    items = build_items(KEY, envelope_bytes(1), "v1", updated_at_ms=1)
    assert len(items) == 1 and "payload" in items[0] and "chunks" not in items[0]
    _write(dynamodb_client, items)
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client)
    fetched = source.fetch(2.0)
    assert fetched.payload == envelope_bytes(1)
    assert fetched.version == "v1"
    assert fetched.source == source.name == f"dynamodb://{TABLE}/{KEY}"


def test_chunked_payload_round_trips(table: str, dynamodb_client: Any) -> None:
    snapshot = payload_bytes(1, noise_kb=16)
    items = build_items(KEY, snapshot, "v-chunked", chunk_bytes=4096)
    *chunks, main = items
    assert int(main["chunks"]["N"]) == len(chunks) >= 3 and "payload" not in main
    assert [c["pk"]["S"] for c in chunks] == [chunk_key(KEY, i) for i in range(len(chunks))]
    assert b"".join(c["payload"]["B"] for c in chunks) == gzip.compress(snapshot, mtime=0)
    _write(dynamodb_client, items)

    fetched = DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch(2.0)
    assert fetched.payload == snapshot and fetched.version == "v-chunked"


def test_more_chunks_than_one_batch_get_are_all_read(table: str, dynamodb_client: Any) -> None:
    snapshot = payload_bytes(1, noise_kb=12)
    items = build_items(KEY, snapshot, "v-many", chunk_bytes=64)
    assert len(items) > 101  # more keys than one BatchGetItem request takes
    _write(dynamodb_client, items)
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client)
    with SentRequests(dynamodb_client, "dynamodb", "BatchGetItem") as sent:
        assert source.fetch(5.0).payload == snapshot
    assert len(sent) >= 2


def test_unchanged_version_reads_only_the_version_attribute(table: str, dynamodb_client: Any) -> None:
    _write(dynamodb_client, build_items(KEY, payload_bytes(1, noise_kb=8), "v1", chunk_bytes=2048))
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client)
    version = source.fetch(2.0).version
    with (
        SentRequests(dynamodb_client, "dynamodb", "GetItem") as gets,
        SentRequests(dynamodb_client, "dynamodb", "BatchGetItem") as batches,
    ):
        assert source.fetch_if_changed(version, 2.0) is None
    assert len(gets) == 1 and len(batches) == 0
    assert gets.params[0]["ProjectionExpression"] == "#v"
    assert gets.params[0]["ExpressionAttributeNames"] == {"#v": "version"}


def test_changed_version_reads_the_new_snapshot(table: str, dynamodb_client: Any) -> None:
    _write(dynamodb_client, build_items(KEY, payload_bytes(1), "v1"))
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client)
    old = source.fetch(2.0)
    new = payload_bytes(2, noise_kb=8)
    _write(dynamodb_client, build_items(KEY, new, "v2", chunk_bytes=2048))

    fetched = source.fetch_if_changed(old.version, 2.0)
    assert fetched is not None and fetched.version == "v2" and fetched.payload == new
    assert source.fetch_if_changed("v2", 2.0) is None


def test_chunks_of_another_version_fail_cleanly(table: str, dynamodb_client: Any) -> None:
    *chunks, main = build_items(KEY, payload_bytes(1, noise_kb=8), "v1", chunk_bytes=2048)
    main["version"] = {"S": "v2"}  # the writer of v2 put its main item, chunks still show v1
    _write(dynamodb_client, [*chunks, main])
    with pytest.raises(SpecSourceError, match="changed while it was read"):
        DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch(2.0)


def test_missing_chunk_fails(table: str, dynamodb_client: Any) -> None:
    *chunks, main = build_items(KEY, payload_bytes(1, noise_kb=8), "v1", chunk_bytes=2048)
    _write(dynamodb_client, [*chunks[:-1], main])
    with pytest.raises(SpecSourceError, match=f"chunk {len(chunks) - 1} of {len(chunks)}"):
        DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch(2.0)


def test_sha256_mismatch_fails(table: str, dynamodb_client: Any) -> None:
    [item] = build_items(KEY, payload_bytes(1), "v1")
    item["payload"] = {"B": gzip.compress(payload_bytes(2))}
    _write(dynamodb_client, [item])
    with pytest.raises(SpecSourceError, match="sha256"):
        DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch(2.0)


def test_s3_pointer_is_followed(table: str, dynamodb_client: Any, s3_client: Any) -> None:
    s3_client.create_bucket(Bucket="big-snapshots")
    s3_client.put_object(Bucket="big-snapshots", Key="prod.json.gz", Body=gzip.compress(envelope_bytes(7)))
    _write(
        dynamodb_client,
        [{"pk": {"S": KEY}, "version": {"S": "v7"}, "s3_pointer": {"S": "s3://big-snapshots/prod.json.gz"}}],
    )
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client, s3_client=s3_client)
    fetched = source.fetch(2.0)
    assert fetched.payload == envelope_bytes(7) and fetched.version == "v7"
    assert fetched.source == source.name


def test_broken_s3_pointer_names_the_pointer(table: str, dynamodb_client: Any, s3_client: Any) -> None:
    _write(dynamodb_client, [{"pk": {"S": KEY}, "version": {"S": "v7"}, "s3_pointer": {"S": "s3://gone/x.json"}}])
    source = DynamoDBSource(table, KEY, boto3_client=dynamodb_client, s3_client=s3_client)
    with pytest.raises(SpecSourceError, match=r"s3_pointer s3://gone/x\.json: bucket does not exist") as caught:
        source.fetch(2.0)
    assert caught.value.source == source.name


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"payload": {"B": b"x"}}, "no string 'version'"),
        ({"version": {"S": "v"}}, "none of 'payload', 'chunks' or 's3_pointer'"),
        ({"version": {"S": "v"}, "chunks": {"N": "0"}}, "'chunks' must be a number"),
        ({"version": {"S": "v"}, "s3_pointer": {"S": "https://x/y"}}, "must be s3://bucket/key"),
        ({"version": {"S": "v"}, "payload": {"S": "text"}}, "not a binary"),
    ],
)
def test_malformed_item_fails(table: str, dynamodb_client: Any, item: dict[str, Any], reason: str) -> None:
    _write(dynamodb_client, [{"pk": {"S": KEY}, **item}])
    with pytest.raises(SpecSourceError, match=reason):
        DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch(2.0)


def test_missing_table_raises_spec_source_error(dynamodb_client: Any) -> None:
    source = DynamoDBSource("no-such-table", KEY, boto3_client=dynamodb_client)
    with pytest.raises(SpecSourceError, match="table does not exist"):
        source.fetch(2.0)
    with pytest.raises(SpecSourceError, match="table does not exist"):
        source.fetch_if_changed("v1", 2.0)


def test_missing_item_raises_spec_source_error(table: str, dynamodb_client: Any) -> None:
    with pytest.raises(SpecSourceError, match="no item with pk='prod'"):
        DynamoDBSource(table, KEY, boto3_client=dynamodb_client).fetch_if_changed("v1", 2.0)


def test_build_items_refuses_too_many_chunks() -> None:
    with pytest.raises(ValueError, match="store it in S3"):
        build_items(KEY, payload_bytes(1, noise_kb=8), "v", chunk_bytes=1)
