"""One refresh: read what the targets hold, ask Statsig what changed, write a validated snapshot if it did.

1. Read every target (`targets`). A target that cannot be reached is left alone this run. The newest
   stored snapshot that loads is the *base*: its ``time`` becomes ``sinceTime`` and its ID lists the state
   the ID-list sync continues from (byte ranges), so an unchanged project costs one small DCS answer
   (``{"has_updates": false}``), the ID-list manifest and nothing else.
2. download_config_specs, then the ID lists. Statsig unreachable, a non-2xx answer, a body that is not
   JSON, or an ID-list manifest that cannot be had: nothing is written.
3. Build our snapshot document (`store.envelope`) and load those exact bytes with our own store; a payload
   that does not load (or names another SDK key) is not written. Nor is one `store.validate` refuses
   against the base: dated in the future, older than the base, or a collapse (a section emptied or more
   than halved) unless the operator allows it (``STATSIG_ALLOW_SNAPSHOT_SHRINK=true``; the document then
   says so, and the SDK takes it too). A refusal is the run's ``refused`` code and ``skipped_reason``.
   A stored snapshot dated in the future is no base: it neither pins ``sinceTime`` nor blocks a write.
4. Per target: unchanged content (sha256 of the document without its ``created_at``) is not rewritten;
   otherwise a conditional write against the token read in step 1, so a racing refresher that committed
   in between wins and this one's write fails, leaving the other's bytes.

Everything is injected (fetcher, targets, clocks); `function.py` wires it from the environment.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..errors import SpecError, SpecFormatError
from ..evaluator.hashing import djb2
from ..sources.http import BadResponse
from ..store.envelope import encode_snapshot, load_envelope, split_snapshot
from ..store.model import IdList, Snapshot
from ..store.snapshot import load_snapshot
from ..store.validate import SnapshotRefused, Summary, check_nesting, check_replacement, is_absurd
from .fetch import StatsigFetcher
from .targets import SnapshotTarget, Stored, TargetError, WriteConflict

__all__ = [
    "RefreshReport",
    "SnapshotRefresher",
    "TargetOutcome",
    "build_snapshot",
    "content_digest",
]

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT_CAP_S = 20.0  # one Statsig request (the legacy SDK's request timeout)
STORE_TIMEOUT_CAP_S = 10.0  # one target read or write

Action = Literal["written", "unchanged", "skipped"]


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    target: str
    action: Action
    reason: str | None = None
    stored_time: int | None = None


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What one run did; `as_dict` is the structured log line."""

    fetched: bool = False  # Statsig sent a payload (False: has_updates false, or never asked)
    unchanged: bool = False  # every reachable target already held this content
    written: tuple[str, ...] = ()
    skipped_reason: str | None = None  # why nothing was written at all (None: see targets)
    refused: str | None = None  # the `validate.SnapshotRefused` code when the payload was refused
    snapshot_time: int | None = None
    stored_time: int | None = None
    snapshot_bytes: int = 0
    dcs_bytes: int = 0
    id_lists: Mapping[str, int] = field(default_factory=dict)  # name -> ids held
    id_list_bytes: int = 0  # ID-list file bytes downloaded by this run
    targets: tuple[TargetOutcome, ...] = ()
    replayed_events: int = 0
    replay_errors: tuple[str, ...] = ()
    duration_ms: int = 0

    @property
    def failed(self) -> bool:
        """Something went wrong (as opposed to "nothing to do")."""
        return self.skipped_reason is not None or any(t.action == "skipped" for t in self.targets)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["id_lists"] = dict(self.id_lists)
        return data


@dataclass(frozen=True, slots=True)
class _Held:
    """A target and what it holds, parsed."""

    target: SnapshotTarget
    stored: Stored
    time: int | None = None
    fmt: str | None = None  # "v1" / "v2": the payload format it holds
    dcs: Mapping[str, Any] | None = None
    id_lists: Mapping[str, IdList] = field(default_factory=dict)
    digest: str | None = None
    problem: str | None = None
    summary: Summary | None = None


def content_digest(dcs: Mapping[str, Any], id_lists: Mapping[str, IdList]) -> str:
    """sha256 of the snapshot document without its ``created_at``: equal digests, equal content."""
    return hashlib.sha256(encode_snapshot(dcs, id_lists, created_at=0)).hexdigest()


