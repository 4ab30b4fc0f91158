"""Run ONE official SDK on jobs read from stdin, answers as JSON on stdout (loopback only).

    python -m tests.differential.oracle legacy|core < jobs.json > answers.json

A job is a download_config_specs payload, options and an ordered list of queries; both official SDKs are
the references the differential test and the regression tests compare statsig_lite with (statsig 0.72.1
for v1 payloads, statsig-python-core 0.24 for v2). Each runs in a process of its own: both start
background threads, the legacy SDK keeps module state, and neither may see a non-loopback address.

Query: {"kind": "gate"|"config"|"experiment"|"layer"|"gcir", "name", "user", "param"?, "hash"?,
"overrides"?}. Answer: {"refused": "<error>"} when the SDK will not build the user, else the fields it
exposes plus "events": the exposure events the call posted (captured in order: a custom marker event
is logged after every call, so events are attributed to the call that produced them). The legacy SDK's
answers also say why when it fails quietly: "get_crashed" (a layer was answered, `Layer.get` raised) and
"gcir_error" (why its client initialize response is None: the exception and the functions it passed), so
the harness recognises a documented divergence from the SDK's own reason, not from the shape alone.
"""

from __future__ import annotations

import json
import sys
from typing import Any

SECRET = "secret-differential"
MARKER = "differential::marker"


def _closed_port() -> str:
    """A loopback base URL nobody listens on: requests fail at once and never leave the machine."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _Capture:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []


def _split(events: list[dict[str, Any]], count: int) -> list[list[dict[str, Any]]]:
    """Events of each call: everything before the call's marker (exposures only)."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    i = 0
    for event in events:
        if event.get("eventName") == MARKER:
            i += 1
            continue
        if i < count and str(event.get("eventName", "")).startswith("statsig::") and "exposure" in event["eventName"]:
            out[i].append(event)
    return out


# ------------------------------------------------------------------------------------------- legacy
def run_legacy(job: dict[str, Any]) -> list[dict[str, Any]]:
    from statsig import HashingAlgorithm, StatsigEvent, StatsigOptions, StatsigUser
    from statsig.statsig_error_boundary import _StatsigErrorBoundary
    from statsig.statsig_logger import _StatsigLogger
    from statsig.statsig_server import StatsigServer

    capture = _Capture()

    def log(self: Any, event: Any) -> None:  # the logger's queue, read in process: no HTTP needed
        if not (self._local_mode or self._disabled):
            capture.events.append(json.loads(json.dumps(event.to_dict())))

    _StatsigLogger.log = log  # type: ignore[method-assign]
    base = _closed_port()
    api = f"{base}/v1/"
    _StatsigErrorBoundary.endpoint = f"{api}sdk_exception"
    payload = job["payload"] if isinstance(job["payload"], str) else json.dumps(job["payload"])
    options = StatsigOptions(
        bootstrap_values=payload, api=api, api_for_download_config_specs=api, api_for_get_id_lists=api,
        api_for_log_event=api, disable_diagnostics=True, rulesets_sync_interval=3600, idlists_sync_interval=3600,
        tier=job.get("tier"),
    )
    server = StatsigServer()
    server.initialize(SECRET, options)
    for o in job.get("overrides", []):
        getattr(server, f"override_{o['kind']}")(o["name"], o["value"], o.get("user_id"))
    answers: list[dict[str, Any]] = []
    marker_user = StatsigUser(user_id="marker")
    for q in job["queries"]:
        u = q["user"]
        try:
            user = StatsigUser(
                user_id=u.get("userID"), email=u.get("email"), ip=u.get("ip"), user_agent=u.get("userAgent"),
                country=u.get("country"), locale=u.get("locale"), app_version=u.get("appVersion"),
                custom=u.get("custom"), private_attributes=u.get("privateAttributes"),
                custom_ids=u.get("customIDs"), _statsig_environment=u.get("statsigEnvironment"),
            )
        except Exception as exc:
            answers.append({"refused": type(exc).__name__})
            server.log_event(StatsigEvent(marker_user, MARKER))
            continue
        try:
            answers.append(_legacy_query(server, q, user, HashingAlgorithm))
        except Exception as exc:
            answers.append({"crashed": f"{type(exc).__name__}: {exc}"})
        server.log_event(StatsigEvent(marker_user, MARKER))
    for answer, events in zip(answers, _split(capture.events, len(answers)), strict=True):
        if "refused" not in answer and "crashed" not in answer:
            answer["events"] = events
    server.shutdown()
    return answers


