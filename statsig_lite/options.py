"""StatsigOptions: the official option names where the meaning is the same, plus ours.

Precedence for every setting: an explicit argument, then the STATSIG_* environment variable, then the
documented default. The environment is read once, in `resolve_options`, when `initialize()` runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from enum import Enum

from . import constants as c
from ._record import Record
from .errors import ConfigurationError, StatsigValueError
from .output_logger import LogLevel

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

    from .interface_data_store import IDataStore
    from .interface_network import NetworkEndpoint, NetworkProtocol
    from .output_logger import OutputLogger
    from .results import DataSource


class StatsigEnvironmentTier(str, Enum):
    """The environment tier the SDK runs in (legacy SDK name and values)."""

    development = "development"
    staging = "staging"
    production = "production"


class AuthenticationMode(str, Enum):
    """How a `ProxyConfig` authenticates (legacy SDK name and values)."""

    NONE = "none"
    TLS = "tls"
    MTLS = "mtls"


class ProxyConfig:
    """Where one endpoint's requests go instead of Statsig (legacy SDK meaning: a forward proxy's address,
    to which ``/v1`` is appended). Only the HTTP protocol is supported here; see the README migration table."""

    def __init__(
        self,
        protocol: NetworkProtocol,
        proxy_address: str,
        max_retry_attempt: int | None = None,
        retry_backoff_multiplier: int | None = None,
        retry_backoff_base_ms: int | None = None,
        push_worker_failover_threshold: int | None = None,
        authentication_mode: AuthenticationMode | None = AuthenticationMode.NONE,
        tls_client_cert_path: str | None = None,
        tls_client_key_path: str | None = None,
        tls_ca_cert_path: str | None = None,
    ) -> None:
        self.protocol = protocol
        self.proxy_address = proxy_address
        self.max_retry_attempt = max_retry_attempt
        self.retry_backoff_multiplier = retry_backoff_multiplier
        self.retry_backoff_base_ms = retry_backoff_base_ms
        self.push_worker_failover_threshold = push_worker_failover_threshold
        self.authentication_mode = authentication_mode
        self.tls_client_cert_path = tls_client_cert_path
        self.tls_client_key_path = tls_client_key_path
        self.tls_ca_cert_path = tls_ca_cert_path


_TRUTHY = {"1", "true", "yes", "on", "y"}
_FALSY = {"0", "false", "no", "off", "n", ""}

DEFAULT_RULESET_SYNC_INTERVAL = 10
DEFAULT_IDLIST_SYNC_INTERVAL = 60
DEFAULT_EVENT_QUEUE_SIZE = c.DEFAULT_EVENT_QUEUE_SIZE
DEFAULT_IDLISTS_THREAD_LIMIT = 3
DEFAULT_LOGGING_INTERVAL = 60
DEFAULT_RETRY_QUEUE_SIZE = 10

# option -> the types it accepts (besides None where its default is None); a wrong type is refused with
# StatsigValueError when the options are built, as the legacy SDK does for `tier`
_NUMBER = (int, float)
_TYPES: dict[str, tuple[type, ...]] = {
    "api": (str,), "api_for_download_config_specs": (str,), "api_for_get_id_lists": (str,),
    "api_for_log_event": (str,), "tier": (str, StatsigEnvironmentTier), "environment": (str,),
    "init_timeout": _NUMBER, "timeout": _NUMBER, "rulesets_sync_interval": _NUMBER,
    "idlists_sync_interval": _NUMBER, "local_mode": (bool,), "bootstrap_values": (str, bytes, Mapping),
    "event_queue_size": (int,), "idlists_thread_limit": (int,), "logging_interval": _NUMBER,
    "disable_diagnostics": (bool,), "enable_debug_logs": (bool,), "disable_all_logging": (bool,),
    "retry_queue_size": (int,), "proxy_configs": (Mapping,), "fallback_to_statsig_api": (bool,),
    "out_of_sync_threshold_in_s": _NUMBER, "initialize_sources": (list, tuple),
    "config_sync_sources": (list, tuple), "overall_init_timeout": _NUMBER, "global_custom_fields": (Mapping,),
    "disable_ua_parser": (bool,), "disable_country_lookup": (bool,), "service_name": (str,),
    "log_event_connection_reuse": (bool,), "spec_source": (str,), "spec_max_age_seconds": _NUMBER,
    "spill_target": (str,), "flush_margin_ms": _NUMBER, "metrics_enabled": (bool,),
    "max_buffered_events": (int,), "id_lists": (bool,), "extra": (Mapping,), "spill_retention_seconds": _NUMBER,
    "spill_replay_interval_seconds": _NUMBER, "event_batch_size": (int,), "flush_timeout": _NUMBER,
    "lambda_mode": (bool,), "delivery": (str,), "max_buffered_bytes": (int,), "journal_dir": (str,),
}
_CALLABLES = ("rules_updated_callback", "evaluation_callback", "sdk_error_callback", "events_flushed_callback")
_POSITIVE = ("event_queue_size", "event_batch_size", "logging_interval", "rulesets_sync_interval",
             "max_buffered_events")


class StatsigOptions(Record):
    """Options for `StatsigServer.initialize`: every option of the legacy `statsig` SDK, in its order, with
    its defaults, then ours. Time options are in seconds. Where an official option cannot mean here what it
    means there, the README's migration table says what it does, and using it logs one warning.

    Ours: ``environment`` (alias of ``tier``), ``spec_source`` (STATSIG_SPEC_SOURCE), ``spec_max_age_seconds``,
    ``spill_target``, ``flush_margin_ms``, ``metrics_enabled``, ``max_buffered_events``, ``id_lists`` (fetch
    ID lists when initialising from a raw payload with an ``api``), ``spill_retention_seconds``,
    ``spill_replay_interval_seconds``, ``event_batch_size`` (events per log_event request),
    ``flush_timeout`` (the time budget of one flush), ``delivery`` (STATSIG_DELIVERY: on Lambda,
    ``synchronous`` (default) or ``after_response``, see lambda_extension.py), ``lambda_mode`` (None: detected from
    AWS_LAMBDA_FUNCTION_NAME; True: never start a thread; False: behave as a long-running process),
    ``max_buffered_bytes`` (STATSIG_MAX_BUFFERED_BYTES; default from AWS_LAMBDA_FUNCTION_MEMORY_SIZE),
    ``journal_dir`` (STATSIG_JOURNAL_DIR; on Lambda ``/tmp/statsig_lite/journal``, ``off`` disables it).
    """

    __slots__ = (
        "_environment",
        "api",
        "api_for_download_config_specs",
        "api_for_get_id_lists",
        "api_for_log_event",
        "bootstrap_values",
        "config_sync_sources",
        "custom_logger",
        "data_store",
        "delivery",
        "disable_all_logging",
        "disable_country_lookup",
        "disable_diagnostics",
        "disable_ua_parser",
        "enable_debug_logs",
        "environment",
        "evaluation_callback",
        "event_batch_size",
        "event_queue_size",
        "events_flushed_callback",
        "extra",
        "fallback_to_statsig_api",
        "flush_margin_ms",
        "flush_timeout",
        "global_custom_fields",
        "id_lists",
        "idlists_sync_interval",
        "idlists_thread_limit",
        "init_timeout",
        "initialize_sources",
        "journal_dir",
        "lambda_mode",
        "local_mode",
        "log_event_connection_reuse",
        "logging_interval",
        "max_buffered_bytes",
        "max_buffered_events",
        "metrics_enabled",
        "observability_client",
        "out_of_sync_threshold_in_s",
        "output_logger_level",
        "overall_init_timeout",
        "proxy_configs",
        "retry_queue_size",
        "rules_updated_callback",
        "rulesets_sync_interval",
        "sdk_error_callback",
        "service_name",
        "spec_max_age_seconds",
        "spec_source",
        "spill_replay_interval_seconds",
        "spill_retention_seconds",
        "spill_target",
        "tier",
        "timeout",
    )

    def __init__(
        self,
        api: str | None = None,
        api_for_download_config_specs: str | None = None,
        api_for_get_id_lists: str | None = None,
        api_for_log_event: str | None = None,
        tier: str | StatsigEnvironmentTier | None = None,
        init_timeout: float | None = None,
        timeout: float | None = None,
        rulesets_sync_interval: float = DEFAULT_RULESET_SYNC_INTERVAL,
        idlists_sync_interval: float = DEFAULT_IDLIST_SYNC_INTERVAL,
        local_mode: bool | None = False,
        bootstrap_values: str | bytes | None = None,
        rules_updated_callback: Callable[..., Any] | None = None,
        event_queue_size: int | None = DEFAULT_EVENT_QUEUE_SIZE,
        data_store: IDataStore | None = None,
        idlists_thread_limit: int = DEFAULT_IDLISTS_THREAD_LIMIT,
        logging_interval: float = DEFAULT_LOGGING_INTERVAL,
        disable_diagnostics: bool = False,
        custom_logger: OutputLogger | None = None,
        enable_debug_logs: bool = False,
        disable_all_logging: bool = False,
        evaluation_callback: Callable[[Any], None] | None = None,
        retry_queue_size: int = DEFAULT_RETRY_QUEUE_SIZE,
        proxy_configs: Mapping[NetworkEndpoint, ProxyConfig] | None = None,
        fallback_to_statsig_api: bool | None = False,
        out_of_sync_threshold_in_s: float | None = None,
        initialize_sources: Sequence[DataSource] | None = None,
        config_sync_sources: Sequence[DataSource] | None = None,
        output_logger_level: LogLevel | None = LogLevel.WARNING,
        overall_init_timeout: float | None = None,
        observability_client: Any = None,
        sdk_error_callback: Callable[[str, Exception], None] | None = None,
        events_flushed_callback: Callable[[bool, list[dict[str, Any]], int | None, Exception | None], None]
        | None = None,
        global_custom_fields: Mapping[str, Any] | None = None,
        disable_ua_parser: bool = False,
        disable_country_lookup: bool = False,
        service_name: str | None = None,
        log_event_connection_reuse: bool = False,
        environment: str | None = None,
        spec_source: str | None = None,
        spec_max_age_seconds: float | None = None,
        spill_target: str | None = None,
        flush_margin_ms: int | None = None,
        metrics_enabled: bool | None = None,
        max_buffered_events: int = c.DEFAULT_MAX_BUFFERED_EVENTS,
        id_lists: bool = True,
        extra: Mapping[str, Any] | None = None,
        spill_retention_seconds: float = c.DEFAULT_SPILL_RETENTION_SECONDS,
        spill_replay_interval_seconds: float = c.DEFAULT_SPILL_REPLAY_INTERVAL_SECONDS,
        max_buffered_bytes: int | None = None,
        journal_dir: str | None = None,
        delivery: str | None = None,
        event_batch_size: int = c.DEFAULT_EVENT_QUEUE_SIZE,
        flush_timeout: float | None = None,
        lambda_mode: bool | None = None,
    ) -> None:
        self.api = api
        self.api_for_download_config_specs = api_for_download_config_specs
        self.api_for_get_id_lists = api_for_get_id_lists
        self.api_for_log_event = api_for_log_event
        self.tier = tier
        self.init_timeout = init_timeout
        self.timeout = timeout
        self.rulesets_sync_interval = rulesets_sync_interval
        self.idlists_sync_interval = idlists_sync_interval
        self.local_mode = local_mode
        self.bootstrap_values = bootstrap_values
        self.rules_updated_callback = rules_updated_callback
        self.event_queue_size = DEFAULT_EVENT_QUEUE_SIZE if event_queue_size is None else event_queue_size
        self.data_store = data_store
        self.idlists_thread_limit = idlists_thread_limit
        self.logging_interval = logging_interval
        self.disable_diagnostics = disable_diagnostics
        self.custom_logger = custom_logger
        self.enable_debug_logs = enable_debug_logs
        self.disable_all_logging = disable_all_logging
        self.evaluation_callback = evaluation_callback
        self.retry_queue_size = retry_queue_size
        self.proxy_configs = proxy_configs
        self.fallback_to_statsig_api = fallback_to_statsig_api
        self.out_of_sync_threshold_in_s = out_of_sync_threshold_in_s
        self.initialize_sources = initialize_sources
        self.config_sync_sources = config_sync_sources
        self.output_logger_level = output_logger_level
        self.overall_init_timeout = overall_init_timeout
        self.observability_client = observability_client
        self.sdk_error_callback = sdk_error_callback
        self.events_flushed_callback = events_flushed_callback
        self.global_custom_fields = global_custom_fields
        self.disable_ua_parser = disable_ua_parser
        self.disable_country_lookup = disable_country_lookup
        self.service_name = service_name
        self.log_event_connection_reuse = log_event_connection_reuse
        self.environment = environment
        self.spec_source = spec_source
        self.spec_max_age_seconds = spec_max_age_seconds
        self.spill_target = spill_target
        self.flush_margin_ms = flush_margin_ms
        self.metrics_enabled = metrics_enabled
        self.max_buffered_events = max_buffered_events
        self.id_lists = id_lists
        self.extra = {} if extra is None else extra
        self.spill_retention_seconds = spill_retention_seconds
        self.spill_replay_interval_seconds = spill_replay_interval_seconds
        self.max_buffered_bytes = max_buffered_bytes
        self.journal_dir = journal_dir
        self.delivery = delivery
        self.event_batch_size = event_batch_size
        self.flush_timeout = flush_timeout
        self.lambda_mode = lambda_mode
        self._environment: dict[str, str] | None = None
        _check_types(self)
        tier_name = self.tier_name
        if tier_name is not None:
            self._environment = {"tier": tier_name}

    def replace(self, **changes: Any) -> StatsigOptions:
        """A copy with some options changed (the options object itself is not modified)."""
        values = {name: getattr(self, name) for name in _PARAMS}
        values.update(changes)
        copy = StatsigOptions(**values)
        if self._environment and "tier" not in changes and "environment" not in changes:
            copy._environment = {**self._environment, **(copy._environment or {})}
        return copy

    # --- the legacy SDK's methods --------------------------------------------------------------------

    def set_environment_parameter(self, key: str, value: str) -> None:
        if self._environment is None:
            self._environment = {}
        self._environment[key] = value
        if key == "tier":
            self.tier = value

    def get_sdk_environment_tier(self) -> str:
        tier = self.tier_name
        return "production" if tier is None else tier

    def get_logging_copy(self) -> dict[str, Any]:
        """The options as the legacy SDK describes them in its diagnostics: set, non-default values only,
        secrets and callables as "SET"."""
        copy: dict[str, Any] = {}
        for name in _PARAMS:
            value = getattr(self, name)
            if value is None or value == _DEFAULTS.get(name) or value in ({}, []):
                continue
            hidden = name in _CALLABLES or name in ("bootstrap_values", "data_store", "observability_client",
                                                     "initialize_sources", "config_sync_sources", "custom_logger")
            copy[name] = "SET" if hidden else value
        if self._environment:
            copy["environment"] = dict(self._environment)
            copy.pop("tier", None)
        return copy

    # --- ours ---------------------------------------------------------------------------------------

    @property
    def tier_name(self) -> str | None:
        tier = self.tier if self.tier is not None else self.environment
        if isinstance(tier, StatsigEnvironmentTier):
            return tier.value
        return tier

    def base_url(self, endpoint: str) -> str | None:
        """The base URL (ending in '/') for an endpoint, or None for Statsig's default. A `ProxyConfig` for
        the endpoint (HTTP protocol) wins, as in the legacy SDK (its address plus ``/v1``)."""
        proxied = _proxy_base(self.proxy_configs, endpoint)
        specific = {
            "download_config_specs": self.api_for_download_config_specs,
            "get_id_lists": self.api_for_get_id_lists,
            "log_event": self.api_for_log_event,
        }.get(endpoint)
        url = proxied or specific or self.api
        if url is None:
            return None
        return url if url.endswith("/") else url + "/"


_PARAMS = StatsigOptions.__init__.__code__.co_varnames[1 : StatsigOptions.__init__.__code__.co_argcount]
_DEFAULTS: dict[str, Any] = dict(zip(_PARAMS, StatsigOptions.__init__.__defaults__ or (), strict=True))


def _proxy_base(configs: Mapping[Any, ProxyConfig] | None, endpoint: str) -> str | None:
    if not configs:
        return None
    for key, config in configs.items():
        name = getattr(key, "value", key)
        protocol = getattr(config.protocol, "value", config.protocol)
        if name == endpoint and protocol == "http" and config.proxy_address:
            return config.proxy_address.rstrip("/") + "/v1/"
    return None


def _check_types(options: StatsigOptions) -> None:
    for name, types in _TYPES.items():
        value = getattr(options, name)
        if value is None:
            continue
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            accepted = " or ".join(t.__name__ for t in types)
            raise StatsigValueError(f"StatsigOptions.{name} must be a {accepted}, not {type(value).__name__}")
    for name in _CALLABLES:
        value = getattr(options, name)
        if value is not None and not callable(value):
            raise StatsigValueError(f"StatsigOptions.{name} must be callable")
    for name in _POSITIVE:
        if getattr(options, name) <= 0:
            raise StatsigValueError(f"StatsigOptions.{name} must be positive")
    store = options.data_store
    if store is not None and not callable(getattr(store, "get", None)):
        raise StatsigValueError("StatsigOptions.data_store must be an IDataStore (with get/set)")


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUTHY:
        return True
    if value in _FALSY:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (use true/false, 1/0)")


def _parse_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if not value >= 0 or value == float("inf"):  # also NaN
        raise ConfigurationError(f"{name}={raw!r} must be a finite number >= 0")
    return value


def _parse_int(name: str, raw: str) -> int:
    return int(_parse_float(name, raw))


def _parse_days(name: str, raw: str) -> float:
    days = _parse_float(name, raw)
    if days <= 0:
        raise ConfigurationError(f"{name}={raw!r} must be more than 0 days")
    return days * 86400.0


def _optional(name: str, raw: str, parse: Any, fallback: Any, shown: str) -> Any:
    """An optional variable's parsed value, or ``fallback`` with a warning naming the variable and the value
    used instead: a typo in a tuning knob must never leave a function without its rules."""
    try:
        return parse(name, raw)
    except ConfigurationError as exc:
        from ._log import get_logger

        get_logger(__name__).warning("statsig_lite: %s; using %s instead", exc, shown,
                                     extra={"variable": name, "value": raw, "used": fallback})
        return fallback


def resolve_options(options: StatsigOptions | None, environ: Mapping[str, str] | None = None) -> StatsigOptions:
    """Fill unset options from STATSIG_* variables, then defaults.

    An optional variable with a value we cannot use (``STATSIG_METRICS_ENABLED=maybe``,
    ``STATSIG_FLUSH_MARGIN_MS=-5``) logs a warning naming it and the value used instead and never stops
    initialization. Raises ConfigurationError only for a bad explicit argument."""
    opts = options or StatsigOptions()
    env = os.environ if environ is None else environ
    updates: dict[str, Any] = {}

    def pick(attr: str, var: str) -> str | None:
        if getattr(opts, attr) is not None:
            return None
        raw = env.get(var)
        return raw if raw not in (None, "") else None

    if (raw := pick("api", c.ENV_API_URL)) is not None:
        updates["api"] = raw
    if opts.tier is None and opts.environment is None and (raw := env.get(c.ENV_ENVIRONMENT_TIER)):
        updates["tier"] = raw
    if (raw := pick("spec_source", c.ENV_SPEC_SOURCE)) is not None:
        updates["spec_source"] = raw
    if (raw := pick("spill_target", c.ENV_SPILL_TARGET)) is not None:
        updates["spill_target"] = raw
    if (raw := pick("spec_max_age_seconds", c.ENV_SPEC_MAX_AGE_SECONDS)) is not None:
        default = c.DEFAULT_SPEC_MAX_AGE_SECONDS
        updates["spec_max_age_seconds"] = _optional(
            c.ENV_SPEC_MAX_AGE_SECONDS, raw, _parse_float, default, f"the default {default:g} s")
    if (raw := pick("flush_margin_ms", c.ENV_FLUSH_MARGIN_MS)) is not None:
        default = c.DEFAULT_FLUSH_MARGIN_MS
        updates["flush_margin_ms"] = _optional(
            c.ENV_FLUSH_MARGIN_MS, raw, _parse_int, default, f"the default {default} ms")
    if (raw := pick("metrics_enabled", c.ENV_METRICS_ENABLED)) is not None:
        updates["metrics_enabled"] = _optional(
            c.ENV_METRICS_ENABLED, raw, parse_bool, False, "the default false (no metrics)")
    if not opts.local_mode and (raw := env.get(c.ENV_LOCAL_MODE)):  # the official default is False, not None
        updates["local_mode"] = _optional(
            c.ENV_LOCAL_MODE, raw, parse_bool, False, "the default false (network on)")
    # spill_retention_seconds has a non-None default: the variable applies while the option is left at it
    raw = env.get(c.ENV_SPILL_RETENTION_DAYS)
    if raw and opts.spill_retention_seconds in (None, c.DEFAULT_SPILL_RETENTION_SECONDS):
        default_days = c.DEFAULT_SPILL_RETENTION_SECONDS / 86400
        updates["spill_retention_seconds"] = _optional(
            c.ENV_SPILL_RETENTION_DAYS, raw, _parse_days, c.DEFAULT_SPILL_RETENTION_SECONDS,
            f"the default {default_days:g} days")
    if (raw := pick("max_buffered_bytes", c.ENV_MAX_BUFFERED_BYTES)) is not None:
        updates["max_buffered_bytes"] = _optional(
            c.ENV_MAX_BUFFERED_BYTES, raw, _parse_int, None, "the default (from the function's memory)")
    if (raw := pick("journal_dir", c.ENV_JOURNAL_DIR)) is not None:
        updates["journal_dir"] = raw
    if (raw := pick("delivery", c.ENV_DELIVERY)) is not None:
        updates["delivery"] = raw  # checked where it is used (lambda_extension.delivery_mode)

    resolved = opts.replace(**updates) if updates else opts
    defaults: dict[str, Any] = {}
    if resolved.spec_max_age_seconds is None:
        defaults["spec_max_age_seconds"] = c.DEFAULT_SPEC_MAX_AGE_SECONDS
    if resolved.flush_margin_ms is None:
        defaults["flush_margin_ms"] = c.DEFAULT_FLUSH_MARGIN_MS
    if resolved.metrics_enabled is None:
        defaults["metrics_enabled"] = False
    if resolved.local_mode is None:
        defaults["local_mode"] = False
    if resolved.spill_retention_seconds is None:
        defaults["spill_retention_seconds"] = c.DEFAULT_SPILL_RETENTION_SECONDS
    if resolved.event_queue_size <= 0:
        raise ConfigurationError(f"event_queue_size={resolved.event_queue_size} must be positive")
    return resolved.replace(**defaults) if defaults else resolved
