"""Spill store in S3 (``s3://bucket/prefix``, SSE-S3): records ``<prefix>/<name>``; a claim is
``<prefix>/claims/<name>`` (If-None-Match, then If-Match once expired); quarantine ``<prefix>/quarantine/``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import SpillError
from ._aws import AwsClients, aws_errors, error_code
from .base import Deadline, SpillRecord, SpillRef, parse_record_name

__all__ = ["S3SpillStore"]

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_LOST_RACE = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


class S3SpillStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        session: Any = None,
        endpoint_url: str | None = None,
    ) -> None:
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        self._clients = AwsClients("s3", client=client, session=session, endpoint_url=endpoint_url)

    @property
    def description(self) -> str:
        return f"s3://{self._bucket}/{self._prefix}" if self._prefix else f"s3://{self._bucket}"

    def _s3(self, deadline: Deadline | None, what: str) -> Any:
        return self._clients.for_call(deadline, f"{self.description}: {what}")

    def _key(self, name: str) -> str:
        return f"{self._prefix}/{name}" if self._prefix else name

    def _put_claim(self, name: str, owner: str, until_ms: int, deadline: Deadline | None, **condition: str) -> bool:
        try:
            self._s3(deadline, f"claim {name}").put_object(
                Bucket=self._bucket, Key=self._key(f"claims/{name}"), Body=f"{until_ms} {owner}".encode(), **condition
            )
        except aws_errors() as exc:
            if error_code(exc) in _LOST_RACE:
                return False
            raise SpillError(f"{self.description}: cannot claim {name}: {exc}") from exc
        return True

    def write(
        self, record: SpillRecord, *, deadline: Deadline | None = None, claim: tuple[str, int] | None = None
    ) -> SpillRef:
        data = record.to_bytes()
        if claim is not None:
            self._put_claim(record.name, claim[0], claim[1], deadline)
        try:
            self._s3(deadline, f"write {record.name}").put_object(
                Bucket=self._bucket,
                Key=self._key(record.name),
                Body=data,
                ContentType="application/gzip",
                ServerSideEncryption="AES256",
                Metadata={"spill-id": record.spill_id, "events": str(record.event_count)},
            )
        except aws_errors() as exc:
            raise SpillError(f"{self.description}: cannot write {record.name}: {exc}") from exc
        owner, until = claim if claim is not None else ("", 0)
        return SpillRef(self._key(record.name), record.created_at_ms, record.spill_id, 1, until, owner)

    def quarantined(self) -> list[str]:
        """Keys of quarantined records (for operators and tests)."""
        page = self._s3(None, "list").list_objects_v2(Bucket=self._bucket, Prefix=self._key("quarantine/"))
        return sorted(str(item["Key"]) for item in page.get("Contents", ()))

    def list(self, *, deadline: Deadline | None = None) -> list[SpillRef]:
        list_prefix = f"{self._prefix}/" if self._prefix else ""
        refs: list[SpillRef] = []
        try:
            s3 = self._s3(deadline, "list")
            token: dict[str, str] = {}
            while True:
                page = s3.list_objects_v2(Bucket=self._bucket, Prefix=list_prefix, Delimiter="/", **token)
                for item in page.get("Contents", ()):
                    key = str(item["Key"])
                    parsed = parse_record_name(key[len(list_prefix) :])
                    if parsed is not None:
                        refs.append(SpillRef(key=key, created_at_ms=parsed[0], spill_id=parsed[1]))
                if not page.get("IsTruncated"):
                    break
                token = {"ContinuationToken": str(page["NextContinuationToken"])}
                s3 = self._s3(deadline, "list")
        except aws_errors() as exc:
            raise SpillError(f"{self.description}: cannot list: {exc}") from exc
        refs.sort(key=lambda r: (r.created_at_ms, r.spill_id))
        return refs

    def _get(self, key: str, deadline: Deadline | None) -> tuple[bytes, str] | None:
        try:
            answer = self._s3(deadline, f"read {key}").get_object(Bucket=self._bucket, Key=key)
            return bytes(answer["Body"].read()), str(answer.get("ETag", ""))
        except aws_errors() as exc:
            if error_code(exc) in _MISSING:
                return None
            raise SpillError(f"{self.description}: cannot read {key}: {exc}") from exc

    def read(self, ref: SpillRef, *, deadline: Deadline | None = None) -> SpillRecord | None:
        found = self._get(ref.key, deadline)
        if found is None:
            return None
        return SpillRecord.from_bytes(found[0], where=f"s3://{self._bucket}/{ref.key}")

    def _delete_key(self, key: str, deadline: Deadline | None) -> None:
        try:
            self._s3(deadline, f"delete {key}").delete_object(Bucket=self._bucket, Key=key)
        except aws_errors() as exc:
            raise SpillError(f"{self.description}: cannot delete {key}: {exc}") from exc

    def delete(self, ref: SpillRef, *, deadline: Deadline | None = None) -> None:
        self._delete_key(ref.key, deadline)
        self._delete_key(self._key(f"claims/{ref.name}"), deadline)

    def claim(
        self,
        ref: SpillRef,
        owner: str,
        until_ms: int,
        *,
        deadline: Deadline | None = None,
        dead: Callable[[str], bool] | None = None,
    ) -> SpillRef | None:
        if not self._put_claim(ref.name, owner, until_ms, deadline, IfNoneMatch="*"):
            held = self._get(self._key(f"claims/{ref.name}"), deadline)
            if held is None:
                return None  # released between the two calls: the next replay takes it
            try:
                held_until, held_owner = held[0].decode().split(" ", 1)
                expired = held_owner == owner or int(held_until) < _now_ms() or (dead is not None and dead(held_owner))
            except ValueError:
                expired = True  # an unreadable claim is nobody's
            if not expired or not self._put_claim(ref.name, owner, until_ms, deadline, IfMatch=held[1]):
                return None
        return SpillRef(ref.key, ref.created_at_ms, ref.spill_id, ref.parts, until_ms, owner)

    def release(self, ref: SpillRef, owner: str, *, deadline: Deadline | None = None) -> None:
        self._delete_key(self._key(f"claims/{ref.name}"), deadline)

    def quarantine(self, ref: SpillRef, reason: str, *, deadline: Deadline | None = None) -> None:
        try:
            self._s3(deadline, f"quarantine {ref.name}").copy_object(
                Bucket=self._bucket,
                Key=self._key(f"quarantine/{ref.name}"),
                CopySource={"Bucket": self._bucket, "Key": ref.key},
                Metadata={"reason": _ascii(reason)},
                MetadataDirective="REPLACE",
                ServerSideEncryption="AES256",
            )
        except aws_errors() as exc:
            if error_code(exc) in _MISSING:
                return
            raise SpillError(f"{self.description}: cannot quarantine {ref.key}: {exc}") from exc
        self.delete(ref, deadline=deadline)

    def write_quarantined(self, record: SpillRecord, reason: str, *, deadline: Deadline | None = None) -> None:
        try:
            self._s3(deadline, f"quarantine {record.name}").put_object(
                Bucket=self._bucket,
                Key=self._key(f"quarantine/{record.name}"),
                Body=record.to_bytes(),
                ContentType="application/gzip",
                ServerSideEncryption="AES256",
                Metadata={"reason": _ascii(reason), "events": str(record.event_count)},
            )
        except aws_errors() as exc:
            raise SpillError(f"{self.description}: cannot quarantine {record.name}: {exc}") from exc



def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode()[:1000]


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
