"""StatsigOptions: the official option names where the meaning is the same, plus ours.

Precedence for every setting: an explicit argument, then the STATSIG_* environment variable, then the
documented default. The environment is read once, in `resolve_options`, when `initialize()` runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import Enum

from . import constants as c
from ._record import Record
from .errors import ConfigurationError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any


class StatsigEnvironmentTier(str, Enum):
    """The environment tier the SDK runs in (legacy SDK name and values)."""

    development = "development"
    staging = "staging"
    production = "production"


_TRUTHY = {"1", "true", "yes", "on", "y"}
_FALSY = {"0", "false", "no", "off", "n", ""}


class StatsigOptions(Record):
    """Options for `StatsigServer.initialize`.

    Official names kept: ``api``, ``api_for_download_config_specs``, ``api_for_get_id_lists``,
    ``api_for_log_event``, ``tier`` (alias ``environment``), ``init_timeout``, ``timeout``, ``local_mode``,
    ``bootstrap_values``, ``event_queue_size``, ``disable_all_logging``, ``global_custom_fields``,
    ``disable_ua_parser``, ``disable_country_lookup``.
    Ours: ``spec_source`` (STATSIG_SPEC_SOURCE), ``spec_max_age_seconds``, ``spill_target``,
    ``flush_margin_ms``, ``metrics_enabled``, ``max_buffered_events``, ``id_lists`` (fetch ID lists when
    initialising from a raw payload with an ``api``; default on), ``max_buffered_bytes``
    (STATSIG_MAX_BUFFERED_BYTES; default from AWS_LAMBDA_FUNCTION_MEMORY_SIZE), ``journal_dir``
    (STATSIG_JOURNAL_DIR; on Lambda ``/tmp/statsig_lite/journal``, ``off`` disables it), ``delivery``
    (STATSIG_DELIVERY: on Lambda, ``synchronous`` (default) or ``after_response``, see lambda_extension.py).
    """

    __slots__ = (
        "api",
        "api_for_download_config_specs",
        "api_for_get_id_lists",
        "api_for_log_event",
        "bootstrap_values",
        "delivery",
        "disable_all_logging",
        "disable_country_lookup",
        "disable_ua_parser",
        "environment",
        "event_queue_size",
        "extra",
        "flush_margin_ms",
        "global_custom_fields",
        "id_lists",
        "init_timeout",
        "journal_dir",
        "local_mode",
        "max_buffered_bytes",
        "max_buffered_events",
        "metrics_enabled",
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
        environment: str | None = None,
        init_timeout: float | None = None,
        timeout: float | None = None,
        local_mode: bool | None = None,
        bootstrap_values: str | bytes | None = None,
        event_queue_size: int = c.DEFAULT_EVENT_QUEUE_SIZE,
        disable_all_logging: bool = False,
        global_custom_fields: Mapping[str, Any] | None = None,
        disable_ua_parser: bool = False,
        disable_country_lookup: bool = False,
        service_name: str | None = None,
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
    ) -> None:
        self.api = api
        self.api_for_download_config_specs = api_for_download_config_specs
        self.api_for_get_id_lists = api_for_get_id_lists
        self.api_for_log_event = api_for_log_event
        self.tier = tier
        self.environment = environment
        self.init_timeout = init_timeout
        self.timeout = timeout
        self.local_mode = local_mode
        self.bootstrap_values = bootstrap_values
        self.event_queue_size = event_queue_size
        self.disable_all_logging = disable_all_logging
        self.global_custom_fields = global_custom_fields
        self.disable_ua_parser = disable_ua_parser
        self.disable_country_lookup = disable_country_lookup
        self.service_name = service_name
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

    def replace(self, **changes: Any) -> StatsigOptions:
        """A copy with some options changed (the options object itself is not modified)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return StatsigOptions(**values)

    @property
    def tier_name(self) -> str | None:
        tier = self.tier if self.tier is not None else self.environment
        if isinstance(tier, StatsigEnvironmentTier):
            return tier.value
        return tier

    def base_url(self, endpoint: str) -> str | None:
        """The base URL (ending in '/') for an endpoint, or None for Statsig's default."""
        specific = {
            "download_config_specs": self.api_for_download_config_specs,
            "get_id_lists": self.api_for_get_id_lists,
            "log_event": self.api_for_log_event,
        }.get(endpoint)
        url = specific or self.api
        if url is None:
            return None
        return url if url.endswith("/") else url + "/"


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
    if (raw := pick("local_mode", c.ENV_LOCAL_MODE)) is not None:
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
