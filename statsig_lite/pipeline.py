"""Buffered events between the client and the sinks: the delivery policy is the README's "Event delivery"
(write-ahead to the spill store or the local journal, per-batch attempts and backoff, bisection of refused
batches, a hard deadline, claims on replay, a byte bound). The public methods are a boundary: an unexpected
error is caught, logged once, counted in ``FlushResult.internal_errors``, and the events stay where they were.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping

from . import constants as c
from ._ids import new_id
from ._log import get_logger
from ._record import Record
from .buffer import Batch, EventBuffer, encode_event, encode_json, split_batch
from .errors import ConfigurationError, SpillError
from .options import StatsigOptions
from .results import FlushResult
from .sinks import EventSink, SendError, SpillRecord, SpillRef, SpillStore, StatsigHTTPSink, open_spill_store
from .sinks.base import Deadline
from .sinks.replay import Delivered, ReplayReport, replay_store
from .sinks.retry import Outcome, RetryPolicy, send_with_retries

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

    from .buffer import DeferredEvent
    from .journal import Journal

__all__ = ["DeliveryPolicy", "EventPipeline", "RetryPolicy", "build_pipeline", "default_max_buffered_bytes"]

logger = get_logger(__name__)

_MAX_ERRORS = 20
_MAX_REMEMBERED = 10_000


def _random() -> float:
    import random  # retry jitter only: most processes never retry

    return random.random()


def default_max_buffered_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The buffer's byte bound: ``MEMORY_SHARE_FOR_EVENTS`` of the function's memory, within
    [MIN_BUFFERED_BYTES, MAX_BUFFERED_BYTES]; MAX_BUFFERED_BYTES off Lambda."""
    env = os.environ if environ is None else environ
    try:
        memory_mb = float(env.get(c.ENV_LAMBDA_MEMORY_MB, ""))
    except ValueError:
        return c.MAX_BUFFERED_BYTES
    share = int(memory_mb * 1024 * 1024 * c.MEMORY_SHARE_FOR_EVENTS)
    return max(c.MIN_BUFFERED_BYTES, min(c.MAX_BUFFERED_BYTES, share))


class DeliveryPolicy(Record):
    """Sizes and timings of delivery (seconds); ``retry`` is the backoff between attempts within a flush,
    ``batch_backoff_*`` the backoff of one failing batch between flushes."""

    __slots__ = (
        "batch_backoff_base_s",
        "batch_size",
        "claim_slack_s",
        "flush_timeout_s",
        "max_body_bytes",
        "max_buffered_bytes",
        "max_buffered_events",
        "overflow_flush_timeout_s",
        "replay_interval_s",
        "retry",
        "spill_reserve_s",
    )

    def __init__(
        self,
        batch_size: int = c.DEFAULT_EVENT_QUEUE_SIZE,
        max_body_bytes: int = c.MAX_BATCH_BODY_BYTES,
        max_buffered_events: int = c.DEFAULT_MAX_BUFFERED_EVENTS,
        flush_timeout_s: float = c.DEFAULT_FLUSH_TIMEOUT_S,
        replay_interval_s: float = c.DEFAULT_SPILL_REPLAY_INTERVAL_SECONDS,
        spill_reserve_s: float = c.SPILL_RESERVE_S,
        overflow_flush_timeout_s: float = c.OVERFLOW_FLUSH_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        max_buffered_bytes: int = c.MAX_BUFFERED_BYTES,
        batch_backoff_base_s: float = c.BATCH_BACKOFF_BASE_S,
        claim_slack_s: float = c.CLAIM_SLACK_S,
    ) -> None:
        self.batch_size = batch_size
        self.max_body_bytes = max_body_bytes
        self.max_buffered_events = max_buffered_events
        self.flush_timeout_s = flush_timeout_s
        self.replay_interval_s = replay_interval_s
        self.spill_reserve_s = spill_reserve_s
        self.overflow_flush_timeout_s = overflow_flush_timeout_s  # kept for compatibility: overflow never sends
        self.retry: RetryPolicy = retry if retry is not None else RetryPolicy()
        self.max_buffered_bytes = max_buffered_bytes
        self.batch_backoff_base_s = batch_backoff_base_s
        self.claim_slack_s = claim_slack_s
        for name in ("batch_size", "max_body_bytes", "max_buffered_events", "max_buffered_bytes"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name}={getattr(self, name)} must be positive")

    @classmethod
    def from_options(cls, options: StatsigOptions) -> DeliveryPolicy:
        max_bytes = options.max_buffered_bytes
        return cls(
            batch_size=options.event_batch_size,
            max_buffered_events=options.max_buffered_events,
            flush_timeout_s=options.flush_timeout if options.flush_timeout else c.DEFAULT_FLUSH_TIMEOUT_S,
            replay_interval_s=options.spill_replay_interval_seconds,
            max_buffered_bytes=max_bytes or default_max_buffered_bytes(),
        )

    def spill_reserve_for(self, budget_s: float) -> float:
        """Time kept back from sending for writing a spill record, out of ``budget_s``."""
        return min(self.spill_reserve_s, budget_s * c.SPILL_RESERVE_FRACTION)

    def batch_backoff_s(self, attempts: int) -> float:
        return float(min(c.BATCH_BACKOFF_MAX_S, self.batch_backoff_base_s * 2 ** min(attempts, 20)))


