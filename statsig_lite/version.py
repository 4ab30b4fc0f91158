"""Official module path `statsig.version`: re-exports (migrating code imports from here)."""

from .constants import SDK_VERSION

__version__ = SDK_VERSION  # statsig_lite's own version, not the legacy SDK's

__all__ = ["__version__"]
