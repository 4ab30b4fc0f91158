"""A snapshot shipped with the code: in the function's deployment package, else the package's example.

Lookup, on the first fetch (nothing is read when the source is built), first match wins:

1. the ``path`` given to ``BundledSource(path)``;
2. ``$LAMBDA_TASK_ROOT/statsig_snapshot.json`` (the root of the function's code in Lambda);
3. ``./statsig_snapshot.json`` (relative to the working directory: tests, containers, local runs);
4. ``statsig_lite/data/example_snapshot.json`` inside this package (via importlib.resources).

Ship the file by putting ``statsig_snapshot.json`` (our snapshot document or a raw download_config_specs
payload, optionally gzip'd) next to your handler.
The version is the sha256 of the file's bytes; files do not change in a deployed function, so a freshness
check costs one ``stat`` (see `file.SnapshotFile`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SpecSourceError
from .base import Fetched
from .file import SnapshotFile, snapshot_bytes

if TYPE_CHECKING:
    from importlib.abc import Traversable

__all__ = ["BUNDLED_FILE_NAME", "BundledSource"]

BUNDLED_FILE_NAME = "statsig_snapshot.json"
_LAMBDA_TASK_ROOT = "LAMBDA_TASK_ROOT"  # set by the Lambda runtime, not by users
_PACKAGE_DEFAULT = "data/example_snapshot.json"


class BundledSource:
    """The snapshot shipped with the code (see the module docstring for where it is looked up)."""

    name = "bundled"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self._path = Path(path) if path is not None else None
        self._environ = environ
        self._cwd = Path(cwd) if cwd is not None else None
        self._file: SnapshotFile | None = None
        self._resource: Traversable | None = None
        self._resource_version: str | None = None

    def __repr__(self) -> str:
        return f"BundledSource({self.location()!r})" if self._file or self._resource else "BundledSource()"

    def location(self) -> str:
        """Where the snapshot is read from (resolves the lookup on first use)."""
        self._resolve()
        if self._file is not None:
            return str(self._file.path)
        return f"statsig_lite/{_PACKAGE_DEFAULT}"

    def fetch(self, timeout_s: float) -> Fetched:
        """Read the bundled snapshot (local: `timeout_s` is not used)."""
        self._resolve()
        if self._file is not None:
            return self._file.read()
        return self._read_resource()

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        self._resolve()
        if self._file is not None:
            return self._file.read_if_changed(version)
        # A resource inside a zip or wheel cannot change while the process runs.
        if version is not None and version == self._resource_version:
            return None
        fetched = self._read_resource()
        return None if fetched.version == version else fetched

    def _resolve(self) -> None:
        if self._file is not None or self._resource is not None:
            return
        path = self._path or self._deployed_file()
        if path is not None:
            self._file = SnapshotFile(path, f"bundled:{path}")
            return
        on_disk = Path(__file__).resolve().parent.parent / _PACKAGE_DEFAULT
        if on_disk.is_file():  # the usual case (a layer or site-packages): no importlib.resources to load
            self._file = SnapshotFile(on_disk, f"bundled:{on_disk}")
            return
        from importlib import resources  # a zipped install

        resource = resources.files("statsig_lite").joinpath(_PACKAGE_DEFAULT)
        if isinstance(resource, Path):  # an installed package on disk: use the stat-cached reader
            self._file = SnapshotFile(resource, f"bundled:{resource}")
        else:
            self._resource = resource

    def _deployed_file(self) -> Path | None:
        env = os.environ if self._environ is None else self._environ
        candidates: list[Path] = []
        task_root = env.get(_LAMBDA_TASK_ROOT)
        if task_root:
            candidates.append(Path(task_root) / BUNDLED_FILE_NAME)
        candidates.append((self._cwd or Path.cwd()) / BUNDLED_FILE_NAME)
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        return None

    def _read_resource(self) -> Fetched:
        assert self._resource is not None
        where = f"bundled:statsig_lite/{_PACKAGE_DEFAULT}"
        try:
            data = self._resource.read_bytes()
        except OSError as exc:
            raise SpecSourceError(where, f"cannot read the package's example snapshot: {exc}") from exc
        version = hashlib.sha256(data).hexdigest()
        self._resource_version = version
        return Fetched(payload=snapshot_bytes(data, where), version=version, source=where)
