"""Spill store in S3 (``s3://bucket/prefix``): one object per record, encrypted at rest (SSE-S3, AES256).

boto3 loads on first use. Pass ``client=`` (a boto3 S3 client) to reuse one or to point at moto; otherwise
one is made from ``session`` or the default session. Retention is a bucket lifecycle rule on the prefix.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpillError
from ._aws import aws_errors, error_code, new_client
from .base import SpillRecord, SpillRef, parse_record_name

__all__ = ["S3SpillStore"]

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class S3SpillStore:
    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None, session: Any = None) -> None:
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        self._client = client
        self._session = session

    @property
    def description(self) -> str:
        return f"s3://{self._bucket}/{self._prefix}" if self._prefix else f"s3://{self._bucket}"

    def _s3(self) -> Any:
        if self._client is None:
            self._client = new_client("s3", self._session)
        return self._client

    def _key(self, name: str) -> str:
        return f"{self._prefix}/{name}" if self._prefix else name

    def write(self, record: SpillRecord) -> None:
        data = record.to_bytes()
        errors = aws_errors()
        try:
            self._s3().put_object(
                Bucket=self._bucket,
                Key=self._key(record.name),
                Body=data,
                ContentType="application/gzip",
                ServerSideEncryption="AES256",
                Metadata={"spill-id": record.spill_id, "events": str(record.event_count)},
            )
        except errors as exc:
            raise SpillError(f"{self.description}: cannot write {record.name}: {exc}") from exc

    def list(self) -> list[SpillRef]:
        errors = aws_errors()
        list_prefix = f"{self._prefix}/" if self._prefix else ""
        refs: list[SpillRef] = []
        try:
            pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=list_prefix)
            for page in pages:
                for item in page.get("Contents", ()):
                    key = str(item["Key"])
                    parsed = parse_record_name(key[len(list_prefix) :])
                    if parsed is not None:
                        refs.append(SpillRef(key=key, created_at_ms=parsed[0], spill_id=parsed[1]))
        except errors as exc:
            raise SpillError(f"{self.description}: cannot list: {exc}") from exc
        refs.sort(key=lambda r: (r.created_at_ms, r.spill_id))
        return refs

    def read(self, ref: SpillRef) -> SpillRecord | None:
        errors = aws_errors()
        try:
            data = self._s3().get_object(Bucket=self._bucket, Key=ref.key)["Body"].read()
        except errors as exc:
            if error_code(exc) in _MISSING:
                return None
            raise SpillError(f"{self.description}: cannot read {ref.key}: {exc}") from exc
        return SpillRecord.from_bytes(bytes(data), where=f"s3://{self._bucket}/{ref.key}")

    def delete(self, ref: SpillRef) -> None:
        errors = aws_errors()
        try:
            self._s3().delete_object(Bucket=self._bucket, Key=ref.key)
        except errors as exc:
            raise SpillError(f"{self.description}: cannot delete {ref.key}: {exc}") from exc
