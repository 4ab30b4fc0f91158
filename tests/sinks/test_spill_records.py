"""Spill records are read defensively: whatever the bytes, reading them is a SpillFormatError or a record."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from statsig_lite.sinks import SpillRecord
from statsig_lite.sinks.base import MAX_RECORD_RAW_BYTES, SpillFormatError
from tests.sinks.wire_events import make_record, record_events


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": 1,
        "spillID": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "createdAt": 1_700_000_000_000,
        "statsigMetadata": {"sessionID": "s"},
        "batches": [
            {"batchID": "a6d1b2c4-0000-4000-8000-000000000001", "createdAt": 1_700_000_000_000,
             "events": [{"eventName": "e", "metadata": {"k": "v"}}]}
        ],
    }
    doc.update(changes)
    return doc


POISON = {
    "deep metadata (990 levels)": gzip.compress(
        json.dumps(_doc(batches=[{"batchID": "b", "createdAt": 1, "events": [{"eventName": "e"}]}]))
        .replace('"eventName": "e"', '"eventName": "e", "metadata": ' + '{"k":' * 990 + '"x"' + "}" * 990)
        .encode()
    ),
    "createdAt 1e400": gzip.compress(json.dumps(_doc()).replace("1700000000000,", "1e400,", 1).encode()),
    "event value 1e400": gzip.compress(json.dumps(_doc()).replace('"v"', "1e400").encode()),
    "truncated gzip": gzip.compress(json.dumps(_doc()).encode())[:-20],
    "gzip bomb": gzip.compress(b" " * (MAX_RECORD_RAW_BYTES + 10), 9),
    "not gzip": b"garbage",
    "not a record": gzip.compress(b'{"format": 2}'),
    "batches not a list": gzip.compress(json.dumps(_doc(batches=7)).encode()),
    "event not an object": gzip.compress(
        json.dumps(_doc(batches=[{"batchID": "b", "createdAt": 1, "events": [3]}])).encode()
    ),
}


@pytest.mark.parametrize("name", list(POISON))
def test_poisoned_record_is_a_spill_format_error(name: str) -> None:
    with pytest.raises(SpillFormatError, match="unreadable spill record"):
        SpillRecord.from_bytes(POISON[name], where="test")


def test_a_good_record_round_trips_with_its_attempt_counts() -> None:
    record = make_record(30, batch_size=10)
    record.batches[1].attempts = 3
    back = SpillRecord.from_bytes(record.to_bytes(), where="test")
    assert [b.attempts for b in back.batches] == [0, 3, 0]
    assert [b.batch_id for b in back.batches] == [b.batch_id for b in record.batches]
    assert record_events(back) == record_events(record)
