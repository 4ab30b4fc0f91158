"""Official module path `statsig.statsig_errors`: re-exports (migrating code imports from here)."""

from .errors import StatsigNameError, StatsigRuntimeError, StatsigTimeoutError, StatsigValueError

__all__ = ["StatsigNameError", "StatsigRuntimeError", "StatsigTimeoutError", "StatsigValueError"]
