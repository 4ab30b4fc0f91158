"""Replaying a spill store: records oldest first, each batch under the id it has always had.

A record is deleted once all of its batches were accepted. When only some were, the rest is written as a new
record (same creation time, so the same place in the order) before the old one is deleted; if that update
fails, the old record stays and its accepted batches will be sent again under their ids (at least once).
Replay stops at the first batch that could not be sent (Statsig unavailable, or no time left).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Container, MutableSet

from .._log import get_logger
from .._record import Record
from ..buffer import Batch, split_batch
from ..errors import SpillError
from .base import SpillFormatError, SpillRecord, SpillRef, SpillStore
from .retry import Outcome

__all__ = ["ReplayReport", "replay_store"]

logger = get_logger(__name__)


class ReplayReport(Record):
    """What one replay of the spill store did."""

    __slots__ = ("errors", "finished", "replayed")

    def __init__(self, replayed: int = 0, finished: bool = True) -> None:
        self.replayed = replayed  # events Statsig accepted
        self.finished = finished  # every record was looked at
        self.errors: list[str] = []


def replay_store(
    store: SpillStore,
    send: Callable[[Batch], Outcome],
    *,
    time_left: Callable[[], float],
    min_time_s: float,
    skip_batches: Container[str],
    unreadable: MutableSet[str],
) -> ReplayReport:
    """Replay ``store`` through ``send`` while ``time_left()`` is at least ``min_time_s``.

    Batches whose id is in ``skip_batches`` (refused for good in this process) stay in the store. Records that
    do not parse are logged once, added to ``unreadable`` and left alone.
    """
    report = ReplayReport()
    try:
        refs = store.list()
    except SpillError as exc:
        logger.error("statsig_lite: cannot list spilled events: %s", exc)
        report.errors.append(str(exc))
        report.finished = False
        return report
    for ref in refs:
        if time_left() < min_time_s:
            report.finished = False
            break
        if ref.key in unreadable:
            continue
        try:
            record = store.read(ref)
        except SpillFormatError as exc:
            unreadable.add(ref.key)
            logger.error("statsig_lite: skipping a spill record: %s", exc)
            report.errors.append(str(exc))
            continue
        except SpillError as exc:
            logger.error("statsig_lite: cannot read a spill record: %s", exc)
            report.errors.append(str(exc))
            report.finished = False
            break
        if record is not None and not _replay_record(store, ref, record, send, skip_batches, report):
            report.finished = False
            break
    return report


def _replay_record(
    store: SpillStore,
    ref: SpillRef,
    record: SpillRecord,
    send: Callable[[Batch], Outcome],
    skip_batches: Container[str],
    report: ReplayReport,
) -> bool:
    """Send one record's batches and update the store to match. False if a batch could not be sent."""
    queue = deque(record.batches)
    remaining: list[Batch] = []
    changed = False
    reachable = True
    while queue:
        batch = queue.popleft()
        if not reachable or batch.batch_id in skip_batches:
            remaining.append(batch)
            continue
        outcome = send(batch)
        if outcome is Outcome.SENT:
            report.replayed += len(batch)
            changed = True
        elif outcome is Outcome.TOO_LARGE:
            queue.extendleft(reversed(split_batch(batch, record.metadata_json)))
            changed = True
        else:
            reachable = outcome is not Outcome.UNSENT
            remaining.append(batch)
    if changed:
        try:
            if remaining:
                store.write(record.with_batches(remaining))
            store.delete(ref)
        except SpillError as exc:
            logger.error("statsig_lite: cannot update spill record %s: %s", record.spill_id, exc)
            report.errors.append(str(exc))
    return reachable
