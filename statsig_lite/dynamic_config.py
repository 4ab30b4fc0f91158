"""Official module path `statsig.dynamic_config`: re-exports (migrating code imports from here)."""

from .results import DynamicConfig

__all__ = ["DynamicConfig"]
