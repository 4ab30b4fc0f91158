"""Replaying a store (spill store or journal), oldest first: claim, read, send, then delete, rewrite what is
left, or release; unreadable records and refused batches go to the quarantine and never stop the others.
"""

from __future__ import annotations

from collections.abc import Callable

from .._log import get_logger
from .._record import Record
from ..buffer import Batch
from ..errors import SpillError
from .base import Deadline, SpillFormatError, SpillRecord, SpillRef, SpillStore

__all__ = ["Delivered", "ReplayReport", "replay_store"]

logger = get_logger(__name__)


class Delivered(Record):
    """What sending some batches came to: accepted, refused for good (to quarantine), still to send."""

    __slots__ = ("kept", "refused", "sent", "stop")

    def __init__(self, sent: list[Batch], refused: list[tuple[Batch, str]], kept: list[Batch], stop: bool) -> None:
        self.sent = sent
        self.refused = refused
        self.kept = kept
        self.stop = stop  # Statsig down, the key refused, or out of time: send nothing more in this pass


class ReplayReport(Record):
    """What one replay of a store did."""

    __slots__ = ("errors", "finished", "quarantined", "replayed")

    def __init__(self) -> None:
        self.replayed = 0  # events Statsig accepted
        self.quarantined = 0  # events moved to the quarantine (unreadable records count as 0 events)
        self.finished = True  # every record was looked at
        self.errors: list[str] = []


def replay_store(
    store: SpillStore,
    *,
    owner: str,
    claim_until_ms: int,
    deadline: Deadline,
    min_time_s: float,
    send: Callable[[list[Batch]], Delivered],
    quarantine: Callable[[list[tuple[Batch, str]], SpillRecord], int],
    move_to: SpillStore | None = None,
    report: ReplayReport | None = None,
    skip_keys: frozenset[str] = frozenset(),
    dead: Callable[[str], bool] | None = None,
    triage: Callable[[SpillRef], str] | None = None,
) -> ReplayReport:
    """Replay ``store`` while ``deadline`` leaves at least ``min_time_s``; see the module docstring.

    ``quarantine(refused, record)`` stores refused batches aside and returns how many events it stored;
    ``move_to``: where records go that could not be sent now (the journal's records move to the spill store).
    ``triage(ref)``: "skip" leaves a record alone, "drop" deletes it unsent (a write this process thought had
    failed, but that landed after its timeout: its batches were delivered or kept another way).
    """
    report = report or ReplayReport()
    try:
        refs = store.list(deadline=deadline)
    except SpillError as exc:
        logger.error("statsig_lite: cannot list %s: %s", store.description, exc)
        report.errors.append(str(exc))
        report.finished = False
        return report
    for ref in refs:
        verdict = triage(ref) if triage is not None else ""
        if ref.key in skip_keys or verdict == "skip":
            continue
        if deadline.left() < min_time_s:
            report.finished = False
            break
        try:
            claimed = store.claim(ref, owner, claim_until_ms, deadline=deadline, dead=dead)
            if claimed is None:
                continue  # another replayer has it
            if verdict == "drop":
                store.delete(claimed, deadline=deadline)
                continue
            stop = _replay_record(store, claimed, owner, deadline, send, quarantine, move_to, report)
        except SpillError as exc:
            logger.error("statsig_lite: replay of %s: %s", store.description, exc)
            report.errors.append(str(exc))
            report.finished = False
            break
        if stop:
            report.finished = False
            break
    return report


def _replay_record(
    store: SpillStore,
    ref: SpillRef,
    owner: str,
    deadline: Deadline,
    send: Callable[[list[Batch]], Delivered],
    quarantine: Callable[[list[tuple[Batch, str]], SpillRecord], int],
    move_to: SpillStore | None,
    report: ReplayReport,
) -> bool:
    """One claimed record; True when the pass must stop."""
    try:
        record = store.read(ref, deadline=deadline)
    except SpillFormatError as exc:
        reason = str(exc)
        logger.error("statsig_lite: quarantining an unreadable spill record: %s", reason)
        report.errors.append(reason)
        store.quarantine(ref, reason, deadline=deadline)
        return False
    except SpillError:
        _release(store, ref, owner, deadline)
        raise
    if record is None:
        return False  # gone: another process replayed it
    before = [(b.batch_id, b.attempts) for b in record.batches]
    result = send(list(record.batches))
    report.replayed += sum(len(b) for b in result.sent)
    if result.refused:
        report.quarantined += quarantine(result.refused, record)
    after = [(b.batch_id, b.attempts) for b in result.kept]
    # attempts are kept in the record only while Statsig takes other batches (a poison batch); while it is
    # down, rewriting every record each pass would only cost writes
    unchanged = after == before or (result.stop and [i for i, _ in after] == [i for i, _ in before])
    if unchanged and move_to is None:
        _release(store, ref, owner, deadline)
        return result.stop
    if result.kept:
        target = move_to or store
        target.write(record.with_batches(result.kept), deadline=deadline)
    store.delete(ref, deadline=deadline)
    return result.stop


def _release(store: SpillStore, ref: SpillRef, owner: str, deadline: Deadline) -> None:
    try:
        store.release(ref, owner, deadline=deadline)
    except SpillError as exc:  # the claim expires by itself
        logger.warning("statsig_lite: could not release a claim on %s: %s", ref.key, exc)