def _legacy_query(server: Any, q: dict[str, Any], user: Any, hashing: Any) -> dict[str, Any]:
    kind, name, log = q["kind"], q["name"], q.get("log", True)
    if kind == "gate":
        g = server.get_feature_gate(user, name, log_exposure=log)
        if isinstance(g, bool):
            return {"value": g, "rule_id": None}
        return {"value": g.value, "rule_id": g.rule_id, "group_name": g.group_name, "id_type": g.id_type}
    if kind in ("config", "experiment"):
        call = server.get_config if kind == "config" else server.get_experiment
        c = call(user, name) if log else getattr(server, f"get_{kind}_with_exposure_logging_disabled")(user, name)
        answer = {"value": c.get_value(), "rule_id": c.rule_id, "group_name": c.group_name}
        if hasattr(c, "id_type"):
            answer["id_type"] = c.id_type
        return answer
    if kind == "layer":
        layer = server.get_layer(user, name) if log else server.get_layer_with_exposure_logging_disabled(user, name)
        values = layer.get_values()
        answer = {"value": values, "rule_id": layer.rule_id, "group_name": layer.group_name,
                  "allocated_experiment_name": layer.allocated_experiment}
        if q.get("param") is not None:
            try:
                layer.get(q["param"], None)
            except Exception as exc:  # the layer was answered; reading a parameter of it failed
                answer["get_crashed"] = f"{type(exc).__name__}: {exc}"
        return answer
    if kind == "gcir":
        algo = {"none": hashing.NONE, "djb2": hashing.DJB2, "sha256": hashing.SHA256}[q.get("hash", "none")]
        include = q.get("include_local_overrides", False)
        response = server.get_client_initialize_response(user, hash=algo, include_local_overrides=include)
        answer = {"gcir": json.loads(json.dumps(response))}
        if response is None:  # the SDK's error boundary swallowed why: ask its evaluator once more, unguarded
            answer["gcir_error"] = _legacy_gcir_error(server, user, algo, include)
        return answer
    raise ValueError(kind)


def _legacy_gcir_error(server: Any, user: Any, algo: Any, include: bool) -> dict[str, Any]:
    import traceback

    try:
        normal = server._StatsigServer__normalize_user(user)
        server._evaluator.get_client_initialize_response(normal, algo, None, include, None)
    except Exception as exc:
        frames = [f.name for f in traceback.extract_tb(exc.__traceback__)]
        return {"error": f"{type(exc).__name__}: {exc}", "frames": frames}
    return {"error": "", "frames": []}


