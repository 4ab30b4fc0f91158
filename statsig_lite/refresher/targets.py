"""Where the refresher keeps the snapshot, read and written with conditional writes.

    SpecError
    └── TargetError          a target could not be read or written (carries the target and why)
        └── WriteConflict    the stored snapshot changed since it was read: nothing of ours was committed

Each target reads what is stored as a `Stored` (its bytes and the token a conditional write expects) and
writes only if that token still holds, so two refreshers racing cannot interleave: the one that commits
second fails with WriteConflict and the first one's bytes stay.

- S3 (``s3://bucket/key``): ``PutObject`` with ``IfMatch=<ETag read>``, or ``IfNoneMatch="*"`` when the key
  did not exist, and ``ServerSideEncryption=AES256``. (moto's server mode honours both conditions.)
- DynamoDB (``dynamodb://table/key``): the item layout of `sources.dynamodb` (written by its `build_items`).
  A snapshot that fits one item is one ``PutItem`` conditioned on the ``version`` read (or on
  ``attribute_not_exists(pk)``). A chunked snapshot needs several writes, and chunk keys are fixed by the
  layout, so chunked writers first take a lease item (``pk = "<key>#lock"``, conditional put, expiring
  after the writer's own deadline), check that the main item still has the version read, write the chunks,
  then the main item (conditioned on that version), and release the lease.

A stored snapshot whose *bytes* are unusable (bad gzip, sha256 mismatch, missing chunk) is reported with
``payload=None`` and ``problem`` set, and may be replaced (conditionally). A failure to *reach* the store
raises TargetError, so a snapshot we could not look at is never overwritten.

boto3 is imported on first use. Clients are injected (tests, moto) or built per timeout step
(`sources._aws.ClientCache`).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import SpecError, SpecSourceError
from ..sources._aws import ClientCache, aws_errors, describe, error_code, http_status
from ..sources.dynamodb import DEFAULT_CHUNK_BYTES, MAX_CHUNKS, build_items, chunk_key
from ..sources.file import snapshot_bytes
from .config import TargetSpec

__all__ = [
    "ABSENT",
    "DynamoDBTarget",
    "S3Target",
    "SnapshotTarget",
    "Stored",
    "TargetError",
    "WriteConflict",
    "open_targets",
]

LEASE_MARGIN_S = 5.0  # a chunked writer's lease outlives its own deadline by this much
_BATCH_GET_LIMIT = 100
_S3_KNOWN = {"NoSuchBucket": "bucket does not exist", "AccessDenied": "access denied", "403": "access denied"}
_S3_CONFLICT = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_DDB_KNOWN = {
    "ResourceNotFoundException": "table does not exist",
    "AccessDeniedException": "access denied",
    "ProvisionedThroughputExceededException": "throttled",
    "ThrottlingException": "throttled",
}
_DDB_CONFLICT = "ConditionalCheckFailedException"
_Condition = tuple[str, dict[str, str], dict[str, Any]]  # expression, attribute names, attribute values


class TargetError(SpecError):
    """A snapshot target could not be read or written."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"{target}: {reason}")
        self.target = target
        self.reason = reason


class WriteConflict(TargetError):
    """The stored snapshot is no longer the one read: another writer got there first."""


@dataclass(frozen=True, slots=True)
class Stored:
    """What a target holds: its bytes (None if absent or unusable) and the token a write must match."""

    exists: bool
    token: str | None = None  # S3 ETag, DynamoDB version
    payload: bytes | None = None
    problem: str | None = None  # why an existing snapshot's bytes are unusable


ABSENT = Stored(exists=False)


class SnapshotTarget(Protocol):
    name: str

    def read(self, timeout_s: float) -> Stored:
        """What is stored now. Raises TargetError when the store cannot be reached."""
        ...

    def write(self, payload: bytes, expected: Stored, timeout_s: float) -> str:
        """Store ``payload`` if ``expected`` is still what is stored; the new token.

        Raises WriteConflict (nothing committed) or TargetError."""
        ...


