"""StatsigServer: the legacy SDK's public methods, each delegating to the stages.

This is the one place where failures become typed defaults: a check never raises. It returns the default
value with a reason in its EvaluationDetails and logs the problem once per (reason, name).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from itertools import islice

from . import exposures as ex
from ._ids import new_id
from ._log import get_logger
from .constants import DEFAULT_INIT_TIMEOUT_S, ENV_SECRET_NAME, ENV_SERVER_SECRET, SDK_TYPE, SDK_VERSION
from .details import HashingAlgorithm, InitializeDetails
from .errors import ConfigurationError, StatsigValueError
from .evaluator.evaluate import Evaluation, lookup_override
from .loader import Loaded, RulesLoader
from .options import StatsigOptions, resolve_options
from .results import (
    DataSource,
    DynamicConfig,
    EvaluationDetails,
    EvaluationReason,
    FeatureGate,
    FlushResult,
    Layer,
    reason_text,
)
from .sources.base import SpecSource
from .store.model import Snapshot
from .user import StatsigEvent, StatsigUser, copied_map, logged_user_dict

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

    from .background import BackgroundWorker
    from .pipeline import EventPipeline  # built lazily in initialize(): delivery is not on the import path

logger = get_logger(__name__)
if TYPE_CHECKING:
    from .buffer import EventBuffer

    # StatsigServer._new_log_context: (rules, sampled, reason, init time, pipeline, clock in ns, plain, the
    # pipeline's records and buffer)
    LogContext = tuple[Loaded | None, bool, str, int, EventPipeline | None, Callable[[], int], bool,
                       list[Any] | None, EventBuffer | None]
_NO_LOG_CONTEXT: LogContext = (Loaded.__new__(Loaded), False, "", 0, None, time.time_ns, False, None, None)  # none yet
_MAX_LOGGED_PROBLEMS = 1000
_new_object = object.__new__
_NO_EXPOSURES = Evaluation.secondary_exposures  # an evaluation's until a nested gate records one
_REASONS = {
    "": EvaluationReason.none,
    "Unrecognized": EvaluationReason.unrecognized,
    "Unsupported": EvaluationReason.unsupported,
    "error": EvaluationReason.error,
}


class StatsigServer:
    """A Statsig server SDK instance. Building one does no work; `initialize` loads the rules."""

    def __init__(self, clock: Callable[[], float] = time.time, event_pipeline: EventPipeline | None = None) -> None:
        self._clock = clock
        # what a check's evaluation reads the time from, when it needs it (exposures, time conditions)
        self._clock_ms: Callable[[], int] = _wall_clock_ms if clock is time.time else lambda: int(clock() * 1000)
        # the same instant in ns (an exposure's time: the wall clock's time_ns, without a frame)
        self._clock_ns: Callable[[], int] = time.time_ns if clock is time.time else lambda: self._clock_ms() * 1_000_000
        self._loaded: Loaded | None = None
        self._loader: RulesLoader | None = None
        self._options = StatsigOptions()
        self._tier: str | None = None
        self._quiet = False  # local_mode or disable_all_logging: no exposure is built
        self._secret_key = ""
        self._session_id = new_id()
        self._pipeline: EventPipeline | None = event_pipeline
        self._owns_pipeline = event_pipeline is None  # built from the options at initialize
        self._deduper = ex.ExposureDeduper()
        self._wire_exposure = self._deduper.wire_record  # item 0 of every check record (one bound method)
        self._layer_deduper = ex.ExposureDeduper()  # layer exposures: decided on the check (_log_noted)
        # what every exposure logged from the rules in use shares (_new_log_context)
        self._log_context: LogContext = _NO_LOG_CONTEXT
        self._sampling_seen = ex.ExposureDeduper()
        self._gate_overrides: dict[str, dict[str | None, bool]] = {}
        self._config_overrides: dict[str, dict[str | None, Any]] = {}
        self._layer_overrides: dict[str, dict[str | None, Any]] = {}
        self._logged_problems: set[tuple[str, str]] = set()
        self._eval_callback: Callable[[Any], None] | None = None  # options.evaluation_callback, read per check
        self._keyless = False  # set only by _initialize_keyless
        self._worker: BackgroundWorker | None = None  # outside Lambda only (lifecycle.py)
        self._polling_paused = False
        self._lookups_off = 0  # evaluator.user_fields.LOOKUP_UA | LOOKUP_COUNTRY
        self._lookups_off = 0  # evaluator.user_fields.LOOKUP_UA | LOOKUP_COUNTRY

    # --- lifecycle ----------------------------------------------------------------------------------

    def initialize(
        self, sdkKey: str, options: StatsigOptions | None = None, source: SpecSource | None = None
    ) -> InitializeDetails:
        """Load rules: `options.bootstrap_values` (a download_config_specs payload or our snapshot; invalid
        ones fall back to the source), else the spec source (`source`, or `options.spec_source` /
        STATSIG_SPEC_SOURCE, default Statsig's API as the official SDK). Raises only ConfigurationError for
        bad options; any source or payload problem (an unusable spec source value included) gives
        init_success=False with the reason, and checks answer defaults.

        As in the legacy SDK: a second call while initialized changes nothing, and a key that is not a
        server secret (``secret-...``) is refused (init_success False) unless ``local_mode`` is set."""
        started = self._now_ms()
        if self._loaded is not None:
            return InitializeDetails(0, self.get_init_source(), True, self.is_store_populated(),
                                     self.get_id_list_count(), None)
        if not isinstance(options, StatsigOptions):
            options = StatsigOptions()
        resolved = resolve_options(options)  # STATSIG_LOCAL_MODE counts for the key check below
        # A key that is not a server secret is refused, as officially. With no key at all, the decorator
        # (configured by the environment) still loads the rules and keeps the events (_initialize_keyless).
        keyless = self._keyless and sdkKey == ""
        if not isinstance(sdkKey, str) or (
            not keyless and not sdkKey.startswith("secret-") and not resolved.local_mode
        ):
            if sdkKey == "":
                logger.error("statsig_lite: no server secret: set %s or %s (or pass the key to initialize)",
                             ENV_SERVER_SECRET, ENV_SECRET_NAME)
            else:
                logger.error("statsig_lite: invalid key: use a server secret key (secret-...) from the Statsig console")
            return InitializeDetails(0, DataSource.UNINITIALIZED.value, False, False, 0, None)
        secret_key = sdkKey
        from .lifecycle import prepare_options  # official options mapped onto ours; not on the check path

        options, source = prepare_options(options, source, sdkKey)
        self._options = resolve_options(options)
        self._tier = self._options.tier_name  # read on every check: resolve once
        self._quiet = bool(self._options.local_mode or self._options.disable_all_logging)
        self._secret_key = secret_key
        missing_secret = self._missing_secret(secret_key)
        self._eval_callback = self._options.evaluation_callback
        self._lookups_off = (1 if self._options.disable_ua_parser else 0) | (
            2 if self._options.disable_country_lookup else 0)
        self._lookups_off = (1 if self._options.disable_ua_parser else 0) | (
            2 if self._options.disable_country_lookup else 0)
        if self._pipeline is None:
            self._pipeline = _build_pipeline(self._options, secret_key, self._session_id)
        if self._options.rules_updated_callback is not None or self._options.data_store is not None:
            from .lifecycle import RecordingRulesLoader

            self._loader = RecordingRulesLoader(self._options, secret_key, self._now_ms, source)
        else:
            self._loader = RulesLoader(self._options, secret_key, self._now_ms, source)
        try:
            loaded = self._loader.first_load()
        except Exception as exc:  # any payload or source: never the reason a function's init fails
            logger.error("statsig_lite: rules not loaded, checks answer defaults: %s", exc)
            self._report_error("initialize", exc)
            duration = self._now_ms() - started
            budget_ms = (self._options.init_timeout or DEFAULT_INIT_TIMEOUT_S) * 1000
            return InitializeDetails(duration, "NoValues", False, False, 0, exc, None, duration >= budget_ms)
        if self._options.bootstrap_values is not None:
            self._options = self._loader.forget_bootstrap()
        id_list_count = len(loaded.snapshot.id_lists.lists)
        if (not loaded.has_id_lists and self._options.id_lists and self._options.base_url("get_id_lists")
                and not self._options.local_mode):  # a snapshot document carries its lists: no request
            id_list_count = self._sync_id_lists(loaded.snapshot)
        self._loaded = loaded
        _warm_up(loaded, self._clock)
        from .lifecycle import after_initialize

        after_initialize(self, loaded)
        return InitializeDetails(self._now_ms() - started, loaded.source.value, True, True, id_list_count,
                                 missing_secret, _source_api(loaded), False, None, _fallback_used(source, loaded),
                                 False, loaded.source_detail)

    def _initialize_keyless(self, options: StatsigOptions | None) -> InitializeDetails:
        """initialize() with no key configured (the Lambda decorator): the error is said, the rules load."""
        self._keyless = True
        try:
            return self.initialize("", options)
        finally:
            self._keyless = False

    def _missing_secret(self, secret_key: str) -> ConfigurationError | None:
        """No key: an error said at initialize; checks still answer, events are kept (never sent keyless)."""
        if secret_key or self._options.local_mode or self._options.disable_all_logging:
            return None
        problem = ConfigurationError(
            f"no server secret: set {ENV_SERVER_SECRET} (the key itself) or {ENV_SECRET_NAME} (an SSM parameter "
            "or Secrets Manager secret holding it), or pass it to initialize(). Checks answer from the rules; "
            "events are kept, not sent, until a key is configured"
        )
        logger.error("statsig_lite: %s", problem)
        return problem

    def refresh_if_stale(self, budget_s: float = 1.0) -> bool:
        """Ask the spec source for newer rules if the current ones are older than the max age.

        Cheap when nothing changed; never raises; returns whether the rules were replaced."""
        current, loader = self._loaded, self._loader
        if current is None or loader is None:
            return False
        try:
            updated = loader.refresh_if_stale(current, budget_s)
        except Exception as exc:  # a freshness problem must never fail the invocation
            self._problem("error", "refresh_if_stale", exc)
            return False
        changed = updated.snapshot is not current.snapshot
        if changed and not updated.has_id_lists:  # a raw payload carries no ID lists: keep the ones we have
            updated.snapshot.id_lists.replace(current.snapshot.id_lists.lists)
        self._loaded = updated
        if changed and (self._options.rules_updated_callback is not None or self._options.data_store is not None):
            from .lifecycle import rules_updated

            rules_updated(self, updated)
        return changed

    def reset_after_restore(self) -> None:
        """After a SnapStart restore: forget exposures seen before the snapshot and check freshness now."""
        self._forget_exposures()
        self._sampling_seen.reset()
        if self._loaded is not None:
            self._loaded = self._loaded.checked_at(0)

    def _forget_exposures(self) -> None:
        # a new deduper, not the old one cleared: an exposure recorded before is still decided, when its event
        # is built, against the exposures seen before it (that one holds), as it would have been on its check
        self._deduper = ex.ExposureDeduper()
        self._wire_exposure = self._deduper.wire_record
        self._layer_deduper = ex.ExposureDeduper()

    @property
    def rules_age_ms(self) -> int | None:
        loaded = self._loaded
        return None if loaded is None else max(0, self._now_ms() - loaded.checked_at_ms)

    def refresh_id_lists(self) -> int:
        """Sync the ID lists from Statsig's API now (the background thread does it every
        `idlists_sync_interval` outside Lambda). Only when they came from there: a snapshot document
        carries its own. Never raises; returns how many lists are held."""
        loaded, options = self._loaded, self._options
        if loaded is None or loaded.has_id_lists or not options.id_lists or options.local_mode:
            return self.get_id_list_count()
        if not options.base_url("get_id_lists"):
            return self.get_id_list_count()
        return self._sync_id_lists(loaded.snapshot)

    def _sync_id_lists(self, snapshot: Snapshot) -> int:
        from .sources.id_lists import fetch_id_lists

        base = self._options.base_url("get_id_lists")
        assert base is not None
        headers = {"STATSIG-SDK-TYPE": SDK_TYPE, "STATSIG-SDK-VERSION": SDK_VERSION,
                   "STATSIG-CLIENT-TIME": str(self._now_ms()), "STATSIG-SERVER-SESSION-ID": self._session_id}
        try:
            lists = fetch_id_lists(base, self._secret_key, headers, snapshot.id_lists.lists,
                                   timeout_s=self._options.init_timeout or 5.0)
        except Exception as exc:  # a bad manifest or file: the rules stay, without the lists
            logger.warning("statsig_lite: ID lists not loaded: %s", exc)
            return 0
        snapshot.id_lists.replace(lists)
        return len(lists)

    @property
    def options(self) -> StatsigOptions:
        return self._options

    def is_initialized(self) -> bool:
        return self._loaded is not None

    def is_store_populated(self) -> bool:
        loaded = self._loaded
        return loaded is not None and loaded.snapshot.time > 0

    def get_id_list_count(self) -> int:
        loaded = self._loaded
        return 0 if loaded is None else len(loaded.snapshot.id_lists.lists)

    def get_init_source(self) -> DataSource:
        loaded = self._loaded
        return DataSource.UNINITIALIZED if loaded is None else loaded.source

    def pause_polling_dcs(self) -> None:
        """Stop refreshing rules in the background (outside Lambda) until `start_polling_dcs`."""
        self._polling_paused = True

    def start_polling_dcs(self) -> None:
        self._polling_paused = False

    def flush(self, timeout: float | None = None) -> FlushResult:
        """Send what is buffered now, on the caller's thread (at most `timeout` seconds, default the
        `flush_timeout` option), then replay spilled events (even when nothing is buffered). Returns what
        happened (the legacy SDK returns None). Never raises."""
        worker = self._worker
        if worker is not None:
            return worker.flush(timeout)
        # `is not None`: an empty pipeline is falsy (it has a length), and must still replay
        return self._pipeline.flush(timeout) if self._pipeline is not None else FlushResult()

    def _flush_for_invocation(self, timeout: float) -> FlushResult:
        """The decorator's flush: like flush(), but the spill store is listed only every replay interval."""
        return self._pipeline.flush(timeout, replay=False) if self._pipeline is not None else FlushResult()

    def shutdown(self, timeout: float | None = None) -> FlushResult:
        """Flush what is buffered, stop the background thread (if any) and forget the rules and the
        exposures already logged, as the legacy SDK does. `initialize` may be called again."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
        result = self._pipeline.shutdown(timeout) if self._pipeline is not None else FlushResult()
        if self._owns_pipeline:
            self._pipeline = None  # closed: the next initialize builds one from its own options
        self._loaded = None
        self._forget_exposures()
        self._sampling_seen.reset()
        from .lifecycle import after_shutdown

        after_shutdown(self)
        return result

    # --- checks -------------------------------------------------------------------------------------

    def check_gate(self, user: StatsigUser, gate_name: str, log_exposure: bool = True) -> bool:
        # the hot path: the same steps as get_feature_gate, without building a result object
        if self._eval_callback is not None:  # the callback is given the FeatureGate, as in the legacy SDK
            return bool(self.get_feature_gate(user, gate_name, log_exposure).value)
        try:
            override = self._override(self._gate_overrides, gate_name, user) if self._gate_overrides else None
            ev = self._evaluate("gates", gate_name, user, override, True)  # positional: cheaper than keywords
            if ev is None:
                return False
            if log_exposure and gate_name:
                self._log_check(ex.GATE_EXPOSURE, gate_name, ev, user)
            return bool(ev.value)
        except Exception as exc:
            self._problem("error", gate_name, exc)
            return False

    def get_feature_gate(self, user: StatsigUser, gate_name: str, log_exposure: bool = True) -> FeatureGate:
        result = self._feature_gate(user, gate_name, log_exposure)
        if self._eval_callback is not None:
            self.safe_eval_callback(result)
        return result

    def _feature_gate(self, user: StatsigUser, gate: str, log_exposure: bool) -> FeatureGate:
        try:
            override = self._override(self._gate_overrides, gate, user) if self._gate_overrides else None
            ev = self._evaluate("gates", gate, user, override, True)
            if ev is None:
                details = self._details(EvaluationReason.none, DataSource.UNINITIALIZED)
                return FeatureGate(False, gate, "", "", None, details)
            if log_exposure and gate:
                self._log_check(ex.GATE_EXPOSURE, gate, ev, user)
            return FeatureGate(bool(ev.value), gate, ev.rule_id, ev.id_type if ev.spec else "", ev.group_name,
                               self._eval_details(ev), None, tuple(ev.secondary_exposures))
        except Exception as exc:
            self._problem("error", gate, exc)
            return FeatureGate(False, gate, "", "", None, self._details(EvaluationReason.error))

    def get_config(self, user: StatsigUser, config_name: str, log_exposure: bool = True) -> DynamicConfig:
        result = self._config(user, config_name, log_exposure, "config")
        if self._eval_callback is not None:
            self.safe_eval_callback(result)
        return result

    def get_experiment(self, user: StatsigUser, experiment_name: str, log_exposure: bool = True) -> DynamicConfig:
        result = self._config(user, experiment_name, log_exposure, "experiment")
        if self._eval_callback is not None:
            self.safe_eval_callback(result)
        return result

    def get_layer(self, user: StatsigUser, layer_name: str, log_exposure: bool = True) -> Layer:
        result = self._layer(user, layer_name, log_exposure)
        if self._eval_callback is not None:
            self.safe_eval_callback(result)
        return result

    def safe_eval_callback(self, config: FeatureGate | DynamicConfig | Layer) -> None:
        """Give a result to `evaluation_callback`; a callback that raises is logged, never propagated."""
        callback = self._eval_callback
        if callback is None:
            return
        try:
            callback(config)
        except Exception as exc:
            self._problem("error", "evaluation_callback", exc)

    def _layer(self, user: StatsigUser, layer: str, log_exposure: bool) -> Layer:
        try:
            override = self._override(self._layer_overrides, layer, user) if self._layer_overrides else None
            ev = self._evaluate("layers", layer, user, override)
            if ev is None:
                return Layer(layer, "", {}, evaluation_details=self._details(EvaluationReason.none,
                                                                              DataSource.UNINITIALIZED))
            log = self._layer_logger(user, ev) if log_exposure and layer else None
            delegate = ev.snapshot.configs.get(ev.allocated_experiment or "")
            return Layer(layer, ev.rule_id, dict(ev.json_value), ev.group_name, ev.allocated_experiment,
                         self._eval_details(ev), log, ev.id_type, ev.explicit_parameters,
                         tuple(ev.secondary_exposures), tuple(ev.undelegated_secondary_exposures),
                         ev.is_experiment_group, delegate.is_active if delegate else False)
        except Exception as exc:
            self._problem("error", layer, exc)
            return Layer(layer, "", {}, evaluation_details=self._details(EvaluationReason.error))

    def _config(self, user: StatsigUser, name: str, log_exposure: bool, api: str) -> DynamicConfig:
        try:
            override = self._override(self._config_overrides, name, user) if self._config_overrides else None
            section = "experiments" if api == "experiment" else "configs"  # bandits answer experiments only
            ev = self._evaluate(section, name, user, override)
            if ev is None:
                return DynamicConfig({}, name, "", None, None,
                                     self._details(EvaluationReason.none, DataSource.UNINITIALIZED))
            if log_exposure and name:
                self._log_check(ex.CONFIG_EXPOSURE, name, ev, user, api)
            spec = ev.spec
            return DynamicConfig(
                dict(ev.json_value), name, ev.rule_id, user, ev.group_name, self._eval_details(ev),
                tuple(ev.secondary_exposures), bool(ev.value), ev.version, ev.id_type,
                ev.is_experiment_group, spec.is_active if spec else False,
            )
        except Exception as exc:
            self._problem("error", name, exc)
            return DynamicConfig({}, name, "", None, None, self._details(EvaluationReason.error))

    # legacy names
    def check_gate_with_exposure_logging_disabled(self, user: StatsigUser, gate: str) -> bool:
        return self.check_gate(user, gate, log_exposure=False)

    def get_config_with_exposure_logging_disabled(self, user: StatsigUser, config: str) -> DynamicConfig:
        return self.get_config(user, config, log_exposure=False)

    def get_experiment_with_exposure_logging_disabled(self, user: StatsigUser, experiment: str) -> DynamicConfig:
        return self.get_experiment(user, experiment, log_exposure=False)

    def get_layer_with_exposure_logging_disabled(self, user: StatsigUser, layer: str) -> Layer:
        return self.get_layer(user, layer, log_exposure=False)

    def manually_log_gate_exposure(self, user: StatsigUser, gate_name: str) -> None:
        try:
            ev = self._evaluate("gates", gate_name, user, gate=True)
            if ev is not None:
                self._log(ex.GATE_EXPOSURE, gate_name, ev, user, manual=True)
        except Exception as exc:  # like a check: never raises
            self._problem("error", gate_name, exc)

    def manually_log_config_exposure(self, user: StatsigUser, config_name: str) -> None:
        try:
            ev = self._evaluate("configs", config_name, user)
            if ev is not None:
                self._log(ex.CONFIG_EXPOSURE, config_name, ev, user, manual=True)
        except Exception as exc:
            self._problem("error", config_name, exc)

    def manually_log_experiment_exposure(self, user: StatsigUser, experiment_name: str) -> None:
        self.manually_log_config_exposure(user, experiment_name)

    def log_exposure_for_config(self, config_eval: DynamicConfig) -> None:
        """Log the exposure of a config or experiment already evaluated (e.g. with log_exposure=False)."""
        try:
            user, name = config_eval.user, config_eval.name
        except Exception as exc:  # not a DynamicConfig (None, a hostile object): nothing to log, never a raise
            self._problem("error", "log_exposure_for_config", exc)
            return
        if isinstance(user, StatsigUser) and type(name) is str and name:
            self.manually_log_config_exposure(user, name)

    def manually_log_layer_parameter_exposure(self, user: StatsigUser, layer_name: str, parameter_name: str) -> None:
        try:
            ev = self._evaluate("layers", layer_name, user)
            if ev is not None:
                self._log(ex.LAYER_EXPOSURE, layer_name, ev, user, parameter=parameter_name, manual=True)
        except Exception as exc:
            self._problem("error", layer_name, exc)

    # --- whole-project views ------------------------------------------------------------------------

    def get_experiment_groups(self, experiment_name: str) -> dict[str, Any]:
        """The experiment's groups without evaluating a user (legacy SDK shape): ``is_experiment_active``
        (None when the name is not an experiment) and ``groups`` (group_name, rule_id, id_type,
        return_value of each experiment-group rule)."""
        from .lifecycle import experiment_groups

        loaded = self._loaded
        if loaded is None:
            self._problem("Uninitialized", experiment_name, None)
            return {"is_experiment_active": None, "groups": []}
        try:
            return experiment_groups(loaded.snapshot, experiment_name)
        except Exception as exc:  # a name that cannot be looked up (unhashable, hostile): as an unknown one
            self._problem("error", experiment_name, exc)
            return {"is_experiment_active": None, "groups": []}

    def evaluate_all(self, user: StatsigUser) -> dict[str, Any]:
        """Every gate and dynamic config (experiments included) for `user`, without exposures, in the legacy
        SDK's shape: ``{"feature_gates": {name: {"value", "rule_id"}}, "dynamic_configs": {...}}``."""
        gates: dict[str, Any] = {}
        configs: dict[str, Any] = {}
        loaded = self._loaded
        if loaded is None:
            self._problem("Uninitialized", "evaluate_all", None)
            return {"feature_gates": gates, "dynamic_configs": configs}
        for name in loaded.snapshot.gates:
            gate = self._feature_gate(user, name, False)
            gates[name] = {"value": gate.value, "rule_id": gate.rule_id}
        for name in loaded.snapshot.configs:
            config = self._config(user, name, False, "config")
            configs[name] = {"value": dict(config.value), "rule_id": config.rule_id}
        return {"feature_gates": gates, "dynamic_configs": configs}

    # --- events -------------------------------------------------------------------------------------

    def log_event(self, event: StatsigEvent) -> None:
        """Queue a custom event. Raises StatsigValueError now, naming the limit, for anything that would not
        encode to JSON and decode back identically within the stated bounds (``buffer.encode_event``)."""
        if not isinstance(event, StatsigEvent):
            raise StatsigValueError("log_event takes a StatsigEvent")
        try:
            wire = event.to_dict()
            if event.user is not None:
                wire["user"] = self._logged_user(event.user)
        except StatsigValueError:
            raise
        except Exception as exc:  # a field changed after construction into something we cannot read
            raise StatsigValueError(f"log_event: the event cannot be read: {_describe_exc(exc)}") from exc
        if self._pipeline is None or self._options.local_mode or self._options.disable_all_logging:
            from .buffer import encode_event  # delivery is not on the import path

            encode_event(wire, strict=True)  # the same answer whether or not events are kept
            return
        self._pipeline.enqueue(wire, strict=True)
        if self._worker is not None:
            self._worker.queued()

    # --- client initialize response -----------------------------------------------------------------

    def get_client_initialize_response(
        self,
        user: StatsigUser,
        client_sdk_key: str | None = None,
        hash: HashingAlgorithm | str | None = None,
        include_local_overrides: bool = False,
        target_app_id: str | None = None,
    ) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._client_initialize_response(
            user, client_sdk_key, hash, include_local_overrides, target_app_id, False
        )
        return result

    def get_client_initialize_response_json(
        self,
        user: StatsigUser,
        client_sdk_key: str | None = None,
        hash: HashingAlgorithm | str | None = None,
        include_local_overrides: bool = False,
        target_app_id: str | None = None,
    ) -> str | None:
        """get_client_initialize_response as the JSON text a server sends to the client SDK (as
        statsig-python-core returns it): built from memoised entry texts, faster than encoding the dict."""
        result: str | None = self._client_initialize_response(
            user, client_sdk_key, hash, include_local_overrides, target_app_id, True
        )
        return result

    def _client_initialize_response(
        self, user: StatsigUser, client_sdk_key: str | None, hash: HashingAlgorithm | str | None,
        include_local_overrides: bool, target_app_id: str | None, as_text: bool,
    ) -> Any:
        loaded = self._loaded
        if loaded is None or loaded.snapshot.time == 0:
            return None
        try:
            from .evaluator.gcir import client_initialize_response  # not on a Lambda's cold path

            algo = hash.value if isinstance(hash, HashingAlgorithm) else hash
            return client_initialize_response(
                loaded.snapshot, user, self._logged_user(user), self._environment(user, loaded.snapshot),
                self._now_ms(), algo, client_sdk_key, target_app_id,
                self._gate_overrides, self._config_overrides, self._layer_overrides, include_local_overrides,
                as_text,
            )
        except Exception as exc:
            self._problem("error", "get_client_initialize_response", exc)
            return None

    # --- local overrides ----------------------------------------------------------------------------

    def override_gate(self, gate: str, value: bool, user_id: str | None = None) -> None:
        self._gate_overrides.setdefault(_name(gate), {})[_override_id(user_id)] = value

    def override_config(self, config: str, value: Mapping[str, Any], user_id: str | None = None) -> None:
        self._config_overrides.setdefault(_name(config), {})[_override_id(user_id)] = value

    def override_experiment(self, experiment: str, value: Mapping[str, Any], user_id: str | None = None) -> None:
        self.override_config(experiment, value, user_id)

    def override_layer(self, layer: str, value: Mapping[str, Any], user_id: str | None = None) -> None:
        self._layer_overrides.setdefault(_name(layer), {})[_override_id(user_id)] = value

    def remove_gate_override(self, gate: str, user_id: str | None = None) -> None:
        self._gate_overrides.get(_name(gate), {}).pop(_override_id(user_id), None)

    def remove_config_override(self, config: str, user_id: str | None = None) -> None:
        self._config_overrides.get(_name(config), {}).pop(_override_id(user_id), None)

    def remove_experiment_override(self, experiment: str, user_id: str | None = None) -> None:
        self.remove_config_override(experiment, user_id)

    def remove_layer_override(self, layer: str, user_id: str | None = None) -> None:
        self._layer_overrides.get(_name(layer), {}).pop(_override_id(user_id), None)

    def remove_all_overrides(self) -> None:
        self._gate_overrides.clear()
        self._config_overrides.clear()
        self._layer_overrides.clear()

    # --- internals ----------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return self._clock_ms()

    @staticmethod
    def _override(table: Mapping[str, Mapping[str | None, Any]], name: str, user: StatsigUser) -> Any:
        overrides = table.get(name)
        return lookup_override(overrides, user) if overrides else None

    def _environment(self, user: StatsigUser, snapshot: Snapshot) -> dict[str, str] | None:
        tier = self._tier
        if tier is not None and (user._statsig_environment is None or not snapshot.dialect.user_tier_first):
            return {"tier": tier}
        if user._statsig_environment is None:
            default = snapshot.default_environment
            return None if default is None else {"tier": default}
        env = user.environment()
        if env is None and snapshot.default_environment is not None:
            return {"tier": snapshot.default_environment}
        return env

    def _logged_user(self, user: StatsigUser) -> dict[str, Any]:
        loaded = self._loaded
        if loaded is None:
            return user.to_dict()
        snapshot = loaded.snapshot
        return logged_user_dict(
            user.log_fields(), self._environment(user, snapshot), snapshot.dialect.log_missing_user_id
        )

    def _evaluate(self, section: str, name: str, user: StatsigUser, override_value: Any = None,
                  gate: bool = False) -> Evaluation | None:
        loaded = self._loaded
        if loaded is None:
            self._problem("Uninitialized", name, None)
            return None
        if type(user) is not StatsigUser and not isinstance(user, StatsigUser):
            raise StatsigValueError(f"expected a StatsigUser, got {type(user).__name__}")
        snapshot = loaded.snapshot
        user_env = user._statsig_environment
        if self._tier is None and user_env is None and snapshot.default_environment is None:
            environment = None  # the common case, without a call
        elif self._tier is None and type(user_env) is dict and type(tier := user_env.get("tier")) is str:
            environment = {"tier": tier}  # the user's own tier: what _environment answers, without three calls
        else:
            environment = self._environment(user, snapshot)
        if override_value is not None:
            ev = Evaluation(snapshot, user, environment, self._clock_ms)  # the environment its exposure logs
            ev.rule_id = "override"
            ev.reason = "LocalOverride"
            if gate:
                ev.value = bool(override_value)
            else:
                ev.json_value = override_value
            return ev
        # evaluator.evaluate() inlined: this runs on every check
        if section == "experiments" and name in snapshot.cmabs:  # core's bandits answer get_experiment
            return Evaluation(snapshot, user, environment, self._clock_ms).run_cmab(snapshot.cmabs[name])
        spec = (snapshot.gates if gate else snapshot.layers if section == "layers" else snapshot.configs).get(name)
        # Evaluation(snapshot, user, environment, self._clock_ms, None, self._gate_overrides or None) inlined: a
        # class with an __init__ is built through type_call and a second interpreter frame (~0.1 us a check)
        ev = _new_object(Evaluation)
        ev.snapshot = snapshot
        ev.user = user
        ev._clock_ms = self._clock_ms
        # read by most checks: on the instance, not at their class defaults (CPython 3.11 does not specialise an
        # instance attribute read that falls through to the class: ~35 ns each). Measured, not guessed: the same
        # for lookup_missed cost 10% more instructions a v1 check (callgrind, /work/scratch/evalfast/irm.sh)
        ev.reason = ""
        ev.unsupported = False
        ev.secondary_exposures = _NO_EXPOSURES
        ev.undelegated = None
        ev.environment = environment  # with allocated_experiment: read by every logged check's record
        ev.allocated_experiment = None
        if self._gate_overrides:
            ev.gate_overrides = self._gate_overrides
        if self._lookups_off:
            ev.lookups_off = self._lookups_off
        if spec is None:
            ev.run(None, name in snapshot.unsupported)
        else:
            # ev.run(spec), inline: a frame fewer on every check (Evaluation.run is the sum of these parts)
            ev.spec = spec
            try:
                ev._evaluate(spec)
            except Exception as exc:
                ev.failed(exc)
            else:
                if spec.reports_own_version:
                    ev.version = spec.version
                # ev.needs_finish(), inline
                if ev.unsupported or (
                    (ev.secondary_exposures or ev.undelegated) and snapshot.dialect.dedupe_exposures
                ):
                    ev.finish()
        if ev.reason:
            self._problem(ev.reason, name, None)
        return ev

    def _details(self, reason: EvaluationReason, source: DataSource | None = None) -> EvaluationDetails:
        loaded = self._loaded
        if loaded is None or source is DataSource.UNINITIALIZED:
            return EvaluationDetails(0, 0, DataSource.UNINITIALIZED, reason, self._now_ms())
        return EvaluationDetails(loaded.snapshot.time, loaded.init_time, source or loaded.source, reason,
                                 self._now_ms())

    def _eval_details(self, ev: Evaluation) -> EvaluationDetails:
        reason = EvaluationReason.local_override if ev.reason == "LocalOverride" else _REASONS[ev.reason]
        loaded = self._loaded
        # lookup_missed: disable_ua_parser / disable_country_lookup met a condition that needed the lookup
        if ev.lookup_missed or loaded is None:
            return self._details(reason, DataSource(ev.lookup_missed) if ev.lookup_missed else None)
        # _details(reason) inlined: every get_config/get_experiment/get_layer builds one
        return EvaluationDetails(loaded.snapshot.time, loaded.init_time, loaded.source, reason, self._clock_ms())

    def _log_check(self, kind: str, name: str, ev: Evaluation, user: StatsigUser, api: str = "") -> None:
        """Log a gate's or a config's exposure (`kind`: GATE_EXPOSURE or CONFIG_EXPOSURE) from its check.

        The hot path of a check that logs: record what it saw. Whether it repeats an exposure already logged is
        decided when the record's event is built at flush, in recording order (ExposureDeduper.wire_record)."""
        context = self._log_context
        if context[0] is not self._loaded:  # once per rules loaded, not per exposure
            context = self._new_log_context()
        if not context[6] or ev.reason:  # sampling, nothing logged, or an evaluation's own reason
            self._log(kind, name, ev, user, api=api)
            return
        # the instant the check's conditions saw, if one read it (Evaluation.now_ms, without its frame), in ns
        now = context[5]() if ev._clock_ms is not None else ev._now * 1_000_000  # type: ignore[operator]
        # ex.check_record inlined (a frame less)
        custom, ids = user.custom, user.custom_ids
        record = (
            self._wire_exposure, ev.snapshot, kind, name, ev.value, ev.rule_id, ev.version, ev.secondary_exposures,
            ev.environment, context[2], now, context[3], user.user_id, user.email, user.ip,
            user.user_agent, user.country, user.locale, user.app_version,
            custom.copy() if type(custom) is dict else None if custom is None else copied_map(custom),
            ids.copy() if type(ids) is dict else None if ids is None else copied_map(ids), ev.allocated_experiment,
        )
        records = context[7]
        if records is not None:  # EventPipeline.enqueue_exposure inlined (a frame less)
            records.append(record)
            if len(records) >= context[8].full_at:  # type: ignore[union-attr]
                context[4].relieve_pressure()  # type: ignore[union-attr]
        else:
            context[4].enqueue_exposure(record)  # type: ignore[union-attr]  # plain: there is a pipeline
        if self._worker is not None:
            self._worker.queued()

    def _log(self, kind: str, name: str, ev: Evaluation, user: StatsigUser, parameter: str = "",
             manual: bool = False, api: str = "") -> None:
        """Log an exposure: any kind (a layer's parameter, a manual one), under sampling too. A check's goes
        through `_log_check`."""
        context = self._log_context
        if context[0] is not self._loaded:
            context = self._new_log_context()
        pipeline = context[4]
        if pipeline is not None:  # None: nothing is logged (local mode, logging disabled, shut down)
            self._log_noted(pipeline, kind, name, ev, user, parameter, manual, api, context)

    def _log_noted(self, pipeline: EventPipeline, kind: str, name: str, ev: Evaluation, user: StatsigUser,
                   parameter: str, manual: bool, api: str, context: tuple[Any, ...]) -> None:
        """_log's general case: a layer's parameter, a manual exposure, an evaluation's own reason, sampling."""
        # a layer logs when a parameter is read, not when evaluated (ns: see ex.check_record)
        now = self._clock_ns() if kind == ex.LAYER_EXPOSURE else ev.now_ms * 1_000_000
        value = parameter if kind == ex.LAYER_EXPOSURE else ev.value
        loaded: Loaded = context[0]
        record = ex.check_record(self._wire_exposure, kind, name, ev, value, user,
                                 reason_text(loaded.source, ev.reason), now, loaded.init_time)
        # the legacy SDK dedupes manual exposures too (a v1 payload's exposures are the legacy SDK's)
        deduped = not manual or ev.snapshot.dialect.name == "legacy"
        if kind == ex.LAYER_EXPOSURE or context[1]:
            # decided on the check's time: a layer's exposures by a deduper of their own (a layer's keys are never
            # a gate's or a config's: an application reads a layer's parameters over and over, and each repeat
            # kept until the flush would hold its evaluation, ~1.5 KB, for the cyclic collector; issue 16: p99),
            # and any exposure under server-driven sampling, which core decides after the dedupe, the legacy SDK
            # before it: a repeat still marks its rule seen, and one dropped is no repeat (test_exact_regressions E9)
            deduper = self._layer_deduper if kind == ex.LAYER_EXPOSURE else self._deduper
            if context[1] and deduped and ev.snapshot.dialect.name == "legacy":
                recorded = self._record(pipeline, record, ev, parameter, manual, api, True, None, deduper)
            else:
                if deduped and not deduper.first_record(record):
                    return
                recorded = self._record(pipeline, record, ev, parameter, manual, api, context[1])
        else:
            recorded = self._record(pipeline, record, ev, parameter, manual, api, False,
                                    self._deduper if deduped else None)
        if recorded and self._worker is not None:
            self._worker.queued()

    def _new_log_context(self) -> LogContext:
        """What every exposure logged from the rules in use shares: (those rules, whether sampling applies,
        the reason text, their init time, the pipeline they go to (None when nothing is logged), the clock in
        ns, whether a check's exposure is plain: logged, unsampled, where the pipeline buffers a record: see
        EventPipeline.exposure_target). Kept for the rules object it was made for:
        `_quiet` and the pipeline change only where the rules object does too (initialize, shutdown)."""
        loaded = self._loaded
        if loaded is None:  # shut down (a layer's parameter read after it, say): nothing is logged
            self._log_context = (None, False, "", 0, None, self._clock_ns, False, None, None)
            return self._log_context
        # from the rules it is cached for (`ev` may be from the rules before a refresh on another thread)
        snapshot = loaded.snapshot
        sampled = ex.sampling_applies(snapshot.sdk_configs, self._tier, snapshot.dialect.sampling_production_only)
        pipeline = None if self._quiet else self._pipeline
        if sampled and pipeline is not None:
            # from now on exposures are deduped on the check's time: those recorded before are decided first
            pipeline.settle()
        # an EventPipeline's list and buffer (what its enqueue_exposure appends to and tests), else (another
        # pipeline: a test's capture) None: its enqueue_exposure is called
        target = getattr(pipeline, "exposure_target", None)
        records, buffer = (target() if target is not None else None) or (None, None)
        context = self._log_context = (loaded, sampled, reason_text(loaded.source, ""), loaded.init_time, pipeline,
                                       self._clock_ns, not sampled and pipeline is not None, records, buffer)
        return context

    def _record(self, pipeline: EventPipeline, record: tuple[Any, ...], ev: Evaluation, parameter: str,
                manual: bool, api: str, sampled: bool, deduper: ex.ExposureDeduper | None = None,
                then: ex.ExposureDeduper | None = None) -> bool:
        """_log's general case: sampling, a layer's parameter, a manual exposure, an evaluation's own reason.
        False when sampling drops it, or `then` (deduping after sampling) finds it a repeat."""
        sampling_meta = None
        if sampled:
            kind, name, now = record[ex.KIND], record[ex.NAME], record[ex.NOW_NS] // 1_000_000
            set_key, seen = ex.sampling_set_key(kind, name, ev, api), self._sampling_seen
            should_log, sampling_meta = ex.sampling_decision(
                ev, ev.snapshot.sdk_configs, self._tier, lambda: seen.first_time(set_key, now),
                ex.sampling_key(kind, name, ev, record, parameter),
            )
            if not should_log or (then is not None and not then.first_record(record)):
                return False
        pipeline.enqueue_exposure(ex.NotedExposure(record, ev, parameter, manual, sampling_meta, deduper))
        return True

    def _layer_logger(self, user: StatsigUser, ev: Evaluation) -> Callable[[Layer, str], None]:
        def log_parameter(layer: Layer, parameter: str) -> None:
            try:
                self._log(ex.LAYER_EXPOSURE, layer.name, ev, user, parameter=parameter)
            except Exception as exc:  # an exposure problem must not break reading a value
                self._problem("error", layer.name, exc)

        return log_parameter

    def _problem(self, reason: str, name: object, exc: BaseException | None) -> None:
        try:
            shown = name if type(name) is str else _describe(name)  # a hostile name is never hashed or printed
            if exc is not None and self._options.sdk_error_callback is not None:
                self._report_error(shown, exc)  # every time, as the legacy SDK; the log line once
            key = (reason, shown)
            if key in self._logged_problems or len(self._logged_problems) >= _MAX_LOGGED_PROBLEMS:
                return
            self._logged_problems.add(key)
            if exc is not None:
                logger.error("statsig_lite: %s evaluating %r: %s", reason, shown, _describe_exc(exc),
                             extra={"reason": reason})
            else:
                logger.warning("statsig_lite: %s: %r", reason, shown, extra={"reason": reason, "gate": shown})
        except Exception:  # reporting a problem must never become one (a check never raises)
            return

    def _report_error(self, tag: str, exc: BaseException) -> None:
        callback = self._options.sdk_error_callback
        if callback is None or not isinstance(exc, Exception):
            return
        try:
            callback(tag, exc)
        except Exception as err:  # the application's callback must not break a check either
            logger.error("statsig_lite: sdk_error_callback raised: %s", err)


