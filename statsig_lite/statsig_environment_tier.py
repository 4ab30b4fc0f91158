"""Official module path `statsig.statsig_environment_tier`: re-exports (migrating code imports from here)."""

from .options import StatsigEnvironmentTier

__all__ = ["StatsigEnvironmentTier"]
