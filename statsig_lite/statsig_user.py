"""Official module path `statsig.statsig_user`: re-exports (migrating code imports from here)."""

from .user import StatsigUser

__all__ = ["StatsigUser"]
