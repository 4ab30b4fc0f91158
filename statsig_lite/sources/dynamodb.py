"""A snapshot stored in a DynamoDB table (`dynamodb://table/key`), atomic for readers.

The table has a string partition key ``pk`` and a string sort key ``sk`` (one table for snapshots and spill,
see the template). A snapshot under ``<key>`` is a set of immutable, versioned chunk items plus one main
item that names the version in use:

=================================  =========================================================================
item                               attributes
=================================  =========================================================================
``pk=<key>, sk=current``           ``version`` (S), ``chunks`` (N), ``sha256`` (S, hex of the uncompressed
                                   snapshot), ``time`` (N, the payload's lcut), ``updated_at`` (N, ms),
                                   ``previous`` (S, the version it replaced), ``switched_at`` (N, ms)
``pk=<key>, sk=v#<version>#0000``  ``payload`` (B): part 0 of gzip(snapshot), cut into ``chunks`` parts
``... v#<version>#<nnnn>``         ``written_at`` (N, ms) on every chunk
=================================  =========================================================================

Writers (`build_items`, the refresher's `DynamoDBTarget`) put a new version's chunks first, under keys no
reader is using, then switch the main item with a condition on the version they replace, and delete old
versions only after a grace period. So a reader that read the main item finds that version's chunks, whole,
whatever a writer is doing, and a writer killed at any point leaves the main item on a complete version.

A reader does one strongly consistent ``GetItem(current)`` and one ``Query(pk=<key>, sk begins_with
v#<version>#)`` (strongly consistent, paged). If the chunks are incomplete anyway (a version deleted under a
very slow reader), it reads the main item once more. A freshness check is one GetItem with
``ProjectionExpression=version`` (about 0.5 read unit). Hand-written main items may instead carry the
snapshot inline (``payload``, B, gzip) or point to S3 (``s3_pointer``, S). boto3 clients as in
`s3.S3Source` (``boto3_client`` used as is; otherwise one attempt and timeouts from the caller's budget).
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

__all__ = [
    "CURRENT",
    "DEFAULT_CHUNK_BYTES",
    "MAX_CHUNKS",
    "DynamoDBSource",
    "build_items",
    "chunk_sk",
    "read_chunks",
    "version_prefix",
]

CURRENT = "current"  # the main item's sort key
DEFAULT_CHUNK_BYTES = 350_000  # under the 400 KB item limit with room for the keys and names
MAX_CHUNKS = 1000

KNOWN_ERRORS = {
    "ResourceNotFoundException": "table does not exist",
    "AccessDeniedException": "access denied",
    "ProvisionedThroughputExceededException": "throttled",
    "ThrottlingException": "throttled",
    "RequestLimitExceeded": "throttled",
    "ValidationException": "request refused (does the table have the string sort key 'sk'?)",
}


def version_prefix(version: str) -> str:
    return f"v#{version}#"


def chunk_sk(version: str, index: int) -> str:
    """The ``sk`` of chunk ``index`` of ``version``."""
    return f"{version_prefix(version)}{index:04d}"


def build_items(
    key: str,
    snapshot: bytes,
    version: str,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    now_ms: int = 0,
    lcut: int | None = None,
    previous: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(chunk items, main item), low-level attribute-value form, that store ``snapshot`` as ``version``.

    Write the chunks first, then the main item (conditionally: see `refresher.targets.DynamoDBTarget`)."""
    if chunk_bytes <= 0:
        raise ValueError("chunk_bytes must be positive")
    if "#" in version:
        raise ValueError("a version may not contain '#'")
    packed = gzip.compress(snapshot, mtime=0)
    parts = [packed[i : i + chunk_bytes] for i in range(0, len(packed), chunk_bytes)] or [b""]
    if len(parts) > MAX_CHUNKS:
        raise ValueError(f"snapshot needs {len(parts)} chunks, more than {MAX_CHUNKS}: store it in S3")
    chunks = [
        {"pk": {"S": key}, "sk": {"S": chunk_sk(version, i)}, "payload": {"B": part}, "written_at": {"N": str(now_ms)}}
        for i, part in enumerate(parts)
    ]
    main: dict[str, Any] = {
        "pk": {"S": key},
        "sk": {"S": CURRENT},
        "version": {"S": version},
        "chunks": {"N": str(len(parts))},
        "sha256": {"S": hashlib.sha256(snapshot).hexdigest()},
        "updated_at": {"N": str(now_ms)},
        "switched_at": {"N": str(now_ms)},
    }
    if lcut is not None:
        main["time"] = {"N": str(lcut)}
    if previous:
        main["previous"] = {"S": previous}
    return chunks, main


