"""A snapshot file on the local filesystem (`file:///path`), and the file reading the bundled source shares.

The version is the sha256 of the file's bytes. A freshness check first compares the file's
(mtime, size, inode) with those of the last read: when they match and the caller holds the version read
then, the answer is "unchanged" without reading the file. A file whose bytes start with the gzip magic
number is decompressed (a JSON document cannot start with it).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

from ..errors import SpecSourceError
from ..store.validate import MAX_SNAPSHOT_BYTES
from .base import Fetched

__all__ = ["FileSource", "SnapshotFile", "snapshot_bytes"]

_GZIP_MAGIC = b"\x1f\x8b"


def snapshot_bytes(data: bytes, source: str) -> bytes:
    """`data` as a snapshot document: gunzipped if it is gzip; SpecSourceError if empty, corrupt gzip, or
    more than `MAX_SNAPSHOT_BYTES` once unzipped (a gzip bomb stops there, not at the memory limit)."""
    if data.startswith(_GZIP_MAGIC):
        parts: list[bytes] = []
        left, rest = MAX_SNAPSHOT_BYTES + 1, data
        while rest:  # one gzip member after another (gzip.decompress's reading, with a bound)
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            try:
                part = inflater.decompress(rest, left)
            except zlib.error as exc:
                raise SpecSourceError(source, f"corrupt gzip data: {exc}") from exc
            parts.append(part)
            left -= len(part)
            if left <= 0:
                raise SpecSourceError(source, f"unzips to more than {MAX_SNAPSHOT_BYTES} bytes")
            if not inflater.eof:
                raise SpecSourceError(source, "corrupt gzip data: truncated")
            rest = inflater.unused_data
        data = b"".join(parts)
    if not data.strip():
        raise SpecSourceError(source, "snapshot is empty")
    return data


class SnapshotFile:
    """One file read on demand; remembers what it read last to answer freshness checks with a stat."""

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.source = source
        self._stat_key: tuple[int, int, int] | None = None
        self._version: str | None = None

    def read(self) -> Fetched:
        try:
            with open(self.path, "rb") as handle:
                key = _stat_key(os.fstat(handle.fileno()))
                data = handle.read()
        except FileNotFoundError as exc:
            raise SpecSourceError(self.source, f"file not found: {self.path}") from exc
        except IsADirectoryError as exc:
            raise SpecSourceError(self.source, f"is a directory, not a file: {self.path}") from exc
        except OSError as exc:
            raise SpecSourceError(self.source, f"cannot read {self.path}: {exc.strerror or exc}") from exc
        version = hashlib.sha256(data).hexdigest()
        payload = snapshot_bytes(data, self.source)
        self._stat_key, self._version = key, version
        return Fetched(payload=payload, version=version, source=self.source)

    def unchanged(self, version: str | None) -> bool:
        """True when the caller holds what was read last and the file still looks the same (one stat)."""
        if version is None or version != self._version:
            return False
        try:
            return _stat_key(os.stat(self.path)) == self._stat_key
        except OSError:
            return False  # the read that follows raises the real error

    def read_if_changed(self, version: str | None) -> Fetched | None:
        if self.unchanged(version):
            return None
        fetched = self.read()
        return None if fetched.version == version else fetched


def _stat_key(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class FileSource:
    """A snapshot (our envelope or a raw download_config_specs payload) in a local file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        resolved = Path(path)
        self.path = resolved
        self.name = resolved.absolute().as_uri() if resolved.is_absolute() else f"file:{resolved}"
        self._file = SnapshotFile(resolved, self.name)

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r})"

    def fetch(self, timeout_s: float) -> Fetched:
        """Read the file (local: `timeout_s` is not used)."""
        return self._file.read()

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        return self._file.read_if_changed(version)
