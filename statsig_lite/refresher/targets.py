"""Where the refresher keeps the snapshot, read and written with conditional writes.

    SpecError
    └── TargetError          a target could not be read or written (carries the target and why)
        └── WriteConflict    the stored snapshot changed since it was read: nothing of ours was committed

Each target reads what is stored as a `Stored` (its bytes and the token a conditional write expects) and
writes only if that token still holds, so two refreshers racing cannot interleave: the one that commits
second fails with WriteConflict and the first one's bytes stay.

- S3 (``s3://bucket/key``): ``PutObject`` with ``IfMatch=<ETag read>``, or ``IfNoneMatch="*"`` when the key
  did not exist, and ``ServerSideEncryption=AES256``. (moto's server mode honours both conditions.)
- DynamoDB (``dynamodb://table/key``): the versioned layout of `sources.dynamodb`. A write puts the chunks of
  a new, unique version (keys no reader is using), then switches the main item (``sk=current``) with a
  condition on the version read (or ``attribute_not_exists(pk)``); a writer that loses deletes its own
  chunks. Versions that have not been current for `GRACE_S` are deleted after a successful switch (chunks
  written less than `GRACE_S` ago are left alone: another writer may be in flight). A writer killed at any
  point leaves the main item on a complete version; its chunks are collected by a later write.

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

from .._log import get_logger
from ..errors import SpecError, SpecSourceError
from ..sources._aws import ClientCache, aws_errors, describe, error_code, http_status
from ..sources.dynamodb import CURRENT, DEFAULT_CHUNK_BYTES, KNOWN_ERRORS, MAX_CHUNKS, build_items, read_chunks
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

GRACE_S = 60.0  # an old DynamoDB version is deleted once it has not been current for this long
_S3_KNOWN = {"NoSuchBucket": "bucket does not exist", "AccessDenied": "access denied", "403": "access denied"}
_S3_CONFLICT = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_DDB_CONFLICT = "ConditionalCheckFailedException"
_Condition = tuple[str, dict[str, str], dict[str, Any]]  # expression, attribute names, attribute values

logger = get_logger(__name__)


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
    switched_at: int | None = None  # DynamoDB: when the stored version became current (ms)


ABSENT = Stored(exists=False)


class SnapshotTarget(Protocol):
    name: str

    def read(self, timeout_s: float) -> Stored:
        """What is stored now. Raises TargetError when the store cannot be reached."""
        ...

    def write(self, payload: bytes, expected: Stored, timeout_s: float, *, lcut: int | None = None) -> str:
        """Store ``payload`` (whose payload ``time`` is ``lcut``) if ``expected`` is still what is stored;
        the new token.

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

    def write(self, payload: bytes, expected: Stored, timeout_s: float, *, lcut: int | None = None) -> str:
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
    """The versioned layout of `sources.dynamodb`: chunks under a new version first, the main item switched
    last on the version read, old versions deleted once they have not been current for `GRACE_S`."""

    def __init__(
        self,
        table: str,
        key: str,
        client: Any = None,
        session: Any = None,
        *,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        grace_s: float = GRACE_S,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.key = key
        self.name = f"dynamodb://{table}/{key}"
        self._clients = ClientCache("dynamodb", client, session)
        self._chunk_bytes = chunk_bytes
        self._grace_ms = int(grace_s * 1000)
        self._clock = clock
        self._wall_clock = wall_clock

    def __repr__(self) -> str:
        return f"DynamoDBTarget({self.name!r})"

    # -- reading

    def read(self, timeout_s: float) -> Stored:
        deadline = self._clock() + timeout_s
        try:
            response = self._clients.get(timeout_s).get_item(
                TableName=self.table, Key={"pk": {"S": self.key}, "sk": {"S": CURRENT}}, ConsistentRead=True
            )
        except aws_errors() as exc:
            raise TargetError(self.name, describe(exc, KNOWN_ERRORS)) from exc
        item = response.get("Item")
        if not isinstance(item, dict):
            return ABSENT
        version = item.get("version", {}).get("S")
        token = version if isinstance(version, str) and version else None
        switched_at = _number(item.get("switched_at"))
        if token is None:
            return Stored(True, None, None, "item has no string 'version' attribute", switched_at)
        if "s3_pointer" in item:
            raise TargetError(self.name, "the item points to S3 (s3_pointer): make the S3 object the target")
        try:
            if "chunks" in item:
                packed, problem = read_chunks(
                    lambda: self._clients.get(self._remaining(deadline)), self.table, self.key, token,
                    _chunk_count(item["chunks"]),
                )
                if packed is None:
                    return Stored(True, token, None, problem, switched_at)
            elif "payload" in item:
                packed = _binary(item["payload"])
            else:
                return Stored(True, token, None, "item has neither 'chunks' nor 'payload'", switched_at)
            payload = snapshot_bytes(packed, self.name)
        except aws_errors() as exc:
            raise TargetError(self.name, describe(exc, KNOWN_ERRORS)) from exc
        except _Unusable as exc:
            return Stored(True, token, None, str(exc), switched_at)
        except SpecSourceError as exc:
            return Stored(True, token, None, exc.reason, switched_at)
        expected = item.get("sha256", {}).get("S")
        if isinstance(expected, str) and hashlib.sha256(payload).hexdigest() != expected.lower():
            return Stored(True, token, None, "snapshot does not match its sha256 attribute", switched_at)
        return Stored(True, token, payload, None, switched_at)

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise TargetError(self.name, "out of time")
        return remaining

    # -- writing

    def write(self, payload: bytes, expected: Stored, timeout_s: float, *, lcut: int | None = None) -> str:
        deadline = self._clock() + timeout_s
        now_ms = int(self._wall_clock() * 1000)
        version = f"{now_ms:013d}-{uuid.uuid4().hex[:12]}"  # unique: no reader can be reading these keys
        chunks, main = build_items(
            self.key, payload, version, chunk_bytes=self._chunk_bytes, now_ms=now_ms, lcut=lcut,
            previous=expected.token,
        )
        for chunk in chunks:
            self._put(chunk, None, self._remaining(deadline))
        try:
            self._put(main, self._switch_condition(expected), self._remaining(deadline))
        except TargetError:
            self._delete_versions({version}, deadline)  # never referenced: nobody can be reading them
            raise
        self._collect(version, expected, now_ms, deadline)
        return version

    def _switch_condition(self, expected: Stored) -> _Condition:
        if not expected.exists:
            return ("attribute_not_exists(pk)", {}, {})
        if expected.token is None:
            return ("attribute_exists(pk) AND attribute_not_exists(#v)", {"#v": "version"}, {})
        return ("#v = :v", {"#v": "version"}, {":v": {"S": expected.token}})

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
                raise WriteConflict(self.name, f"conditional write of {item['sk']['S']!r} failed") from exc
            raise TargetError(self.name, describe(exc, KNOWN_ERRORS)) from exc

    # -- old versions

    def _collect(self, current: str, replaced: Stored, now_ms: int, deadline: float) -> None:
        """Delete versions that have not been current for GRACE_S (best effort; the next write retries).

        Kept: the new version, the one it replaced, and chunks written less than GRACE_S ago (a writer in
        flight). If the replaced version itself became current less than GRACE_S ago, the one before it may
        still be being read: nothing is deleted this time."""
        grace_ms = self._grace_ms
        if replaced.switched_at is not None and now_ms - replaced.switched_at < grace_ms:
            return
        keep = {current, replaced.token}
        try:
            stale: set[str] = set()
            fresh: set[str] = set()
            for item in self._chunk_items(deadline):
                version = _version_of_sk(item.get("sk", {}).get("S"))
                if version is None or version in keep:
                    continue
                written = _number(item.get("written_at")) or 0
                (fresh if now_ms - written < grace_ms else stale).add(version)
            self._delete_versions(stale - fresh, deadline)
        except Exception as exc:  # best effort: the write succeeded; a later one collects what is left
            logger.warning("statsig_lite refresher: old snapshot versions in %s not deleted: %s", self.name, exc)

    def _chunk_items(self, deadline: float) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :v)",
            "ExpressionAttributeValues": {":pk": {"S": self.key}, ":v": {"S": "v#"}},
            "ProjectionExpression": "sk, written_at",
        }
        while True:
            response = self._clients.get(self._remaining(deadline)).query(**params)
            items.extend(response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return items
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _delete_versions(self, versions: set[str], deadline: float) -> None:
        if not versions:
            return
        try:
            for item in self._chunk_items(deadline):
                sk = item.get("sk", {}).get("S")
                if _version_of_sk(sk) in versions:
                    self._clients.get(self._remaining(deadline)).delete_item(
                        TableName=self.table, Key={"pk": {"S": self.key}, "sk": {"S": sk}}
                    )
        except Exception as exc:  # best effort: the write succeeded; a later one collects what is left
            logger.warning("statsig_lite refresher: snapshot chunks in %s not deleted: %s", self.name, exc)


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


def _version_of_sk(sk: object) -> str | None:
    """``v#<version>#<nnnn>`` -> ``<version>``."""
    if not isinstance(sk, str) or not sk.startswith("v#"):
        return None
    version, sep, _ = sk[2:].rpartition("#")
    return version if sep and version else None


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

