"""Drive ONE SDK in a fresh process and write its measurements as JSON.

    <bench venv>/bin/python driver.py SDK JOB.json OUT.json      SDK: legacy | core | lite

Run by run.py, never imported by it. The SDK import is timed first, before this script imports
anything beyond `sys`, `os` and `time`, so the figure is the SDK's own cold-process import cost.
Every URL an SDK knows about points at the loopback server named in the job.

Order of work: import -> read job and spec text -> init -> RSS -> first check -> 0.5 s idle -> RSS
-> users and call lists -> RSS -> digest -> latency loops -> get_client_initialize_response -> RSS
-> shutdown. A failing phase is recorded in `errors` and the driver carries on where that makes
sense, so a half-written SDK still reports what it can.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

SECRET = "secret-benchmark-key"
Call = Callable[[Any, str, str], Any]


def rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# --------------------------------------------------------------------------------------- adapters
class Legacy:
    """statsig==0.72.1, initialised from bootstrap_values (the v1 payload text)."""

    package = "statsig"
    payload = "v1"

    def import_sdk(self) -> None:
        from statsig import HashingAlgorithm, StatsigOptions, StatsigUser, statsig

        self.sdk, self.options_cls, self.user_cls, self.hashing = statsig, StatsigOptions, StatsigUser, HashingAlgorithm

    def init(self, spec_text: str, server: str) -> dict[str, Any]:
        from statsig.statsig_error_boundary import _StatsigErrorBoundary

        api = f"{server}/v1/"
        # sdk_exception reports go to a hard-coded statsigapi.net URL: point that at the loopback too
        _StatsigErrorBoundary.endpoint = f"{api}sdk_exception"
        options = self.options_cls(
            bootstrap_values=spec_text, api=api, api_for_download_config_specs=api,
            api_for_get_id_lists=api, api_for_log_event=api, disable_diagnostics=True,
            rulesets_sync_interval=3600, idlists_sync_interval=3600,
        )
        details = self.sdk.initialize(SECRET, options)
        return {"source": str(getattr(details, "source", "")), "init_success": getattr(details, "init_success", None)}

    def user(self, u: dict[str, Any]) -> Any:
        return self.user_cls(
            user_id=u.get("userID"), email=u.get("email"), ip=u.get("ip"), user_agent=u.get("userAgent"),
            country=u.get("country"), locale=u.get("locale"), app_version=u.get("appVersion"),
            custom=u.get("custom"), private_attributes=u.get("privateAttributes"), custom_ids=u.get("customIDs"),
            _statsig_environment=u.get("statsigEnvironment"),
        )

    def calls(self) -> dict[tuple[str, bool], Call]:
        s = self.sdk
        gate, gate_off = s.check_gate, s.check_gate_with_exposure_logging_disabled
        config, config_off = s.get_config, s.get_config_with_exposure_logging_disabled
        exp, exp_off = s.get_experiment, s.get_experiment_with_exposure_logging_disabled
        layer, layer_off = s.get_layer, s.get_layer_with_exposure_logging_disabled
        return {
            ("gate", True): lambda u, n, p: gate(u, n),
            ("gate", False): lambda u, n, p: gate_off(u, n),
            ("config", True): lambda u, n, p: config(u, n),
            ("config", False): lambda u, n, p: config_off(u, n),
            ("experiment", True): lambda u, n, p: exp(u, n),
            ("experiment", False): lambda u, n, p: exp_off(u, n),
            ("layer", True): lambda u, n, p: layer(u, n).get(p, None),
            ("layer", False): lambda u, n, p: layer_off(u, n).get(p, None),
        }

    def result(self, kind: str, u: Any, name: str) -> tuple[Any, str]:
        s = self.sdk
        if kind == "gate":
            g = s.get_feature_gate(u, name, log_exposure=False)
            if isinstance(g, bool):  # legacy answers a bare bool for some names (e.g. "")
                return g, ""
            return g.value, g.rule_id
        if kind == "config":
            c = s.get_config_with_exposure_logging_disabled(u, name)
        elif kind == "experiment":
            c = s.get_experiment_with_exposure_logging_disabled(u, name)
        else:
            layer = s.get_layer_with_exposure_logging_disabled(u, name)
            return layer.get_values(), layer.rule_id
        return c.get_value(), c.rule_id

    def gcir(self, u: Any, algo: str) -> Any:
        h = {"djb2": self.hashing.DJB2, "sha256": self.hashing.SHA256}[algo]
        return self.sdk.get_client_initialize_response(u, hash=h)

    def shutdown(self) -> None:
        self.sdk.shutdown()

    def version(self) -> str:
        from importlib.metadata import version

        return version(self.package)


class Lite(Legacy):
    """statsig_lite, through its legacy-compatible module facade, on the v1 or the v2 payload."""

    package = "statsig-lite"

    def import_sdk(self) -> None:
        from statsig_lite import HashingAlgorithm, StatsigOptions, StatsigUser, statsig

        self.sdk, self.options_cls, self.user_cls, self.hashing = statsig, StatsigOptions, StatsigUser, HashingAlgorithm

    def init(self, spec_text: str, server: str) -> dict[str, Any]:
        # exposures are built, buffered and posted to the loopback server (at shutdown: statsig_lite sends
        # at flush, as its Lambda decorator does at the end of an invocation); no ID-list fetch, like core
        # lambda_mode: no background thread, the configuration on Lambda (elsewhere a worker thread flushes
        # while the calls run, as the official SDKs' threads do)
        # max_buffered_bytes: room for the whole run's exposures (its default bound, sized for one invocation,
        # would drop the oldest of the tens of thousands buffered here, and shutdown would deliver fewer)
        options = self.options_cls(bootstrap_values=spec_text, api=f"{server}/v1/", id_lists=False, lambda_mode=True,
                                   max_buffered_bytes=1 << 30)
        details = self.sdk.initialize(SECRET, options)
        return {"source": str(getattr(details, "source", "")), "init_success": getattr(details, "init_success", None)}

    def gcir_text(self, u: Any, algo: str) -> str:
        h = {"djb2": self.hashing.DJB2, "sha256": self.hashing.SHA256}[algo]
        return str(self.sdk.get_client_initialize_response_json(u, hash=h))

    def shutdown(self) -> None:
        # every event of the run delivered: its default budget (the flush timeout) is sized for one
        # Lambda invocation's events, not for the tens of thousands buffered here
        self.sdk.shutdown(timeout=120.0)

    def version(self) -> str:
        from importlib.metadata import version

        return f"{version(self.package)} from {os.path.dirname(os.path.abspath(self.sdk.__file__))}"


class Core:
    """statsig-python-core==0.24.0, initialised from a DataStore that returns the v2 payload text."""

    package = "statsig-python-core"
    payload = "v2"

    def import_sdk(self) -> None:
        import statsig_python_core as core

        self.core = core

    def init(self, spec_text: str, server: str) -> dict[str, Any]:
        core = self.core

        held = [spec_text]  # released once initialised: RSS after init counts what the SDK keeps, not the adapter

        class SnapshotStore(core.DataStore):  # the in-process snapshot, as the core reads a data store
            def get(self, key: str) -> Any:
                return core.DataStoreResponse(result=held[0] if held else None, time=None)

        options = core.StatsigOptions(
            specs_url=f"{server}/v2/download_config_specs", log_event_url=f"{server}/v1/log_event",
            id_lists_url=f"{server}/v1/get_id_lists", data_store=SnapshotStore(),
            specs_sync_interval_ms=3_600_000, output_log_level="error",
        )
        self.statsig = core.Statsig(SECRET, options)
        self.statsig.initialize().wait()
        held.clear()
        details = self.statsig.get_initialize_details()
        self.gate_off = core.FeatureGateEvaluationOptions(disable_exposure_logging=True)
        self.config_off = core.DynamicConfigEvaluationOptions(disable_exposure_logging=True)
        self.exp_off = core.ExperimentEvaluationOptions(disable_exposure_logging=True)
        self.layer_off = core.LayerEvaluationOptions(disable_exposure_logging=True)
        return {"source": details.source, "init_success": details.init_success}

    def user(self, u: dict[str, Any]) -> Any:
        return self.core.StatsigUser(
            user_id=u.get("userID"), email=u.get("email"), ip=u.get("ip"), country=u.get("country"),
            locale=u.get("locale"), app_version=u.get("appVersion"), user_agent=u.get("userAgent"),
            custom=u.get("custom"), custom_ids=u.get("customIDs"), private_attributes=u.get("privateAttributes"),
            statsig_environment=u.get("statsigEnvironment"),
        )

    def calls(self) -> dict[tuple[str, bool], Call]:
        s = self.statsig
        gate, config, exp, layer = s.check_gate, s.get_dynamic_config, s.get_experiment, s.get_layer
        g_off, c_off, e_off, l_off = self.gate_off, self.config_off, self.exp_off, self.layer_off
        return {
            ("gate", True): lambda u, n, p: gate(u, n),
            ("gate", False): lambda u, n, p: gate(u, n, g_off),
            ("config", True): lambda u, n, p: config(u, n),
            ("config", False): lambda u, n, p: config(u, n, c_off),
            ("experiment", True): lambda u, n, p: exp(u, n),
            ("experiment", False): lambda u, n, p: exp(u, n, e_off),
            ("layer", True): lambda u, n, p: layer(u, n).get(p, None),
            ("layer", False): lambda u, n, p: layer(u, n, l_off).get(p, None),
        }

    def result(self, kind: str, u: Any, name: str) -> tuple[Any, str]:
        s = self.statsig
        if kind == "gate":
            g = s.get_feature_gate(u, name, self.gate_off)
            return g.value, g.rule_id
        if kind == "config":
            c = s.get_dynamic_config(u, name, self.config_off)
        elif kind == "experiment":
            c = s.get_experiment(u, name, self.exp_off)
        else:
            c = s.get_layer(u, name, self.layer_off)
        return c.get_value(), c.rule_id

    def gcir(self, u: Any, algo: str) -> Any:
        return self.statsig.get_client_initialize_response(u, hash=algo)

    def shutdown(self) -> None:
        self.statsig.shutdown().wait()

    def version(self) -> str:
        from importlib.metadata import version

        return version(self.package)


ADAPTERS = {"legacy": Legacy, "core": Core, "lite": Lite}


# ------------------------------------------------------------------------------------- measuring
def time_calls(fn: Call, calls: list[tuple[Any, str, str]]) -> list[int]:
    clock = time.perf_counter_ns
    out = [0] * len(calls)
    for i, (u, n, p) in enumerate(calls):
        t0 = clock()
        fn(u, n, p)
        out[i] = clock() - t0
    return out


def summarize(samples: list[int]) -> dict[str, float]:
    ordered = sorted(samples)
    n = len(ordered)
    return {"median_ns": float(ordered[n // 2]), "p99_ns": float(ordered[min(n - 1, int(n * 0.99))]), "n": n}


def value_digest(value: Any) -> str:
    import hashlib
    import json

    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def run(sdk: str, job_path: str, result: dict[str, Any]) -> None:
    result["rss_before_import_kib"] = rss_kib()
    adapter = ADAPTERS[sdk]()
    t0 = time.perf_counter()
    adapter.import_sdk()
    result["import_s"] = time.perf_counter() - t0
    result["rss_after_import_kib"] = rss_kib()

    import gc
    import json
    import traceback

    with open(job_path) as f:
        job = json.load(f)
    with open(job["spec_path"], encoding="utf-8") as f:
        spec_text = f.read()
    t0 = time.perf_counter()
    result["init_details"] = adapter.init(spec_text, job["server_url"])
    result["init_s"] = time.perf_counter() - t0
    del spec_text
    gc.collect()
    result["rss_after_init_kib"] = rss_kib()

    first_user = adapter.user(job["first_check"]["user"])
    first_call = adapter.calls()[("gate", True)]  # built outside the timed window: the check alone is timed
    t0 = time.perf_counter()
    first_call(first_user, job["first_check"]["gate"], "")
    result["first_check_s"] = time.perf_counter() - t0
    time.sleep(0.5)  # let background loading that follows init settle (the core loads its country table)
    result["rss_settled_kib"] = rss_kib()
    result["version"] = adapter.version()

    def phase(name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as exc:
            tail = traceback.format_exc().strip().splitlines()[-3:]
            result.setdefault("errors", []).append({"phase": name, "error": repr(exc)[:300], "trace": tail})

    with open(job["data_path"]) as f:
        data = json.load(f)
    users = [adapter.user(u) for u in data["users"]]
    result["rss_after_data_kib"] = rss_kib()  # the driver's own users and call lists are in memory now

    def digest() -> None:
        answers = []
        errors = 0
        for u in users[: data["grid_users"]]:
            for kind, name, _param in data["grid"]:
                try:
                    value, rule_id = adapter.result(kind, u, name)
                    answers.append(f"{value_digest(value)}|{rule_id}")
                except Exception as exc:
                    errors += 1
                    answers.append(f"error:{type(exc).__name__}")
        result["digest_answers"] = answers
        result["digest_errors"] = errors

    if job["digest"]:
        phase("digest", digest)

    def latency() -> None:
        calls = adapter.calls()
        noop: Call = lambda u, n, p: None  # noqa: E731  (same call shape as the SDK lambdas)
        out: dict[str, Any] = {}
        for key, fn in calls.items():
            kind, log = key
            seq = data["seqs"][kind]["on" if log else "off"]
            resolved = [(users[i], n, p) for i, n, p in seq]
            label = f"{kind}/{'on' if log else 'off'}"
            try:
                out[label] = summarize(time_calls(fn, resolved))
                if label == "gate/off":
                    out["loop_overhead"] = summarize(time_calls(noop, resolved))
            except Exception as exc:
                result.setdefault("errors", []).append({"phase": f"latency {label}", "error": repr(exc)[:300]})
        result["latency"] = out

    phase("latency", latency)

    def gcir() -> None:
        out: dict[str, Any] = {}
        for algo in ("djb2", "sha256"):
            call_ns, text_ns, sizes = [], [], []
            for u in users[: data["gcir_users"]]:
                if hasattr(adapter, "gcir_text"):
                    # an SDK that builds the text itself: that call, timed alone and first for this user (after
                    # the dict call it would find that user's rule hashes memoised)
                    t0 = time.perf_counter_ns()
                    text = adapter.gcir_text(u, algo)
                    text_ns.append(time.perf_counter_ns() - t0)
                t0 = time.perf_counter_ns()
                response = adapter.gcir(u, algo)
                t1 = time.perf_counter_ns()
                if not hasattr(adapter, "gcir_text"):
                    text = response if isinstance(response, str) else json.dumps(response)
                    text_ns.append(time.perf_counter_ns() - t0)
                call_ns.append(t1 - t0)
                sizes.append(len(text))
            out[algo] = {"call": summarize(call_ns), "json_text": summarize(text_ns),
                         "returns": type(response).__name__, "bytes": sorted(sizes)[len(sizes) // 2]}
        result["gcir"] = out

    phase("gcir", gcir)
    result["rss_end_kib"] = rss_kib()
    result["rss_peak_kib"] = rss_kib("VmHWM")

    def shutdown() -> None:
        t0 = time.perf_counter()
        adapter.shutdown()
        result["shutdown_s"] = time.perf_counter() - t0

    phase("shutdown", shutdown)


def main() -> int:
    sdk, job_path, out_path = sys.argv[1:4]
    result: dict[str, Any] = {"sdk": sdk, "pid": os.getpid()}
    try:
        run(sdk, job_path, result)
    except BaseException as exc:
        import traceback

        result["fatal"] = repr(exc)[:500]
        result["trace"] = traceback.format_exc().strip().splitlines()[-6:]
    import json

    with open(out_path, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