_WARM_UP_GATES = 8
_WARM_UP_CHECKS = 16


class _ScratchServer(StatsigServer):
    """The warm-up's client: it shares the rules and says nothing (a problem is the real client's to report)."""

    def _problem(self, reason: str, name: object, exc: BaseException | None) -> None:
        return


def _wall_clock_ms(_now_ns: Callable[[], int] = time.time_ns) -> int:
    """The wall clock in epoch ms, as a check reads it (without time.time's float: ~40% cheaper)."""
    return _now_ns() // 1_000_000


def _warm_up(loaded: Loaded, clock: Callable[[], float]) -> None:
    """Run the whole path of a check that logs (`check_gate`: evaluation, dedupe, exposure record, buffer) a few
    times on a scratch client sharing the rules, made-up users and a pipeline of its own that is dropped:
    nothing of the real client's is logged, recorded or changed. CPython specialises code it has run: the first
    real check after a cold start costs about half as much (~25 us less than after evaluating alone);
    initialize pays ~0.3 ms."""
    try:
        names = list(islice((name for name, spec in loaded.snapshot.gates.items()  # the first few: not every gate
                            if spec.entity == "feature_gate" and spec.rules and not spec.unsupported), _WARM_UP_GATES))
        if not names:
            return
        from .pipeline import EventPipeline  # loaded by now: the real client built its own

        scratch = _ScratchServer(clock, EventPipeline())  # no sink, spill or journal: dropped with what it holds
        scratch._loaded = loaded
        for i in range(_WARM_UP_CHECKS):
            scratch.check_gate(StatsigUser(f"statsig-lite-warm-up-{i}"), names[i % len(names)])
    except Exception:  # a warm-up is never the reason initialize fails
        pass


