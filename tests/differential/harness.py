"""Payloads in both formats, and the same queries answered by an official SDK and by statsig_lite.

A logical payload is written once in the v1 shape (lists of specs with inline conditions, `layers`);
`to_v2` turns it into the v2 shape (maps by name, conditions by key in `condition_map`,
`experiment_to_layer`). v1 payloads are answered by the legacy SDK, v2 payloads by the core.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from statsig_lite import HashingAlgorithm, StatsigOptions, StatsigServer, StatsigUser
from statsig_lite.buffer import wire_deferred

REPO = Path(__file__).resolve().parents[2]
REFERENCE = {"v1": "legacy", "v2": "core"}


def to_v2(v1: Mapping[str, Any]) -> dict[str, Any]:
    """The v2 form of a v1 payload: same specs, conditions shared by key."""
    out: dict[str, Any] = {k: copy.deepcopy(v) for k, v in v1.items() if k not in ("layers",)}
    out["response_format"] = "dcs-v2"
    condition_map: dict[str, Any] = {}
    for section in ("feature_gates", "dynamic_configs", "layer_configs"):
        specs = {}
        for spec in v1.get(section, []):
            spec = copy.deepcopy(spec)
            name = spec.pop("name")
            for rule in spec.get("rules", []):
                keys = []
                for cond in rule.get("conditions", []):
                    key = str(int(hashlib.sha256(json.dumps(cond, sort_keys=True).encode()).hexdigest()[:8], 16))
                    condition_map[key] = cond
                    keys.append(key)
                rule["conditions"] = keys
            specs[name] = spec
        out[section] = specs
    out["condition_map"] = condition_map
    out["experiment_to_layer"] = {e: layer for layer, exps in (v1.get("layers") or {}).items() for e in exps}
    return out


def payload_for(v1: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    return dict(v1) if fmt == "v1" else to_v2(v1)


def run_reference(fmt: str, jobs: list[dict[str, Any]], timeout: float = 300.0) -> list[dict[str, Any]]:
    """Answers of the payload format's official SDK, in a fresh process (loopback only)."""
    sdk = REFERENCE[fmt]
    env = {**os.environ, "NO_PROXY": "*", "no_proxy": "*", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.differential.oracle", sdk],
        input=json.dumps(jobs), capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"{sdk} oracle failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    start = proc.stdout.find("[{")  # an SDK may print a line of its own first
    if start < 0:
        raise RuntimeError(f"{sdk} oracle answered no JSON: {proc.stdout[:500]!r} {proc.stderr[-1000:]}")
    return json.loads(proc.stdout[start:])


class _Capture:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def enqueue(self, event: Mapping[str, Any]) -> None:
        self.events.append(json.loads(json.dumps(event)))

    def settle(self) -> int:  # builds each exposure as it is recorded: nothing is left to decide
        return 0

    def enqueue_exposure(self, event: Any) -> None:
        built = wire_deferred(event)  # None: a repeat (decided when built, in order)
        if built is not None:
            self.enqueue(built)

    def flush(self, timeout_s: float | None = None) -> None:
        return None

    def shutdown(self, timeout_s: float | None = None) -> None:
        return None


def run_ours(job: dict[str, Any], now_ms: int | None = None,
             skip: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    """statsig_lite's answers to one job, in the oracle's answer format. Calls in `skip` (users the reference
    refused to build) are not made: they would move the exposure dedupe and sampling state."""
    import time

    capture = _Capture()
    clock = (lambda: now_ms / 1000.0) if now_ms is not None else time.time
    server = StatsigServer(clock=clock, event_pipeline=capture)  # type: ignore[arg-type]
    payload = job["payload"] if isinstance(job["payload"], str) else json.dumps(job["payload"])
    details = server.initialize("secret-differential", StatsigOptions(bootstrap_values=payload, tier=job.get("tier"),
                                                                     id_lists=False))
    if not details.init_success:
        raise AssertionError(f"statsig_lite did not load the payload: {details.error}")
    for o in job.get("overrides", []):
        method = {"gate": server.override_gate, "config": server.override_config,
                  "experiment": server.override_experiment, "layer": server.override_layer}[o["kind"]]
        method(o["name"], o["value"], o.get("user_id"))
    answers: list[dict[str, Any]] = []
    for i, q in enumerate(job["queries"]):
        if i in skip:
            answers.append({"refused": "by the reference"})
            continue
        before = len(capture.events)
        user = StatsigUser.from_dict(q["user"])
        answer = _our_query(server, q, user)
        answer["events"] = capture.events[before:]
        answers.append(answer)
    return answers


def _our_query(server: StatsigServer, q: dict[str, Any], user: StatsigUser) -> dict[str, Any]:
    kind, name, log = q["kind"], q["name"], q.get("log", True)
    if kind == "gate":
        g = server.get_feature_gate(user, name, log_exposure=log)
        return {"value": g.value, "rule_id": g.rule_id, "group_name": g.group_name, "id_type": g.id_type}
    if kind in ("config", "experiment"):
        call = server.get_config if kind == "config" else server.get_experiment
        c = call(user, name, log_exposure=log)
        return {"value": dict(c.value), "rule_id": c.rule_id, "group_name": c.group_name, "id_type": c.id_type}
    if kind == "layer":
        layer = server.get_layer(user, name, log_exposure=log)
        values = dict(layer.get_values())
        if q.get("param") is not None:
            layer.get(q["param"], None)
        return {"value": values, "rule_id": layer.rule_id, "group_name": layer.group_name,
                "allocated_experiment_name": layer.allocated_experiment}
    if kind == "gcir":
        response = server.get_client_initialize_response(
            user, hash=HashingAlgorithm(q.get("hash", "none")),
            include_local_overrides=q.get("include_local_overrides", False),
        )
        return {"gcir": json.loads(json.dumps(response))}
    raise ValueError(kind)


# ------------------------------------------------------------------------------------------ comparing
_EVENT_METADATA = (
    "gate", "config", "gateValue", "ruleID", "rulePassed", "configVersion", "allocatedExperiment",
    "parameterName", "isExplicitParameter", "isManualExposure",
)
_GCIR_VOLATILE = ("time", "generator", "sdkInfo", "sdkParams")
_SAMPLING_KEYS = ("samplingMode", "samplingRate", "shadowLogged")


def normal_event(event: Mapping[str, Any]) -> dict[str, Any]:
    meta = event.get("metadata") or {}
    sm = event.get("statsigMetadata") or {}
    return {
        "eventName": event.get("eventName"),
        "user": event.get("user"),
        "metadata": {k: meta[k] for k in _EVENT_METADATA if k in meta},
        "metadata_keys": sorted(k for k in meta if k not in ("reason",)),
        "secondaryExposures": event.get("secondaryExposures"),
        "statsigMetadata": {k: sm.get(k) for k in _SAMPLING_KEYS if sm.get(k) is not None},
    }


def normal_gcir(response: Any) -> Any:
    if not isinstance(response, Mapping):
        return response
    return {k: v for k, v in response.items() if k not in _GCIR_VOLATILE}


def differences(want: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
    """Field-by-field differences between a reference answer and ours ('' when the reference refused)."""
    if "refused" in want:
        return []
    problems = []
    for key in ("value", "rule_id", "group_name", "id_type", "allocated_experiment_name"):
        if key in want and want[key] != got.get(key):
            if key == "rule_id" and want[key] is None:
                continue  # the legacy SDK's bare bool for some names
            problems.append(f"{key}: want {want[key]!r} got {got.get(key)!r}")
    if "gcir" in want and normal_gcir(want["gcir"]) != normal_gcir(got.get("gcir")):
        problems.append(f"gcir: want {_short(normal_gcir(want['gcir']))} got {_short(normal_gcir(got.get('gcir')))}")
    w = [normal_event(e) for e in want.get("events", [])]
    g = [normal_event(e) for e in got.get("events", [])]
    if w != g:
        problems.append(f"events: want {_short(w)} got {_short(g)}")
    return problems


def _short(value: Any, limit: int = 1500) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."
