"""Buffered events between the client and the sinks.

The client hands over finished wire-format events (``enqueue``); delivery happens only when the caller
flushes, on the caller's thread, within the time it gives (no threads, timers or atexit: Lambda freezes them).

One flush:

1. cuts the buffered events into batches (at most ``event_queue_size`` events and ``max_body_bytes`` of gzip
   body each; a bigger batch is split, never dropped) and POSTs them to log_event, retrying connection errors,
   timeouts, 408, 429 (honouring Retry-After) and 5xx with exponential backoff and jitter while time is left;
2. writes whatever was not accepted, as ONE record, to the spill store (``spill_target``), keeping back part of
   the budget for that write. A batch Statsig refused with a final 4xx is logged at ERROR and spilled too;
3. if Statsig answered, replays spilled records, oldest first, while time is left (at most every
   ``spill_replay_interval_seconds`` unless this process spilled since; ``replay_spilled`` always looks).

Every batch has an id (uuid4, the ``STATSIG-BATCH-ID`` header) that it keeps in memory, in the spill store and on
every replay, so delivery is at least once, and a resend is recognisable by its id.

Buffer full (``max_buffered_events``): with a spill store, everything buffered is spilled synchronously (one write,
no round trips to Statsig on the caller's path); without one, or if that write fails, a short synchronous flush
runs; if the buffer is still full, the oldest batch is dropped and the count logged at ERROR and reported in the
next ``FlushResult.dropped``. Without a spill store, batches Statsig refused are dropped the same loud way.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping

from . import constants as c
from ._log import get_logger
from ._record import Record
from .buffer import Batch, DeferredEvent, EventBuffer, encode_event, encode_json, split_batch
from .errors import ConfigurationError, SpillError
from .options import StatsigOptions
from .results import FlushResult
from .sinks import EventSink, SendError, SpillRecord, SpillStore, StatsigHTTPSink, open_spill_store
from .sinks.replay import replay_store
from .sinks.retry import Outcome, RetryPolicy, send_with_retries

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["DeliveryPolicy", "EventPipeline", "RetryPolicy", "build_pipeline"]

logger = get_logger(__name__)

_MAX_ERRORS = 20
_MAX_REMEMBERED_IDS = 10_000



def _random() -> float:
    import random  # retry jitter only: most processes never retry

    return random.random()

class DeliveryPolicy(Record):
    """Sizes and timings of delivery (seconds); ``retry`` is the per-batch backoff."""

    __slots__ = (
        "batch_size",
        "flush_timeout_s",
        "max_body_bytes",
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
    ) -> None:
        self.batch_size = batch_size
        self.max_body_bytes = max_body_bytes
        self.max_buffered_events = max_buffered_events
        self.flush_timeout_s = flush_timeout_s
        self.replay_interval_s = replay_interval_s
        self.spill_reserve_s = spill_reserve_s
        self.overflow_flush_timeout_s = overflow_flush_timeout_s
        self.retry: RetryPolicy = retry if retry is not None else RetryPolicy()
        for name in ("batch_size", "max_body_bytes", "max_buffered_events"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name}={getattr(self, name)} must be positive")

    @classmethod
    def from_options(cls, options: StatsigOptions) -> DeliveryPolicy:
        return cls(
            batch_size=options.event_batch_size,
            max_buffered_events=options.max_buffered_events,
            flush_timeout_s=options.flush_timeout if options.flush_timeout else c.DEFAULT_FLUSH_TIMEOUT_S,
            replay_interval_s=options.spill_replay_interval_seconds,
        )

    def spill_reserve_for(self, budget_s: float) -> float:
        """Time kept back from sending for writing a spill record, out of ``budget_s``."""
        return min(self.spill_reserve_s, budget_s * c.SPILL_RESERVE_FRACTION)


class _Tally(Record):
    """What one flush is doing, counted as it goes."""

    __slots__ = ("dropped", "errors", "rejected", "replayed", "sent", "spilled")

    def __init__(
        self,
        sent: int = 0,
        spilled: int = 0,
        replayed: int = 0,
        rejected: int = 0,
        dropped: int = 0,
    ) -> None:
        self.sent = sent
        self.spilled = spilled
        self.replayed = replayed
        self.rejected = rejected
        self.dropped = dropped
        self.errors: list[str] = []

    def idle(self) -> bool:
        return not (self.sent or self.spilled or self.replayed or self.rejected or self.dropped or self.errors)

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
        )


class EventPipeline:
    """Buffers wire-format events and delivers them on flush; see the module docstring for the policy."""

    def __init__(
        self,
        max_events: int = c.DEFAULT_MAX_BUFFERED_EVENTS,
        *,
        sink: EventSink | None = None,
        spill: SpillStore | None = None,
        session_id: str = "",
        policy: DeliveryPolicy | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        base = policy or DeliveryPolicy()
        self._policy = DeliveryPolicy(
            base.batch_size,
            base.max_body_bytes,
            max_events,
            base.flush_timeout_s,
            base.replay_interval_s,
            base.spill_reserve_s,
            base.overflow_flush_timeout_s,
            base.retry,
        )
        self._sink = sink
        self._spill = spill
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
        self._buffer = EventBuffer(self._metadata_json)
        self._carry = _Tally()  # what enqueue did on a full buffer, reported by the next flush
        self._rejected_ids: set[str] = set()  # refused with a final 4xx in this process: not replayed again
        self._unreadable: set[str] = set()  # spill records that do not parse: left alone
        self._spill_dirty = True  # a replay pass may find something (this process spilled, or never looked)
        self._last_listing = float("-inf")

    @property
    def policy(self) -> DeliveryPolicy:
        return self._policy

    @property
    def spill_store(self) -> SpillStore | None:
        return self._spill

    def __len__(self) -> int:
        return len(self._buffer)

    # -- the client's side

    def enqueue(self, event: Mapping[str, object]) -> None:
        """Buffer a finished wire-format event. Raises StatsigValueError if it cannot be sent as JSON."""
        encoded = encode_event(event)
        if not self._enabled:
            return
        if self._buffer.add(encoded) >= self._policy.max_buffered_events:
            self._relieve_pressure()

    def enqueue_exposure(self, event: DeferredEvent) -> None:
        """Buffer an exposure the client built: encoded with its batch at flush, not on the check's time."""
        if not self._enabled:
            return
        if self._buffer.add(event) >= self._policy.max_buffered_events:
            self._relieve_pressure()

    def pending(self) -> list[Mapping[str, object]]:
        """The events held in memory, in delivery order (decoded copies)."""
        decoded: list[Mapping[str, object]] = [json.loads(e) for e in self._buffer.pending()]
        return decoded

    def flush(self, timeout_s: float | None = None) -> FlushResult:
        """Deliver what is buffered, spill what could not be delivered, then replay spilled records."""
        carried = self._carry
        if not self._buffer and carried.idle() and (self._spill is None or not self._replay_due()):
            return FlushResult()  # the end of most invocations: nothing to send or to report
        tally, self._carry = carried, _Tally()
        if not self._enabled:
            return tally.result(kept=0)
        budget = self._budget(timeout_s)
        deadline = self._clock() + budget
        reachable = self._flush_memory(deadline, budget, tally)
        if reachable and self._spill is not None and self._replay_due():
            self._replay(deadline, tally)
        return tally.result(kept=len(self._buffer))

    def replay_spilled(self, timeout_s: float | None = None) -> FlushResult:
        """Send spilled records, oldest first, while time is left; delete each once Statsig accepted it."""
        tally = _Tally()
        if self._enabled and self._spill is not None:
            self._replay(self._clock() + self._budget(timeout_s), tally)
        return tally.result(kept=len(self._buffer))

    def shutdown(self, timeout_s: float | None = None) -> FlushResult:
        """Deliver or spill everything held in memory (no replay), and release the HTTP connections."""
        tally, self._carry = self._carry, _Tally()
        if self._enabled:
            budget = self._budget(timeout_s)
            self._flush_memory(self._clock() + budget, budget, tally)
            if len(self._buffer):
                logger.error(
                    "statsig_lite: %d events are left only in memory at shutdown (%s)",
                    len(self._buffer),
                    "the spill store failed" if self._spill is not None else "no spill_target configured",
                    extra={"events": len(self._buffer)},
                )
        if self._sink is not None:
            self._sink.close()
        return tally.result(kept=len(self._buffer))

    # -- delivery

    def _budget(self, timeout_s: float | None) -> float:
        return self._policy.flush_timeout_s if timeout_s is None else max(0.0, timeout_s)

    def _now_ms(self) -> int:
        return int(self._wall_clock() * 1000)

    def _cut(self) -> list[Batch]:
        return self._buffer.batches(
            self._now_ms(), max_events=self._policy.batch_size, max_body_bytes=self._policy.max_body_bytes
        )

    def _flush_memory(self, deadline: float, budget: float, tally: _Tally) -> bool:
        """Send the buffered batches, then spill (or keep) the rest. False if Statsig seemed unavailable."""
        queue = deque(self._cut())
        tally.dropped += self._buffer.take_unsendable()  # recorded events that could not be encoded
        if not queue or self._sink is None:
            return True
        send_deadline = deadline - (self._policy.spill_reserve_for(budget) if self._spill is not None else 0.0)
        reachable = True
        rejected: list[Batch] = []
        while queue and reachable:
            batch = queue.popleft()
            outcome = self._send(batch, send_deadline, tally)
            if outcome is Outcome.SENT:
                self._buffer.remove([batch])
                tally.sent += len(batch)
            elif outcome is Outcome.TOO_LARGE:
                halves = split_batch(batch, self._metadata_json)
                self._buffer.replace(batch, halves)
                queue.extendleft(reversed(halves))
            elif outcome is Outcome.REJECTED:
                rejected.append(batch)
            else:
                reachable = False
        left = self._cut()
        if not left:
            return reachable
        if self._spill is not None:
            self._write_spill(left, tally)
        elif rejected:
            self._buffer.remove(rejected)
            tally.dropped += sum(len(b) for b in rejected)
        if len(self._buffer):
            logger.warning(
                "statsig_lite: %d events not delivered yet; kept in memory for the next flush",
                len(self._buffer),
                extra={"events": len(self._buffer)},
            )
        return reachable

    def _send(self, batch: Batch, deadline: float, tally: _Tally) -> Outcome:
        """One batch, retried while the deadline allows; a refusal is logged and remembered."""
        assert self._sink is not None
        result = send_with_retries(
            self._sink,
            batch,
            deadline,
            policy=self._policy.retry,
            clock=self._clock,
            sleep=self._sleep,
            jitter=self._jitter,
        )
        err = result.error
        if result.outcome is Outcome.REJECTED and err is not None:
            self._reject(batch, err, tally)
        elif result.outcome is Outcome.TOO_LARGE:
            logger.info("statsig_lite: batch of %d events too large (413); splitting it", len(batch))
        elif result.outcome is Outcome.UNSENT:
            why = err.reason if err is not None else "log_event: out of time"
            tally.error(f"{why} (batch {batch.batch_id}, {len(batch)} events, {result.attempts} attempts)")
        return result.outcome

    def _reject(self, batch: Batch, err: SendError, tally: _Tally) -> None:
        tally.rejected += len(batch)
        tally.error(f"{err.reason} (batch {batch.batch_id}, {len(batch)} events refused)")
        if len(self._rejected_ids) >= _MAX_REMEMBERED_IDS:
            self._rejected_ids.clear()
        self._rejected_ids.add(batch.batch_id)
        logger.error(
            "statsig_lite: Statsig refused %d events with HTTP %s (batch %s); %s",
            len(batch),
            err.status,
            batch.batch_id,
            "the spill store keeps them" if self._spill is not None else "dropping them: no spill_target configured",
            extra={"events": len(batch), "status": err.status},
        )

    def _write_spill(self, batches: list[Batch], tally: _Tally) -> bool:
        """Write the batches as one record; forget them only once it is written."""
        assert self._spill is not None
        record = SpillRecord.new(batches, self._metadata_json, self._now_ms())
        try:
            self._spill.write(record)
        except SpillError as exc:
            logger.error(
                "statsig_lite: could not spill %d events (%s); keeping them in memory",
                record.event_count,
                exc,
                extra={"events": record.event_count},
            )
            tally.error(str(exc))
            return False
        self._buffer.remove(batches)
        tally.spilled += record.event_count
        self._spill_dirty = True
        logger.warning(
            "statsig_lite: spilled %d events in %d batches to %s (record %s)",
            record.event_count,
            len(batches),
            self._spill.description,
            record.spill_id,
            extra={"events": record.event_count},
        )
        return True

    def _relieve_pressure(self) -> None:
        """The buffer reached max_buffered_events (policy in the module docstring)."""
        carry = self._carry
        if self._spill is not None and self._write_spill(self._cut(), carry):
            carry.dropped += self._buffer.take_unsendable()
            return
        budget = self._policy.overflow_flush_timeout_s
        self._flush_memory(self._clock() + budget, budget, carry)
        excess = len(self._buffer) - self._policy.max_buffered_events
        if excess >= 0:
            dropped = self._buffer.drop_oldest(max(excess + 1, min(self._policy.batch_size, len(self._buffer))))
            carry.dropped += dropped
            logger.error(
                "statsig_lite: event buffer full (%d events) and nowhere to put them: dropped the oldest %d",
                self._policy.max_buffered_events,
                dropped,
                extra={"events": dropped},
            )

    # -- replay

    def _replay_due(self) -> bool:
        return self._spill_dirty or self._clock() - self._last_listing >= self._policy.replay_interval_s

    def _replay(self, deadline: float, tally: _Tally) -> None:
        assert self._spill is not None
        self._last_listing = now = self._clock()
        send_deadline = deadline - self._policy.spill_reserve_for(deadline - now)  # room to rewrite a record
        report = replay_store(
            self._spill,
            lambda batch: self._send(batch, send_deadline, tally),
            time_left=lambda: send_deadline - self._clock(),
            min_time_s=self._policy.retry.min_attempt_s,
            skip_batches=self._rejected_ids,
            unreadable=self._unreadable,
        )
        tally.replayed += report.replayed
        for message in report.errors:
            tally.error(message)
        self._spill_dirty = not report.finished


def build_pipeline(
    options: StatsigOptions,
    secret_key: str,
    session_id: str,
    *,
    pool_manager: Any = None,
    s3_client: Any = None,
    dynamodb_client: Any = None,
    boto3_session: Any = None,
) -> EventPipeline:
    """The pipeline for resolved options: Statsig's log_event endpoint, plus the spill store they name.

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
    return EventPipeline(options.max_buffered_events, sink=sink, spill=spill, session_id=session_id, policy=policy)
