"""A snapshot stored in a DynamoDB table (`dynamodb://table/key`).

Item layout (the refresher writes this; `build_items` is the reference writer). The table has a string
partition key ``pk`` and no sort key. The snapshot is stored under ``pk = <key>``:

=================  ====  ===================================================================================
attribute          type  meaning
=================  ====  ===================================================================================
``pk``             S     ``<key>``
``version``        S     changes whenever the snapshot does (an ETag, the lcut, a hash...); required
``sha256``         S     optional: hex sha256 of the uncompressed snapshot; checked when present
``updated_at``     N     optional: epoch ms of the write (informational)
and exactly one of:
``payload``        B     gzip of the snapshot bytes, when the item fits DynamoDB's 400 KB item limit
``chunks``         N     number of chunk items: gzip of the snapshot bytes, cut in order into ``chunks``
                         parts, part ``i`` (from 0) stored in item ``pk = "<key>#chunk#<i>"`` as
                         ``payload`` (B), with ``version`` (S) equal to the main item's
``s3_pointer``     S     ``s3://bucket/key`` of an object holding the snapshot (plain or gzip'd)
=================  ====  ===================================================================================

Writers put the chunk items first and the main item last. Readers read the main item, then the chunks
(strongly consistent) and fail when a chunk's ``version`` differs from the main item's, so a read racing a
write fails cleanly (the next check reads again) instead of mixing two snapshots. Chunk items left over
from an earlier, longer snapshot are never read; a writer may delete them.

A freshness check is one GetItem with ``ProjectionExpression=version`` (about 0.5 read unit): the payload
is read only when the version differs. boto3 clients as in `s3.S3Source` (``boto3_client`` used as is;
otherwise one attempt and timeouts from the caller's budget).
"""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..errors import SpecSourceError
from ._aws import ClientCache, aws_errors, describe
from .base import Fetched
from .file import snapshot_bytes
from .s3 import S3Source

__all__ = ["DEFAULT_CHUNK_BYTES", "MAX_CHUNKS", "DynamoDBSource", "build_items", "chunk_key"]

DEFAULT_CHUNK_BYTES = 350_000  # under the 400 KB item limit with room for pk, version and names
MAX_CHUNKS = 1000
_BATCH_GET_LIMIT = 100  # keys per BatchGetItem request

_KNOWN = {
    "ResourceNotFoundException": "table does not exist",
    "AccessDeniedException": "access denied",
    "ProvisionedThroughputExceededException": "throttled",
    "ThrottlingException": "throttled",
    "RequestLimitExceeded": "throttled",
}


def chunk_key(key: str, index: int) -> str:
    """The ``pk`` of chunk ``index`` of the snapshot stored under ``key``."""
    return f"{key}#chunk#{index}"


def build_items(
    key: str,
    snapshot: bytes,
    version: str,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    updated_at_ms: int | None = None,
) -> list[dict[str, Any]]:
    """The items (low-level attribute-value form) that store ``snapshot`` under ``key``, in write order."""
    if chunk_bytes <= 0:
        raise ValueError("chunk_bytes must be positive")
    packed = gzip.compress(snapshot, mtime=0)
    main: dict[str, Any] = {
        "pk": {"S": key},
        "version": {"S": version},
        "sha256": {"S": hashlib.sha256(snapshot).hexdigest()},
    }
    if updated_at_ms is not None:
        main["updated_at"] = {"N": str(updated_at_ms)}
    if len(packed) <= chunk_bytes:
        main["payload"] = {"B": packed}
        return [main]
    parts = [packed[i : i + chunk_bytes] for i in range(0, len(packed), chunk_bytes)]
    if len(parts) > MAX_CHUNKS:
        raise ValueError(f"snapshot needs {len(parts)} chunks, more than {MAX_CHUNKS}: store it in S3")
    main["chunks"] = {"N": str(len(parts))}
    chunks = [
        {"pk": {"S": chunk_key(key, i)}, "version": {"S": version}, "payload": {"B": part}}
        for i, part in enumerate(parts)
    ]
    return [*chunks, main]


