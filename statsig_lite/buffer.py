"""Events waiting for delivery, and how they are cut into log_event batches.

An event is encoded to JSON once, when it is enqueued: that is where a bad event fails (``StatsigValueError``),
and it snapshots the caller's dict, so later changes to it cannot change what is sent. Encoded events stay
"fresh" until a flush cuts them into :class:`Batch` objects. A batch gets its id when it is cut and keeps its
events and its id for good (in memory, in the spill store, on every replay): the id is what makes a resend
of a batch that Statsig may already have accepted recognisable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from json import encoder as _json_encoder

from ._ids import new_id
from ._locks import new_lock
from ._log import get_logger
from ._protocol import Protocol
from ._record import Record
from .errors import StatsigValueError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)

logger = get_logger(__name__)

__all__ = [
    "DEFERRED_EVENT_BYTES",
    "MAX_EVENT_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_METADATA_BYTES",
    "Batch",
    "EventBuffer",
    "cut_batches",
    "encode_event",
    "encode_json",
    "make_batch",
    "split_batch",
]

MAX_EVENT_BYTES = 1_000_000
"""Largest single encoded event we accept; Statsig would refuse a bigger one and it could never be sent."""
MAX_METADATA_BYTES = 256_000
"""Largest encoded ``metadata`` of one custom event."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of JSON objects and arrays inside one event (the event object is level 1). Deeper input
would encode, but decoding it back (a spill record, a journal) could hit Python's recursion limit."""
DEFERRED_EVENT_BYTES = 1_000
"""What a recorded exposure is counted as in the buffer's byte bound before it is encoded (a cautious
estimate of the copied user fields and evaluation it holds)."""

# Request bodies are compressed on every flush, at the end of an invocation: level 1 takes about a third of
# the CPU time of level 6 for a 1.6x bigger body (1,000 events: ~1 ms and 33 KB against ~2-3 ms and 20 KB).
_GZIP_LEVEL = 1
# A chunk is compressed before its size is known; cap its raw size so one compression stays cheap.
_RAW_PER_BODY = 8


def _not_json(value: object) -> object:
    # an Enum is sent as its value, as the legacy SDK logs a user's custom values and an event's metadata
    # (statsig-python-core drops a custom value it cannot read: exposures.i64_or_float)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_not_json)


# json's C encoder made once (JSONEncoder.encode makes one per call: ~2 us an event); a cycle: RecursionError
_make = getattr(_json_encoder, "c_make_encoder", None)
_C_ENCODE = _make and _make(None, _not_json, _json_encoder.encode_basestring, None, ":", ",", False, False, False)


def encode_json(value: object) -> bytes:
    """Compact UTF-8 JSON, the one encoding used for events, bodies and spill records."""
    if _C_ENCODE is not None:
        return "".join(_C_ENCODE(value, 0)).encode("utf-8")
    return _ENCODER.encode(value).encode("utf-8")


def encode_event(event: Mapping[str, object], *, strict: bool = False) -> bytes:
    """Encode a wire-format event, or raise StatsigValueError saying why it cannot be sent (see `_encode`)."""
    try:
        return _encode(event, strict)
    except StatsigValueError:
        raise
    except Exception as exc:  # a value whose own methods raise (hostile __eq__, items(), iteration)
        raise StatsigValueError(f"an event cannot be read as JSON ({type(exc).__name__}: {exc})") from None


