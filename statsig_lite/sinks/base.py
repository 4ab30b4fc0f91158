"""The two seams between the pipeline and the outside world, and the spill record format.

``EventSink.send(batch, attempt=, timeout_s=)`` makes one log_event attempt and either returns (Statsig
accepted the batch) or raises :class:`SendError`, which says whether trying again can help.

A ``SpillStore`` keeps :class:`SpillRecord` objects: one gzip'd JSON document per spill, holding one or more
batches, each with the id it was (or would have been) sent under::

    {"format": 1, "spillID": "<uuid4>", "createdAt": <epoch ms>, "statsigMetadata": {...},
     "batches": [{"batchID": "<uuid4>", "createdAt": <epoch ms>, "events": [<event>, ...]}, ...]}

No request headers are stored, so a record never contains the server secret. Stores name records
``<createdAt, 13 digits>-<spillID>.json.gz`` so that names sort oldest first.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence

from .._ids import new_id
from .._protocol import Protocol
from .._record import Record
from ..buffer import Batch, encode_json, gzip_compress, gzip_decompress, make_batch
from ..errors import DeliveryError, SpillError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)

__all__ = [
    "EventSink",
    "SendError",
    "SpillFormatError",
    "SpillRecord",
    "SpillRef",
    "SpillStore",
    "parse_record_name",
    "record_name",
]

_FORMAT = 1
_NAME = re.compile(r"(?P<created>\d{13})-(?P<spill_id>[0-9a-f-]{36})\.json\.gz")


class SendError(DeliveryError):
    """One log_event attempt failed.

    ``status`` is the HTTP status (None: no usable response); ``retryable`` says whether the same batch may
    succeed later; ``retry_after_s`` is the server's Retry-After, if any; ``too_large`` marks a 413.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s

    @property
    def too_large(self) -> bool:
        return self.status == 413


class SpillFormatError(SpillError):
    """A stored object is not a readable spill record (it is left in place, and skipped)."""


class EventSink(Protocol):
    """Where batches go: Statsig's log_event endpoint (``StatsigHTTPSink``) or a test double."""

    def send(self, batch: Batch, *, attempt: int, timeout_s: float) -> None: ...

    def close(self) -> None: ...


class SpillRef(Record):
    """A record as listed by a store: enough to read, order and delete it without reading it."""

    __slots__ = ("created_at_ms", "key", "parts", "spill_id")

    def __init__(
        self,
        key: str,
        created_at_ms: int,
        spill_id: str,
        parts: int = 1,
    ) -> None:
        self.key = key
        self.created_at_ms = created_at_ms
        self.spill_id = spill_id
        self.parts = parts


class SpillStore(Protocol):
    """Durable storage for batches that could not be delivered. Every method raises SpillError."""

    @property
    def description(self) -> str:
        """Where the store writes, for logs (never a credential)."""
        ...

    def write(self, record: SpillRecord) -> None:
        """Store the record durably, or raise SpillError having stored nothing readable."""
        ...

    def list(self) -> list[SpillRef]:
        """Every complete record, oldest first."""
        ...

    def read(self, ref: SpillRef) -> SpillRecord | None:
        """The record, or None when it is gone (another process replayed it)."""
        ...

    def delete(self, ref: SpillRef) -> None:
        """Remove the record; a record that is already gone is not an error."""
        ...


def record_name(created_at_ms: int, spill_id: str) -> str:
    return f"{created_at_ms:013d}-{spill_id}.json.gz"


def parse_record_name(name: str) -> tuple[int, str] | None:
    """(createdAt, spillID) from a record name, or None for a name that is not ours."""
    found = _NAME.fullmatch(name)
    if found is None:
        return None
    return int(found.group("created")), found.group("spill_id")


class SpillRecord(Record):
    """Batches that could not be delivered, as written to (and read back from) a spill store."""

    __slots__ = ("batches", "created_at_ms", "metadata_json", "spill_id")

    def __init__(
        self,
        spill_id: str,
        created_at_ms: int,
        metadata_json: bytes,
        batches: tuple[Batch, ...],
    ) -> None:
        self.spill_id = spill_id
        self.created_at_ms = created_at_ms
        self.metadata_json = metadata_json
        self.batches = batches

    @classmethod
    def new(cls, batches: Sequence[Batch], metadata_json: bytes, created_at_ms: int) -> SpillRecord:
        return cls(new_id(), created_at_ms, metadata_json, tuple(batches))

    @property
    def name(self) -> str:
        return record_name(self.created_at_ms, self.spill_id)

    @property
    def event_count(self) -> int:
        return sum(len(b) for b in self.batches)

    def with_batches(self, batches: Sequence[Batch]) -> SpillRecord:
        """The same record (same creation time, so the same place in the replay order) with fewer batches,
        under a new spill id: it is written before the old one is deleted."""
        return SpillRecord(new_id(), self.created_at_ms, self.metadata_json, tuple(batches))

    def to_bytes(self) -> bytes:
        parts = [
            b'{"format":',
            str(_FORMAT).encode(),
            b',"spillID":',
            encode_json(self.spill_id),
            b',"createdAt":',
            str(self.created_at_ms).encode(),
            b',"statsigMetadata":',
            self.metadata_json,
            b',"batches":[',
        ]
        for i, batch in enumerate(self.batches):
            if i:
                parts.append(b",")
            parts += [
                b'{"batchID":',
                encode_json(batch.batch_id),
                b',"createdAt":',
                str(batch.created_at_ms).encode(),
                b',"events":[',
                b",".join(batch.events),
                b"]}",
            ]
        parts.append(b"]}")
        return gzip_compress(b"".join(parts), 6)

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str) -> SpillRecord:
        """Parse a stored record; SpillError naming ``where`` if it is not one."""
        try:
            doc = json.loads(gzip_decompress(data))
            if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
                raise ValueError("not a spill record (format 1)")
            metadata_json = encode_json(doc["statsigMetadata"])
            batches = tuple(
                make_batch(
                    [encode_json(e) for e in raw["events"]],
                    metadata_json,
                    int(raw["createdAt"]),
                    batch_id=str(raw["batchID"]),
                )
                for raw in doc["batches"]
            )
            return cls(str(doc["spillID"]), int(doc["createdAt"]), metadata_json, batches)
        except (OSError, EOFError, zlib.error, ValueError, TypeError, KeyError) as exc:
            raise SpillFormatError(f"{where}: unreadable spill record ({exc})") from exc
