"""Ordered fallback between spec sources (``s3://b/k,bundled``), and checks of a fetched payload.

`ChainSource.fetch` tries the sources in order and remembers which one served (`served_by`).
`fetch_if_changed` asks that source, with the version it gave; when it was a fallback, the preferred
sources are tried first with a full fetch, so a recovered S3 wins back over the bundled file. A failure of
the serving source during a freshness check is raised, not hidden behind a fallback: the client keeps the
rules it has, which are at least as new as anything a fallback would give.

Each source tried gets an equal share of the time left (at least `MIN_SHARE_S`), so a hanging source
cannot starve the fallbacks behind it.

Sources return bytes; the client validates them. `check_fetched` (cheap: JSON, envelope, ``time``) and
`load_fetched` (the full parse into a `Snapshot`) are the two checks; pass one as ``validate=`` to make
`fetch` skip a source whose payload is unusable (a truncated S3 object falls back to the bundled file).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._log import get_logger
from ..errors import SpecError, SpecFormatError, SpecSourceError
from ..store.envelope import load_envelope, split_snapshot
from ..store.model import Snapshot
from .base import Fetched, SpecSource

__all__ = ["MIN_SHARE_S", "ChainSource", "check_fetched", "load_fetched"]

logger = get_logger(__name__)

MIN_SHARE_S = 0.05


def check_fetched(fetched: Fetched) -> None:
    """Raise SpecFormatError unless the payload is a JSON snapshot (envelope or raw) with a numeric ``time``.

    Cheap next to `load_fetched`: it parses the JSON but compiles nothing.
    """
    dcs, _ = split_snapshot(fetched.payload)
    if dcs.get("has_updates") is False and "time" not in dcs:
        raise SpecFormatError("has_updates", "payload has no updates (nothing to load)")
    lcut = dcs.get("time")
    if isinstance(lcut, bool) or not isinstance(lcut, (int, float)):
        raise SpecFormatError("time", "missing or not a number")


def load_fetched(fetched: Fetched, *, global_custom: Mapping[str, Any] | None = None) -> Snapshot:
    """Parse and compile a fetched snapshot (with its ID lists when it is our envelope)."""
    return load_envelope(fetched.payload, global_custom=global_custom)


class ChainSource:
    """The first source that answers, in order; see the module docstring for freshness checks."""

    def __init__(
        self,
        sources: Sequence[SpecSource],
        *,
        validate: Callable[[Fetched], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not sources:
            raise ValueError("ChainSource needs at least one source")
        self.sources: tuple[SpecSource, ...] = tuple(sources)
        self.name = ",".join(source.name for source in self.sources)
        self.served_by: SpecSource | None = None
        self.last_errors: tuple[SpecSourceError, ...] = ()  # the failures of the last call, in order
        self._validate = validate
        self._clock = clock

    def __repr__(self) -> str:
        return f"ChainSource({list(self.sources)!r})"

    def fetch(self, timeout_s: float) -> Fetched:
        deadline = self._clock() + timeout_s
        errors: list[SpecSourceError] = []
        fetched = self._first_answer(range(len(self.sources)), deadline, errors)
        self.last_errors = tuple(errors)
        if fetched is None:
            detail = "; ".join(f"{e.source}: {e.reason}" for e in errors)
            raise SpecSourceError(self.name, f"every source failed ({detail})")
        return fetched

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        served = self._served_index()
        if served is None or version is None:
            return self.fetch(timeout_s)
        deadline = self._clock() + timeout_s
        errors: list[SpecSourceError] = []
        if served > 0:  # a fallback served: the preferred sources may be back
            fetched = self._first_answer(range(served), deadline, errors, extra_after=1)
            if fetched is not None:
                logger.info(
                    "statsig_lite: preferred spec source %s answers again",
                    fetched.source,
                    extra={"source": fetched.source},
                )
                self.last_errors = tuple(errors)
                return fetched
        self.last_errors = tuple(errors)
        return self.sources[served].fetch_if_changed(version, self._share(deadline, 1))

    def _served_index(self) -> int | None:
        for index, source in enumerate(self.sources):
            if source is self.served_by:
                return index
        return None

    def _share(self, deadline: float, sources_left: int) -> float:
        return max((deadline - self._clock()) / sources_left, MIN_SHARE_S)

    def _first_answer(
        self, indexes: range, deadline: float, errors: list[SpecSourceError], extra_after: int = 0
    ) -> Fetched | None:
        """Fetch from each index in turn until one answers (and validates); record the failures."""
        for position, index in enumerate(indexes):
            source = self.sources[index]
            share = self._share(deadline, len(indexes) - position + extra_after)
            try:
                fetched = source.fetch(share)
                if self._validate is not None:
                    self._validate(fetched)
            except SpecSourceError as exc:
                errors.append(exc)
            except SpecError as exc:  # validate rejected the payload
                errors.append(SpecSourceError(source.name, f"unusable snapshot: {exc}"))
            else:
                if errors:
                    logger.warning(
                        "statsig_lite: spec source fallback: %s served after %d failed (%s)",
                        source.name,
                        len(errors),
                        "; ".join(str(e) for e in errors),
                        extra={"source": source.name},
                    )
                self.served_by = source
                return fetched
        return None
