"""Official module path `statsig.initialize_details`: re-exports (migrating code imports from here)."""

from .details import InitializeDetails

__all__ = ["InitializeDetails"]
