"""A snapshot shipped with the function's code (``bundled``), and the package's example (``example``).

``bundled`` is the function's own snapshot, nothing else:

1. the ``path`` given to ``BundledSource(path)``;
2. else ``$LAMBDA_TASK_ROOT/statsig_snapshot.json`` (the root of the function's code in Lambda);
3. else, outside Lambda (no ``LAMBDA_TASK_ROOT``), ``./statsig_snapshot.json`` in the working directory.

If that file is missing, the source fails with an error saying where it looked: it never falls back to
the example, whose rules are not anyone's production rules. Ship the file by putting
``statsig_snapshot.json`` (our snapshot document or a raw download_config_specs payload, optionally
gzip'd) next to your handler (``python -m statsig_lite pull`` writes one).

``example`` is the example project shipped in the package (``statsig_lite/data/example_snapshot.json``):
only the demo and tests ask for it, by that name.

Nothing is read when a source is built. The version is the sha256 of the file's bytes; files do not
change in a deployed function, so a freshness check costs one ``stat`` (see `file.SnapshotFile`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import SpecSourceError
from .base import Fetched
from .file import SnapshotFile, snapshot_bytes

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from importlib.abc import Traversable

__all__ = ["BUNDLED_FILE_NAME", "BundledSource", "ExampleSource"]

BUNDLED_FILE_NAME = "statsig_snapshot.json"
_LAMBDA_TASK_ROOT = "LAMBDA_TASK_ROOT"  # set by the Lambda runtime, not by users
_EXAMPLE = "data/example_snapshot.json"


class BundledSource:
    """The function's own snapshot file (see the module docstring for where it is looked up)."""

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

    def __repr__(self) -> str:
        return f"BundledSource({str(self._file.path)!r})" if self._file else "BundledSource()"

    def location(self) -> str:
        """Where the snapshot is read from."""
        return str(self._resolve().path)

    def fetch(self, timeout_s: float) -> Fetched:
        """Read the bundled snapshot (local: `timeout_s` is not used)."""
        return self._resolve().read()

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        return self._resolve().read_if_changed(version)

    def _resolve(self) -> SnapshotFile:
        if self._file is None:
            if self._path is not None:
                path = self._path
            else:
                env = os.environ if self._environ is None else self._environ
                task_root = env.get(_LAMBDA_TASK_ROOT)
                root = Path(task_root) if task_root else self._cwd or Path.cwd()
                path = root / BUNDLED_FILE_NAME
            # SnapshotFile.read says "file not found: <path>"; the hint says how to make one
            self._file = _BundledFile(path, f"bundled:{path}")
        return self._file


class _BundledFile(SnapshotFile):
    def read(self) -> Fetched:
        try:
            return super().read()
        except SpecSourceError as exc:
            if exc.reason.startswith("file not found"):
                raise SpecSourceError(
                    self.source,
                    f"{exc.reason} (no bundled snapshot: ship one next to the handler, e.g. with "
                    f"`python -m statsig_lite pull --out {BUNDLED_FILE_NAME}`)",
                ) from exc
            raise


class ExampleSource:
    """The package's example project: for the demo and tests only, chosen by the name ``example``."""

    name = "example"

    def __init__(self) -> None:
        self._file: SnapshotFile | None = None
        self._resource: Traversable | None = None
        self._version: str | None = None

    def __repr__(self) -> str:
        return "ExampleSource()"

    def fetch(self, timeout_s: float) -> Fetched:
        self._resolve()
        if self._file is not None:
            return self._file.read()
        return self._read_resource()

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        self._resolve()
        if self._file is not None:
            return self._file.read_if_changed(version)
        if version is not None and version == self._version:  # inside a zip: cannot change
            return None
        fetched = self._read_resource()
        return None if fetched.version == version else fetched

    def _resolve(self) -> None:
        if self._file is not None or self._resource is not None:
            return
        on_disk = Path(__file__).resolve().parent.parent / _EXAMPLE
        if on_disk.is_file():  # the usual case (site-packages, a layer): no importlib.resources to load
            self._file = SnapshotFile(on_disk, f"example:{on_disk}")
            return
        from importlib import resources  # a zipped install

        self._resource = resources.files("statsig_lite").joinpath(_EXAMPLE)

    def _read_resource(self) -> Fetched:
        assert self._resource is not None
        where = f"example:statsig_lite/{_EXAMPLE}"
        try:
            data = self._resource.read_bytes()
        except OSError as exc:
            raise SpecSourceError(where, f"cannot read the package's example snapshot: {exc}") from exc
        self._version = hashlib.sha256(data).hexdigest()
        return Fetched(payload=snapshot_bytes(data, where), version=self._version, source=where)
