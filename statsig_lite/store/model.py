"""Compiled, immutable spec objects: what the evaluator walks at check time.

Everything that depends on the payload format or on which official SDK is the reference has already been
decided when these objects are built (see ``compile.py``); the evaluator reads plain fields. They are plain
classes with ``__slots__``: cheap to define at cold start and to build by the thousand when compiling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .._protocol import Protocol

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from collections.abc import Set as AbstractSet
    from typing import Any, Final

# Condition kinds (ints: the evaluator dispatches on them in the hot loop).
PUBLIC: Final = 0
VALUE: Final = 1
GATE: Final = 2
MULTI_GATE: Final = 3
UNSUPPORTED: Final = 4
ERROR: Final = 5
UNKNOWN_GATE: Final = 6

ANALYTICAL_CONTEXT: Final = 1
ANALYTICAL_RESULT: Final = 2
ANALYTICAL_SEGMENT: Final = 3  # legacy: a segment moves the flag like ANALYTICAL_CONTEXT but marks nothing


class EvalInput(Protocol):
    """What a value getter may read (the evaluator's context)."""

    user: Any
    target_app_id: str | None
    environment: Mapping[str, Any] | None
    lookups_off: int  # LOOKUP_UA | LOOKUP_COUNTRY: options disable_ua_parser / disable_country_lookup
    lookup_missed: str  # the details source a disabled lookup reports ("UAParserNotLoaded", ...)

    @property
    def now_ms(self) -> int: ...


Getter = Callable[[EvalInput], object]
Predicate = Callable[[object], bool]


class Condition:
    """One compiled condition."""

    __slots__ = (
        "analytical",
        "first_in_rule",
        "gate",
        "gates",
        "get",
        "kind",
        "negate",
        "probe",
        "record",
        "side_effects",
        "test",
    )

    def __init__(
        self,
        *,
        kind: int,
        get: Getter | None = None,
        test: Predicate | None = None,
        gate: str = "",
        gates: tuple[str, ...] = (),
        negate: bool = False,
        record: bool = True,
        analytical: int = 0,
        side_effects: bool = True,
        first_in_rule: bool = False,
        probe: tuple[Getter, Predicate] | None = None,
    ) -> None:
        self.kind = kind
        self.get = get
        self.test = test
        self.gate = gate  # GATE / UNKNOWN_GATE: the nested gate
        self.gates = gates  # MULTI_GATE
        self.negate = negate  # fail_gate / multi_fail_gate
        self.record = record  # append a secondary exposure for the nested gate
        # a nested non-segment gate whose exposure may be analytical (exposure sampling): ANALYTICAL_CONTEXT
        # (legacy: the sampling rate of the rule started last, anywhere) or ANALYTICAL_RESULT (core: the
        # nested gate's deciding rule)
        self.analytical = analytical
        self.first_in_rule = first_in_rule  # legacy: the flag before it comes from the rule before
        self.side_effects = side_effects  # must run even after an earlier condition of the rule failed
        # legacy: what it still does once an earlier condition of its rule failed, when cheaper than itself:
        # raise where it would raise, record a missed lookup (its answer no longer matters), as a (getter,
        # predicate) pair whose predicate ignores what the getter answers. None: itself
        self.probe = probe


class Rule:
    """One compiled rule."""

    __slots__ = (
        "by_user_id",
        "checks",
        "conditions",
        "config_delegate",
        "finalizes_after_delegate",
        "gate_on_pass",
        "group_name",
        "hash_prefix",
        "id",
        "id_type",
        "is_experiment_group",
        "pass_threshold",
        "return_value",
        "sampling_rate",
        "short_circuit",
        "single_get",
        "single_test",
        "steps",
    )

    def __init__(
        self,
        *,
        id: str,
        conditions: tuple[Condition, ...],
        short_circuit: bool,
        pass_percentage: float,
        hash_prefix: str,
        id_type: str | None,
        return_value: Mapping[str, Any],
        gate_on_pass: bool,
        group_name: str | None,
        is_experiment_group: bool,
        config_delegate: str | None,
        sampling_rate: object,  # an int or None; any JSON value in a legacy payload (Dialect.sampling_any_rate)
        finalizes_after_delegate: bool = False,
    ) -> None:
        self.id = id
        self.conditions = conditions
        self.short_circuit = short_circuit  # no condition has side effects: stop at the first failure
        self.hash_prefix = hash_prefix  # "{spec salt}.{rule salt}."
        self.id_type = id_type
        self.return_value = return_value
        self.gate_on_pass = gate_on_pass  # the gate value when the rule matches and passes
        self.group_name = group_name
        self.is_experiment_group = is_experiment_group
        self.config_delegate = config_delegate
        self.sampling_rate = sampling_rate
        # core: after its delegate, the layer's own rule sets the sampling rate and forwardAllExposures again
        self.finalizes_after_delegate = finalizes_after_delegate
        # derived for the evaluator's hot loop
        self.checks = _value_checks(conditions)
        self.single_get, self.single_test = _single(self.checks)
        self.steps = _steps(conditions, self.checks, short_circuit)
        self.pass_threshold = pass_percentage * 100  # against the unit's hash % 10000
        self.by_user_id = id_type is None or id_type.lower() == "userid"

    def conditions_settled(self) -> None:
        """Its conditions were placeholders when it was built (compile.Compiler.defer_conditions) and are
        final now: derive again what comes from them."""
        self.checks = _value_checks(self.conditions)
        self.single_get, self.single_test = _single(self.checks)
        self.steps = _steps(self.conditions, self.checks, self.short_circuit)


def _steps(
    conditions: tuple[Condition, ...], checks: tuple[tuple[Getter, Predicate], ...] | None, short_circuit: bool
) -> tuple[tuple[Getter, Predicate, tuple[tuple[Getter, Predicate], ...]], ...] | None:
    """A rule of value tests that may not stop at its first failed test (legacy: a later test may raise): its
    (getter, predicate, rest) triples, `rest` the tests after this one that must still run once this one
    failed, those with side effects. The ones without can be skipped: their answer no longer matters."""
    if checks is None or short_circuit or len(checks) < 2:
        return None  # a rule of one test never reads them (Rule.single_test)
    tests = [c for c in conditions if c.kind != PUBLIC]
    # the pairs of `checks` and the conditions' probe pairs themselves: a rule holds no new pair
    after = [check if c.probe is None else c.probe for c, check in zip(tests, checks, strict=True)]
    return tuple(
        (get, test, tuple(pair for c, pair in zip(tests[i + 1:], after[i + 1:], strict=True) if c.side_effects))
        for i, (get, test) in enumerate(checks)
    )


def _single(checks: tuple[tuple[Getter, Predicate], ...] | None) -> tuple[Getter | None, Predicate | None]:
    """The getter and predicate of a rule of exactly one value test (the most common rule), else Nones."""
    return checks[0] if checks is not None and len(checks) == 1 else (None, None)


def _value_checks(conditions: tuple[Condition, ...]) -> tuple[tuple[Getter, Predicate], ...] | None:
    """(getter, predicate) pairs when every condition is a plain value test (public ones always pass and
    need no pair), else None."""
    checks = []
    for c in conditions:
        if c.kind == PUBLIC:
            continue
        if c.kind != VALUE or c.get is None or c.test is None:
            return None
        checks.append((c.get, c.test))
    return tuple(checks)


class Spec:
    """A compiled gate, config, experiment, layer, segment or holdout."""

    __slots__ = (
        "cmab",
        "default_gate",
        "default_value",
        "enabled",
        "entity",
        "explicit_parameters",
        "forward_all_exposures",
        "has_shared_params",
        "id_type",
        "is_active",
        "name",
        "no_match_rule_id",
        "reports_own_version",
        "rules",
        "sets_forward_all",
        "target_app_ids",
        "type",
        "unsupported",
        "version",
        "writes_version",
    )

    def __init__(
        self,
        *,
        name: str,
        type: str,
        entity: str,
        id_type: str,
        rules: tuple[Rule, ...],
        default_value: Mapping[str, Any],
        default_gate: bool,
        no_match_rule_id: str,
        enabled: bool,
        version: int | None,
        writes_version: bool,
        explicit_parameters: tuple[str, ...],
        has_shared_params: bool,
        is_active: bool,
        target_app_ids: frozenset[str] | None,
        forward_all_exposures: bool,
        unsupported: bool = False,
        reports_own_version: bool = False,
        cmab: Cmab | None = None,
        sets_forward_all: bool | None = None,
    ) -> None:
        self.name = name
        self.cmab = cmab  # a contextual multi-armed bandit (core's cmab_configs), answered by get_experiment
        self.type = type  # "feature_gate" | "dynamic_config"
        self.entity = entity
        self.id_type = id_type
        self.rules = rules
        self.default_value = default_value
        self.default_gate = default_gate
        self.no_match_rule_id = no_match_rule_id  # "default" or "disabled"
        self.enabled = enabled
        self.version = version
        self.writes_version = writes_version  # evaluating it replaces the version reported in exposures
        self.explicit_parameters = explicit_parameters
        self.has_shared_params = has_shared_params
        self.is_active = is_active
        self.target_app_ids = target_app_ids
        self.forward_all_exposures = forward_all_exposures
        # evaluating it writes its flag into the shared result: legacy only sets it (a nested gate's flag
        # reaches the parent), core overwrites it with each spec's own
        self.sets_forward_all = forward_all_exposures if sets_forward_all is None else sets_forward_all
        self.unsupported = unsupported  # uses a condition type or operator this SDK does not know
        self.reports_own_version = reports_own_version  # exposures carry this spec's version, not a delegate's


class CmabGroup:
    """One arm of a contextual bandit."""

    __slots__ = ("id", "name", "value")

    def __init__(self, id: str, name: str, value: Mapping[str, Any]) -> None:
        self.id = id
        self.name = name
        self.value = value


class CmabWeights:
    """One arm's scoring model: intercept + alpha + categorical weights + numerical weights x value."""

    __slots__ = ("alpha", "categorical", "intercept", "numerical", "records")

    def __init__(self, alpha: float, intercept: float, records: int, numerical: Mapping[str, float],
                 categorical: Mapping[str, Mapping[str, float]]) -> None:
        self.alpha = alpha
        self.intercept = intercept
        self.records = records
        self.numerical = numerical
        self.categorical = categorical


class Cmab:
    """A contextual multi-armed bandit as core reads it from a v2 payload's `cmab_configs`."""

    __slots__ = ("field_getter", "groups", "higher_is_better", "salt", "sample_rate", "targeting_gate", "weights")

    def __init__(
        self,
        *,
        salt: str,
        groups: tuple[CmabGroup, ...],
        weights: Mapping[str, CmabWeights] | None,
        higher_is_better: bool,
        sample_rate: float,
        targeting_gate: str | None,
        field_getter: Callable[[str], Getter],
    ) -> None:
        self.salt = salt
        self.groups = groups
        self.weights = weights  # None: no model yet, every unit gets an arm by its hash ("explore")
        self.higher_is_better = higher_is_better
        self.sample_rate = sample_rate
        self.targeting_gate = targeting_gate
        self.field_getter = field_getter  # user field name -> getter (core's get_user_value)


class IdList:
    """One ID list: the hashed member ids and where its file was read up to."""

    __slots__ = ("creation_time", "file_id", "ids", "name", "read_bytes", "url")

    def __init__(
        self,
        name: str,
        ids: AbstractSet[str],
        file_id: str = "",
        creation_time: int = 0,
        read_bytes: int = 0,
        url: str = "",
    ) -> None:
        self.name = name
        self.ids = ids
        self.file_id = file_id
        self.creation_time = creation_time
        self.read_bytes = read_bytes
        self.url = url

    def advanced(self, ids: AbstractSet[str], read_bytes: int) -> IdList:
        return IdList(
            name=self.name,
            ids=ids,
            file_id=self.file_id,
            creation_time=self.creation_time,
            read_bytes=read_bytes,
            url=self.url,
        )


class Dialect:
    """How one official SDK behaves where the two disagree. Chosen by the payload format."""

    __slots__ = (
        "dedupe_exposures",
        "dedupe_id_values",
        "evaluation_errors",
        "exposure_times",
        "gcir_default_hash",
        "gcir_fresh_delegate",
        "gcir_generator",
        "gcir_layer_id_type",
        "gcir_merge_layer_defaults",
        "gcir_overrides",
        "gcir_passed_for_experiments",
        "log_missing_user_id",
        "name",
        "null_undelegated_exposures",
        "sampling_analytical_first",
        "sampling_any_rate",
        "sampling_production_only",
        "sampling_unrated_metadata",
        "user_tier_first",
    )

    def __init__(
        self,
        *,
        name: str,
        dedupe_exposures: bool,
        gcir_default_hash: str,
        gcir_merge_layer_defaults: bool,
        gcir_passed_for_experiments: bool,
        gcir_layer_id_type: bool,
        gcir_generator: bool,
        log_missing_user_id: bool = False,
        null_undelegated_exposures: bool = False,
        sampling_production_only: bool = True,
        evaluation_errors: tuple[type[BaseException], ...] = (),
        exposure_times: str = "lcut",
        gcir_overrides: str = "core",
        dedupe_id_values: bool = False,
        gcir_fresh_delegate: bool = False,
        sampling_unrated_metadata: bool = False,
        user_tier_first: bool = False,
        sampling_analytical_first: bool = False,
        sampling_any_rate: bool = False,
    ) -> None:
        self.name = name
        # what an evaluation turns into an "error" result (legacy: what its comparisons raise); anything
        # else escapes to the client, which answers the default
        self.evaluation_errors = evaluation_errors
        self.dedupe_exposures = dedupe_exposures  # legacy cleans secondary exposures after each evaluation
        self.gcir_default_hash = gcir_default_hash
        self.gcir_merge_layer_defaults = gcir_merge_layer_defaults
        self.gcir_passed_for_experiments = gcir_passed_for_experiments
        self.gcir_layer_id_type = gcir_layer_id_type
        self.gcir_generator = gcir_generator
        self.log_missing_user_id = log_missing_user_id  # core logs "userID": "" for a user without one
        self.null_undelegated_exposures = null_undelegated_exposures  # core: null for undelegated layers
        self.sampling_production_only = sampling_production_only  # legacy: sample in production only
        # which times an exposure's metadata carries: "lcut" (core: lcut, receivedAt as strings) or
        # "sync" (legacy: configSyncTime, initTime, serverTime as numbers, and statsigMetadata always
        # names the sampling mode)
        self.exposure_times = exposure_times
        # local overrides in get_client_initialize_response: "legacy" applies nested gate overrides always
        # and, asked to, lists overridden gates and configs (layers read config overrides); "core" applies
        # them only when asked, layers read layer overrides and overridden entries carry an empty id_type
        self.gcir_overrides = gcir_overrides
        self.dedupe_id_values = dedupe_id_values  # legacy: exposure dedupe keys hold custom ID values only
        self.gcir_fresh_delegate = gcir_fresh_delegate  # legacy: a layer's experiment fields re-evaluated alone
        # core: with sampling on, an exposure that is neither forced nor rated is "sampled" at no rate and
        # says so in its statsigMetadata (samplingMode, shadowLogged); legacy logs it plainly
        self.sampling_unrated_metadata = sampling_unrated_metadata
        # core: a user's own statsigEnvironment wins over the SDK's tier option (legacy: the option wins)
        self.user_tier_first = user_tier_first
        # core: an exposure forced by analytical gates does not count as its rule's first one
        self.sampling_analytical_first = sampling_analytical_first
        # legacy: a rule's samplingRate is whatever JSON value the payload holds (only null is no rate: the
        # analytical flag reads it too) and the special-case rate is its int; the hash is taken modulo it as
        # Python does, and where that raises the exposure is logged unsampled (core: integers only)
        self.sampling_any_rate = sampling_any_rate


class Snapshot:
    """One immutable, indexed, precompiled download_config_specs payload."""

    __slots__ = (
        "app_id",
        "cmabs",
        "configs",
        "default_environment",
        "derived",
        "dialect",
        "experiment_to_layer",
        "gates",
        "hashed_sdk_keys_to_app_ids",
        "id_lists",
        "layers",
        "param_stores",
        "sdk_configs",
        "sdk_keys_to_app_ids",
        "session_replay_info",
        "time",
        "unsupported",
    )

    def __init__(
        self,
        *,
        dialect: Dialect,
        time: int,
        gates: Mapping[str, Spec],
        configs: Mapping[str, Spec],
        layers: Mapping[str, Spec],
        unsupported: frozenset[str],
        experiment_to_layer: Mapping[str, str],
        default_environment: str | None,
        app_id: str | None,
        sdk_configs: Mapping[str, Any],
        session_replay_info: Mapping[str, Any] | None,
        sdk_keys_to_app_ids: Mapping[str, str],
        hashed_sdk_keys_to_app_ids: Mapping[str, str],
        param_stores: Mapping[str, Any],
        id_lists: IdListHolder,
        cmabs: Mapping[str, Spec] | None = None,
    ) -> None:
        self.dialect = dialect
        self.cmabs: Mapping[str, Spec] = cmabs or {}  # core: bandits get_experiment answers
        self.time = time
        self.gates = gates
        self.configs = configs
        self.layers = layers
        self.unsupported = unsupported  # names removed at load time (legacy dialect)
        self.experiment_to_layer = experiment_to_layer
        self.default_environment = default_environment
        self.app_id = app_id
        self.sdk_configs = sdk_configs
        self.session_replay_info = session_replay_info
        self.sdk_keys_to_app_ids = sdk_keys_to_app_ids
        self.hashed_sdk_keys_to_app_ids = hashed_sdk_keys_to_app_ids
        self.param_stores = param_stores
        self.id_lists = id_lists
        # what is worked out from these rules on first use and kept with them (GCIR's entry texts)
        self.derived: dict[object, Any] = {}

    @property
    def format(self) -> str:
        return "v2" if self.dialect.name == "core" else "v1"


class IdListHolder:
    """The ID lists a snapshot's segment conditions read. Swapped as a whole when lists change."""

    __slots__ = ("lists",)

    def __init__(self, lists: Mapping[str, IdList] | None = None) -> None:
        self.lists: Mapping[str, IdList] = dict(lists or {})

    def ids(self, name: str) -> AbstractSet[str] | None:
        entry = self.lists.get(name)
        return None if entry is None else entry.ids

    def replace(self, lists: Mapping[str, IdList]) -> None:
        self.lists = dict(lists)
