"""What `initialize` and `shutdown` do besides loading rules: the official options mapped onto ours, the
application's callbacks and loggers, and, outside Lambda, the background worker.

The rule (README "Long-running processes and Lambda"): on Lambda (AWS_LAMBDA_FUNCTION_NAME set, or
``lambda_mode=True``) no thread or timer is ever started; `@statsig_handler` checks freshness and flushes
at invocation boundaries. Anywhere else (``lambda_mode`` None or False) one daemon thread per client does
what the legacy SDK's threads do: it flushes every ``logging_interval`` seconds and as soon as
``event_queue_size`` events are queued, refreshes the rules every ``rulesets_sync_interval`` seconds (and the
ID lists every ``idlists_sync_interval``), and
pending events are flushed when the interpreter exits (atexit), without the application calling anything.

This module is imported by `initialize`, never by `import statsig_lite`; the thread lives in
`background.py`, imported only when a worker starts (so a Lambda or local-mode process never loads
`threading`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping

from . import constants as c
from ._log import get_logger
from .loader import Loaded, RulesLoader
from .options import StatsigOptions
from .results import DataSource
from .sources.base import Fetched, SpecSource

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

    from .server import StatsigServer
    from .sources.base import SpecSource as _SpecSource  # noqa: F401
    from .store.model import Snapshot

logger = get_logger(__name__)

LAMBDA_ENV = "AWS_LAMBDA_FUNCTION_NAME"
_warned: set[str] = set()

# Official options whose meaning cannot hold here: accepted, documented in the README migration table,
# warned about once per process when set to something other than their default.
_NOT_APPLICABLE = {
    "idlists_thread_limit": "ID lists are downloaded one after another",
    "retry_queue_size": "undelivered events are kept in memory (max_buffered_events) or spilled (spill_target)",
    "out_of_sync_threshold_in_s": "a freshness check that fails keeps the current rules and is retried",
    "config_sync_sources": "freshness checks ask the source that served the rules (initialize_sources)",
}


def on_lambda(options: StatsigOptions, environ: Mapping[str, str] | None = None) -> bool:
    """Lambda mode: forced by ``lambda_mode``, else detected from AWS_LAMBDA_FUNCTION_NAME."""
    if options.lambda_mode is not None:
        return options.lambda_mode
    env = os.environ if environ is None else environ
    return bool(env.get(LAMBDA_ENV))


def warn_once(key: str, message: str, *args: object) -> None:
    if key in _warned:
        return
    _warned.add(key)
    logger.warning(message, *args)


# --- initialize ---------------------------------------------------------------------------------------


def prepare_options(
    options: StatsigOptions, source: SpecSource | None, secret_key: str
) -> tuple[StatsigOptions, SpecSource | None]:
    """Our options and spec source for the official options given (before the environment is read)."""
    _configure_logging(options)
    for name, why in _NOT_APPLICABLE.items():
        if getattr(options, name) != _default(name):
            warn_once(name, "statsig_lite: StatsigOptions.%s is accepted but has no effect: %s", name, why)
    for endpoint, config in (options.proxy_configs or {}).items():
        protocol = getattr(config.protocol, "value", config.protocol)
        auth = getattr(config.authentication_mode, "value", config.authentication_mode)
        if protocol != "http" or auth not in (None, "none"):
            warn_once(f"proxy:{endpoint}", "statsig_lite: proxy_configs[%s]: only HTTP without TLS "
                      "authentication is supported; this entry is ignored", endpoint)
    changes: dict[str, Any] = {}
    if options.overall_init_timeout is not None:
        budget = options.overall_init_timeout
        changes["init_timeout"] = budget if options.init_timeout is None else min(options.init_timeout, budget)
    official_interval = not on_lambda(options) or options.rulesets_sync_interval != _default("rulesets_sync_interval")
    if options.spec_max_age_seconds is None and not os.environ.get(c.ENV_SPEC_MAX_AGE_SECONDS) and official_interval:
        changes["spec_max_age_seconds"] = float(options.rulesets_sync_interval)
    if source is None and not options.local_mode:
        chain = _official_sources(options, secret_key)
        if chain is not None:
            source = chain
            changes["bootstrap_values"] = None  # it is one of the chain's sources now, in the official order
    if options.observability_client is not None:
        try:
            options.observability_client.init()
        except Exception as exc:
            logger.error("statsig_lite: observability_client.init raised: %s", exc)
    return (options.replace(**changes) if changes else options), source


def _default(name: str) -> Any:
    from .options import _DEFAULTS

    return _DEFAULTS.get(name)


def _official_sources(options: StatsigOptions, secret_key: str) -> SpecSource | None:
    """The legacy SDK's initialize strategy as a chain of our sources, or None when ours applies as is.

    Official order: ``initialize_sources`` if given; else the data store (which wins over bootstrap
    values), or the bootstrap values, then the network, then Statsig's API if ``fallback_to_statsig_api``."""
    if options.initialize_sources is not None:
        kinds = [DataSource(getattr(kind, "value", kind)) for kind in options.initialize_sources]
    elif options.data_store is not None or options.fallback_to_statsig_api:
        kinds = []
        if options.data_store is not None:
            kinds.append(DataSource.DATASTORE)
        elif options.bootstrap_values is not None:
            kinds.append(DataSource.BOOTSTRAP)
        kinds.append(DataSource.NETWORK)
        if options.fallback_to_statsig_api:
            kinds.append(DataSource.STATSIG_NETWORK)
    else:
        return None
    sources: list[SpecSource] = []
    for kind in kinds:
        if kind is DataSource.DATASTORE and options.data_store is not None:
            sources.append(DataStoreSource(options.data_store))
        elif kind is DataSource.BOOTSTRAP and options.bootstrap_values is not None:
            sources.append(BootstrapSource(options.bootstrap_values))
        elif kind in (DataSource.NETWORK, DataSource.STATSIG_NETWORK) and secret_key:
            from .sources.http import HttpSource

            base = options.base_url("download_config_specs") if kind is DataSource.NETWORK else None
            sources.append(HttpSource(base, secret_key))
    if not sources:
        return None
    if len(sources) == 1:
        return sources[0]
    from .sources.chain import ChainSource, check_fetched

    return ChainSource(sources, validate=check_fetched)


