"""Result objects returned by the public API (legacy `statsig` names and accessors)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")


class DataSource(str, Enum):
    """Where the rules behind an evaluation came from (legacy values, plus ours)."""

    DATASTORE = "DataAdapter"
    BOOTSTRAP = "Bootstrap"
    NETWORK = "Network"
    STATSIG_NETWORK = "StatsigNetwork"
    UNINITIALIZED = "Uninitialized"
    BUNDLED = "Bundled"
    FILE = "File"
    S3 = "S3"
    DYNAMODB = "DynamoDB"


class EvaluationReason(str, Enum):
    local_override = "LocalOverride"
    unrecognized = "Unrecognized"
    unsupported = "Unsupported"
    error = "error"
    none = "none"


@dataclass(frozen=True, slots=True)
class EvaluationDetails:
    """How an evaluation was made: rules source, reason, and the times involved (epoch ms)."""

    config_sync_time: int
    init_time: int
    source: DataSource
    reason: EvaluationReason = EvaluationReason.none
    server_time: int = 0

    def detailed_reason(self) -> str:
        if self.reason is EvaluationReason.none:
            return self.source.value
        return f"{self.source.value}:{self.reason.value}"

    @property
    def lcut(self) -> int:
        return self.config_sync_time


@dataclass(frozen=True, slots=True)
class FeatureGate:
    value: bool
    name: str
    rule_id: str
    id_type: str = ""
    group_name: str | None = None
    evaluation_details: EvaluationDetails | None = None
    secondary_exposures: Sequence[Mapping[str, str]] = ()

    def get_value(self) -> bool:
        return self.value

    def get_name(self) -> str:
        return self.name

    def get_evaluation_details(self) -> EvaluationDetails | None:
        return self.evaluation_details


def _typed(value: Mapping[str, Any], key: str, default: T | None) -> Any:
    res = value.get(key, default)
    if default is None:
        return res
    if not isinstance(default, type(res)):
        return default
    return res


@dataclass(frozen=True, slots=True)
class DynamicConfig:
    """A dynamic config or experiment. `get`/`get_typed` behave as in the legacy SDK."""

    value: Mapping[str, Any]
    name: str
    rule_id: str
    group_name: str | None = None
    evaluation_details: EvaluationDetails | None = None
    secondary_exposures: Sequence[Mapping[str, str]] = ()
    id_type: str = ""
    passed_rule: bool = False
    version: int | None = None
    is_user_in_experiment: bool = False
    is_experiment_active: bool = False
    user: Any = None

    def get(self, key: str, default: Any = None) -> Any:
        return self.value.get(key, default)

    def get_typed(self, key: str, default: Any = None) -> Any:
        return _typed(self.value, key, default)

    def get_value(self) -> Mapping[str, Any]:
        return self.value

    def get_name(self) -> str:
        return self.name

    def get_evaluation_details(self) -> EvaluationDetails | None:
        return self.evaluation_details

    def get_user(self) -> Any:
        return self.user


@dataclass(frozen=True, slots=True)
class Layer:
    """A layer. Reading a parameter with `get`/`get_typed` logs that parameter's exposure."""

    name: str
    rule_id: str
    _value: Mapping[str, Any] = field(default_factory=dict, repr=False)
    group_name: str | None = None
    allocated_experiment: str | None = None
    evaluation_details: EvaluationDetails | None = None
    _log_parameter: Callable[[Layer, str], None] | None = field(default=None, repr=False, compare=False)
    id_type: str = ""
    explicit_parameters: tuple[str, ...] = ()
    secondary_exposures: Sequence[Mapping[str, str]] = ()
    undelegated_secondary_exposures: Sequence[Mapping[str, str]] = ()
    is_user_in_experiment: bool = False
    is_experiment_active: bool = False

    @property
    def value(self) -> Mapping[str, Any]:
        return self._value

    def get(self, key: str, default: Any = None) -> Any:
        result = self._value.get(key)
        if result is None:
            return default
        if self._log_parameter is not None:
            self._log_parameter(self, key)
        return result

    def get_typed(self, key: str, default: Any = None) -> Any:
        result = self._value.get(key)
        if default is not None and not isinstance(default, type(result)):
            return default
        if result is None:
            return default
        if self._log_parameter is not None:
            self._log_parameter(self, key)
        return result

    def get_values(self) -> Mapping[str, Any]:
        return self._value

    def get_name(self) -> str:
        return self.name

    def get_evaluation_details(self) -> EvaluationDetails | None:
        return self.evaluation_details


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What one flush did: events delivered, kept in memory for a later flush, and spilled durably."""

    sent: int = 0
    kept: int = 0
    spilled: int = 0
    replayed: int = 0
    errors: tuple[str, ...] = ()
    # Events Statsig refused with a final 4xx (they went to the spill store, or were dropped without one),
    # and events dropped without being delivered or spilled (each drop is also logged at ERROR).
    rejected: int = 0
    dropped: int = 0