def _describe(value: object) -> str:
    """A name we may show for any object: its type, never its own __str__/__repr__ (they may raise)."""
    if value is None or type(value) in (int, float, bool):
        return repr(value)
    try:
        return f"<{type(value).__name__}>"
    except Exception:
        return "<object>"


def _describe_exc(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:
        return _describe(exc)


def _name(name: object) -> str:
    """An entity name for the override calls: a str (a str subclass becomes a plain str: its hash is ours)."""
    if not isinstance(name, str):
        raise StatsigValueError(f"the name must be a str, got {_describe(name)}")
    return str.__str__(name)


def _override_id(user_id: object) -> str | None:
    if user_id is None:
        return None
    if not isinstance(user_id, str):
        raise StatsigValueError(f"user_id must be a str or None, got {_describe(user_id)}")
    return str.__str__(user_id)



def _source_api(loaded: Loaded) -> str:
    """What the legacy SDK reports as init_source_api: Bootstrap / DataAdapter, else the source used."""
    if loaded.source in (DataSource.BOOTSTRAP, DataSource.DATASTORE):
        return str(loaded.source.value)
    return loaded.source_detail


def _fallback_used(source: SpecSource | None, loaded: Loaded) -> bool:
    """True when a fallback chain was served by another source than its first."""
    sources = getattr(source, "sources", None)
    served = getattr(source, "served_by", None)
    return bool(sources) and served is not None and served is not sources[0]  # type: ignore[index]


def _build_pipeline(options: StatsigOptions, secret_key: str, session_id: str) -> EventPipeline:
    from .pipeline import build_pipeline

    return build_pipeline(options, secret_key, session_id)
