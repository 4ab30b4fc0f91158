"""`ObservabilityClient` (legacy `statsig` name): accepted as `StatsigOptions(observability_client=...)`.

statsig_lite reports through `logging` and, on Lambda, Powertools metrics (STATSIG_METRICS_ENABLED); it
calls the client's `init` at initialize and `shutdown` at shutdown, and no metric method.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any


class ObservabilityClient:
    def init(self, *args: Any, **kwargs: Any) -> None:
        """Called once, at initialize."""

    def increment(self, metric_name: str, value: int = 1, tags: dict[str, Any] | None = None) -> None:
        """Add `value` to a counter."""

    def gauge(self, metric_name: str, value: float, tags: dict[str, Any] | None = None) -> None:
        """Set a gauge."""

    def distribution(self, metric_name: str, value: float, tags: dict[str, Any] | None = None) -> None:
        """Record one value of a distribution."""

    def should_enable_high_cardinality_for_this_tag(self, tag: str) -> bool:
        return False

    def shutdown(self) -> None:
        """Called by `shutdown()`."""
