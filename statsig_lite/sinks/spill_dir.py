"""Spill store in a local directory (``file:///dir``): for the demo, tests, a mounted EFS volume, and the
local journal (``journal.py``).

A record is written to a temporary file then renamed into place, so a reader sees a whole record or none.
Files are created with mode 0600: they hold user data. A claim is a rename: ``<name>`` becomes
``<name>~<until ms, 13 digits>~<owner>``; of two processes renaming the same file only one succeeds.
Quarantined records go to ``quarantine/`` with a ``.reason`` file beside them.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable

from .._ids import new_id
from ..errors import SpillError
from .base import Deadline, SpillRecord, SpillRef, parse_record_name

__all__ = ["DirSpillStore"]

_TMP_PREFIX = ".tmp-"
_QUARANTINE = "quarantine"
_CLAIMED = re.compile(r"(?P<name>[^~]+)~(?P<until>\d{13})~(?P<owner>[0-9A-Za-z_.-]+)")


def _time_expired(until_ms: int, owner: str, now_ms: int) -> bool:
    return until_ms < now_ms


class DirSpillStore:
    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync: bool = True,
        gzip_level: int = 1,
        claim_expired: Callable[[int, str, int], bool] = _time_expired,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self._dir = os.path.normpath(directory)  # os.path, not pathlib: pathlib (and the urllib.parse and
        # ipaddress it imports, ~0.6 MiB) would load when the journal opens at init, not when first written
        self._fsync = fsync
        self._gzip_level = gzip_level
        self._claim_expired = claim_expired
        self._wall_clock = wall_clock or time.time

    @property
    def description(self) -> str:
        return f"file://{self._dir}"

    @property
    def directory(self) -> str:
        return self._dir

    def _write_file(self, path: str, data: bytes) -> None:
        parent = os.path.dirname(path)
        tmp = os.path.join(parent, f"{_TMP_PREFIX}{new_id()}")
        os.makedirs(parent, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                if self._fsync:
                    out.flush()
                    os.fsync(out.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.replace(tmp, path)
        if self._fsync:
            _sync_dir(parent)

    def write(
        self, record: SpillRecord, *, deadline: Deadline | None = None, claim: tuple[str, int] | None = None
    ) -> SpillRef:
        name = record.name if claim is None else f"{record.name}~{claim[1]:013d}~{claim[0]}"
        try:
            if deadline is not None:
                deadline.check(f"{self.description}: write {record.name}")
            self._write_file(os.path.join(self._dir, name), record.to_bytes(self._gzip_level))
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot write {record.name}: {exc}") from exc
        owner, until = claim if claim is not None else ("", 0)
        return SpillRef(key=name, created_at_ms=record.created_at_ms, spill_id=record.spill_id,
                        claimed_until_ms=until, owner=owner)

    def quarantined(self) -> list[SpillRef]:
        """Records moved to the quarantine (for operators and tests)."""
        try:
            names = [e.name for e in os.scandir(os.path.join(self._dir, _QUARANTINE)) if e.is_file()]
        except FileNotFoundError:
            return []
        return sorted((r for r in map(_parse, names) if r is not None), key=lambda r: r.created_at_ms)

    def list(self, *, deadline: Deadline | None = None) -> list[SpillRef]:
        try:
            names = [entry.name for entry in os.scandir(self._dir) if entry.is_file()]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot list: {exc}") from exc
        refs = [ref for ref in map(_parse, names) if ref is not None]
        refs.sort(key=lambda r: (r.created_at_ms, r.spill_id))
        return refs

    def read(self, ref: SpillRef, *, deadline: Deadline | None = None) -> SpillRecord | None:
        try:
            data = _read_bytes(os.path.join(self._dir, ref.key))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot read {ref.key}: {exc}") from exc
        return SpillRecord.from_bytes(data, where=f"{self.description}/{ref.name}")

    def delete(self, ref: SpillRef, *, deadline: Deadline | None = None) -> None:
        try:
            os.unlink(os.path.join(self._dir, ref.key))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot delete {ref.key}: {exc}") from exc

    def claim(
        self,
        ref: SpillRef,
        owner: str,
        until_ms: int,
        *,
        deadline: Deadline | None = None,
        dead: Callable[[str], bool] | None = None,
    ) -> SpillRef | None:
        if (
            ref.owner
            and ref.owner != owner
            and not self._claim_expired(ref.claimed_until_ms, ref.owner, int(self._wall_clock() * 1000))
            and not (dead is not None and dead(ref.owner))
        ):
            return None
        name = f"{ref.name}~{until_ms:013d}~{owner}"
        try:
            os.rename(os.path.join(self._dir, ref.key), os.path.join(self._dir, name))
        except FileNotFoundError:
            return None  # another process renamed it first
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot claim {ref.key}: {exc}") from exc
        return SpillRef(name, ref.created_at_ms, ref.spill_id, ref.parts, until_ms, owner)

    def release(self, ref: SpillRef, owner: str, *, deadline: Deadline | None = None) -> None:
        if ref.key == ref.name:
            return
        try:
            os.rename(os.path.join(self._dir, ref.key), os.path.join(self._dir, ref.name))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot release {ref.key}: {exc}") from exc

    def quarantine(self, ref: SpillRef, reason: str, *, deadline: Deadline | None = None) -> None:
        folder = os.path.join(self._dir, _QUARANTINE)
        try:
            os.makedirs(folder, exist_ok=True)
            _write_text(os.path.join(folder, f"{ref.name}.reason"), reason + "\n")
            os.replace(os.path.join(self._dir, ref.key), os.path.join(folder, ref.name))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot quarantine {ref.key}: {exc}") from exc

    def write_quarantined(self, record: SpillRecord, reason: str, *, deadline: Deadline | None = None) -> None:
        folder = os.path.join(self._dir, _QUARANTINE)
        try:
            self._write_file(os.path.join(folder, record.name), record.to_bytes(self._gzip_level))
            _write_text(os.path.join(folder, f"{record.name}.reason"), reason + "\n")
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot quarantine {record.name}: {exc}") from exc

    def read_quarantined(self, ref: SpillRef) -> SpillRecord:
        data = _read_bytes(os.path.join(self._dir, _QUARANTINE, ref.key))
        return SpillRecord.from_bytes(data, where=f"{self.description}/{_QUARANTINE}/{ref.key}")

    def size(self) -> int:
        """Bytes of the records in the directory (not the quarantine)."""
        total = 0
        with contextlib.suppress(OSError):
            for entry in os.scandir(self._dir):
                if entry.is_file():
                    with contextlib.suppress(OSError):
                        total += entry.stat().st_size
        return total


def _parse(file_name: str) -> SpillRef | None:
    until, owner, name = 0, "", file_name
    claimed = _CLAIMED.fullmatch(file_name)
    if claimed is not None:
        name, until, owner = claimed.group("name"), int(claimed.group("until")), claimed.group("owner")
    parsed = parse_record_name(name)
    if parsed is None:
        return None
    return SpillRef(key=file_name, created_at_ms=parsed[0], spill_id=parsed[1], claimed_until_ms=until, owner=owner)


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _sync_dir(directory: str) -> None:
    """Make the rename durable (best effort: not every file system lets a directory be synced)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
