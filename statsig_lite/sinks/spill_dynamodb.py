"""Spill store in DynamoDB (``dynamodb://table[/prefix]``), on the table's ``pk``/``sk`` keys: a record is one
item per part of its gzip'd bytes (pk ``<prefix>``, sk ``<createdAt>-<spillID>#<part>``; quarantine: pk
``<prefix>#quarantine``), with ``expires_at`` (TTL) from the retention. Listing is a Query (never a Scan) that
returns only records whose parts are all present; a claim is a conditional UpdateItem on part 0.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from .. import constants as c
from ..errors import SpillError
from ._aws import AwsClients, aws_errors, error_code
from .base import Deadline, SpillRecord, SpillRef

__all__ = ["DynamoDBSpillStore"]

PART_BYTES = 350_000
"""Payload bytes per item, leaving room under the 400 KB item limit for the other attributes."""
MAX_PARTS = 64
"""About 22 MB of gzip'd events per record; a bigger record is refused before writing."""
MAX_LISTED_BATCH_IDS = 100
"""Part 0 lists the batch ids (for people looking at the table) only up to this many, to stay under 400 KB."""
_QUARANTINE = "#quarantine"


class DynamoDBSpillStore:
    def __init__(
        self,
        table: str,
        prefix: str = "statsig_lite",
        *,
        retention_s: float = c.DEFAULT_SPILL_RETENTION_SECONDS,
        client: Any = None,
        session: Any = None,
        endpoint_url: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table
        self._prefix = prefix.strip("/") or "statsig_lite"
        self._retention_s = retention_s
        self._clients = AwsClients("dynamodb", client=client, session=session, endpoint_url=endpoint_url)
        self._wall_clock = wall_clock

    @property
    def description(self) -> str:
        return f"dynamodb://{self._table}/{self._prefix}"

    def _ddb(self, deadline: Deadline | None, what: str) -> Any:
        return self._clients.for_call(deadline, f"{self.description}: {what}")

    @staticmethod
    def _sk(base: str, part: int) -> str:
        return f"{base}#{part:04d}"

    def _put_parts(
        self, pk: str, record: SpillRecord, deadline: Deadline | None, extra0: dict[str, Any], data: bytes | None = None
    ) -> None:
        data = record.to_bytes() if data is None else data
        chunks = [data[i : i + PART_BYTES] for i in range(0, len(data), PART_BYTES)] or [b""]
        if len(chunks) > MAX_PARTS:
            raise SpillError(
                f"{self.description}: record {record.spill_id} is {len(data)} bytes gzip'd, over the "
                f"{MAX_PARTS * PART_BYTES} bytes a record may take ({MAX_PARTS} items); nothing written"
            )
        base = record.name.removesuffix(".json.gz")
        expires_at = int(self._wall_clock() + self._retention_s)
        written: list[int] = []
        failures: tuple[type[Exception], ...] = (SpillError, *aws_errors())
        try:
            # part 0 last: listing needs every part, and part 0 carries the claim
            for part in [*range(1, len(chunks)), 0]:
                item: dict[str, Any] = {
                    "pk": {"S": pk},
                    "sk": {"S": self._sk(base, part)},
                    "spill_id": {"S": record.spill_id},
                    "created_at": {"N": str(record.created_at_ms)},
                    "part": {"N": str(part)},
                    "parts": {"N": str(len(chunks))},
                    "payload": {"B": chunks[part]},
                    "expires_at": {"N": str(expires_at)},
                }
                if part == 0:
                    item["batch_count"] = {"N": str(len(record.batches))}
                    if 0 < len(record.batches) <= MAX_LISTED_BATCH_IDS:
                        item["batch_ids"] = {"SS": sorted({b.batch_id for b in record.batches})}
                    item.update(extra0)
                self._ddb(deadline, f"write {record.spill_id}").put_item(TableName=self._table, Item=item)
                written.append(part)
        except failures as exc:
            for part in written:  # leave no orphan parts behind if we can help it
                with contextlib.suppress(*failures):
                    self._ddb(None, "clean up").delete_item(
                        TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": self._sk(base, part)}}
                    )
            raise SpillError(f"{self.description}: cannot write {record.spill_id}: {exc}") from exc

    def write(
        self, record: SpillRecord, *, deadline: Deadline | None = None, claim: tuple[str, int] | None = None
    ) -> SpillRef:
        extra = {} if claim is None else {"claimed_by": {"S": claim[0]}, "claimed_until": {"N": str(claim[1])}}
        self._put_parts(self._prefix, record, deadline, extra)
        owner, until = claim if claim is not None else ("", 0)
        base = record.name.removesuffix(".json.gz")
        return SpillRef(base, record.created_at_ms, record.spill_id, 1, until, owner)

    def _query(self, pk: str, deadline: Deadline | None, *, sk_prefix: str = "", small: bool = True) -> list[Any]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk" + (" AND begins_with(sk, :sk)" if sk_prefix else ""),
            "ExpressionAttributeValues": {":pk": {"S": pk}, **({":sk": {"S": sk_prefix}} if sk_prefix else {})},
            "ConsistentRead": True,
        }
        if small:
            kwargs["ProjectionExpression"] = "sk, spill_id, created_at, #part, #parts, claimed_until, claimed_by"
            kwargs["ExpressionAttributeNames"] = {"#part": "part", "#parts": "parts"}
        items: list[Any] = []
        while True:
            page = self._ddb(deadline, "query").query(**kwargs)
            items.extend(page.get("Items", ()))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def quarantined(self) -> list[SpillRef]:
        """Quarantined records (for operators and tests)."""
        return [
            SpillRef(str(i["sk"]["S"]).rpartition("#")[0], int(i["created_at"]["N"]), str(i["spill_id"]["S"]))
            for i in self._query(self._prefix + _QUARANTINE, None)
            if int(i["part"]["N"]) == 0
        ]

    def list(self, *, deadline: Deadline | None = None) -> list[SpillRef]:
        seen: dict[str, tuple[int, str, int, set[int], int, str]] = {}
        try:
            for item in self._query(self._prefix, deadline):
                base, _, part = str(item["sk"]["S"]).rpartition("#")
                entry = seen.setdefault(
                    base,
                    (int(item["created_at"]["N"]), str(item["spill_id"]["S"]), int(item["parts"]["N"]), set(), 0, ""),
                )
                entry[3].add(int(part))
                if int(part) == 0 and "claimed_until" in item:
                    seen[base] = (*entry[:4], int(item["claimed_until"]["N"]), str(item["claimed_by"]["S"]))
        except aws_errors() as exc:
            raise SpillError(f"{self.description}: cannot list: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise SpillError(f"{self.description}: an item is not a spill record part: {exc}") from exc
        refs = [
            SpillRef(base, created, spill_id, parts, until, owner)
            for base, (created, spill_id, parts, present, until, owner) in seen.items()
            if present == set(range(parts))
        ]
        refs.sort(key=lambda r: (r.created_at_ms, r.spill_id))
        return refs

    def _read_bytes(self, ref: SpillRef, deadline: Deadline | None) -> bytes | None:
        try:
            items = self._query(self._prefix, deadline, sk_prefix=f"{ref.key}#", small=False)
        except aws_errors() as exc:
            raise SpillError(f"{self.description}: cannot read {ref.spill_id}: {exc}") from exc
        if len(items) != ref.parts:
            return None  # deleted under us: another process replayed it
        items.sort(key=lambda i: str(i["sk"]["S"]))
        return b"".join(bytes(i["payload"]["B"]) for i in items)

    def read(self, ref: SpillRef, *, deadline: Deadline | None = None) -> SpillRecord | None:
        data = self._read_bytes(ref, deadline)
        if data is None:
            return None
        return SpillRecord.from_bytes(data, where=f"{self.description}/{ref.key}")

    def _delete_parts(self, pk: str, ref: SpillRef, deadline: Deadline | None) -> None:
        try:
            for part in range(ref.parts - 1, -1, -1):  # part 0 last: a half-deleted record is never listed
                self._ddb(deadline, f"delete {ref.spill_id}").delete_item(
                    TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": self._sk(ref.key, part)}}
                )
        except aws_errors() as exc:
            raise SpillError(f"{self.description}: cannot delete {ref.spill_id}: {exc}") from exc

    def delete(self, ref: SpillRef, *, deadline: Deadline | None = None) -> None:
        self._delete_parts(self._prefix, ref, deadline)

    def claim(
        self,
        ref: SpillRef,
        owner: str,
        until_ms: int,
        *,
        deadline: Deadline | None = None,
        dead: Callable[[str], bool] | None = None,
    ) -> SpillRef | None:
        try:
            self._ddb(deadline, f"claim {ref.spill_id}").update_item(
                TableName=self._table,
                Key={"pk": {"S": self._prefix}, "sk": {"S": self._sk(ref.key, 0)}},
                UpdateExpression="SET claimed_until = :until, claimed_by = :owner",
                ConditionExpression=(
                    "attribute_exists(sk) AND (attribute_not_exists(claimed_until) OR claimed_until < :now "
                    "OR claimed_by = :owner OR claimed_by = :dead)"
                ),
                ExpressionAttributeValues={
                    ":until": {"N": str(until_ms)},
                    ":owner": {"S": owner},
                    ":now": {"N": str(int(self._wall_clock() * 1000))},
                    # the listed owner, when it is a killed process of this sandbox (else matches nothing)
                    ":dead": {"S": ref.owner if ref.owner and dead is not None and dead(ref.owner) else owner},
                },
            )
        except aws_errors() as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise SpillError(f"{self.description}: cannot claim {ref.spill_id}: {exc}") from exc
        return SpillRef(ref.key, ref.created_at_ms, ref.spill_id, ref.parts, until_ms, owner)

    def release(self, ref: SpillRef, owner: str, *, deadline: Deadline | None = None) -> None:
        try:
            self._ddb(deadline, f"release {ref.spill_id}").update_item(
                TableName=self._table,
                Key={"pk": {"S": self._prefix}, "sk": {"S": self._sk(ref.key, 0)}},
                UpdateExpression="REMOVE claimed_until, claimed_by",
                ConditionExpression="claimed_by = :owner",
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except aws_errors() as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return
            raise SpillError(f"{self.description}: cannot release {ref.spill_id}: {exc}") from exc

    def quarantine(self, ref: SpillRef, reason: str, *, deadline: Deadline | None = None) -> None:
        data = self._read_bytes(ref, deadline)
        if data is None:
            return
        stand_in = SpillRecord(ref.spill_id, ref.created_at_ms, b"{}", ())
        self._put_parts(self._prefix + _QUARANTINE, stand_in, deadline, {"reason": {"S": reason[:1000]}}, data)
        self.delete(ref, deadline=deadline)

    def write_quarantined(self, record: SpillRecord, reason: str, *, deadline: Deadline | None = None) -> None:
        self._put_parts(self._prefix + _QUARANTINE, record, deadline, {"reason": {"S": reason[:1000]}})

