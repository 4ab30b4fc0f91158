"""Buffered events between the client and the sinks.

The client hands over finished wire-format events; delivery happens only when the caller flushes.
"""

from __future__ import annotations

from collections.abc import Mapping

from .results import FlushResult


class EventPipeline:
    """In-memory buffer of wire-format events. Delivery is wired in by the events stage."""

    def __init__(self, max_events: int) -> None:
        self._events: list[Mapping[str, object]] = []
        self._max_events = max_events

    def enqueue(self, event: Mapping[str, object]) -> None:
        self._events.append(event)

    def pending(self) -> list[Mapping[str, object]]:
        return list(self._events)

    def flush(self, timeout_s: float | None = None) -> FlushResult:
        return FlushResult(sent=0, kept=len(self._events), spilled=0)

    def shutdown(self, timeout_s: float | None = None) -> FlushResult:
        return self.flush(timeout_s)
