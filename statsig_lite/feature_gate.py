"""Official module path `statsig.feature_gate`: re-exports (migrating code imports from here)."""

from .results import FeatureGate

__all__ = ["FeatureGate"]