def read_chunks(
    client_for: Callable[[], Any], table: str, key: str, version: str, count: int
) -> tuple[bytes | None, str | None]:
    """The gzip'd snapshot of ``version`` from its ``count`` chunks: (bytes, None), or (None, why not).

    ``client_for()`` gives a client with the time left (it raises when there is none). AWS errors propagate."""
    parts: dict[int, bytes] = {}
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": {":pk": {"S": key}, ":prefix": {"S": version_prefix(version)}},
        "ConsistentRead": True,
    }
    while True:
        response = client_for().query(**params)
        for item in response.get("Items", []):
            index = _chunk_index(item.get("sk", {}).get("S"), version)
            raw = item.get("payload", {}).get("B") if isinstance(item.get("payload"), dict) else None
            if index is None or not isinstance(raw, (bytes, bytearray)):
                return None, f"chunk {item.get('sk')!r} is malformed"
            parts[index] = bytes(raw)
        last = response.get("LastEvaluatedKey")
        if not last:
            break
        params["ExclusiveStartKey"] = last
    missing = [i for i in range(count) if i not in parts]
    if missing:
        return None, f"{len(missing)} of {count} chunks of version {version!r} missing (first: {missing[0]})"
    return b"".join(parts[i] for i in range(count)), None


def _chunk_index(sk: object, version: str) -> int | None:
    prefix = version_prefix(version)
    if not isinstance(sk, str) or not sk.startswith(prefix) or not sk[len(prefix) :].isdigit():
        return None
    return int(sk[len(prefix) :])


class DynamoDBSource:
    """Reads the layout above; a freshness check reads only ``version``."""

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
        item = self._get_main(timeout_s, version_only=False)
        try:
            return self._fetched(item, deadline)
        except _Raced:  # the version read was deleted under us (a very slow read): once more, fresh
            return self._fetched(self._get_main(self._remaining(deadline), version_only=False), deadline)

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        if version is None:
            return self.fetch(timeout_s)
        deadline = self._clock() + timeout_s
        if self._version_of(self._get_main(timeout_s, version_only=True)) == version:
            return None
        fetched = self.fetch(self._remaining(deadline))
        return None if fetched.version == version else fetched

    # -- reading

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise SpecSourceError(self.name, "timed out (the budget ran out between requests)")
        return remaining

    def _get_main(self, timeout_s: float, *, version_only: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self.table, "Key": {"pk": {"S": self.key}, "sk": {"S": CURRENT}}}
        if version_only:
            params["ProjectionExpression"] = "#v"
            params["ExpressionAttributeNames"] = {"#v": "version"}
        else:
            params["ConsistentRead"] = True
        try:
            response = self._clients.get(timeout_s).get_item(**params)
        except aws_errors() as exc:
            raise SpecSourceError(self.name, describe(exc, KNOWN_ERRORS)) from exc
        item = response.get("Item")
        if not isinstance(item, dict):
            raise SpecSourceError(self.name, f"no item pk={self.key!r}, sk={CURRENT!r} in table {self.table}")
        return item

    def _version_of(self, item: dict[str, Any]) -> str:
        value = item.get("version", {}).get("S")
        if not isinstance(value, str) or not value:
            raise SpecSourceError(self.name, "item has no string 'version' attribute")
        return value

    def _fetched(self, item: dict[str, Any], deadline: float) -> Fetched:
        version = self._version_of(item)
        if "chunks" in item:
            count = _number(item["chunks"])
            if count is None or not 1 <= count <= MAX_CHUNKS:
                raise SpecSourceError(self.name, f"'chunks' must be a number from 1 to {MAX_CHUNKS}")
            try:
                packed, problem = read_chunks(
                    lambda: self._clients.get(self._remaining(deadline)), self.table, self.key, version, count
                )
            except aws_errors() as exc:
                raise SpecSourceError(self.name, describe(exc, KNOWN_ERRORS)) from exc
            if packed is None:
                raise _Raced(self.name, problem or "chunks missing")
            payload = snapshot_bytes(packed, self.name)
        elif "payload" in item:
            payload = snapshot_bytes(_binary(item["payload"], self.name), self.name)
        elif "s3_pointer" in item:
            payload = self._read_pointer(item["s3_pointer"].get("S"), deadline)
        else:
            raise SpecSourceError(self.name, "item has none of 'chunks', 'payload' or 's3_pointer'")
        expected = item.get("sha256", {}).get("S")
        if isinstance(expected, str) and hashlib.sha256(payload).hexdigest() != expected.lower():
            raise SpecSourceError(self.name, "snapshot does not match its sha256 attribute")
        return Fetched(payload=payload, version=version, source=self.name)

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


class _Raced(SpecSourceError):
    """The chunks of the version read are not all there (deleted under a reader slower than the grace)."""


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