def _encode(event: Mapping[str, object], strict: bool) -> bytes:
    """Encode a wire-format event, or raise StatsigValueError saying why it cannot be sent (naming the limit).

    Every event is checked against ``MAX_EVENT_BYTES`` and ``MAX_JSON_DEPTH``. ``strict`` (custom events, at
    ``log_event``) also requires string keys, finite numbers, ``MAX_METADATA_BYTES`` of metadata, and that
    the JSON decodes back to the same value: what is accepted can always be spilled and replayed.
    """
    if not isinstance(event, Mapping):
        raise StatsigValueError(f"an event must be a mapping, not {type(event).__name__}")
    name = event.get("eventName")
    if not isinstance(name, str) or not name:
        raise StatsigValueError("an event needs a non-empty string eventName")
    if strict:
        _check_value(event, 1, name)
    try:
        encoded = encode_json(event)
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise StatsigValueError(f"event {name!r} is not JSON-serialisable: {exc}") from None
    if len(encoded) > MAX_EVENT_BYTES:
        raise StatsigValueError(f"event {name!r} is {len(encoded)} bytes as JSON; the limit is {MAX_EVENT_BYTES}")
    if strict:
        metadata = event.get("metadata")
        if metadata is not None and len(meta := encode_json(metadata)) > MAX_METADATA_BYTES:
            raise StatsigValueError(
                f"event {name!r}: metadata is {len(meta)} bytes as JSON; the limit is {MAX_METADATA_BYTES}"
            )
        try:
            same = json.loads(encoded) == _as_decoded(event)
        except (ValueError, RecursionError) as exc:
            raise StatsigValueError(f"event {name!r} does not decode back from JSON: {exc}") from None
        if not same:
            raise StatsigValueError(f"event {name!r} does not decode back from JSON to the same value")
    elif encoded.count(b"{") + encoded.count(b"[") > MAX_JSON_DEPTH:  # cheap test first: few events nest
        _check_depth(json.loads(encoded), 1, name)
    return encoded


