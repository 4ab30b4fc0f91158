"""Result objects returned by the public API (legacy `statsig` names and accessors).

Plain classes with `__slots__` rather than dataclasses: they are built on every check and defined at
every cold start, and a hand-written `__init__` is the cheapest at both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import Enum

from ._record import Record

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any


class DataSource(str, Enum):
    """Where the rules behind an evaluation came from (legacy values, plus ours)."""

    DATASTORE = "DataAdapter"
    BOOTSTRAP = "Bootstrap"
    NETWORK = "Network"
    STATSIG_NETWORK = "StatsigNetwork"
    UNINITIALIZED = "Uninitialized"
    UA_NOT_LOADED = "UAParserNotLoaded"
    COUNTRY_NOT_LOADED = "CountryLookupNotLoaded"
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


_SOURCE_TEXT = {source: source.value for source in DataSource}  # Enum.value is a property: slow per event


def reason_text(source: DataSource, reason: str) -> str:
    """The `reason` an exposure carries: where the rules came from, then why the evaluation fell back, if
    it did (`reason` is "" or an EvaluationReason value)."""
    text = _SOURCE_TEXT[source]
    return f"{text}:{reason}" if reason else text


class EvaluationDetails(Record):
    """How an evaluation was made: rules source, reason, and the times involved (epoch ms)."""

    __slots__ = ("config_sync_time", "init_time", "reason", "server_time", "source")

    def __init__(
        self,
        config_sync_time: int,
        init_time: int,
        source: DataSource,
        reason: EvaluationReason = EvaluationReason.none,
        server_time: int = 0,
    ) -> None:
        self.config_sync_time = config_sync_time
        self.init_time = init_time
        self.source = source
        self.reason = reason
        self.server_time = server_time

    def detailed_reason(self) -> str:
        return reason_text(self.source, "" if self.reason is EvaluationReason.none else self.reason.value)

    @property
    def lcut(self) -> int:
        return self.config_sync_time


class FeatureGate(Record):
    """A gate's value and how it was decided. Positional order as in the legacy SDK (`data`, `name`,
    `rule`, `id_type`, ...); ours (`secondary_exposures`) come after."""

    __slots__ = (
        "evaluation_details", "group_name", "id_type", "name", "override_config_name", "rule_id",
        "secondary_exposures", "value",
    )

    def __init__(
        self,
        data: bool | None,
        name: str | None,
        rule: str | None,
        id_type: str | None = "",
        group_name: str | None = None,
        evaluation_details: EvaluationDetails | None = None,
        override_config_name: str | None = None,
        secondary_exposures: Sequence[Mapping[str, str]] = (),
    ) -> None:
        self.value = False if data is None else data
        self.name = "" if name is None else name
        self.rule_id = "" if rule is None else rule
        self.id_type = "" if id_type is None else id_type
        self.group_name = group_name
        self.evaluation_details = evaluation_details
        self.override_config_name = override_config_name
        self.secondary_exposures = secondary_exposures

    def get_value(self) -> bool:
        return self.value

    def get_name(self) -> str:
        return self.name

    def get_evaluation_details(self) -> EvaluationDetails | None:
        return self.evaluation_details


class DynamicConfig(Record):
    """A dynamic config or experiment. `get`/`get_typed` behave as in the legacy SDK; positional order as
    there (`data`, `name`, `rule`, `user`, ...), ours (`id_type`, `is_user_in_experiment`, ...) after."""

    __slots__ = (
        "evaluation_details", "group_name", "id_type", "is_experiment_active", "is_user_in_experiment", "name",
        "passed_rule", "rule_id", "secondary_exposures", "user", "value", "version",
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None,
        name: str | None,
        rule: str | None,
        user: Any = None,
        group_name: str | None = None,
        evaluation_details: EvaluationDetails | None = None,
        secondary_exposures: Sequence[Mapping[str, str]] | None = None,
        passed_rule: bool | None = None,
        version: int | None = None,
        id_type: str = "",
        is_user_in_experiment: bool = False,
        is_experiment_active: bool = False,
    ) -> None:
        self.value = {} if data is None else data
        self.name = "" if name is None else name
        self.rule_id = "" if rule is None else rule
        self.user = user
        self.group_name = group_name
        self.evaluation_details = (
            EvaluationDetails(0, 0, DataSource.UNINITIALIZED) if evaluation_details is None else evaluation_details
        )
        self.secondary_exposures = [] if secondary_exposures is None else secondary_exposures
        self.passed_rule = passed_rule
        self.version = version
        self.id_type = id_type
        self.is_user_in_experiment = is_user_in_experiment
        self.is_experiment_active = is_experiment_active

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self.value.get(key, default)
        except Exception:  # an unhashable or hostile key finds nothing
            return default

    def get_typed(self, key: str, default: Any = None) -> Any:
        res = self.get(key, default)
        if default is None:
            return res
        return res if isinstance(default, type(res)) else default

    def get_value(self) -> Mapping[str, Any]:
        return self.value

    def get_name(self) -> str:
        return self.name

    def get_evaluation_details(self) -> EvaluationDetails | None:
        return self.evaluation_details

    def get_user(self) -> Any:
        return self.user


class Layer(Record):
    """A layer. Reading a parameter with `get`/`get_typed` logs that parameter's exposure."""

    __slots__ = (
        "_log_parameter", "_value", "allocated_experiment", "evaluation_details", "explicit_parameters", "group_name",
        "id_type", "is_experiment_active", "is_user_in_experiment", "name", "rule_id", "secondary_exposures",
        "undelegated_secondary_exposures",
    )

    def __init__(
        self,
        name: str,
        rule_id: str,
        _value: Mapping[str, Any] | None = None,
        group_name: str | None = None,
        allocated_experiment: str | None = None,
        evaluation_details: EvaluationDetails | None = None,
        _log_parameter: Callable[[Layer, str], None] | None = None,
        id_type: str = "",
        explicit_parameters: tuple[str, ...] = (),
        secondary_exposures: Sequence[Mapping[str, str]] = (),
        undelegated_secondary_exposures: Sequence[Mapping[str, str]] = (),
        is_user_in_experiment: bool = False,
        is_experiment_active: bool = False,
    ) -> None:
        self.name = name
        self.rule_id = rule_id
        self._value = {} if _value is None else _value
        self.group_name = group_name
        self.allocated_experiment = allocated_experiment
        self.evaluation_details = evaluation_details
        self._log_parameter = _log_parameter
        self.id_type = id_type
        self.explicit_parameters = explicit_parameters
        self.secondary_exposures = secondary_exposures
        self.undelegated_secondary_exposures = undelegated_secondary_exposures
        self.is_user_in_experiment = is_user_in_experiment
        self.is_experiment_active = is_experiment_active

    @property
    def value(self) -> Mapping[str, Any]:
        return self._value

    def get(self, key: str, default: Any = None) -> Any:
        result = _lookup(self._value, key)
        if result is None:
            return default
        if self._log_parameter is not None:
            self._log_parameter(self, key)
        return result

    def get_typed(self, key: str, default: Any = None) -> Any:
        result = _lookup(self._value, key)
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