class DataStoreSource:
    """Rules from an `IDataStore`, under the legacy SDK's key and in its format (a download_config_specs
    JSON string). The version is the payload's ``time``."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.name = "DataAdapter"

    def fetch(self, timeout_s: float) -> Fetched:
        from .errors import SpecSourceError
        from .interface_data_store import STORAGE_ADAPTER_KEY

        try:
            value = self._store.get(STORAGE_ADAPTER_KEY)
        except Exception as exc:
            raise SpecSourceError(self.name, f"data_store.get raised {type(exc).__name__}: {exc}") from exc
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str) or not value:
            raise SpecSourceError(self.name, f"no rules under {STORAGE_ADAPTER_KEY!r}")
        payload = value.encode("utf-8")
        return Fetched(payload, _version(payload), self.name)

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        fetched = self.fetch(timeout_s)
        return None if version is not None and fetched.version == version else fetched


class BootstrapSource:
    """`bootstrap_values` as a source, so it can take its place in an official `initialize_sources` order."""

    def __init__(self, values: str | bytes | Mapping[str, Any]) -> None:
        raw = values if isinstance(values, (str, bytes)) else json.dumps(values)
        self._payload = raw.encode("utf-8") if isinstance(raw, str) else raw
        self.name = "Bootstrap"

    def fetch(self, timeout_s: float) -> Fetched:
        return Fetched(self._payload, _version(self._payload), self.name)

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        return None  # bootstrap values never change


def _version(payload: bytes) -> str:
    try:
        lcut = json.loads(payload).get("time")
    except (ValueError, AttributeError):
        return ""
    return str(lcut) if isinstance(lcut, (int, float)) and not isinstance(lcut, bool) else ""


def _configure_logging(options: StatsigOptions) -> None:
    """custom_logger / output_logger_level / enable_debug_logs, through `logging`. Left alone by default:
    a library does not configure logging unless asked."""
    level_set = options.output_logger_level is not None and options.output_logger_level != _default(
        "output_logger_level"
    )
    if options.custom_logger is None and not level_set and not options.enable_debug_logs:
        return
    import logging

    package = logging.getLogger("statsig_lite")
    level = logging.DEBUG if options.enable_debug_logs else getattr(options.output_logger_level, "value", None)
    if isinstance(level, int):
        package.setLevel(level)
    custom = options.custom_logger
    if custom is not None and not any(getattr(h, "target", None) is custom for h in package.handlers):
        package.addHandler(_OutputLoggerHandler(custom))


def _OutputLoggerHandler(target: Any) -> Any:
    import logging

    class OutputLoggerHandler(logging.Handler):
        """Forwards statsig_lite's records to an application's `OutputLogger` (legacy custom_logger)."""

        def __init__(self) -> None:
            super().__init__()
            self.target = target

        def emit(self, record: logging.LogRecord) -> None:
            method = ("debug" if record.levelno < logging.INFO else "info" if record.levelno < logging.WARNING
                      else "warning" if record.levelno < logging.ERROR else "error")
            with contextlib.suppress(Exception):  # the application's logger must not break ours
                getattr(self.target, method)(record.getMessage())

    return OutputLoggerHandler()


class RecordingRulesLoader(RulesLoader):
    """A loader that remembers the payload of the last snapshot it read, for `rules_updated_callback`."""

    last: tuple[object, object] | None = None  # (snapshot, payload)

    def _read(self, payload: Any) -> Any:
        read = super()._read(payload)
        self.last = (read.snapshot, payload)
        return read


def rules_updated(server: StatsigServer, loaded: Loaded) -> None:
    """New rules are in use: give them to `rules_updated_callback` (legacy: the download_config_specs JSON
    as a string) and, when they were downloaded, write them to the data store (legacy key and format)."""
    options = server.options
    last = getattr(server._loader, "last", None)
    if last is None or last[0] is not loaded.snapshot:
        return
    try:
        from .store.envelope import split_snapshot

        dcs, _ = split_snapshot(last[1])  # a snapshot document holds the payload and its ID lists
        text = json.dumps(dcs)
    except Exception as exc:
        logger.error("statsig_lite: the new rules could not be passed on: %s", exc)
        return
    store = options.data_store
    if store is not None and loaded.source in (DataSource.NETWORK, DataSource.STATSIG_NETWORK):
        from .interface_data_store import STORAGE_ADAPTER_KEY

        try:
            store.set(STORAGE_ADAPTER_KEY, text)
        except Exception as exc:
            logger.error("statsig_lite: data_store.set raised: %s", exc)
    if options.rules_updated_callback is not None:
        try:
            options.rules_updated_callback(text)
        except Exception as exc:
            logger.error("statsig_lite: rules_updated_callback raised: %s", exc)


def after_initialize(server: StatsigServer, loaded: Loaded) -> None:
    options = server.options
    if options.rules_updated_callback is not None or options.data_store is not None:
        rules_updated(server, loaded)
    pipeline = server._pipeline
    if pipeline is not None and server._owns_pipeline and (options.events_flushed_callback or options.timeout):
        sink = getattr(pipeline, "_sink", None)
        if sink is not None and not isinstance(sink, ObservedSink):
            pipeline._sink = ObservedSink(sink, options.events_flushed_callback, options.timeout)
    if options.local_mode or on_lambda(options):
        return
    from .background import BackgroundWorker

    server._worker = BackgroundWorker(server)


def after_shutdown(server: StatsigServer) -> None:
    options = server.options
    for name, target in (("data_store", options.data_store), ("observability_client", options.observability_client)):
        if target is None:
            continue
        try:
            target.shutdown()
        except Exception as exc:
            logger.error("statsig_lite: %s.shutdown raised: %s", name, exc)


def experiment_groups(snapshot: Snapshot, name: str) -> dict[str, Any]:
    spec = snapshot.configs.get(name)
    if spec is None or spec.entity != "experiment":
        return {"is_experiment_active": None, "groups": []}
    groups = [
        {
            "group_name": rule.group_name,
            "rule_id": rule.id,
            "id_type": "userID" if rule.id_type is None else rule.id_type,
            "return_value": dict(rule.return_value) if isinstance(rule.return_value, Mapping) else rule.return_value,
        }
        for rule in spec.rules
        if rule.is_experiment_group is True
    ]
    return {"is_experiment_active": spec.is_active is True, "groups": groups}


# --- event delivery -----------------------------------------------------------------------------------


class ObservedSink:
    """Wraps the log_event sink: each request is bounded by the official ``timeout`` option (seconds per
    request) and reported to ``events_flushed_callback(success, events, status_code, error)``."""

    def __init__(self, inner: Any, callback: Callable[..., None] | None, request_timeout_s: float | None) -> None:
        self._inner = inner
        self._callback = callback
        self._request_timeout_s = request_timeout_s

    def send(self, batch: Any, *, attempt: int, timeout_s: float) -> None:
        if self._request_timeout_s:
            timeout_s = min(timeout_s, float(self._request_timeout_s))
        try:
            self._inner.send(batch, attempt=attempt, timeout_s=timeout_s)
        except Exception as exc:
            self._report(False, batch, getattr(exc, "status", None), exc)
            raise
        self._report(True, batch, 200, None)

    def _report(self, success: bool, batch: Any, status: int | None, error: Exception | None) -> None:
        if self._callback is None:
            return
        try:
            events = [json.loads(event) for event in batch.events]
            self._callback(success, events, status, error)
        except Exception as exc:
            logger.error("statsig_lite: events_flushed_callback raised: %s", exc)

    def close(self) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