class S3Target:
    def __init__(self, bucket: str, key: str, client: Any = None, session: Any = None) -> None:
        self.bucket = bucket
        self.key = key
        self.name = f"s3://{bucket}/{key}"
        self._clients = ClientCache("s3", client, session)

    def __repr__(self) -> str:
        return f"S3Target({self.name!r})"

    def read(self, timeout_s: float) -> Stored:
        try:
            response = self._clients.get(timeout_s).get_object(Bucket=self.bucket, Key=self.key)
            body = response["Body"]
            try:
                data = bytes(body.read())
            finally:
                body.close()
        except aws_errors() as exc:
            if error_code(exc) == "NoSuchKey":
                return ABSENT
            raise TargetError(self.name, describe(exc, _S3_KNOWN)) from exc
        etag = response.get("ETag")
        if not isinstance(etag, str) or not etag:
            raise TargetError(self.name, "GetObject answered without an ETag: cannot write conditionally")
        try:
            return Stored(True, etag, snapshot_bytes(data, self.name))
        except SpecSourceError as exc:
            return Stored(True, etag, None, exc.reason)

    def write(self, payload: bytes, expected: Stored, timeout_s: float) -> str:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key,
            "Body": payload,
            "ContentType": "application/json",
            "ServerSideEncryption": "AES256",
            "Metadata": {"sha256": hashlib.sha256(payload).hexdigest()},
        }
        if expected.exists:
            if not expected.token:
                raise TargetError(self.name, "no ETag to condition the write on")
            params["IfMatch"] = expected.token
        else:
            params["IfNoneMatch"] = "*"
        try:
            response = self._clients.get(timeout_s).put_object(**params)
        except aws_errors() as exc:
            if error_code(exc) in _S3_CONFLICT or http_status(exc) in (409, 412):
                raise WriteConflict(self.name, "the object changed since it was read (PutObject precondition)") from exc
            raise TargetError(self.name, describe(exc, _S3_KNOWN)) from exc
        return str(response.get("ETag") or "")


class DynamoDBTarget:
    def __init__(
        self,
        table: str,
        key: str,
        client: Any = None,
        session: Any = None,
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.key = key
        self.name = f"dynamodb://{table}/{key}"
        self._clients = ClientCache("dynamodb", client, session)
        self._chunk_bytes = chunk_bytes
        self._clock = clock
        self._wall_clock = wall_clock

    def __repr__(self) -> str:
        return f"DynamoDBTarget({self.name!r})"

    @property
    def lock_key(self) -> str:
        return f"{self.key}#lock"

    # -- reading

    def read(self, timeout_s: float) -> Stored:
        deadline = self._clock() + timeout_s
        item = self._get(self.key, timeout_s)
        if item is None:
            return ABSENT
        version = item.get("version", {}).get("S")
        token = version if isinstance(version, str) and version else None
        if token is None:
            return Stored(True, None, None, "item has no string 'version' attribute")
        if "s3_pointer" in item:
            raise TargetError(self.name, "the item points to S3 (s3_pointer): make the S3 object the target")
        try:
            if "payload" in item:
                packed = _binary(item["payload"])
            elif "chunks" in item:
                packed = self._read_chunks(_chunk_count(item["chunks"]), token, deadline)
            else:
                return Stored(True, token, None, "item has neither 'payload' nor 'chunks'")
            payload = snapshot_bytes(packed, self.name)
        except _Unusable as exc:
            return Stored(True, token, None, str(exc))
        except SpecSourceError as exc:
            return Stored(True, token, None, exc.reason)
        expected = item.get("sha256", {}).get("S")
        if isinstance(expected, str) and hashlib.sha256(payload).hexdigest() != expected.lower():
            return Stored(True, token, None, "snapshot does not match its sha256 attribute")
        return Stored(True, token, payload)

    def _get(self, pk: str, timeout_s: float, *, version_only: bool = False) -> dict[str, Any] | None:
        params: dict[str, Any] = {"TableName": self.table, "Key": {"pk": {"S": pk}}, "ConsistentRead": True}
        if version_only:
            params["ProjectionExpression"] = "#v"
            params["ExpressionAttributeNames"] = {"#v": "version"}
        try:
            response = self._clients.get(timeout_s).get_item(**params)
        except aws_errors() as exc:
            raise TargetError(self.name, describe(exc, _DDB_KNOWN)) from exc
        item = response.get("Item")
        return item if isinstance(item, dict) else None

    def _read_chunks(self, count: int, version: str, deadline: float) -> bytes:
        wanted = [chunk_key(self.key, i) for i in range(count)]
        found: dict[str, dict[str, Any]] = {}
        pending = [{"pk": {"S": pk}} for pk in wanted]
        while pending:
            batch, pending = pending[:_BATCH_GET_LIMIT], pending[_BATCH_GET_LIMIT:]
            request = {self.table: {"Keys": batch, "ConsistentRead": True}}
            try:
                response = self._clients.get(self._remaining(deadline)).batch_get_item(RequestItems=request)
            except aws_errors() as exc:
                raise TargetError(self.name, describe(exc, _DDB_KNOWN)) from exc
            for chunk in response.get("Responses", {}).get(self.table, []):
                found[str(chunk["pk"]["S"])] = chunk
            pending = list(response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])) + pending
        parts: list[bytes] = []
        for index, pk in enumerate(wanted):
            chunk = found.get(pk)
            if chunk is None:
                raise _Unusable(f"chunk {index} of {count} is missing")
            if chunk.get("version", {}).get("S") != version:
                if self._lease_held(deadline):  # a writer is between its chunks and its main item
                    raise TargetError(self.name, f"chunk {index} is being rewritten by another writer")
                raise _Unusable(f"chunk {index} has another version than the item (an interrupted write)")
            parts.append(_binary(chunk.get("payload")))
        return b"".join(parts)

    def _lease_held(self, deadline: float) -> bool:
        lease = self._get(self.lock_key, self._remaining(deadline))
        until = _number(lease.get("lease_until")) if lease is not None else None
        return until is not None and until >= int(self._wall_clock() * 1000)

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise TargetError(self.name, "out of time")
        return remaining

    # -- writing

    def write(self, payload: bytes, expected: Stored, timeout_s: float) -> str:
        deadline = self._clock() + timeout_s
        version = hashlib.sha256(payload).hexdigest()[:32]
        items = build_items(
            self.key, payload, version, chunk_bytes=self._chunk_bytes, updated_at_ms=int(self._wall_clock() * 1000)
        )
        *chunks, main = items
        if not chunks:
            self._put_main(main, expected, timeout_s)
            return version
        owner = str(uuid.uuid4())
        self._take_lease(owner, timeout_s)
        try:
            current = self._get(self.key, self._remaining(deadline), version_only=True)
            if (current is not None) != expected.exists or (
                current is not None and current.get("version", {}).get("S") != expected.token
            ):
                raise WriteConflict(self.name, "the item changed since it was read")
            for chunk in chunks:
                self._put(chunk, None, self._remaining(deadline))
            self._put_main(main, expected, self._remaining(deadline))
        finally:
            self._release_lease(owner)
        return version

    def _put_main(self, item: dict[str, Any], expected: Stored, timeout_s: float) -> None:
        if not expected.exists:
            condition: _Condition = ("attribute_not_exists(pk)", {}, {})
        elif expected.token is None:
            condition = ("attribute_exists(pk) AND attribute_not_exists(#v)", {"#v": "version"}, {})
        else:
            condition = ("#v = :v", {"#v": "version"}, {":v": {"S": expected.token}})
        self._put(item, condition, timeout_s)

    def _put(self, item: dict[str, Any], condition: _Condition | None, timeout_s: float) -> None:
        params: dict[str, Any] = {"TableName": self.table, "Item": item}
        if condition is not None:
            expression, names, values = condition
            params["ConditionExpression"] = expression
            if names:
                params["ExpressionAttributeNames"] = names
            if values:
                params["ExpressionAttributeValues"] = values
        try:
            self._clients.get(timeout_s).put_item(**params)
        except aws_errors() as exc:
            if error_code(exc) == _DDB_CONFLICT:
                raise WriteConflict(self.name, f"conditional write of {item['pk']['S']!r} failed") from exc
            raise TargetError(self.name, describe(exc, _DDB_KNOWN)) from exc

    def _take_lease(self, owner: str, timeout_s: float) -> None:
        now_ms = int(self._wall_clock() * 1000)
        lease = {
            "pk": {"S": self.lock_key},
            "owner": {"S": owner},
            "lease_until": {"N": str(now_ms + int((timeout_s + LEASE_MARGIN_S) * 1000))},
        }
        condition: _Condition = ("attribute_not_exists(pk) OR lease_until < :now", {}, {":now": {"N": str(now_ms)}})
        try:
            self._put(lease, condition, timeout_s)
        except WriteConflict as exc:
            raise WriteConflict(self.name, "another refresher holds the write lease") from exc

    def _release_lease(self, owner: str) -> None:
        try:
            self._clients.get(1.0).delete_item(
                TableName=self.table,
                Key={"pk": {"S": self.lock_key}},
                ConditionExpression="#o = :o",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":o": {"S": owner}},
            )
        except aws_errors():
            pass  # the lease expires on its own


