"""S3SpillStore against moto's server over a real socket."""

from __future__ import annotations

import gzip
import time
from typing import Any

import pytest

from statsig_lite.errors import SpillError
from statsig_lite.sinks import S3SpillStore, open_spill_store
from tests.sinks.wire_events import make_events, make_record, record_events

BUCKET = "spill-bucket"


@pytest.fixture
def store(s3_client: Any) -> S3SpillStore:
    s3_client.create_bucket(Bucket=BUCKET)
    return S3SpillStore(BUCKET, "events/fn-a", client=s3_client)


def test_record_round_trips_encrypted_at_rest(store: S3SpillStore, s3_client: Any) -> None:
    record = make_record(120, batch_size=50)
    store.write(record)
    [ref] = store.list()
    assert ref.key == f"events/fn-a/{record.name}"
    head = s3_client.head_object(Bucket=BUCKET, Key=ref.key)
    assert head["ServerSideEncryption"] == "AES256"
    raw = s3_client.get_object(Bucket=BUCKET, Key=ref.key)["Body"].read()
    assert b"events" in gzip.decompress(raw)  # one gzip'd JSON object
    back = store.read(ref)
    assert back is not None
    assert [b.batch_id for b in back.batches] == [b.batch_id for b in record.batches]
    assert record_events(back) == make_events(120)
    store.delete(ref)
    assert store.list() == []
    assert store.read(ref) is None


def test_list_is_oldest_first_within_the_prefix(store: S3SpillStore, s3_client: Any) -> None:
    for created in (30, 10, 20):
        store.write(make_record(2, created_at_ms=1_700_000_000_000 + created))
    s3_client.put_object(Bucket=BUCKET, Key="events/fn-b/0000000000001-x.json.gz", Body=b"other prefix")
    s3_client.put_object(Bucket=BUCKET, Key="events/fn-a/readme.txt", Body=b"not ours")
    assert [r.created_at_ms - 1_700_000_000_000 for r in store.list()] == [10, 20, 30]


def test_missing_bucket_raises_spill_error_from_the_client_error(s3_client: Any) -> None:
    store = S3SpillStore("no-such-bucket", "p", client=s3_client)
    with pytest.raises(SpillError, match="s3://no-such-bucket/p") as raised:
        store.write(make_record(1))
    assert type(raised.value.__cause__).__name__ == "NoSuchBucket"
    with pytest.raises(SpillError):
        store.list()


def test_s3_target_opens_an_s3_store() -> None:
    store = open_spill_store("s3://bucket/some/prefix/")
    assert isinstance(store, S3SpillStore)
    assert store.description == "s3://bucket/some/prefix"


def test_claims_are_exclusive_and_expire(s3_client: Any) -> None:
    s3_client.create_bucket(Bucket="claims")
    store = S3SpillStore("claims", "events", client=s3_client)
    store.write(make_record(3))
    [ref] = store.list()
    far = int(time.time() * 1000) + 60_000
    mine = store.claim(ref, "a", far)
    assert mine is not None and mine.owner == "a"
    assert store.claim(ref, "b", far) is None  # held by a
    assert store.claim(ref, "a", far + 1) is not None  # a may renew its own claim
    store.release(mine, "a")
    assert store.claim(ref, "b", int(time.time() * 1000) - 1) is not None  # free again; b's claim is already over
    assert store.claim(ref, "c", far) is not None  # an expired claim is taken over (If-Match)
    assert store.claim(ref, "b", far, dead=lambda owner: owner == "c") is not None  # a killed owner holds none
    store.quarantine(ref, "why: test")
    assert store.list() == [] and store.quarantined() == ["events/quarantine/" + ref.name]