def build_snapshot(
    dcs: Mapping[str, Any],
    id_lists: Mapping[str, IdList],
    *,
    secret_key: str,
    created_at: int,
    allow_shrink: bool = False,
) -> tuple[bytes, Snapshot]:
    """Our snapshot document, checked by loading these exact bytes with our own store.

    Raises SpecFormatError for a payload the SDK would not load, or one made for another SDK key."""
    hashed = dcs.get("hashed_sdk_key_used")
    if isinstance(hashed, str) and hashed and hashed != djb2(secret_key):
        raise SpecFormatError("hashed_sdk_key_used", "the payload was made for another SDK key")
    check_nesting(dcs)  # before encoding: json.dumps recurses
    try:
        payload = encode_snapshot(dcs, id_lists, created_at, allow_shrink=allow_shrink)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SpecFormatError("", f"cannot be encoded: {exc}") from None
    return payload, load_envelope(payload)


class SnapshotRefresher:
    def __init__(
        self,
        fetcher: StatsigFetcher,
        targets: Sequence[SnapshotTarget],
        *,
        secret_key: str,
        dcs_format: str | None = None,
        allow_shrink: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``dcs_format``: the format the fetcher asks for; a stored payload of the other format is not
        reused (no ``sinceTime``), so switching formats rewrites the snapshot at once. ``allow_shrink``: the
        operator's switch for a collapse (see `store.validate`)."""
        self._allow_shrink = allow_shrink
        self._fetcher = fetcher
        self._dcs_format = dcs_format
        self._targets = list(targets)
        self._secret_key = secret_key
        self._clock = clock
        self._wall_clock = wall_clock

    def refresh(self, budget_s: float) -> RefreshReport:
        started = self._clock()
        deadline = started + budget_s
        try:
            report = self._refresh(deadline)
        except _OutOfTime:
            report = {"skipped_reason": "out of time"}
        except Exception as exc:  # no input may crash the run; what is stored stays as it is
            logger.exception("statsig_lite refresher: unexpected error, nothing written")
            report = {"skipped_reason": f"internal error: {type(exc).__name__}: {exc}"}
        duration_ms = int((self._clock() - started) * 1000)
        return RefreshReport(**{**report, "duration_ms": duration_ms})

    # -- the steps

    def _refresh(self, deadline: float) -> dict[str, Any]:
        held, unreachable = self._read_targets(deadline)
        if not held:
            return {"skipped_reason": "no target could be read", "targets": tuple(unreachable)}
        now_ms = int(self._wall_clock() * 1000)
        for h in held:
            if h.time is not None and is_absurd(h.time, now_ms):
                logger.warning("statsig_lite refresher: %s holds a snapshot dated in the future (%s): ignored",
                               h.target.name, h.time, extra={"source": h.target.name})
        sane = [h for h in held if h.time is not None and not is_absurd(h.time, now_ms)]
        base = max(sane, key=lambda h: h.time or 0, default=None)
        base_time = base.time if base is not None else None
        out: dict[str, Any] = {"stored_time": base_time, "targets": tuple(unreachable)}

        reusable = base if base is not None and self._dcs_format in (None, base.fmt) else None
        since = reusable.time if reusable is not None else None
        try:
            downloaded = self._fetcher.dcs(since, self._timeout(deadline, REQUEST_TIMEOUT_CAP_S))
        except BadResponse as exc:
            logger.error("statsig_lite refresher: payload refused [invalid], stored snapshots unchanged: %s", exc,
                         extra={"reason": "invalid"})
            return {**out, "refused": "invalid", "skipped_reason": f"refused [invalid]: {exc}"}
        except SpecError as exc:
            return {**out, "skipped_reason": f"statsig unavailable: {exc}"}
        dcs = downloaded.dcs if downloaded is not None else reusable.dcs if reusable is not None else None
        if dcs is None:  # HttpSource never answers "unchanged" to a request without sinceTime
            return {**out, "skipped_reason": "statsig answered has_updates=false without sinceTime"}
        out.update(fetched=downloaded is not None, dcs_bytes=downloaded.size if downloaded is not None else 0)

        current = base.id_lists if base is not None else {}
        try:
            id_lists = self._fetcher.id_lists(current, self._timeout(deadline, REQUEST_TIMEOUT_CAP_S))
        except SpecError as exc:
            return {**out, "skipped_reason": f"ID lists unavailable: {exc}"}
        out.update(id_lists={n: len(e.ids) for n, e in sorted(id_lists.items())},
                   id_list_bytes=_downloaded_bytes(current, id_lists))

        try:
            payload, snapshot = build_snapshot(
                dcs, id_lists, secret_key=self._secret_key, created_at=now_ms, allow_shrink=self._allow_shrink
            )
            check_replacement(Summary.of(snapshot), base.summary if base is not None else None, now_ms,
                              allow_shrink=self._allow_shrink)
        except SpecFormatError as exc:
            code = exc.code if isinstance(exc, SnapshotRefused) else "invalid"
            logger.error("statsig_lite refresher: payload refused [%s], stored snapshots unchanged: %s", code, exc,
                         extra={"reason": code})
            return {**out, "refused": code, "skipped_reason": f"refused [{code}]: {exc}"}
        out.update(snapshot_time=snapshot.time, snapshot_bytes=len(payload))

        digest = content_digest(dcs, id_lists)
        outcomes = [self._store(h, payload, snapshot.time, digest, deadline) for h in held]
        written = tuple(o.target for o in outcomes if o.action == "written")
        unchanged = all(o.action == "unchanged" for o in outcomes) and not unreachable
        return {**out, "targets": (*unreachable, *outcomes), "written": written, "unchanged": unchanged}

    def _read_targets(self, deadline: float) -> tuple[list[_Held], list[TargetOutcome]]:
        held: list[_Held] = []
        unreachable: list[TargetOutcome] = []
        for target in self._targets:
            try:
                stored = target.read(self._timeout(deadline, STORE_TIMEOUT_CAP_S))
            except TargetError as exc:
                logger.error("statsig_lite refresher: cannot read %s: %s", target.name, exc.reason,
                             extra={"source": target.name})
                unreachable.append(TargetOutcome(target.name, "skipped", f"read failed: {exc.reason}"))
                continue
            held.append(_parse(target, stored))
        return held, unreachable

    def _store(self, held: _Held, payload: bytes, snapshot_time: int, digest: str, deadline: float) -> TargetOutcome:
        name = held.target.name
        if held.digest == digest:
            return TargetOutcome(name, "unchanged", stored_time=held.time)
        now_ms = int(self._wall_clock() * 1000)
        if held.time is not None and snapshot_time < held.time and not is_absurd(held.time, now_ms):
            return TargetOutcome(name, "skipped", f"older than stored ({snapshot_time} < {held.time})", held.time)
        if held.problem is not None:
            logger.warning("statsig_lite refresher: replacing the unusable snapshot in %s: %s", name, held.problem,
                           extra={"source": name})
        try:
            held.target.write(payload, held.stored, self._timeout(deadline, STORE_TIMEOUT_CAP_S), lcut=snapshot_time)
        except _OutOfTime:
            return TargetOutcome(name, "skipped", "out of time", held.time)
        except WriteConflict as exc:
            logger.warning("statsig_lite refresher: %s", exc, extra={"source": name})
            return TargetOutcome(name, "skipped", f"conflict: {exc.reason}", held.time)
        except TargetError as exc:
            logger.error("statsig_lite refresher: cannot write %s: %s", name, exc.reason, extra={"source": name})
            return TargetOutcome(name, "skipped", f"write failed: {exc.reason}", held.time)
        reason = f"replaced unusable snapshot ({held.problem})" if held.problem else None
        return TargetOutcome(name, "written", reason, held.time)

    def _timeout(self, deadline: float, cap: float) -> float:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise _OutOfTime()
        return min(remaining, cap)


class _OutOfTime(Exception):
    """The run's budget is spent (internal: ends the run, or skips the remaining targets)."""


def _parse(target: SnapshotTarget, stored: Stored) -> _Held:
    if not stored.exists:
        return _Held(target, stored)
    if stored.payload is None:
        return _Held(target, stored, problem=stored.problem or "unreadable")
    try:
        dcs, id_lists = split_snapshot(stored.payload)
        snapshot = load_snapshot(dcs, id_lists=id_lists)
    except SpecFormatError as exc:
        return _Held(target, stored, problem=f"does not load: {exc}")
    return _Held(target, stored, snapshot.time, snapshot.format, dcs, id_lists, content_digest(dcs, id_lists),
                 None, Summary.of(snapshot))


def _downloaded_bytes(before: Mapping[str, IdList], after: Mapping[str, IdList]) -> int:
    total = 0
    for name, entry in after.items():
        old = before.get(name)
        same_file = old is not None and old.file_id == entry.file_id
        total += entry.read_bytes - (old.read_bytes if same_file and old is not None else 0)
    return max(total, 0)

