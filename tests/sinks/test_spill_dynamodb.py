"""DynamoDBSpillStore against moto's server over a real socket."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from statsig_lite.buffer import cut_batches, encode_event, encode_json
from statsig_lite.errors import SpillError
from statsig_lite.sinks import DynamoDBSpillStore, SpillRecord, open_spill_store, spill_dynamodb
from tests.sinks.wire_events import make_events, make_record, record_events

TABLE = "statsig-spill"


@pytest.fixture
def table(dynamodb_client: Any) -> str:
    dynamodb_client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return TABLE


def _noisy_record(kilobytes: int) -> SpillRecord:
    """A record whose gzip'd size is about ``kilobytes`` KB (random hex does not compress below half)."""
    meta = encode_json({"sessionID": "s"})
    events = [
        encode_event({"eventName": "blob", "metadata": {"seq": str(i), "noise": os.urandom(500).hex()}})
        for i in range(kilobytes)
    ]
    return SpillRecord.new(cut_batches(events, meta, 1, max_events=1000, max_body_bytes=10**9), meta, 1)


def test_record_round_trips_with_ttl_and_batch_ids(table: str, dynamodb_client: Any) -> None:
    store = DynamoDBSpillStore(table, retention_s=3600, client=dynamodb_client)
    record = make_record(150, batch_size=100)
    before = int(time.time())
    store.write(record)
    [ref] = store.list()
    assert ref.parts == 1 and ref.spill_id == record.spill_id
    [item] = dynamodb_client.scan(TableName=table)["Items"]
    assert item["spill_id"]["S"] == record.spill_id
    assert set(item["batch_ids"]["SS"]) == {b.batch_id for b in record.batches}
    assert item["batch_count"]["N"] == "2"
    assert before + 3600 <= int(item["expires_at"]["N"]) <= int(time.time()) + 3600
    assert isinstance(item["payload"]["B"], bytes)
    back = store.read(ref)
    assert back is not None
    assert record_events(back) == make_events(150)
    store.delete(ref)
    assert store.list() == [] and store.read(ref) is None


def test_record_over_the_item_limit_is_split_into_parts(table: str, dynamodb_client: Any) -> None:
    store = DynamoDBSpillStore(table, client=dynamodb_client)
    record = _noisy_record(1_000)  # ~ 550 KB gzip'd
    store.write(record)
    [ref] = store.list()
    assert ref.parts >= 2
    items = dynamodb_client.scan(TableName=table)["Items"]
    assert len(items) == ref.parts
    assert all(len(i["payload"]["B"]) <= spill_dynamodb.PART_BYTES for i in items)
    back = store.read(ref)
    assert back is not None and [b.events for b in back.batches] == [b.events for b in record.batches]


def test_record_over_the_part_limit_is_refused_before_writing(
    table: str, dynamodb_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill_dynamodb, "MAX_PARTS", 1)
    store = DynamoDBSpillStore(table, client=dynamodb_client)
    with pytest.raises(SpillError, match="nothing written"):
        store.write(_noisy_record(1_000))
    assert dynamodb_client.scan(TableName=table)["Items"] == []


def test_incomplete_record_is_not_listed(table: str, dynamodb_client: Any) -> None:
    store = DynamoDBSpillStore(table, client=dynamodb_client)
    store.write(_noisy_record(1_000))
    [ref] = store.list()
    dynamodb_client.delete_item(TableName=table, Key={"pk": {"S": "statsig_lite"}, "sk": {"S": f"{ref.key}#0001"}})
    assert store.list() == []


def test_list_is_oldest_first_and_scoped_to_the_prefix(table: str, dynamodb_client: Any) -> None:
    mine = DynamoDBSpillStore(table, "fn-a", client=dynamodb_client)
    other = DynamoDBSpillStore(table, "fn-b", client=dynamodb_client)
    for created in (30, 10, 20):
        mine.write(make_record(2, created_at_ms=1_700_000_000_000 + created))
    other.write(make_record(2))
    assert [r.created_at_ms - 1_700_000_000_000 for r in mine.list()] == [10, 20, 30]
    assert len(other.list()) == 1


def test_missing_table_raises_spill_error(dynamodb_client: Any) -> None:
    store = DynamoDBSpillStore("no-such-table", client=dynamodb_client)
    with pytest.raises(SpillError, match="dynamodb://no-such-table") as raised:
        store.write(make_record(1))
    assert type(raised.value.__cause__).__name__ == "ResourceNotFoundException"
    with pytest.raises(SpillError):
        store.list()


def test_dynamodb_target_opens_a_dynamodb_store() -> None:
    store = open_spill_store("dynamodb://my-table", retention_s=60)
    assert isinstance(store, DynamoDBSpillStore)
    assert store.description == "dynamodb://my-table/statsig_lite"
