"""A snapshot object in S3 (`s3://bucket/key`), as the refresher writes it (plain or gzip'd JSON).

The version is the object's ETag. A freshness check is a GetObject with ``IfNoneMatch=<etag>``: an
unchanged object answers 304 with no body, so it costs one small request.

boto3 loads on the first fetch, never at import. Pass ``boto3_client`` (an S3 client: reuse one, or point
at moto) and it is used as is, timeouts and retries included. Otherwise clients are built from
``boto3_session`` (or a new default session) with one attempt, a connect timeout of at most
``CONNECT_TIMEOUT_S`` and a read timeout taken from the caller's budget (see `_aws.ClientCache`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..errors import SpecSourceError
from ..store.validate import MAX_SNAPSHOT_BYTES
from ._aws import ClientCache, aws_errors, describe, error_code, http_status
from .base import Fetched
from .file import snapshot_bytes

__all__ = ["S3Source"]

_KNOWN = {
    "NoSuchBucket": "bucket does not exist",
    "NoSuchKey": "no such key",
    "AccessDenied": "access denied",
    "403": "access denied",
    "404": "not found",
}
_NOT_MODIFIED = frozenset({"304", "NotModified"})


class S3Source:
    """GetObject of one key; conditional on the ETag for freshness checks."""

    def __init__(self, bucket: str, key: str, boto3_client: Any = None, boto3_session: Any = None) -> None:
        self.bucket = bucket
        self.key = key
        self.name = f"s3://{bucket}/{key}"
        self._clients = ClientCache("s3", boto3_client, boto3_session)

    def __repr__(self) -> str:
        return f"S3Source({self.name!r})"

    def fetch(self, timeout_s: float) -> Fetched:
        fetched = self._get(None, timeout_s)
        assert fetched is not None  # unconditional: never "not modified"
        return fetched

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        return self._get(version, timeout_s)

    def _get(self, etag: str | None, timeout_s: float) -> Fetched | None:
        params = {"Bucket": self.bucket, "Key": self.key}
        if etag:
            params["IfNoneMatch"] = etag
        errors = aws_errors()
        try:
            response = self._clients.get(timeout_s).get_object(**params)
            body = response["Body"]
            try:
                size = response.get("ContentLength")
                if isinstance(size, int) and size > MAX_SNAPSHOT_BYTES:  # not read: refused like a huge payload
                    raise SpecSourceError(self.name, f"object is {size} bytes, more than {MAX_SNAPSHOT_BYTES}")
                data = body.read()
            finally:
                body.close()
        except errors as exc:
            if etag and (http_status(exc) == 304 or error_code(exc) in _NOT_MODIFIED):
                return None
            raise SpecSourceError(self.name, describe(exc, _KNOWN)) from exc
        raw = bytes(data)
        version = str(response.get("ETag") or "") or hashlib.sha256(raw).hexdigest()
        if etag and version == etag:  # a store that ignored If-None-Match
            return None
        return Fetched(payload=snapshot_bytes(raw, self.name), version=version, source=self.name)
