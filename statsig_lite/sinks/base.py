"""The seams between the pipeline and the outside world (``EventSink``, ``SpillStore``), the spill record
format (gzip'd JSON: spillID, createdAt, statsigMetadata, batches with batchID, createdAt, attempts, events;
never a header, so never the secret), read defensively (any undecodable bytes are a SpillFormatError), and
the ``Deadline`` every store call keeps to.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence

from .. import constants as c
from .._ids import new_id
from .._protocol import Protocol
from .._record import Record
from ..buffer import MAX_JSON_DEPTH, Batch, encode_json, gzip_compress, make_batch
from ..errors import DeliveryError, SpillError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)

__all__ = [
    "MAX_RECORD_RAW_BYTES",
    "Deadline",
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
MAX_RECORD_RAW_BYTES = 64 * 1024 * 1024
"""A stored record that decompresses to more than this is refused as unreadable (a gzip bomb)."""
_MAX_CREATED_MS = 10**13  # 13 digits: the year 2286


class Deadline:
    """A point on a monotonic clock that a store call must not run past."""

    __slots__ = ("_clock", "at")

    def __init__(self, at: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.at = at
        self._clock = clock

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def left(self) -> float:
        return self.at - self._clock()

    def check(self, what: str, need_s: float = c.MIN_STORE_CALL_S) -> float:
        """Seconds left, or SpillError if fewer than ``need_s``: a call is not started without time for it."""
        left = self.at - self._clock()
        if left < need_s:
            raise SpillError(f"{what}: out of time ({max(0.0, left) * 1000:.0f} ms left)")
        return left


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
        auth: bool | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.auth = status in (401, 403) if auth is None else auth  # the key is wrong or missing

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

    __slots__ = ("claimed_until_ms", "created_at_ms", "key", "owner", "parts", "spill_id")

    def __init__(
        self,
        key: str,
        created_at_ms: int,
        spill_id: str,
        parts: int = 1,
        claimed_until_ms: int = 0,
        owner: str = "",
    ) -> None:
        self.key = key
        self.created_at_ms = created_at_ms
        self.spill_id = spill_id
        self.parts = parts
        self.claimed_until_ms = claimed_until_ms  # 0: not claimed (or the store does not list claims)
        self.owner = owner

    @property
    def name(self) -> str:
        return record_name(self.created_at_ms, self.spill_id)


class SpillStore(Protocol):
    """Durable storage for batches that could not be delivered. Every method raises SpillError, and gives up
    rather than run past ``deadline`` (None: the store's own default timeouts)."""

    @property
    def description(self) -> str:
        """Where the store writes, for logs (never a credential)."""
        ...

    def write(
        self, record: SpillRecord, *, deadline: Deadline | None = None, claim: tuple[str, int] | None = None
    ) -> SpillRef:
        """Store the record durably (claimed by ``claim = (owner, until_ms)`` if given), or raise SpillError
        having stored nothing readable."""
        ...

    def list(self, *, deadline: Deadline | None = None) -> list[SpillRef]:
        """Every complete record, oldest first (quarantined ones excluded)."""
        ...

    def read(self, ref: SpillRef, *, deadline: Deadline | None = None) -> SpillRecord | None:
        """The record, or None when it is gone (another process replayed it). SpillFormatError: unreadable."""
        ...

    def delete(self, ref: SpillRef, *, deadline: Deadline | None = None) -> None:
        """Remove the record; a record that is already gone is not an error."""
        ...

    def claim(
        self,
        ref: SpillRef,
        owner: str,
        until_ms: int,
        *,
        deadline: Deadline | None = None,
        dead: Callable[[str], bool] | None = None,
    ) -> SpillRef | None:
        """Take the record for ``owner`` until ``until_ms`` (epoch ms) unless another owner holds an unexpired
        claim (an owner for which ``dead(owner)`` is true holds none: a killed process of this sandbox); the
        ref to use from now on, or None (someone else has it, or it is gone)."""
        ...

    def release(self, ref: SpillRef, owner: str, *, deadline: Deadline | None = None) -> None:
        """Give a claimed record back (it stays in the store for the next replay)."""
        ...

    def quarantine(self, ref: SpillRef, reason: str, *, deadline: Deadline | None = None) -> None:
        """Move a stored record aside with its reason (kept for the retention period, never replayed)."""
        ...

    def write_quarantined(self, record: SpillRecord, reason: str, *, deadline: Deadline | None = None) -> None:
        """Store events Statsig refused straight into the quarantine, with the reason."""
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

    @property
    def raw_size(self) -> int:
        return sum(b.size for b in self.batches)

    def with_batches(self, batches: Sequence[Batch]) -> SpillRecord:
        """The same record (same creation time, so the same place in the replay order) with fewer batches,
        under a new spill id: it is written before the old one is deleted."""
        return SpillRecord(new_id(), self.created_at_ms, self.metadata_json, tuple(batches))

    def to_bytes(self, level: int = 1) -> bytes:
        # level 1: written on the invocation's time, often read back once and deleted minutes later
        return gzip_compress(self.raw_json(), level)

    def raw_json(self) -> bytes:
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
                b',"attempts":',
                str(batch.attempts).encode(),
                b',"events":[',
                b",".join(batch.events),
                b"]}",
            ]
        parts.append(b"]}")
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str) -> SpillRecord:
        """Parse a stored record; SpillFormatError naming ``where`` and the cause if it is not one."""
        try:
            return cls._parse(_gunzip_bounded(data))
        except SpillFormatError as exc:
            raise SpillFormatError(f"{where}: unreadable spill record ({exc})") from exc
        except Exception as exc:  # foreign bytes: any failure to decode them means "unreadable", nothing more
            raise SpillFormatError(f"{where}: unreadable spill record ({type(exc).__name__}: {exc})") from exc

    @classmethod
    def _parse(cls, raw: bytes) -> SpillRecord:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise ValueError("not a spill record (format 1)")
        metadata_json = encode_json(doc["statsigMetadata"])  # allow_nan=False: 1e400 (inf) fails here
        batches = []
        for raw_batch in doc["batches"]:
            events = raw_batch["events"]
            if not isinstance(events, list) or not events:
                raise ValueError("a batch without events")
            for event in events:
                if not isinstance(event, dict) or not isinstance(event.get("eventName"), str):
                    raise ValueError("an event is not an object with an eventName")
                _check_depth(event, 1)
            batches.append(
                make_batch(
                    [encode_json(e) for e in events],
                    metadata_json,
                    _epoch_ms(raw_batch["createdAt"]),
                    batch_id=_text(raw_batch["batchID"]),
                    attempts=max(0, int(raw_batch.get("attempts", 0))),
                )
            )
        return cls(_text(doc["spillID"]), _epoch_ms(doc["createdAt"]), metadata_json, tuple(batches))


def _gunzip_bounded(data: bytes) -> bytes:
    """One gzip member, refusing truncation and anything that expands past MAX_RECORD_RAW_BYTES."""
    import zlib  # where a record is read, not at init (see buffer.gzip_compress)

    unpacker = zlib.decompressobj(31)
    raw = unpacker.decompress(data, MAX_RECORD_RAW_BYTES + 1)
    if len(raw) > MAX_RECORD_RAW_BYTES or unpacker.unconsumed_tail:
        raise SpillFormatError(f"expands past {MAX_RECORD_RAW_BYTES} bytes (MAX_RECORD_RAW_BYTES)")
    if not unpacker.eof:
        raise SpillFormatError("truncated gzip stream")
    return raw


def _epoch_ms(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < _MAX_CREATED_MS:
        raise ValueError(f"createdAt {value!r} is not an epoch time in ms")
    return int(value)


def _text(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 100:
        raise ValueError(f"{value!r} is not an id")
    return value


def _check_depth(value: object, depth: int) -> None:
    if isinstance(value, (dict, list)):
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"an event nests deeper than {MAX_JSON_DEPTH} levels")
        for item in value.values() if isinstance(value, dict) else value:
            _check_depth(item, depth + 1)