class FlushResult(Record):
    """What one flush did: events delivered, kept in memory for a later flush, and spilled durably.

    `rejected`: events Statsig refused with a final 4xx (isolated by bisecting their batch);
    `quarantined`: events moved to the quarantine (refused ones, and batches that kept failing while others
    went through); `dropped`: events neither delivered nor kept anywhere (each drop is also logged at ERROR);
    `internal_errors`: unexpected errors caught at the SDK's boundary (logged once each, events kept)."""

    __slots__ = (
        "dropped", "errors", "internal_errors", "kept", "quarantined", "rejected", "replayed", "sent", "spilled"
    )

    def __init__(
        self,
        sent: int = 0,
        kept: int = 0,
        spilled: int = 0,
        replayed: int = 0,
        errors: tuple[str, ...] = (),
        rejected: int = 0,
        dropped: int = 0,
        quarantined: int = 0,
        internal_errors: int = 0,
    ) -> None:
        self.sent = sent
        self.kept = kept
        self.spilled = spilled
        self.replayed = replayed
        self.errors = errors
        self.rejected = rejected
        self.dropped = dropped
        self.quarantined = quarantined
        self.internal_errors = internal_errors


def _lookup(value: Mapping[str, Any], key: object) -> Any:
    try:
        return value.get(key)  # type: ignore[call-overload]
    except Exception:  # an unhashable or hostile key finds nothing
        return None