class DynamoDBSource:
    """Reads the item layout above; a freshness check reads only ``version``."""

    def __init__(
        self,
        table: str,
        key: str,
        boto3_client: Any = None,
        boto3_session: Any = None,
        *,
        s3_client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.key = key
        self.name = f"dynamodb://{table}/{key}"
        self._clients = ClientCache("dynamodb", boto3_client, boto3_session)
        self._session = boto3_session
        self._s3_client = s3_client
        self._pointers: dict[str, S3Source] = {}
        self._clock = clock

    def __repr__(self) -> str:
        return f"DynamoDBSource({self.name!r})"

    def fetch(self, timeout_s: float) -> Fetched:
        deadline = self._clock() + timeout_s
        item = self._get_item(self.key, timeout_s, version_only=False)
        return self._fetched(item, deadline)

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        if version is None:
            return self.fetch(timeout_s)
        deadline = self._clock() + timeout_s
        if self._version_of(self._get_item(self.key, timeout_s, version_only=True)) == version:
            return None
        fetched = self.fetch(self._remaining(deadline))
        return None if fetched.version == version else fetched

    # -- reading

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise SpecSourceError(self.name, "timed out (the budget ran out between requests)")
        return remaining

    def _get_item(self, pk: str, timeout_s: float, *, version_only: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self.table, "Key": {"pk": {"S": pk}}}
        if version_only:
            params["ProjectionExpression"] = "#v"
            params["ExpressionAttributeNames"] = {"#v": "version"}
        try:
            response = self._clients.get(timeout_s).get_item(**params)
        except aws_errors() as exc:
            raise SpecSourceError(self.name, describe(exc, _KNOWN)) from exc
        item = response.get("Item")
        if not isinstance(item, dict):
            raise SpecSourceError(self.name, f"no item with pk={pk!r} in table {self.table}")
        return item

    def _version_of(self, item: dict[str, Any]) -> str:
        value = item.get("version", {}).get("S")
        if not isinstance(value, str) or not value:
            raise SpecSourceError(self.name, "item has no string 'version' attribute")
        return value

    def _fetched(self, item: dict[str, Any], deadline: float) -> Fetched:
        version = self._version_of(item)
        if "payload" in item:
            payload = snapshot_bytes(_binary(item["payload"], self.name), self.name)
        elif "chunks" in item:
            count = _number(item["chunks"])
            if count is None or not 1 <= count <= MAX_CHUNKS:
                raise SpecSourceError(self.name, f"'chunks' must be a number from 1 to {MAX_CHUNKS}")
            payload = snapshot_bytes(self._read_chunks(count, version, deadline), self.name)
        elif "s3_pointer" in item:
            payload = self._read_pointer(item["s3_pointer"].get("S"), deadline)
        else:
            raise SpecSourceError(self.name, "item has none of 'payload', 'chunks' or 's3_pointer'")
        expected = item.get("sha256", {}).get("S")
        if isinstance(expected, str) and hashlib.sha256(payload).hexdigest() != expected.lower():
            raise SpecSourceError(self.name, "snapshot does not match its sha256 attribute")
        return Fetched(payload=payload, version=version, source=self.name)

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
                raise SpecSourceError(self.name, describe(exc, _KNOWN)) from exc
            for item in response.get("Responses", {}).get(self.table, []):
                found[str(item["pk"]["S"])] = item
            unprocessed = response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
            pending = list(unprocessed) + pending
        parts: list[bytes] = []
        for index, pk in enumerate(wanted):
            chunk = found.get(pk)
            if chunk is None:
                raise SpecSourceError(self.name, f"chunk {index} of {count} ({pk!r}) is missing")
            chunk_version = chunk.get("version", {}).get("S")
            if chunk_version != version:
                raise SpecSourceError(
                    self.name,
                    f"chunk {index} has version {chunk_version!r}, the item {version!r}: the snapshot changed"
                    " while it was read",
                )
            if "payload" not in chunk:
                raise SpecSourceError(self.name, f"chunk {index} has no 'payload'")
            parts.append(_binary(chunk["payload"], self.name))
        return b"".join(parts)

    def _read_pointer(self, pointer: object, deadline: float) -> bytes:
        split = urlsplit(pointer) if isinstance(pointer, str) else None
        if split is None or split.scheme != "s3" or not split.netloc or not split.path.lstrip("/"):
            raise SpecSourceError(self.name, f"'s3_pointer' must be s3://bucket/key, not {pointer!r}")
        assert isinstance(pointer, str)
        source = self._pointers.get(pointer)
        if source is None:
            source = S3Source(split.netloc, split.path.lstrip("/"), self._s3_client, self._session)
            self._pointers = {pointer: source}  # only the current pointer is worth keeping
        try:
            return source.fetch(self._remaining(deadline)).payload
        except SpecSourceError as exc:
            raise SpecSourceError(self.name, f"via s3_pointer {pointer}: {exc.reason}") from exc


def _binary(value: Any, source: str) -> bytes:
    raw = value.get("B") if isinstance(value, dict) else None
    if not isinstance(raw, (bytes, bytearray)):
        raise SpecSourceError(source, "'payload' is not a binary (B) attribute")
    return bytes(raw)


def _number(value: Any) -> int | None:
    raw = value.get("N") if isinstance(value, dict) else None
    try:
        return int(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
