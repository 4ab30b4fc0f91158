"""Official module path `statsig.statsig_event`: re-exports (migrating code imports from here)."""

from .user import StatsigEvent

__all__ = ["StatsigEvent"]
