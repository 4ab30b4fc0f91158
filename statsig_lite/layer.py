"""Official module path `statsig.layer`: re-exports (migrating code imports from here)."""

from .results import Layer

__all__ = ["Layer"]
