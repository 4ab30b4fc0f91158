"""Official module path `statsig.evaluation_details`: re-exports (migrating code imports from here)."""

from .results import DataSource, EvaluationDetails, EvaluationReason

__all__ = ["DataSource", "EvaluationDetails", "EvaluationReason"]
