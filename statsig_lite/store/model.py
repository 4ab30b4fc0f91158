"""Compiled, immutable spec objects: what the evaluator walks at check time.

Everything that depends on the payload format or on which official SDK is the reference has already been
decided when these objects are built (see ``dialect.py``); the evaluator reads plain fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

# Condition kinds (ints: the evaluator dispatches on them in the hot loop).
PUBLIC: Final = 0
VALUE: Final = 1
GATE: Final = 2
MULTI_GATE: Final = 3
UNSUPPORTED: Final = 4
ERROR: Final = 5
UNKNOWN_GATE: Final = 6


class EvalInput(Protocol):
    """What a value getter may read (the evaluator's context)."""

    user: Any
    now_ms: int
    target_app_id: str | None
    environment: Mapping[str, Any] | None


Getter = Callable[[EvalInput], object]
Predicate = Callable[[object], bool]


@dataclass(frozen=True, slots=True)
class Condition:
    kind: int
    get: Getter | None = None
    test: Predicate | None = None
    missing_fails: bool = False  # the condition fails without testing when the value is None
    gate: str = ""  # GATE / UNKNOWN_GATE: the nested gate
    gates: tuple[str, ...] = ()  # MULTI_GATE
    negate: bool = False  # fail_gate / multi_fail_gate
    record: bool = True  # append a secondary exposure for the nested gate
    analytical: bool = False  # nested non-segment gate (exposure sampling)
    side_effects: bool = True  # must run even after an earlier condition of the rule failed


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    conditions: tuple[Condition, ...]
    short_circuit: bool  # no condition has side effects: stop at the first failure
    pass_percentage: float
    hash_prefix: str  # "{spec salt}.{rule salt}."
    id_type: str | None
    return_value: Mapping[str, Any]
    gate_on_pass: bool
    gate_on_fail: bool
    group_name: str | None
    is_experiment_group: bool
    config_delegate: str | None
    sampling_rate: int | None


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    type: str  # "feature_gate" | "dynamic_config"
    entity: str
    id_type: str
    rules: tuple[Rule, ...]
    default_value: Mapping[str, Any]
    default_gate: bool
    no_match_rule_id: str  # "default" or "disabled"
    enabled: bool
    version: int | None
    writes_version: bool  # whether evaluating this spec replaces the version reported in exposures
    explicit_parameters: tuple[str, ...]
    has_shared_params: bool
    is_active: bool
    target_app_ids: frozenset[str] | None
    forward_all_exposures: bool
    id_type_raw: object = None
    unsupported: bool = False  # uses a condition type or operator this SDK does not know
    reports_own_version: bool = False  # exposures carry this spec's version, not a delegate's


@dataclass(frozen=True, slots=True)
class ConfigMapping:
    """`overrides` / `override_rules` redirects (protocol doc 3.14)."""

    new_config_name: str
    rules: tuple[tuple[Rule, int], ...]  # (rule, start_time ms)


@dataclass(frozen=True, slots=True)
class IdList:
    name: str
    ids: frozenset[str]
    file_id: str = ""
    creation_time: int = 0
    read_bytes: int = 0
    url: str = ""


@dataclass(frozen=True)
class Dialect:
    """How one official SDK behaves where the two disagree. Chosen by the payload format."""

    name: str
    reason_source: str  # how this SDK names "rules were given to it" in exposure reasons
    dedupe_exposures: bool  # legacy cleans secondary exposures after each evaluation
    error_on_operator_failure: bool
    reset_on_unknown_nested_gate: bool
    gcir_default_hash: str
    gcir_merge_layer_defaults: bool
    gcir_passed_for_experiments: bool
    gcir_layer_id_type: bool
    gcir_generator: bool
    dedupe_gcir_exposures: bool = True
    log_missing_user_id: bool = False  # core logs "userID": "" for a user without one
    null_undelegated_exposures: bool = False  # core sends null for a layer that delegated nowhere
    sampling_production_only: bool = True  # legacy samples exposures only when the SDK tier is production


@dataclass(frozen=True)
class Snapshot:
    """One immutable, indexed, precompiled download_config_specs payload."""

    dialect: Dialect
    time: int
    gates: Mapping[str, Spec]
    configs: Mapping[str, Spec]
    layers: Mapping[str, Spec]
    unsupported: frozenset[str]  # names removed at load time (legacy dialect)
    experiment_to_layer: Mapping[str, str]
    default_environment: str | None
    app_id: str | None
    sdk_configs: Mapping[str, Any]
    session_replay_info: Mapping[str, Any] | None
    sdk_keys_to_app_ids: Mapping[str, str]
    hashed_sdk_keys_to_app_ids: Mapping[str, str]
    id_list_names: frozenset[str]
    config_mappings: Mapping[str, tuple[ConfigMapping, ...]]
    hashed_sdk_key_used: str | None
    checksum: str | None
    param_stores: Mapping[str, Any] = field(default_factory=dict)
    id_lists: IdListHolder = field(compare=False, repr=False, default_factory=lambda: IdListHolder())

    @property
    def format(self) -> str:
        return "v2" if self.dialect.name == "core" else "v1"


class IdListHolder:
    """The ID lists a snapshot's segment conditions read. Swapped as a whole when lists change."""

    __slots__ = ("lists",)

    def __init__(self, lists: Mapping[str, IdList] | None = None) -> None:
        self.lists: Mapping[str, IdList] = dict(lists or {})

    def ids(self, name: str) -> frozenset[str] | None:
        entry = self.lists.get(name)
        return None if entry is None else entry.ids

    def replace(self, lists: Mapping[str, IdList]) -> None:
        self.lists = dict(lists)