def _check_value(value: object, depth: int, name: str) -> None:
    """Types JSON carries both ways, string keys, finite numbers, at most MAX_JSON_DEPTH levels."""
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise StatsigValueError(f"event {name!r}: {value!r} is not a finite number (JSON has no NaN/Infinity)")
        return
    if depth > MAX_JSON_DEPTH:
        raise StatsigValueError(f"event {name!r} nests deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise StatsigValueError(f"event {name!r}: key {key!r} is not a string (JSON keys are strings)")
            _check_value(item, depth + 1, name)
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_value(item, depth + 1, name)
        return
    raise StatsigValueError(f"event {name!r}: a {type(value).__name__} is not JSON")


def _check_depth(value: object, depth: int, name: str) -> None:
    if isinstance(value, (dict, list)):
        if depth > MAX_JSON_DEPTH:
            raise StatsigValueError(f"event {name!r} nests deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)")
        for item in value.values() if isinstance(value, dict) else value:
            _check_depth(item, depth + 1, name)


def _as_decoded(value: object) -> object:
    """``value`` as JSON decodes it: tuples become lists, mappings dicts (keys were checked to be str)."""
    if isinstance(value, Mapping):
        return {k: _as_decoded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_decoded(v) for v in value]
    return value


class Batch(Record):
    """One log_event request's worth of events, with the id it keeps for life.

    ``body`` is the gzip'd request body (events plus ``statsigMetadata``), built once by :func:`make_batch`.
    """

    __slots__ = ("attempts", "batch_id", "body", "created_at_ms", "events", "not_before")

    def __init__(
        self,
        batch_id: str,
        created_at_ms: int,
        events: tuple[bytes, ...],
        body: bytes,
        attempts: int = 0,
    ) -> None:
        self.batch_id = batch_id
        self.created_at_ms = created_at_ms
        self.events = events
        self.body = body
        self.attempts = attempts  # failed sends so far (in memory, and kept in spill records)
        self.not_before = 0.0  # monotonic time before which this process does not try it again (backoff)

    @property
    def size(self) -> int:
        """Bytes held: the encoded events and the gzip body."""
        return sum(len(e) for e in self.events) + len(self.body)

    def _fields(self) -> tuple[object, ...]:
        return (self.batch_id, self.created_at_ms, self.events)

    def __len__(self) -> int:
        return len(self.events)


def gzip_compress(data: bytes, level: int) -> bytes:
    """A gzip member with mtime 0, as ``gzip.compress(data, level, mtime=0)``, without importing gzip."""
    import zlib  # at the first flush, not when the pipeline is built at init (~80 KiB of RSS)

    packer = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 16 + 15: gzip header and trailer
    return packer.compress(data) + packer.flush()


def gzip_decompress(data: bytes) -> bytes:
    """One gzip member, as written by `gzip_compress` (zlib.error if it is not one)."""
    import zlib

    return zlib.decompress(data, 31)


def _raw_body(events: Sequence[bytes], metadata_json: bytes) -> bytes:
    return b"".join((b'{"events":[', b",".join(events), b'],"statsigMetadata":', metadata_json, b"}"))


def make_batch(
    events: Sequence[bytes], metadata_json: bytes, created_at_ms: int, batch_id: str | None = None, attempts: int = 0
) -> Batch:
    """A batch of already-encoded events; a new uuid4 id unless ``batch_id`` is given (a replay)."""
    body = gzip_compress(_raw_body(events, metadata_json), _GZIP_LEVEL)
    return Batch(batch_id or new_id(), created_at_ms, tuple(events), body, attempts)


def cut_batches(
    events: Sequence[bytes], metadata_json: bytes, now_ms: int, *, max_events: int, max_body_bytes: int
) -> list[Batch]:
    """Cut events, in order, into batches of at most ``max_events`` whose gzip body is at most
    ``max_body_bytes``. A batch over the byte cap is split in halves until it fits; a single event over
    the cap is sent on its own. Nothing is dropped."""
    raw_cap = max_body_bytes * _RAW_PER_BODY
    batches: list[Batch] = []
    chunk: list[bytes] = []
    size = 0
    for event in events:
        if chunk and (len(chunk) >= max_events or size + len(event) > raw_cap):
            batches.extend(_fit(chunk, metadata_json, now_ms, max_body_bytes))
            chunk, size = [], 0
        chunk.append(event)
        size += len(event) + 1
    if chunk:
        batches.extend(_fit(chunk, metadata_json, now_ms, max_body_bytes))
    return batches


def _fit(events: Sequence[bytes], metadata_json: bytes, now_ms: int, max_body_bytes: int) -> list[Batch]:
    batch = make_batch(events, metadata_json, now_ms)
    if len(batch.body) <= max_body_bytes or len(events) == 1:
        return [batch]
    half = len(events) // 2
    return _fit(events[:half], metadata_json, now_ms, max_body_bytes) + _fit(
        events[half:], metadata_json, now_ms, max_body_bytes
    )


def split_batch(batch: Batch, metadata_json: bytes) -> list[Batch]:
    """The two halves of a batch Statsig refused as too large (413), or refused with a final 4xx (bisected to
    find the events it refuses).

    Their ids derive from the parent's, so splitting the same batch again (a replay whose spill record
    could not be updated) gives the same two ids and the halves stay recognisable as resends.
    """
    import uuid  # only when a batch is split (413)

    half = len(batch.events) // 2
    try:
        parent = uuid.UUID(batch.batch_id)
    except ValueError:
        parent = uuid.uuid5(uuid.NAMESPACE_URL, batch.batch_id)
    return [
        make_batch(part, metadata_json, batch.created_at_ms, str(uuid.uuid5(parent, str(i))))
        for i, part in enumerate((batch.events[:half], batch.events[half:]))
    ]


class DeferredObject(Protocol):
    """An event the client recorded cheaply; its wire-format dict is built when batches are cut. None: no
    event after all (an exposure its client decides, in recording order, repeats one already logged)."""

    def wire(self) -> Mapping[str, object] | None: ...


if TYPE_CHECKING:
    from typing import Any

    # ... or a tuple whose first item builds it from the tuple (the plain tuple is the cheapest record to build
    # on every check that logs: exposures.check_record)
    DeferredEvent = DeferredObject | tuple[Any, ...]


def wire_deferred(event: DeferredEvent) -> Mapping[str, object] | None:
    """The wire-format dict of a recorded event, or None when it makes none (see DeferredObject). Stateful for
    exposures (their dedupe): the buffer builds each recorded event once, in recording order (`_settling`)."""
    if type(event) is tuple:
        built: Mapping[str, object] | None = event[0](event)
        return built
    return event.wire()  # type: ignore[union-attr]


class EventBuffer:
    """Everything the pipeline holds in memory: fresh encoded events, then batches already cut from them.

    Order is delivery order: cut batches (oldest first) come before fresh events. ``bytes`` is what the
    buffer holds, as the pipeline's memory bound counts it.
    """

    __slots__ = (
        "_batch_bytes",
        "_batch_events",
        "_batches",
        "_fresh",
        "_fresh_extra",
        "_front",
        "_in_flight",
        "_max_bytes",
        "_max_events",
        "_metadata_json",
        "_settling",
        "full_at",
        "unsendable",
    )

    def __init__(self, metadata_json: bytes, max_events: int = 1 << 62, max_bytes: int = 1 << 62) -> None:
        self._metadata_json = metadata_json
        # encoded events, and exposures the client recorded: those are built and encoded when batches are
        # cut, so a check pays for neither (JSON alone is about 4 us an event, more than the check)
        self._fresh: list[bytes | DeferredEvent] = []
        # a recorded event counts DEFERRED_EVENT_BYTES, an encoded one its length: the fresh events' bytes are
        # DEFERRED_EVENT_BYTES * len(_fresh) + _fresh_extra (what the encoded ones hold beyond that), so that
        # appending a recorded event changes no count (`add_deferred`: lock-free, on every check that logs)
        self._fresh_extra = 0
        self._max_events = max_events
        self._max_bytes = max_bytes
        # threads add (lock-free) while others take from the front: every change at the front, and every
        # change of the cut batches (a flush cuts and removes them while the overflow takes the oldest), holds it
        self._front = new_lock()
        # building a recorded event decides whether it is one (an exposure's dedupe): events are built one
        # taker at a time, oldest first, so those decisions are made in recording order (taken before _front)
        self._settling = new_lock()
        self._batches: list[Batch] = []
        self._batch_bytes = 0
        self._batch_events = 0
        # the length of _fresh from which the buffer holds max_events or max_bytes (see `_bound`): the one test
        # a check that logs makes
        self.full_at = 0
        # ids of the batches a flush is delivering (from its cut to its end): the overflow leaves them, or a
        # batch being sent would also be journaled, and sent again from there
        self._in_flight: frozenset[str] = frozenset()
        self.unsendable = 0
        self._bound()

    def __len__(self) -> int:
        return len(self._fresh) + self._batch_events

    def __bool__(self) -> bool:
        return bool(self._fresh or self._batches)

    @property
    def byte_size(self) -> int:
        return DEFERRED_EVENT_BYTES * len(self._fresh) + self._fresh_extra + self._batch_bytes

    @property
    def records(self) -> list[bytes | DeferredEvent]:
        """The list `add_deferred` appends to (never replaced): the pipeline appends a recorded exposure to it
        directly, on every check that logs, and tests `full_at`."""
        return self._fresh

    def _bound(self) -> None:
        # with _front held (or before any thread sees the buffer), after anything but an append of a recorded
        # event changed the counts: appending one adds 1 event and DEFERRED_EVENT_BYTES bytes, so the buffer
        # holds max_events or max_bytes exactly when len(_fresh) >= full_at
        by_events = self._max_events - self._batch_events
        by_bytes = -((self._fresh_extra + self._batch_bytes - self._max_bytes) // DEFERRED_EVENT_BYTES)  # ceil
        self.full_at = min(by_events, by_bytes)

    def add(self, event: bytes | DeferredEvent) -> int:
        """An encoded event, or one the client recorded (built and encoded when batches are cut).
        Returns how many events are held now."""
        with self._front:
            self._fresh.append(event)
            if isinstance(event, bytes):
                self._fresh_extra += len(event) - DEFERRED_EVENT_BYTES
                self._bound()
            return len(self._fresh) + self._batch_events

    def add_deferred(self, event: DeferredEvent) -> bool:
        """`add` for a recorded event; True when the buffer holds its max_events or max_bytes now. What
        `EventPipeline.enqueue_exposure` does inline on every check that logs: an append (atomic, no lock) and
        one comparison."""
        fresh = self._fresh
        fresh.append(event)
        return len(fresh) >= self.full_at

    def _set_batches(self, batches: list[Batch]) -> None:
        self._batches = batches
        self._batch_bytes = sum(b.size for b in batches)
        self._batch_events = sum(len(b) for b in batches)
        self._bound()

    def _recount_fresh(self) -> None:
        # counted from the list, under _front: a check adding a recorded event meanwhile counts nothing
        self._fresh_extra = sum(len(e) - DEFERRED_EVENT_BYTES for e in self._fresh if isinstance(e, bytes))
        self._bound()

    def _take_fresh(self) -> list[bytes]:
        """Remove the fresh events and return them encoded. An event another thread adds meanwhile stays
        for the next cut: the list is never replaced, its front is taken under `_front`."""
        with self._settling:
            with self._front:
                fresh = self._fresh[:]
                del self._fresh[: len(fresh)]
                self._recount_fresh()
            return self._encoded(fresh)

    def _encoded(self, fresh: list[bytes | DeferredEvent]) -> list[bytes]:
        encoded: list[bytes] = []
        failed = 0
        first_error = ""
        for event in fresh:
            if isinstance(event, bytes):
                encoded.append(event)
                continue
            try:
                built = wire_deferred(event)
                if built is not None:
                    encoded.append(encode_event(built))
            except Exception as exc:
                # one bad event (a user field JSON cannot carry, a str() that raises) must not keep the
                # others from being sent
                failed += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"
        if failed:
            self.unsendable += failed
            logger.error(
                "statsig_lite: %d exposure event(s) cannot be sent and are dropped (first: %s)",
                failed,
                first_error,
                extra={"events": failed},
            )
        return encoded

    def take_unsendable(self) -> int:
        """How many recorded events could not be encoded (and were dropped) since the last call."""
        count, self.unsendable = self.unsendable, 0
        return count

    def batches(self, now_ms: int, *, max_events: int, max_body_bytes: int, in_flight: bool = False) -> list[Batch]:
        """Cut the fresh events into batches and return every batch held, in delivery order. `in_flight`: the
        caller delivers them now; `take_oldest` leaves them until `delivered()`."""
        if self._fresh:
            cut = cut_batches(
                self._take_fresh(),
                self._metadata_json,
                now_ms,
                max_events=max_events,
                max_body_bytes=max_body_bytes,
            )
            with self._front:
                self._set_batches(self._batches + cut)
        with self._front:
            if in_flight:
                self._in_flight = frozenset(b.batch_id for b in self._batches)
            return list(self._batches)

    def in_flight_size(self) -> tuple[int, int]:
        """Bytes and events of the held batches a flush is delivering: no overflow can free them (the flush
        holds them until its pass ends), so they do not count against the bound the overflow keeps."""
        in_flight = self._in_flight
        if not in_flight:
            return 0, 0
        with self._front:
            flying = [b for b in self._batches if b.batch_id in in_flight]
        return sum(b.size for b in flying), sum(len(b) for b in flying)

    def delivered(self) -> None:
        """The delivery pass that cut its batches `in_flight` is over (sent, kept, spilled or journaled)."""
        self._in_flight = frozenset()

    def add_oldest(self, event: bytes) -> None:
        """Put an encoded event back in front of the fresh ones (an overflow write that failed)."""
        with self._front:
            self._fresh.insert(0, event)
            self._fresh_extra += len(event) - DEFERRED_EVENT_BYTES
            self._bound()

    def held(self) -> list[Batch]:
        """The batches already cut, in delivery order."""
        with self._front:
            return list(self._batches)

    def set_batches(self, batches: Sequence[Batch], in_flight: bool = False) -> None:
        """What is left of the cut batches after a delivery pass (split, sent, quarantined). `in_flight`: the
        pass goes on with them (a split batch's halves have ids of their own)."""
        with self._front:
            self._set_batches(list(batches))
            if in_flight:
                self._in_flight = frozenset(b.batch_id for b in self._batches)

    def remove(self, done: Iterable[Batch]) -> None:
        """Forget batches that were delivered, spilled or quarantined."""
        ids = {b.batch_id for b in done}
        if ids:
            with self._front:
                self._set_batches([b for b in self._batches if b.batch_id not in ids])

    def replace(self, old: Batch, new: Sequence[Batch]) -> None:
        """Put ``new`` where ``old`` was (a split)."""
        with self._front:
            at = next(i for i, b in enumerate(self._batches) if b.batch_id == old.batch_id)
            batches = list(self._batches)
            batches[at : at + 1] = list(new)
            self._set_batches(batches)

    def take_oldest(self, min_bytes: int, min_events: int) -> tuple[list[Batch], list[bytes]]:
        """Remove and return the oldest events, at least ``min_bytes`` and ``min_events`` of them: whole cut
        batches first, then fresh events (encoded now; gzip bodies are not built). For the overflow path:
        it must stay cheap on a check's thread."""
        taken: list[Batch] = []
        size = count = 0
        events: list[bytes] = []
        at = 0
        with self._settling, self._front:
            in_flight = self._in_flight
            kept: list[Batch] = []
            for batch in self._batches:
                if batch.batch_id in in_flight or (size >= min_bytes and count >= min_events):
                    kept.append(batch)
                    continue
                taken.append(batch)
                size += batch.size
                count += len(batch)
            if taken:
                self._set_batches(kept)
            at = 0
            fresh = self._fresh
            while at < len(fresh) and (size < min_bytes or count < min_events):
                event = fresh[at]
                at += 1
                if not isinstance(event, bytes):
                    try:
                        built = wire_deferred(event)
                        if built is None:
                            continue
                        event = encode_event(built)
                    except Exception:
                        self.unsendable += 1
                        continue
                events.append(event)
                size += len(event)
                count += 1
            if at:
                gone = fresh[:at]
                del fresh[:at]
                self._fresh_extra -= sum(len(e) - DEFERRED_EVENT_BYTES for e in gone if isinstance(e, bytes))
                self._bound()
        return taken, events

    def drop_oldest(self, count: int) -> int:
        """Drop about ``count`` of the oldest events (whole batches); return how many were dropped. Batches in
        flight stay: the flush holds them (no memory is freed) and delivers them (they were not lost). A recorded
        event dropped is built first (under `_settling`, in order): its exposure is decided (the same exposure's
        next check repeats it), and a repeat is no event dropped."""
        dropped = 0
        with self._settling, self._front:
            in_flight = self._in_flight
            kept: list[Batch] = []
            for batch in self._batches:
                if dropped < count and batch.batch_id not in in_flight:
                    dropped += len(batch)
                else:
                    kept.append(batch)
            self._set_batches(kept)
            if dropped < count and self._fresh:
                take = min(count - dropped, len(self._fresh))
                gone = self._fresh[:take]
                del self._fresh[:take]
                self._recount_fresh()
                for event in gone:
                    if isinstance(event, bytes):
                        dropped += 1
                        continue
                    try:
                        dropped += wire_deferred(event) is not None
                    except Exception:
                        self.unsendable += 1
        return dropped

    def settle(self, limit: int | None = None) -> list[bytes]:
        """Build and encode the recorded events now, kept in place (the repeats among them are gone: see
        DeferredObject): the oldest `limit` fresh events, or all of them. Returns those, encoded."""
        with self._settling:
            with self._front:
                fresh = self._fresh[:limit]
                del self._fresh[: len(fresh)]
            encoded = self._encoded(fresh)
            with self._front:  # still settling: no other taker builds newer records before these are back
                self._fresh[:0] = encoded  # ahead of anything added meanwhile
                self._recount_fresh()
        return encoded

    def pending(self) -> list[bytes]:
        """Every encoded event held, in delivery order."""
        encoded = self.settle()
        with self._front:
            held = list(self._batches)
        return [e for b in held for e in b.events] + encoded