class _Tally(Record):
    """What one flush is doing, counted as it goes."""

    __slots__ = ("dropped", "errors", "internal_errors", "quarantined", "rejected", "replayed", "sent", "spilled")

    def __init__(self) -> None:
        self.sent = 0
        self.spilled = 0
        self.replayed = 0
        self.rejected = 0
        self.dropped = 0
        self.quarantined = 0
        self.internal_errors = 0
        self.errors: list[str] = []

    def idle(self) -> bool:
        return not (
            self.sent or self.spilled or self.replayed or self.rejected or self.dropped or self.quarantined
            or self.internal_errors or self.errors
        )

    def error(self, message: str) -> None:
        if len(self.errors) < _MAX_ERRORS:
            self.errors.append(message)

    def result(self, kept: int) -> FlushResult:
        return FlushResult(
            sent=self.sent,
            kept=kept,
            spilled=self.spilled,
            replayed=self.replayed,
            errors=tuple(self.errors),
            rejected=self.rejected,
            dropped=self.dropped,
            quarantined=self.quarantined,
            internal_errors=self.internal_errors,
        )


class _Pass:
    """One flush's view of Statsig: whether it seems down, whether it refused the key, the deadline."""

    __slots__ = ("accepted_any", "auth_error", "bisects_left", "deadline", "failed_in_row", "stopped", "streak")

    def __init__(self, deadline: Deadline) -> None:
        self.accepted_any = False  # Statsig accepted a batch in this pass
        self.deadline = deadline
        self.streak: list[tuple[Batch, str]] = []  # batches that failed since the last accepted one
        self.bisects_left = c.MAX_BISECT_SPLITS_PER_FLUSH
        self.failed_in_row = 0
        self.stopped = False
        self.auth_error: SendError | None = None