# --------------------------------------------------------------------------------------------- core
def run_core(job: dict[str, Any]) -> list[dict[str, Any]]:
    import statsig_python_core as core

    from tests.servers.statsig_api import FakeStatsigAPI

    payload = job["payload"] if isinstance(job["payload"], str) else json.dumps(job["payload"])

    class SnapshotStore(core.DataStore):  # the payload in process, read as the core reads a data store
        def get(self, key: str) -> Any:
            return core.DataStoreResponse(result=payload, time=None)

    with FakeStatsigAPI() as api:
        kwargs: dict[str, Any] = {}
        if job.get("tier"):
            kwargs["environment"] = job["tier"]
        options = core.StatsigOptions(
            specs_url=api.specs_url("v2"), log_event_url=api.log_event_url, id_lists_url=api.id_lists_url,
            data_store=SnapshotStore(), specs_sync_interval_ms=3_600_000, output_log_level="none",
            event_logging_flush_interval_ms=3_600_000, **kwargs,
            # the IP and user-agent tables load in the background: answers before that are not the SDK's
            wait_for_country_lookup_init=True, wait_for_user_agent_init=True,
        )
        # core keeps sdk_configs (sampling mode) per SDK key for the whole process: one key per job
        statsig = core.Statsig(f"{SECRET}-{job.get('index', id(job))}", options)
        statsig.initialize().wait()
        for o in job.get("overrides", []):
            method = {"gate": "override_gate", "config": "override_dynamic_config",
                      "experiment": "override_experiment", "layer": "override_layer"}[o["kind"]]
            getattr(statsig, method)(o["name"], o["value"], o.get("user_id"))
        marker_user = core.StatsigUser(user_id="marker")
        answers: list[dict[str, Any]] = []
        for q in job["queries"]:
            u = q["user"]
            try:
                user = core.StatsigUser(
                    user_id=u.get("userID"), email=u.get("email"), ip=u.get("ip"), country=u.get("country"),
                    locale=u.get("locale"), app_version=u.get("appVersion"), user_agent=u.get("userAgent"),
                    custom=u.get("custom"), custom_ids=u.get("customIDs"),
                    private_attributes=u.get("privateAttributes"), statsig_environment=u.get("statsigEnvironment"),
                )
            except Exception as exc:
                answers.append({"refused": type(exc).__name__})
                statsig.log_event(marker_user, MARKER)
                continue
            try:
                answers.append(_core_query(core, statsig, q, user))
            except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException (a BaseException)
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                answers.append({"crashed": f"{type(exc).__name__}: {exc}"})
            statsig.log_event(marker_user, MARKER)
        statsig.flush_events().wait()
        statsig.shutdown().wait()
        events = api.events()
    for answer, evs in zip(answers, _split(events, len(answers)), strict=True):
        if "refused" not in answer and "crashed" not in answer:
            answer["events"] = evs
    return answers


def _core_query(core: Any, statsig: Any, q: dict[str, Any], user: Any) -> dict[str, Any]:
    kind, name, log = q["kind"], q["name"], q.get("log", True)
    if kind == "gate":
        opts = None if log else core.FeatureGateEvaluationOptions(disable_exposure_logging=True)
        g = statsig.get_feature_gate(user, name, opts)
        return {"value": g.value, "rule_id": g.rule_id, "id_type": g.id_type}
    if kind in ("config", "experiment"):
        if kind == "config":
            opts = None if log else core.DynamicConfigEvaluationOptions(disable_exposure_logging=True)
            c = statsig.get_dynamic_config(user, name, opts)
        else:
            opts = None if log else core.ExperimentEvaluationOptions(disable_exposure_logging=True)
            c = statsig.get_experiment(user, name, opts)
        return {"value": c.get_value(), "rule_id": c.rule_id, "group_name": getattr(c, "group_name", None),
                "id_type": c.id_type}
    if kind == "layer":
        opts = None if log else core.LayerEvaluationOptions(disable_exposure_logging=True)
        layer = statsig.get_layer(user, name, opts)
        values = layer.get_value()
        if q.get("param") is not None:
            layer.get(q["param"], None)
        return {"value": values, "rule_id": layer.rule_id, "group_name": layer.group_name,
                "allocated_experiment_name": layer.allocated_experiment_name}
    if kind == "gcir":
        text = statsig.get_client_initialize_response(
            user, hash=q.get("hash", "none"), include_local_overrides=q.get("include_local_overrides", False)
        )
        return {"gcir": json.loads(text) if text else None}
    raise ValueError(kind)


def main() -> None:
    import logging

    logging.disable(logging.CRITICAL)  # the SDKs' connection-refused warnings are expected here
    sdk = sys.argv[1]
    jobs = json.load(sys.stdin)
    runner = run_legacy if sdk == "legacy" else run_core
    out = []
    for index, job in enumerate(jobs):
        job.setdefault("index", index)
        try:
            out.append({"answers": runner(job)})
        except Exception as exc:  # one broken job must not hide the others' answers
            out.append({"error": f"{type(exc).__name__}: {exc}"})
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
