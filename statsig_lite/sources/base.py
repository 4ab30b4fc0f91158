"""The one protocol every spec source implements: get the snapshot, and cheaply say whether it changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Fetched:
    """A snapshot document (our envelope or a raw download_config_specs payload) and its version."""

    payload: bytes
    version: str  # ETag, version attribute or content hash: equal versions mean equal payloads
    source: str  # where it came from, e.g. "s3://bucket/key", for initialization details and logs


class SpecSource(Protocol):
    name: str

    def fetch(self, timeout_s: float) -> Fetched:
        """The current snapshot. Raises SpecSourceError when it cannot be had."""
        ...

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        """None when the snapshot still has `version` (costing as little as the store allows)."""
        ...
