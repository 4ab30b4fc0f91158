"""`@statsig_handler`: the Lambda edge.

- At decoration time (the function's init phase, outside any invocation's timed path) the shared client
  is initialized once per sandbox from the environment: STATSIG_SERVER_SECRET or STATSIG_SECRET_NAME,
  STATSIG_SPEC_SOURCE (default the bundled snapshot), STATSIG_API_URL, STATSIG_SPILL_TARGET, ...
- Each invocation: a freshness check (cheap unless the rules are older than the max age), the handler,
  then a synchronous flush in `finally`, bounded by the invocation's remaining time minus a margin.
  What cannot be sent in time is spilled by the event pipeline. The handler's exception propagates as is.
- With `delivery="after_response"` that flush runs after the response, on an internal extension's thread
  (lambda_extension.py), else synchronously.
- No other threads, no timers; after a SnapStart restore, dedupe state is reset and freshness checked.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping

from . import constants as c
from . import statsig as facade
from ._gc import PausedCollector
from ._log import get_logger
from ._middleware import lambda_handler_decorator  # Powertools' contract, without its import at init
from .errors import ConfigurationError, StatsigLiteError
from .options import StatsigOptions
from .results import FlushResult
from .server import StatsigServer

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

logger = get_logger(__name__)
_DEFAULT_BUDGET_S = 5.0
_FRESHNESS_SHARE = 0.1  # at most this share of the remaining time goes to a freshness check
_invocations = 0


def resolve_secret(environ: Mapping[str, str] | None = None) -> str:
    """The server secret: STATSIG_SERVER_SECRET, else the SSM parameter / Secrets Manager secret named by
    STATSIG_SECRET_NAME (read with Powertools parameters, cached). Names starting with `arn:aws:secretsmanager:`
    or `secretsmanager:` are Secrets Manager secrets; anything else is an SSM parameter (decrypted)."""
    env = os.environ if environ is None else environ
    secret = env.get(c.ENV_SERVER_SECRET)
    if secret:
        return secret
    name = env.get(c.ENV_SECRET_NAME)
    if not name:
        return ""
    from aws_lambda_powertools.utilities import parameters  # only when a secret name is configured

    from ._secrets import hold_library_debug, protect

    try:
        with hold_library_debug():  # botocore logs response bodies (the secret) at DEBUG
            if name.startswith("arn:aws:secretsmanager:") or name.startswith("secretsmanager:"):
                value = parameters.get_secret(name.removeprefix("secretsmanager:"), max_age=300)
            else:
                value = parameters.get_parameter(name, decrypt=True, max_age=300)
    except Exception as exc:  # Powertools wraps every AWS failure in its own exception types
        raise ConfigurationError(f"{c.ENV_SECRET_NAME}={name!r} could not be read: {exc}") from exc
    protect(str(value))
    return str(value)


def _ensure_initialized(server: StatsigServer, options: StatsigOptions | None, secret_key: str | None) -> bool:
    if server.is_initialized():
        return True
    try:
        key = secret_key if secret_key is not None else resolve_secret()
        details = server.initialize(key, options) if key else server._initialize_keyless(options)
    except StatsigLiteError as exc:
        logger.error("statsig_lite: could not initialize: %s", exc)
        return False
    except Exception as exc:  # never the reason the function fails: checks answer defaults instead
        logger.exception("statsig_lite: unexpected error while initializing: %s: %s", type(exc).__name__, exc)
        return False
    if not details.init_success:
        logger.error("statsig_lite: no rules loaded (%s); checks answer defaults", details.error)
    return details.init_success


def _remaining_s(context: Any) -> float:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None:
        return _DEFAULT_BUDGET_S
    try:
        return max(0.0, float(getter()) / 1000.0)
    except (TypeError, ValueError):
        return _DEFAULT_BUDGET_S


def _emit_metrics(server: StatsigServer, result: FlushResult, flush_ms: float) -> None:
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit  # only when metrics are enabled

    metrics = EphemeralMetrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "statsig_lite"))
    metrics.add_metric(name="EventsSent", unit=MetricUnit.Count, value=result.sent)
    metrics.add_metric(name="EventsSpilled", unit=MetricUnit.Count, value=result.spilled)
    metrics.add_metric(name="EventsReplayed", unit=MetricUnit.Count, value=result.replayed)
    metrics.add_metric(name="EventsKept", unit=MetricUnit.Count, value=result.kept)
    metrics.add_metric(name="EventsQuarantined", unit=MetricUnit.Count, value=result.quarantined)
    metrics.add_metric(name="EventsDropped", unit=MetricUnit.Count, value=result.dropped)
    metrics.add_metric(name="InternalErrors", unit=MetricUnit.Count, value=result.internal_errors)
    metrics.add_metric(name="FlushTime", unit=MetricUnit.Milliseconds, value=flush_ms)
    age = server.rules_age_ms
    if age is not None:
        metrics.add_metric(name="SnapshotAge", unit=MetricUnit.Seconds, value=age / 1000.0)
    metrics.flush_metrics()


@lambda_handler_decorator
def _middleware(
    handler: Callable[[Any, Any], Any],
    event: Any,
    context: Any,
    server: StatsigServer | None = None,
    options: StatsigOptions | None = None,
    secret_key: str | None = None,
) -> Any:
    global _invocations
    client = server or facade.get_instance()
    _invocations += 1
    extension = None
    try:
        if _invocations == 1 and os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
            client.reset_after_restore()  # first invocation in this restored sandbox
        extension = _after_response(client)
        if extension is not None:
            extension.wait_idle(_remaining_s(context))  # the previous delivery is done with the pipeline
        if _ensure_initialized(client, options, secret_key):
            client.refresh_if_stale(_remaining_s(context) * _FRESHNESS_SHARE)
    except Exception as exc:  # the handler runs whatever happened here
        _once("before the handler", exc)
    try:
        return handler(event, context)
    finally:
        # nothing here may replace the handler's return value or exception
        try:
            handed_over = extension is not None and extension.hand_over(client, context)
        except Exception as exc:
            _once("while handing the flush to the extension", exc)
            handed_over = False
        if not handed_over:
            _flush_in_invocation(client, context)


_logged: set[str] = set()


def _once(where: str, exc: BaseException) -> None:
    """Log an unexpected error at the boundary once per (place, type), with its cause."""
    key = f"{where}:{type(exc).__name__}"
    if key not in _logged and len(_logged) < 100:
        _logged.add(key)
        logger.error("statsig_lite: unexpected error %s (the handler's result is unchanged): %s: %s",
                     where, type(exc).__name__, exc, exc_info=exc)


def _flush_in_invocation(client: StatsigServer, context: Any) -> None:
    """Flush within the invocation's remaining time minus the margin (the handler's thread, or the
    extension's after the response: the budget and the outcome are the same). Never raises: an unexpected
    error is logged once with its cause and counted in the metrics."""
    started = time.perf_counter()
    try:
        margin_s = (client.options.flush_margin_ms or c.DEFAULT_FLUSH_MARGIN_MS) / 1000.0
        # never more than the flush cap: an unreachable Statsig must not hold a 15-minute function open
        budget_s = min(_remaining_s(context) - margin_s, client.options.flush_timeout or c.DEFAULT_MAX_FLUSH_S)
        result = client._flush_for_invocation(max(0.0, budget_s))
    except Exception as exc:
        _once("while flushing", exc)
        result = FlushResult(internal_errors=1, errors=(f"{type(exc).__name__}: {exc}",))
    try:
        if client.options.metrics_enabled:
            _emit_metrics(client, result, (time.perf_counter() - started) * 1000.0)
    except Exception as exc:
        _once("while emitting metrics", exc)


def _after_response(client: StatsigServer) -> Any:
    """The running extension if this client asked for after-response delivery at decoration, else None."""
    if client.options.delivery is None:
        return None  # the default, and the only check on the synchronous path
    from . import lambda_extension

    extension = lambda_extension.running()
    return extension if extension is not None and extension.delivers_for(client) else None


def _start_after_response(client: StatsigServer) -> None:
    """At decoration (init): register the extension if this client asks for after-response delivery."""
    if client.options.delivery is None:
        return
    from . import lambda_extension

    if lambda_extension.delivery_mode(client.options.delivery) != lambda_extension.AFTER_RESPONSE:
        return
    extension = lambda_extension.start(_flush_in_invocation)
    if extension is not None:
        extension.watch(client)


def statsig_handler(
    handler: Callable[[Any, Any], Any] | None = None,
    *,
    server: StatsigServer | None = None,
    options: StatsigOptions | None = None,
    secret_key: str | None = None,
) -> Any:
    """Decorate a Lambda handler: `@statsig_handler` or `@statsig_handler(options=...)`.

    The client is the module facade's (`from statsig_lite import statsig`) unless `server` is given."""
    if handler is None:
        return functools.partial(statsig_handler, server=server, options=options, secret_key=secret_key)
    client = server or facade.get_instance()
    with PausedCollector():  # the init phase's imports and first load allocate much and free nothing
        _ensure_initialized(client, options, secret_key)  # once per sandbox
    try:
        _start_after_response(client)
    except Exception as exc:  # delivery then happens in the invocation, as by default
        _once("while starting the extension", exc)
    return _middleware(handler, server=server, options=options, secret_key=secret_key)
