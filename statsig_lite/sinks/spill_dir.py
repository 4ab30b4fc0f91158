"""Spill store in a local directory (``file:///dir``): for the demo, tests and a mounted EFS volume.

A record is written to a temporary file, synced, then renamed into place, so a reader sees a whole record
or none. Files are created with mode 0600: they hold user data.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .._ids import new_id
from ..errors import SpillError
from .base import SpillRecord, SpillRef, parse_record_name

__all__ = ["DirSpillStore"]

_TMP_PREFIX = ".tmp-"


class DirSpillStore:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self._dir = Path(directory)

    @property
    def description(self) -> str:
        return f"file://{self._dir}"

    def write(self, record: SpillRecord) -> None:
        data = record.to_bytes()
        tmp = self._dir / f"{_TMP_PREFIX}{new_id()}"
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
            except BaseException:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
            os.replace(tmp, self._dir / record.name)
            _sync_dir(self._dir)
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot write {record.name}: {exc}") from exc

    def list(self) -> list[SpillRef]:
        try:
            names = [entry.name for entry in os.scandir(self._dir) if entry.is_file()]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot list: {exc}") from exc
        refs = []
        for name in names:
            parsed = parse_record_name(name)
            if parsed is not None:
                refs.append(SpillRef(key=name, created_at_ms=parsed[0], spill_id=parsed[1]))
        refs.sort(key=lambda r: (r.created_at_ms, r.spill_id))
        return refs

    def read(self, ref: SpillRef) -> SpillRecord | None:
        try:
            data = (self._dir / ref.key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot read {ref.key}: {exc}") from exc
        return SpillRecord.from_bytes(data, where=f"{self.description}/{ref.key}")

    def delete(self, ref: SpillRef) -> None:
        try:
            (self._dir / ref.key).unlink(missing_ok=True)
        except OSError as exc:
            raise SpillError(f"{self.description}: cannot delete {ref.key}: {exc}") from exc


def _sync_dir(directory: Path) -> None:
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
