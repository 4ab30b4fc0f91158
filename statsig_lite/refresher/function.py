"""The refresher as a scheduled Lambda function, and the one-shot runs the CLI uses.

``statsig_lite.refresher.handler`` (an EventBridge schedule, e.g. every minute): environment -> config
(`config.py`), then `run_once`: refresh the snapshot (`refresh.py`), then replay spilled event batches with
the time left. It logs one JSON line (Powertools Logger) with what it did, emits Powertools metrics
(EphemeralMetrics, flushed here) and returns the same report. Problems with Statsig or a store are reported,
not raised (the next scheduled run tries again); a configuration error raises, so the function's Errors
metric shows it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ..options import resolve_options
from ..pipeline import build_pipeline
from ..results import FlushResult
from ..store.model import Snapshot
from .config import RefresherConfig
from .fetch import StatsigFetcher
from .refresh import REQUEST_TIMEOUT_CAP_S, RefreshReport, SnapshotRefresher, build_snapshot
from .targets import open_targets

__all__ = ["handler", "pull_once", "run_once"]

DEFAULT_BUDGET_S = 60.0  # outside Lambda (CLI), or a context without remaining time
REFRESH_SHARE = 0.6  # of the invocation's time; spilled events are replayed with the rest
SERVICE_NAME = "statsig-refresher"


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point: one refresh and one replay pass within the invocation's remaining time."""
    report = run_once(os.environ, _remaining_s(context))
    _log(report)
    _emit_metrics(report)
    return report.as_dict()


def run_once(
    environ: Mapping[str, str],
    budget_s: float = DEFAULT_BUDGET_S,
    *,
    secret_key: str | None = None,
    pool: Any = None,
    s3_client: Any = None,
    dynamodb_client: Any = None,
    boto3_session: Any = None,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
) -> RefreshReport:
    """Refresh the snapshot, then replay spilled events, configured by ``environ``. Clients may be injected."""
    started = clock()
    config = RefresherConfig.from_env(environ, secret_key=secret_key)
    options = resolve_options(None, environ)
    session_id = str(uuid.uuid4())
    if boto3_session is None and (s3_client is None or dynamodb_client is None):
        import boto3  # one session for every client of this run (each session loads its data files)

        boto3_session = boto3.session.Session()
    margin_s = (options.flush_margin_ms or 0) / 1000.0
    fetcher = StatsigFetcher(
        config.secret_key,
        dcs_base=config.dcs_base,
        id_lists_base=config.id_lists_base,
        pool=pool,
        session_id=session_id,
        wall_clock=wall_clock,
    )
    targets = open_targets(
        config.targets, s3_client=s3_client, dynamodb_client=dynamodb_client, session=boto3_session
    )
    refresher = SnapshotRefresher(
        fetcher, targets, secret_key=config.secret_key, dcs_format=config.dcs_format,
        allow_shrink=config.allow_shrink, clock=clock, wall_clock=wall_clock,
    )
    report = refresher.refresh(max(0.0, budget_s - margin_s) * REFRESH_SHARE)

    try:  # a replay problem (a poisoned record, a store that fails) must not fail the refresh
        pipeline = build_pipeline(
            options,
            config.secret_key,
            session_id,
            pool_manager=pool,
            s3_client=s3_client,
            dynamodb_client=dynamodb_client,
            boto3_session=boto3_session,
        )
        replay = pipeline.replay_spilled(max(0.0, budget_s - margin_s - (clock() - started)))
    except Exception as exc:
        replay = FlushResult(internal_errors=1, errors=(f"replay: {type(exc).__name__}: {exc}",))
    return replace(
        report,
        replayed_events=replay.replayed,
        replay_errors=replay.errors,
        duration_ms=int((clock() - started) * 1000),
    )


def pull_once(
    environ: Mapping[str, str],
    *,
    dcs_format: str | None = None,
    timeout_s: float = REQUEST_TIMEOUT_CAP_S,
    pool: Any = None,
    wall_clock: Callable[[], float] = time.time,
) -> tuple[bytes, Snapshot]:
    """A fresh snapshot document from Statsig (no stored state, no targets), validated like a refresh.

    Raises SpecSourceError (Statsig), SpecFormatError (payload) or ConfigurationError."""
    config = RefresherConfig.from_env(environ, require_targets=False, dcs_format=dcs_format)
    fetcher = StatsigFetcher(
        config.secret_key,
        dcs_base=config.dcs_base,
        id_lists_base=config.id_lists_base,
        pool=pool,
        wall_clock=wall_clock,
    )
    downloaded = fetcher.dcs(None, timeout_s)
    assert downloaded is not None  # no sinceTime: always a payload or an error
    id_lists = fetcher.id_lists({}, timeout_s)
    return build_snapshot(downloaded.dcs, id_lists, secret_key=config.secret_key, created_at=int(wall_clock() * 1000))


def _remaining_s(context: Any) -> float:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None:
        return DEFAULT_BUDGET_S
    try:
        return max(0.0, float(getter()) / 1000.0)
    except (TypeError, ValueError):
        return DEFAULT_BUDGET_S


def _service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE_NAME


def _log(report: RefreshReport) -> None:
    """One JSON line: the report's fields at the top level."""
    from aws_lambda_powertools import Logger

    logger = Logger(service=_service())
    log = logger.error if report.failed else logger.info
    log("statsig_lite refresh", extra=report.as_dict())


def _emit_metrics(report: RefreshReport) -> None:
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    metrics = EphemeralMetrics(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "statsig_lite", service=_service()
    )
    failed_targets = sum(1 for t in report.targets if t.action == "skipped")
    metrics.add_metric(name="SnapshotWrites", unit=MetricUnit.Count, value=len(report.written))
    metrics.add_metric(name="SnapshotUnchanged", unit=MetricUnit.Count, value=int(report.unchanged))
    metrics.add_metric(name="RefreshFailed", unit=MetricUnit.Count, value=int(report.failed))
    metrics.add_metric(name="SnapshotRefused", unit=MetricUnit.Count, value=int(report.refused is not None))
    metrics.add_metric(name="TargetsSkipped", unit=MetricUnit.Count, value=failed_targets)
    metrics.add_metric(name="SnapshotBytes", unit=MetricUnit.Bytes, value=report.snapshot_bytes)
    metrics.add_metric(name="ConfigSpecsBytes", unit=MetricUnit.Bytes, value=report.dcs_bytes)
    metrics.add_metric(name="IdListBytes", unit=MetricUnit.Bytes, value=report.id_list_bytes)
    metrics.add_metric(name="EventsReplayed", unit=MetricUnit.Count, value=report.replayed_events)
    metrics.add_metric(name="RefreshTime", unit=MetricUnit.Milliseconds, value=report.duration_ms)
    metrics.flush_metrics()