class _Unusable(Exception):
    """The stored bytes cannot be a snapshot (internal: becomes Stored.problem)."""


def _binary(value: Any) -> bytes:
    raw = value.get("B") if isinstance(value, dict) else None
    if not isinstance(raw, (bytes, bytearray)):
        raise _Unusable("'payload' is not a binary (B) attribute")
    return bytes(raw)


def _number(value: Any) -> int | None:
    raw = value.get("N") if isinstance(value, dict) else None
    try:
        return int(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _chunk_count(value: Any) -> int:
    count = _number(value) or 0
    if not 1 <= count <= MAX_CHUNKS:
        raise _Unusable(f"'chunks' must be a number from 1 to {MAX_CHUNKS}")
    return count


def open_targets(
    specs: tuple[TargetSpec, ...],
    *,
    s3_client: Any = None,
    dynamodb_client: Any = None,
    session: Any = None,
) -> list[SnapshotTarget]:
    """Targets for the configured specs (no I/O; clients are made on first use unless injected)."""
    targets: list[SnapshotTarget] = []
    for spec in specs:
        if spec.kind == "s3":
            targets.append(S3Target(spec.location, spec.key, s3_client, session))
        else:
            targets.append(DynamoDBTarget(spec.location, spec.key, dynamodb_client, session))
    return targets

