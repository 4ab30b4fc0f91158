"""Official module path `statsig.utils`: re-exports (migrating code imports from here)."""

from .details import HashingAlgorithm

__all__ = ["HashingAlgorithm"]
