"""Spill store in DynamoDB (``dynamodb://table`` or ``dynamodb://table/prefix``).

The table needs a string partition key ``pk`` and nothing else; turn on TTL on ``expires_at``. A record
is stored as one item per part of its gzip'd bytes (DynamoDB items are limited to 400 KB)::

    pk          S  "<prefix>#<createdAt 13 digits>-<spillID>#<part 4 digits>"
    spill_id    S  the record's id
    batch_count N  how many batches the record holds (part 0 only)
    batch_ids   SS their ids, when there are at most MAX_LISTED_BATCH_IDS (part 0 only)
    created_at  N  epoch ms
    part, parts N  this part's index and how many parts the record has
    payload     B  this part's slice of the gzip'd record
    expires_at  N  epoch seconds after which DynamoDB may delete the item (retention)

Listing scans only the small attributes and returns records whose parts are all present, so a write cut
short never yields a half record. A record needing more than ``MAX_PARTS`` parts is refused before anything
is written.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from .. import constants as c
from ..errors import SpillError
from ._aws import aws_errors, new_client
from .base import SpillRecord, SpillRef, record_name

__all__ = ["MAX_LISTED_BATCH_IDS", "MAX_PARTS", "PART_BYTES", "DynamoDBSpillStore"]

PART_BYTES = 350_000
"""Payload bytes per item, leaving room under the 400 KB item limit for the other attributes."""
MAX_PARTS = 64
"""About 22 MB of gzip'd events per record; a bigger record is refused before writing."""
MAX_LISTED_BATCH_IDS = 100
"""Part 0 lists the batch ids (for people looking at the table) only up to this many, to stay under 400 KB."""


class DynamoDBSpillStore:
    def __init__(
        self,
        table: str,
        prefix: str = "statsig_lite",
        *,
        retention_s: float = c.DEFAULT_SPILL_RETENTION_SECONDS,
        client: Any = None,
        session: Any = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table
        self._prefix = prefix.strip("/") or "statsig_lite"
        self._retention_s = retention_s
        self._client = client
        self._session = session
        self._wall_clock = wall_clock

    @property
    def description(self) -> str:
        return f"dynamodb://{self._table}/{self._prefix}"

    def _ddb(self) -> Any:
        if self._client is None:
            self._client = new_client("dynamodb", self._session)
        return self._client

    def _pk(self, key: str, part: int) -> dict[str, str]:
        return {"S": f"{key}#{part:04d}"}

    def write(self, record: SpillRecord) -> None:
        data = record.to_bytes()
        chunks = [data[i : i + PART_BYTES] for i in range(0, len(data), PART_BYTES)] or [b""]
        if len(chunks) > MAX_PARTS:
            raise SpillError(
                f"{self.description}: record {record.spill_id} is {len(data)} bytes gzip'd, over the "
                f"{MAX_PARTS * PART_BYTES} bytes a record may take ({MAX_PARTS} items); nothing written"
            )
        key = f"{self._prefix}#{record.name.removesuffix('.json.gz')}"
        expires_at = int(self._wall_clock() + self._retention_s)
        errors = aws_errors()
        written = 0
        try:
            for part, chunk in enumerate(chunks):
                item: dict[str, Any] = {
                    "pk": self._pk(key, part),
                    "spill_id": {"S": record.spill_id},
                    "created_at": {"N": str(record.created_at_ms)},
                    "part": {"N": str(part)},
                    "parts": {"N": str(len(chunks))},
                    "payload": {"B": chunk},
                    "expires_at": {"N": str(expires_at)},
                }
                if part == 0:
                    item["batch_count"] = {"N": str(len(record.batches))}
                    if 0 < len(record.batches) <= MAX_LISTED_BATCH_IDS:
                        item["batch_ids"] = {"SS": sorted({b.batch_id for b in record.batches})}
                self._ddb().put_item(TableName=self._table, Item=item)
                written += 1
        except errors as exc:
            for part in range(written):  # leave no orphan parts behind if we can help it
                with contextlib.suppress(*errors):
                    self._ddb().delete_item(TableName=self._table, Key={"pk": self._pk(key, part)})
            raise SpillError(f"{self.description}: cannot write {record.spill_id}: {exc}") from exc

    def list(self) -> list[SpillRef]:
        errors = aws_errors()
        seen: dict[str, tuple[int, str, int, set[int]]] = {}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "ProjectionExpression": "#pk, spill_id, created_at, #part, #parts",
            "FilterExpression": "begins_with(#pk, :prefix)",
            "ExpressionAttributeNames": {"#pk": "pk", "#part": "part", "#parts": "parts"},
            "ExpressionAttributeValues": {":prefix": {"S": f"{self._prefix}#"}},
            "ConsistentRead": True,
        }
        try:
            while True:
                page = self._ddb().scan(**kwargs)
                for item in page.get("Items", ()):
                    pk = str(item["pk"]["S"])
                    key = pk.rsplit("#", 1)[0]
                    entry = seen.setdefault(
                        key,
                        (int(item["created_at"]["N"]), str(item["spill_id"]["S"]), int(item["parts"]["N"]), set()),
                    )
                    entry[3].add(int(item["part"]["N"]))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except errors as exc:
            raise SpillError(f"{self.description}: cannot list: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise SpillError(f"{self.description}: an item is not a spill record part: {exc}") from exc
        refs = [
            SpillRef(key=key, created_at_ms=created, spill_id=spill_id, parts=parts)
            for key, (created, spill_id, parts, present) in seen.items()
            if present == set(range(parts))
        ]
        refs.sort(key=lambda r: (r.created_at_ms, r.spill_id))
        return refs

    def read(self, ref: SpillRef) -> SpillRecord | None:
        errors = aws_errors()
        chunks: list[bytes] = []
        try:
            for part in range(ref.parts):
                answer = self._ddb().get_item(
                    TableName=self._table, Key={"pk": self._pk(ref.key, part)}, ConsistentRead=True
                )
                item = answer.get("Item")
                if item is None:
                    return None  # deleted under us: another process replayed it
                chunks.append(bytes(item["payload"]["B"]))
        except errors as exc:
            raise SpillError(f"{self.description}: cannot read {ref.spill_id}: {exc}") from exc
        where = f"{self.description}/{record_name(ref.created_at_ms, ref.spill_id)}"
        return SpillRecord.from_bytes(b"".join(chunks), where=where)

    def delete(self, ref: SpillRef) -> None:
        errors = aws_errors()
        try:
            for part in range(ref.parts):
                self._ddb().delete_item(TableName=self._table, Key={"pk": self._pk(ref.key, part)})
        except errors as exc:
            raise SpillError(f"{self.description}: cannot delete {ref.spill_id}: {exc}") from exc