class EventPipeline:
    """Buffers wire-format events and delivers them on flush; see the module docstring for the policy."""

    def __init__(
        self,
        max_events: int = c.DEFAULT_MAX_BUFFERED_EVENTS,
        *,
        sink: EventSink | None = None,
        spill: SpillStore | None = None,
        journal: Journal | None = None,
        session_id: str = "",
        policy: DeliveryPolicy | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        base = policy or DeliveryPolicy()
        values = {name: getattr(base, name) for name in DeliveryPolicy.__slots__}
        values["max_buffered_events"] = max_events
        self._policy = DeliveryPolicy(**values)
        self._sink = sink
        self._spill = spill
        self._journal = journal
        self._enabled = enabled
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._jitter = jitter or _random
        self._metadata_json = encode_json(
            {
                "sdkType": c.SDK_TYPE,
                "sdkVersion": c.SDK_VERSION,
                "languageVersion": ".".join(str(part) for part in sys.version_info[:3]),
                "sessionID": session_id,
            }
        )
        self._buffer = EventBuffer(self._metadata_json, max_events, self._policy.max_buffered_bytes)
        self._records = self._buffer.records  # what enqueue_exposure appends to
        self._carry = _Tally()  # what enqueue did on a full buffer, reported by the next flush
        self._owner = journal.owner if journal is not None else _claim_owner()
        self._not_before: dict[str, float] = {}  # replayed batch id -> monotonic time of its next try
        self._spill_dirty = True  # a replay pass may find something (this process spilled, or never looked)
        self._journal_dirty = journal is not None
        self._last_listing = float("-inf")
        self._ahead: SpillRef | None = None  # this process's write-ahead record in the spill store
        self._ahead_key: list[tuple[str, int]] = []  # (batch id, attempts) of what it holds
        # records whose write timed out (it may still land): spill id -> its batch ids, never replayed
        # while those batches are held here, deleted once they are not
        self._orphans: dict[str, frozenset[str]] = {}
        self._journaled: SpillRef | None = None  # ... and in the local journal
        self._logged: set[str] = set()  # internal errors already logged (once per kind and place)
        self._auth_logged = False
        if journal is not None:
            self._guard("adopting the journal", self._carry, journal.adopt_orphans)

    @property
    def policy(self) -> DeliveryPolicy:
        return self._policy

    @property
    def spill_store(self) -> SpillStore | None:
        return self._spill

    @property
    def journal(self) -> Journal | None:
        return self._journal

    def __len__(self) -> int:
        return len(self._buffer)

    @property
    def buffered_bytes(self) -> int:
        return self._buffer.byte_size

    # -- the client's side

    def enqueue(self, event: Mapping[str, object], *, strict: bool = False) -> None:
        """Buffer a finished wire-format event. Raises StatsigValueError if it cannot be sent as JSON
        (``strict``: the checks of ``log_event`` at the door, see ``buffer.encode_event``)."""
        encoded = encode_event(event, strict=strict)
        if not self._enabled:
            return
        self._buffer.add(encoded)
        if self._full():
            self._guard("relieving a full buffer", self._carry, self._relieve_pressure)

    def enqueue_exposure(self, event: DeferredEvent) -> None:
        """Buffer an exposure the client built: encoded with its batch at flush, not on the check's time."""
        if not self._enabled:
            return
        # EventBuffer.add_deferred inlined (StatsigServer._log_check does the same through `exposure_target`)
        records = self._records
        records.append(event)
        if len(records) >= self._buffer.full_at:
            self.relieve_pressure()

    def exposure_target(self) -> tuple[list[Any], EventBuffer] | None:
        """Where `enqueue_exposure` puts a recorded exposure, for a caller that does the same without its frame
        (a check that logs): append to the list, then call `relieve_pressure()` when its length reaches the
        buffer's `full_at`. None when nothing is buffered (logging disabled)."""
        return (self._records, self._buffer) if self._enabled else None

    def relieve_pressure(self) -> None:
        """The buffer is full: its oldest events go to the journal, or are dropped (see `_relieve_pressure`)."""
        self._guard("relieving a full buffer", self._carry, self._relieve_pressure)

    def settle(self) -> int:
        """Build the recorded events now (see EventBuffer.settle): the client's exposure decisions change
        from deciding when an event is built to deciding at once (server-driven sampling turned on), or the
        background worker counts the events queued (a repeated exposure is none). Returns how many are fresh."""
        return len(self._buffer.settle())

    def _full(self) -> bool:
        policy = self._policy
        return self._buffer.byte_size >= policy.max_buffered_bytes or len(self._buffer) >= policy.max_buffered_events

    def pending(self) -> list[Mapping[str, object]]:
        """The events held in memory, in delivery order (decoded copies)."""
        decoded: list[Mapping[str, object]] = [json.loads(e) for e in self._buffer.pending()]
        return decoded

    def flush(self, timeout_s: float | None = None, *, replay: bool = True) -> FlushResult:
        """Deliver what is buffered (written ahead first), spill what could not be delivered, then replay the
        journal and the spill store. ``replay=False`` looks at the spill store only every
        ``spill_replay_interval_seconds`` (the per-invocation flush of the Lambda decorator)."""
        carried = self._carry
        replay_now = self._spill is not None and (replay or self._replay_due())
        if not self._buffer and carried.idle() and not replay_now and not self._journal_dirty:
            return FlushResult()  # the end of most invocations: nothing to send or to report
        tally, self._carry = carried, _Tally()
        if not self._enabled:
            return tally.result(kept=0)
        deadline = Deadline.after(self._budget(timeout_s), self._clock)
        self._guard("flush", tally, lambda: self._flush(deadline, tally, replay_now))
        return tally.result(kept=len(self._buffer))

    def replay_spilled(self, timeout_s: float | None = None) -> FlushResult:
        """Send spilled (and journaled) records, oldest first, while time is left."""
        tally = _Tally()
        if self._enabled:
            deadline = Deadline.after(self._budget(timeout_s), self._clock)
            self._guard("replay", tally, lambda: self._replay_all(_Pass(deadline), tally, force=True))
        return tally.result(kept=len(self._buffer))

    def shutdown(self, timeout_s: float | None = None) -> FlushResult:
        """Deliver or spill everything held in memory, replay what time allows, release the connections."""
        tally, self._carry = self._carry, _Tally()
        if self._enabled:
            deadline = Deadline.after(self._budget(timeout_s), self._clock)
            self._guard("shutdown", tally, lambda: self._flush(deadline, tally, self._spill is not None))
            if len(self._buffer):
                logger.error(
                    "statsig_lite: %d events are left in memory at shutdown (%s)",
                    len(self._buffer),
                    "kept in the local journal" if self._journaled is not None else "nowhere else to keep them",
                    extra={"events": len(self._buffer)},
                )
        if self._sink is not None:
            self._guard("closing the HTTP connections", tally, self._sink.close)
        return tally.result(kept=len(self._buffer))

    # -- the boundary

    def _guard(self, what: str, tally: _Tally, step: Callable[[], object]) -> None:
        """Run ``step``; an unexpected error is logged once (with its cause), counted, and goes no further."""
        try:
            step()
        except Exception as exc:
            tally.internal_errors += 1
            tally.error(f"internal error while {what}: {type(exc).__name__}: {exc}")
            key = f"{what}:{type(exc).__name__}"
            if key not in self._logged and len(self._logged) < 100:
                self._logged.add(key)
                logger.exception(
                    "statsig_lite: unexpected error while %s; events are kept: %s: %s", what, type(exc).__name__, exc
                )

    # -- delivery

    def _budget(self, timeout_s: float | None) -> float:
        return self._policy.flush_timeout_s if timeout_s is None else max(0.0, timeout_s)

    def _now_ms(self) -> int:
        return int(self._wall_clock() * 1000)

    def _claim_until_ms(self, deadline: Deadline) -> int:
        return self._now_ms() + int((max(0.0, deadline.left()) + self._policy.claim_slack_s) * 1000)

    def _cut(self) -> list[Batch]:
        """The batches of a delivery pass, in flight until it ends (`_flush`)."""
        return self._buffer.batches(
            self._now_ms(), max_events=self._policy.batch_size, max_body_bytes=self._policy.max_body_bytes,
            in_flight=True,
        )

    def _flush(self, deadline: Deadline, tally: _Tally, replay: bool) -> None:
        try:
            self._deliver_held(deadline, tally, replay)
        finally:
            self._buffer.delivered()

    def _deliver_held(self, deadline: Deadline, tally: _Tally, replay: bool) -> None:
        batches = self._cut()
        tally.dropped += self._buffer.take_unsendable()  # recorded events that could not be encoded
        state = _Pass(deadline)
        if batches and self._sink is not None:
            self._write_ahead(batches, deadline, tally)
            send_until = Deadline(deadline.at - self._policy.spill_reserve_for(deadline.left()), self._clock)
            state.deadline = send_until
            result = self._send_batches(batches, state, tally)
            tally.sent += sum(len(b) for b in result.sent)
            if result.refused:
                tally.quarantined += self._quarantine(result.refused, None, deadline, tally)
            self._buffer.set_batches(result.kept, in_flight=True)  # spilled or journaled next, in this pass
            state.deadline = deadline
            self._settle(deadline, tally)
        if state.auth_error is None and not state.stopped and not state.streak and (replay or self._journal_dirty):
            self._replay_all(state, tally, force=replay)

    def _write_ahead(self, batches: list[Batch], deadline: Deadline, tally: _Tally) -> None:
        """Before sending: the batches go to the spill store (claimed by this process) or the journal."""
        if self._spill is not None:
            old = self._ahead
            # at most a share of the budget: a slow store must leave time to send (the journal covers)
            share = Deadline(min(deadline.at, self._clock() + max(self._policy.spill_reserve_s,
                                                                   deadline.left() * 0.25)), self._clock)
            try:
                record = SpillRecord.new(batches, self._metadata_json, self._now_ms())
                self._ahead = self._spill.write(
                    record, deadline=share, claim=(self._owner, self._claim_until_ms(deadline))
                )
                self._ahead_key = [(b.batch_id, b.attempts) for b in batches]
            except SpillError as exc:
                self._orphan(record)
                tally.error(f"write-ahead to the spill store failed: {exc}")
                logger.warning("statsig_lite: could not write events ahead to %s: %s", self._spill.description, exc)
            else:
                if old is not None:
                    self._forget_spilled(old, deadline)
                self._clear_journal()
                return
        self._write_journal(batches, tally)

    def _write_journal(self, batches: list[Batch], tally: _Tally) -> None:
        journal = self._journal
        if journal is None:
            return
        old = self._journaled
        record = SpillRecord.new(batches, self._metadata_json, self._now_ms())
        if old is None and not journal.has_room(record.raw_size):
            tally.error("local journal full: events held in memory only")
            logger.error("statsig_lite: the local journal %s is full; %d events are held in memory only",
                         journal.description, record.event_count)
            return
        try:
            self._journaled = journal.store.write(record, claim=(journal.owner, 0))
        except SpillError as exc:
            tally.error(str(exc))
            logger.error("statsig_lite: cannot write the local journal: %s", exc)
            return
        if old is not None:
            self._clear_journal(old)

    def _clear_journal(self, ref: SpillRef | None = None) -> None:
        journal, ref = self._journal, ref or self._journaled
        if journal is None or ref is None:
            return
        try:
            journal.store.delete(ref)
        except SpillError as exc:
            logger.warning("statsig_lite: cannot remove a local journal file: %s", exc)
        if ref is self._journaled:
            self._journaled = None

    def _forget_spilled(self, ref: SpillRef, deadline: Deadline) -> None:
        assert self._spill is not None
        try:
            self._spill.delete(ref, deadline=deadline)
        except SpillError as exc:  # its batches may be replayed again later: at least once, same batch ids
            logger.warning("statsig_lite: could not delete a delivered write-ahead record: %s", exc)
        if ref is self._ahead:
            self._ahead = None

    def _settle(self, deadline: Deadline, tally: _Tally) -> None:
        """After sending: what is left goes to the spill store (and leaves memory), else stays in the journal."""
        left = self._buffer.held()
        ahead = self._ahead
        if not left:
            if ahead is not None:
                self._forget_spilled(ahead, deadline)
            self._clear_journal()
            return
        if self._spill is not None:
            if ahead is not None and self._same_as_ahead(left):
                try:
                    self._spill.release(ahead, self._owner, deadline=deadline)
                    spilled = True
                except SpillError as exc:
                    logger.warning("statsig_lite: could not release the write-ahead record: %s", exc)
                    spilled = True  # it is stored; its claim expires by itself
            else:
                spilled = self._write_spill(left, deadline, tally)
                if spilled and ahead is not None:
                    self._forget_spilled(ahead, deadline)
            if spilled:
                self._ahead = None
                self._buffer.remove(left)
                tally.spilled += sum(len(b) for b in left)
                self._spill_dirty = True
                self._clear_journal()
                return
        self._write_journal(left, tally)
        logger.warning(
            "statsig_lite: %d events not delivered yet; kept in memory%s for the next flush",
            len(self._buffer),
            " and the local journal" if self._journaled is not None else "",
            extra={"events": len(self._buffer)},
        )

    def _same_as_ahead(self, left: list[Batch]) -> bool:
        return self._ahead_key == [(b.batch_id, b.attempts) for b in left]

    def _write_spill(self, batches: list[Batch], deadline: Deadline, tally: _Tally) -> bool:
        """Write the batches as records of at most RECORD_RAW_TARGET_BYTES each; True when all are stored."""
        assert self._spill is not None
        records: list[list[Batch]] = [[]]
        size = 0
        for batch in batches:
            if records[-1] and size + batch.size > c.RECORD_RAW_TARGET_BYTES:
                records.append([])
                size = 0
            records[-1].append(batch)
            size += batch.size
        written: list[SpillRef] = []
        for part in records:
            record = SpillRecord.new(part, self._metadata_json, self._now_ms())
            try:
                written.append(self._spill.write(record, deadline=deadline))
            except SpillError as exc:
                self._orphan(record)
                logger.error(
                    "statsig_lite: could not spill %d events (%s); keeping them in memory",
                    sum(len(b) for b in batches),
                    exc,
                    extra={"events": sum(len(b) for b in batches)},
                )
                tally.error(str(exc))
                for ref in written:  # all or nothing: the batches stay in memory under their ids
                    self._forget_spilled(ref, deadline)
                return False
        logger.warning(
            "statsig_lite: spilled %d events in %d batches to %s",
            sum(len(b) for b in batches),
            len(batches),
            self._spill.description,
            extra={"events": sum(len(b) for b in batches)},
        )
        return True

    def _orphan(self, record: SpillRecord) -> None:
        if len(self._orphans) >= _MAX_ERRORS * 50:
            self._orphans.clear()
        self._orphans[record.spill_id] = frozenset(b.batch_id for b in record.batches)

    def _triage(self, ref: SpillRef) -> str:
        batch_ids = self._orphans.get(ref.spill_id)
        if batch_ids is None:
            return ""
        if batch_ids & {b.batch_id for b in self._buffer.held()}:
            return "skip"
        del self._orphans[ref.spill_id]
        return "drop"

    def _send_batches(self, batches: list[Batch], state: _Pass, tally: _Tally) -> Delivered:
        """Send batches in order, each within its own attempts; see the module docstring."""
        queue = deque(batches)
        sent: list[Batch] = []
        refused: list[tuple[Batch, str]] = []
        kept: list[Batch] = []
        assert self._sink is not None
        while True:
            if not queue:
                # failures with Statsig up (it accepted something in this pass, and the pass did not end
                # as "down") are the batches' own
                if state.streak and state.accepted_any and not state.stopped:
                    self._poisoned(state, queue, kept, refused)
                if not queue:
                    break
            batch = queue.popleft()
            now = self._clock()
            not_before = max(batch.not_before, self._not_before.get(batch.batch_id, 0.0))
            if state.stopped or not_before > now:
                kept.append(batch)
                continue
            poisoned = batch.attempts >= c.MAX_BATCH_ATTEMPTS - 1
            result = send_with_retries(
                self._sink,
                batch,
                state.deadline.at,
                policy=self._policy.retry,
                clock=self._clock,
                sleep=self._sleep,
                jitter=self._jitter,
                max_attempts=1 if poisoned else c.MAX_SENDS_PER_BATCH_PER_FLUSH,
            )
            err = result.error
            if result.outcome is Outcome.SENT:
                sent.append(batch)
                state.failed_in_row = 0
                state.accepted_any = True
                self._not_before.pop(batch.batch_id, None)
                if state.streak:
                    self._poisoned(state, queue, kept, refused)
            elif result.outcome is Outcome.TOO_LARGE:
                logger.info("statsig_lite: batch of %d events too large (413); splitting it", len(batch))
                queue.extendleft(reversed(split_batch(batch, self._metadata_json)))
            elif result.outcome is Outcome.REJECTED and err is not None and err.auth:
                self._key_refused(err, state, tally)
                kept.append(batch)
            elif result.outcome is Outcome.REJECTED and err is not None:
                state.failed_in_row = 0  # Statsig answered: it is up
                self._refused(batch, err, state, queue, refused, tally)
            else:
                self._failed(batch, err, result.attempts, state, kept, tally)
        return Delivered(sent, refused, kept, state.stopped)

    def _key_refused(self, err: SendError, state: _Pass, tally: _Tally) -> None:
        state.stopped = True
        state.auth_error = err
        what = (
            "the server secret is missing"
            if err.status is None
            else f"Statsig refused the server secret (HTTP {err.status})"
        )
        message = (
            f"statsig_lite: {what}: check {c.ENV_SERVER_SECRET} / {c.ENV_SECRET_NAME} (a server secret, "
            "'secret-...', of this project). Events are kept and sent once the key works."
        )
        tally.error(message)
        if not self._auth_logged:
            self._auth_logged = True
            logger.error(message)

    def _refused(
        self,
        batch: Batch,
        err: SendError,
        state: _Pass,
        queue: deque[Batch],
        refused: list[tuple[Batch, str]],
        tally: _Tally,
    ) -> None:
        """A final 4xx: bisect until the refused events are alone (within a number of splits per flush: a
        refusal of everything must not cost a request per event), then quarantine them."""
        if len(batch) > 1 and state.bisects_left > 0:
            state.bisects_left -= 1
            logger.info("statsig_lite: Statsig refused a batch of %d events (HTTP %s); bisecting it",
                        len(batch), err.status)
            queue.extendleft(reversed(split_batch(batch, self._metadata_json)))
            return
        tally.rejected += len(batch)
        reason = f"{err.reason} (batch {batch.batch_id})"
        tally.error(reason)
        logger.info("statsig_lite: Statsig refused %d event(s) with HTTP %s (batch %s); quarantining them",
                     len(batch), err.status, batch.batch_id, extra={"events": len(batch), "status": err.status})
        refused.append((batch, reason))

    def _failed(
        self, batch: Batch, err: SendError | None, attempts: int, state: _Pass, kept: list[Batch], tally: _Tally
    ) -> None:
        """Not sent (a retryable failure, or no time): move on to the next batch. Whether the failure was this
        batch's or Statsig's is known only from the next batch (see ``_poisoned``)."""
        why = err.reason if err is not None else "log_event: out of time"
        tally.error(f"{why} (batch {batch.batch_id}, {len(batch)} events, {attempts} attempts)")
        kept.append(batch)
        if attempts == 0 or state.deadline.left() < self._policy.retry.min_attempt_s:
            state.stopped = True
            return
        state.streak.append((batch, why))
        state.failed_in_row += 1
        if state.failed_in_row >= c.DOWN_AFTER_FAILED_BATCHES:
            state.stopped = True  # Statsig is down: nothing is held against these batches

    def _poisoned(
        self, state: _Pass, queue: deque[Batch], kept: list[Batch], refused: list[tuple[Batch, str]]
    ) -> None:
        """The batch after a failed one was accepted: Statsig is up and the failed ones choke it. Each gets an
        attempt counted and a backoff; past MAX_BATCH_ATTEMPTS it is bisected, and a single event quarantined."""
        state.failed_in_row = 0  # those failures were the batches', not Statsig's
        for batch, why in state.streak:
            batch.attempts += 1
            if batch.attempts < c.MAX_BATCH_ATTEMPTS:
                batch.not_before = self._clock() + self._policy.batch_backoff_s(batch.attempts)
                if len(self._not_before) >= _MAX_REMEMBERED:
                    self._not_before.clear()
                self._not_before[batch.batch_id] = batch.not_before
                continue
            kept.remove(batch)
            if len(batch) > 1:
                halves = split_batch(batch, self._metadata_json)
                for half in halves:
                    half.attempts = batch.attempts - 1
                queue.extendleft(reversed(halves))
            else:
                refused.append((batch, f"{why} after {batch.attempts} attempts while other batches were accepted"))
        state.streak.clear()

    def _quarantine(
        self, refused: list[tuple[Batch, str]], record: SpillRecord | None, deadline: Deadline, tally: _Tally
    ) -> int:
        """Keep refused batches aside: the spill store's quarantine, else the journal's; returns events kept."""
        events = sum(len(b) for b, _ in refused)
        reason = "; ".join(sorted({why for _, why in refused}))[:1000]
        quarantined = SpillRecord.new([b for b, _ in refused], self._metadata_json, self._now_ms())
        for store in (self._spill, self._journal.store if self._journal is not None else None):
            if store is None:
                continue
            try:
                store.write_quarantined(quarantined, reason, deadline=deadline)
            except SpillError as exc:
                logger.error("statsig_lite: cannot quarantine %d events in %s: %s", events, store.description, exc)
                continue
            logger.error("statsig_lite: quarantined %d refused events in %s: %s", events, store.description, reason,
                         extra={"events": events})
            return events
        tally.dropped += events
        logger.error("statsig_lite: %d events Statsig refused are dropped: no spill store or journal to keep them "
                     "(%s)", events, reason, extra={"events": events})
        return 0

    # -- memory pressure

    def _relieve_pressure(self) -> None:
        """Past a bound: the oldest events go to the local journal, or are dropped loudly. No network. The
        oldest recorded events are built first (a chunk: the check that filled the buffer pays for one, not
        for all it holds): a repeated exposure (decided when built) takes no room and never counts as dropped;
        what the overflow takes after the chunk it builds as it takes it, in order."""
        carry, buffer, policy = self._carry, self._buffer, self._policy
        buffer.settle(max(1, policy.batch_size))
        carry.dropped += buffer.take_unsendable()
        # a flush's batches in flight are the flush's until its pass ends: the overflow neither moves nor drops
        # them, and the bound is kept on the rest (else each check would journal or drop its own event while a
        # slow flush holds a full buffer)
        flying_bytes, flying_events = buffer.in_flight_size()
        over = buffer.byte_size - flying_bytes - policy.max_buffered_bytes
        bytes_to_free = over + c.OVERFLOW_CHUNK_BYTES if over >= 0 else 0
        events_to_free = max(0, len(buffer) - flying_events - policy.max_buffered_events + 1)
        if not bytes_to_free and not events_to_free:
            return
        journal = self._journal
        if journal is not None and journal.has_room(bytes_to_free):
            # a chunk at a time (not one event per enqueue): a quarter of the event bound, at most a batch
            chunk_events = min(policy.batch_size, max(1, policy.max_buffered_events // 4)) if events_to_free else 0
            taken, events = buffer.take_oldest(bytes_to_free, events_to_free + chunk_events)
            carry.dropped += buffer.take_unsendable()
            now_ms = self._now_ms()
            size = self._policy.batch_size
            # no gzip bodies here: the journal record is the one compression (built again when read back)
            chunk = taken + [Batch(new_id(), now_ms, tuple(events[i : i + size]), b"")
                             for i in range(0, len(events), size)]
            record = SpillRecord.new(chunk, self._metadata_json, now_ms)
            try:
                journal.store.write(record)
            except SpillError as exc:
                carry.error(str(exc))
                buffer.set_batches(taken + buffer.held())  # back where they were: dropped below if need be
                for event in reversed(events):
                    buffer.add_oldest(event)
            else:
                self._journal_dirty = True
                logger.warning("statsig_lite: event buffer full: %d oldest events moved to the journal %s",
                               record.event_count, journal.description, extra={"events": record.event_count})
                return
        held = len(buffer)
        per_event = buffer.byte_size / held if held else 1.0
        dropped = buffer.drop_oldest(max(1, events_to_free, int(bytes_to_free / per_event) + 1))
        carry.dropped += dropped
        logger.error(
            "statsig_lite: event buffer full (%d bytes or %d events) and nowhere to put them: dropped the oldest %d",
            policy.max_buffered_bytes,
            policy.max_buffered_events,
            dropped,
            extra={"events": dropped},
        )

    # -- replay

    def _replay_due(self) -> bool:
        return self._spill_dirty or self._clock() - self._last_listing >= self._policy.replay_interval_s

    def _replay_all(self, state: _Pass, tally: _Tally, *, force: bool) -> None:
        if self._sink is None:
            return
        if self._journal is not None and self._journal_dirty:
            report = self._replay(self._journal.store, state, tally, move_to=self._spill)
            self._journal_dirty = not report.finished
        if self._spill is not None and (force or self._replay_due()) and not state.stopped:
            self._last_listing = self._clock()
            report = self._replay(self._spill, state, tally, move_to=None)
            self._spill_dirty = not report.finished

    def _replay(self, store: SpillStore, state: _Pass, tally: _Tally, *, move_to: SpillStore | None) -> ReplayReport:
        deadline = state.deadline
        skip = frozenset(ref.key for ref in (self._ahead, self._journaled) if ref is not None)
        report = replay_store(
            store,
            owner=self._owner,
            claim_until_ms=self._claim_until_ms(deadline),
            deadline=deadline,
            min_time_s=self._policy.retry.min_attempt_s + self._policy.spill_reserve_for(deadline.left()),
            send=lambda batches: self._send_batches(batches, state, tally),
            quarantine=lambda refused, record: self._quarantine(refused, record, deadline, tally),
            move_to=move_to,
            skip_keys=skip,
            dead=self._journal.dead if self._journal is not None else None,
            triage=self._triage if self._orphans else None,
        )
        tally.replayed += report.replayed
        tally.quarantined += report.quarantined
        for message in report.errors:
            tally.error(message)
        return report


def _claim_owner() -> str:
    from .journal import process_owner

    return process_owner()


def _journal_for(options: StatsigOptions) -> Journal | None:
    """The local journal the options (or the environment) ask for: on Lambda by default."""
    directory = options.journal_dir
    if directory is None and os.environ.get(c.ENV_LAMBDA_FUNCTION_NAME):
        directory = c.DEFAULT_JOURNAL_DIR
    if not directory or directory.lower() in ("off", "none", "false", "0"):
        return None
    from .journal import Journal

    return Journal(directory)


def build_pipeline(
    options: StatsigOptions,
    secret_key: str,
    session_id: str,
    *,
    pool_manager: Any = None,
    s3_client: Any = None,
    dynamodb_client: Any = None,
    boto3_session: Any = None,
    journal: Journal | None = None,
) -> EventPipeline:
    """The pipeline for resolved options: Statsig's log_event endpoint, plus the spill store they name and the
    local journal (``journal_dir`` / STATSIG_JOURNAL_DIR; on Lambda ``/tmp/statsig_lite/journal``).

    With ``local_mode`` or ``disable_all_logging`` it keeps and sends nothing (events are still validated).
    Clients may be injected (tests, or to share a boto3 session); nothing connects until the first flush.
    """
    policy = DeliveryPolicy.from_options(options)
    if options.local_mode or options.disable_all_logging:
        return EventPipeline(options.max_buffered_events, session_id=session_id, policy=policy, enabled=False)
    sink = StatsigHTTPSink(
        secret_key,
        session_id,
        base_url=options.base_url(c.LOG_EVENT_ENDPOINT),
        pool_manager=pool_manager,
        service_name=options.service_name,
    )
    spill = None
    if options.spill_target:
        spill = open_spill_store(
            options.spill_target,
            retention_s=options.spill_retention_seconds,
            s3_client=s3_client,
            dynamodb_client=dynamodb_client,
            boto3_session=boto3_session,
        )
    return EventPipeline(
        options.max_buffered_events,
        sink=sink,
        spill=spill,
        journal=journal if journal is not None else _journal_for(options),
        session_id=session_id,
        policy=policy,
    )
