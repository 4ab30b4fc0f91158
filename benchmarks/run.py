#!/usr/bin/env python3
"""Benchmark statsig_lite side by side with the official Statsig Python SDKs.

    python3 benchmarks/run.py            # small + large spec, several runs, writes benchmarks/RESULTS.md
    python3 benchmarks/run.py --quick    # small spec, fewer iterations (smoke test, about a minute)

Steps: set up benchmarks/.venv (statsig==0.72.1, statsig-python-core==0.24.0, statsig_lite -e .),
re-run itself inside a loopback-only network namespace when permitted, generate the synthetic
specs, start the loopback Statsig API, run every SDK in its own fresh process per run (driver.py),
and write the medians as a markdown table (report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import netns
import report
import specgen
from benchenv import HERE, PYTHON, REPO, ensure_venv
from loopback import LoopbackServer

WORK = HERE / ".work"
SEED = 1

# (label, driver SDK, payload it is initialised from)
SDKS = [("lite-v1", "lite", "v1"), ("lite-v2", "lite", "v2"), ("core", "core", "v2"), ("legacy", "legacy", "v1")]
NOT_ISOLATED = ("every configurable SDK URL points at the loopback server, but the core's hard-coded "
                "sdk_exception URL (statsigapi.net) could be reached if it reported an internal error")
DROPPED = re.compile(r"Dropped (\d+) events")
IMPORTS = {"lite": "statsig_lite", "core": "statsig_python_core", "legacy": "statsig"}


@dataclass(frozen=True)
class Plan:
    presets: tuple[str, ...]
    runs: int
    calls: int           # timed calls per (API, logging on/off) loop
    latency_users: int   # distinct users the latency loops draw from
    grid_users: int      # users x every entity name = the result digest grid
    gcir_users: dict[str, int]


FULL = Plan(presets=("small", "large"), runs=7, calls=20000, latency_users=2000, grid_users=40,
            gcir_users={"small": 40, "large": 12})
QUICK = Plan(presets=("small",), runs=3, calls=5000, latency_users=1000, grid_users=20, gcir_users={"small": 20})


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small spec only, fewer runs and iterations")
    p.add_argument("--runs", type=int, help="runs per SDK and spec (default: 7, quick: 3)")
    p.add_argument("--no-netns", action="store_true", help="do not try a loopback-only network namespace")
    p.add_argument("--output", type=Path, help="markdown file to write (default: benchmarks/RESULTS.md, "
                   "quick: benchmarks/.work/RESULTS-quick.md)")
    p.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--isolation", default="", help=argparse.SUPPRESS)
    return p.parse_args()


def prepare_spec(preset: str, plan: Plan) -> dict[str, Any]:
    """Write the v1/v2 payloads and the shared per-spec data file; return their paths and counts."""
    v1 = specgen.generate(preset, SEED)
    v2 = specgen.to_v2(v1)
    paths = {"v1": WORK / f"{preset}_v1.json", "v2": WORK / f"{preset}_v2.json"}
    texts = {"v1": specgen.dumps(v1), "v2": specgen.dumps(v2)}
    for key, path in paths.items():
        path.write_text(texts[key], encoding="utf-8")
    names = specgen.Names.of(v1)
    seqs = {
        kind: {mode: specgen.call_sequence(names, kind, plan.calls, plan.latency_users, seed)
               for mode, seed in (("on", SEED * 10 + 1), ("off", SEED * 10 + 2))}
        for kind in ("gate", "config", "experiment", "layer")
    }
    data = {
        "users": specgen.generate_users(plan.latency_users, SEED + 100),
        "grid_users": plan.grid_users,
        "grid": specgen.digest_grid(names),
        "seqs": seqs,
        "gcir_users": plan.gcir_users[preset],
    }
    data_path = WORK / f"{preset}_data.json"
    data_path.write_text(json.dumps(data))
    counts = {
        "gates": sum(1 for s in v1["feature_gates"] if s["entity"] == "feature_gate"),
        "segments": sum(1 for s in v1["feature_gates"] if s["entity"] == "segment"),
        "holdouts": sum(1 for s in v1["feature_gates"] if s["entity"] == "holdout"),
        "configs": len(names.configs), "experiments": len(names.experiments), "layers": len(names.layers),
        "conditions_v2": len(v2["condition_map"]),
        "bytes_v1": len(texts["v1"].encode()), "bytes_v2": len(texts["v2"].encode()),
    }
    first_check = {"user": data["users"][0], "gate": names.gates[0]}
    return {"paths": {k: str(v) for k, v in paths.items()}, "texts": texts, "lcut": v1["time"],
            "first_check": first_check,
            "data_path": str(data_path), "counts": counts, "grid": data["grid"]}


SNAPSHOT = WORK / "snapshot"


def snapshot_lite() -> str:
    """Copy statsig_lite as it is now: edits made while the benchmark runs must not mix versions."""
    shutil.rmtree(SNAPSHOT, ignore_errors=True)
    shutil.copytree(REPO / "statsig_lite", SNAPSHOT / "statsig_lite", ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "statsig_lite"], capture_output=True,
                           text=True).stdout.strip()
    return f"working tree at git {head or '?'}" + (" with uncommitted changes in statsig_lite/" if dirty else "")


def driver_env() -> dict[str, str]:
    """The snapshot of statsig_lite first on the path; bytecode caching on for every SDK alike, with
    caches under .work/pycache rather than in the packages."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    env["PYTHONPATH"] = str(SNAPSHOT)
    return env


def run_driver(sdk: str, spec_path: str, spec: dict[str, Any], server: LoopbackServer, digest: bool,
               tag: str) -> dict[str, Any]:
    job = {"spec_path": spec_path, "data_path": spec["data_path"], "first_check": spec["first_check"],
           "server_url": server.url, "digest": digest}
    job_path, out_path = WORK / f"job-{tag}.json", WORK / f"out-{tag}.json"
    job_path.write_text(json.dumps(job))
    out_path.unlink(missing_ok=True)
    server.reset_stats()
    started = time.perf_counter()
    try:
        proc = subprocess.run([str(PYTHON), str(HERE / "driver.py"), sdk, str(job_path), str(out_path)],
                              cwd=WORK, env=driver_env(), capture_output=True, text=True, timeout=600)
        stderr = proc.stderr
    except subprocess.TimeoutExpired as exc:
        stderr = f"timed out after {exc.timeout}s"
    wall = time.perf_counter() - started
    time.sleep(0.2)  # let the loopback server finish handling the last posts
    result: dict[str, Any] = json.loads(out_path.read_text()) if out_path.exists() else {"fatal": "no output"}
    result["server"] = server.stats.snapshot()
    result["wall_s"] = wall
    if stderr.strip():
        result["stderr_tail"] = stderr.strip().splitlines()[-5:]
    dropped = DROPPED.search(stderr)  # the legacy SDK's own "Dropped N events ..." warning
    if dropped:
        result["dropped_events"] = int(dropped.group(1))
    return result


def warm_imports() -> None:
    """Import each SDK once so bytecode caches exist and files are in the page cache."""
    for module in IMPORTS.values():
        subprocess.run([str(PYTHON), "-c", f"import {module}"], cwd=WORK, env=driver_env(), capture_output=True)
    # statsig_lite imports its delivery and parsing modules at init, not at import: compile those too, so no
    # run pays for compiling them (the legacy SDK imports all of its modules at import; the core is native)
    subprocess.run([str(PYTHON), "-m", "compileall", "-q", str(SNAPSHOT / "statsig_lite")], cwd=WORK,
                   env=driver_env(), capture_output=True)


def installed_sizes() -> dict[str, Any]:
    proc = subprocess.run([str(PYTHON), str(HERE / "sizes.py"), "statsig-lite", "statsig-python-core", "statsig"],
                          env=driver_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return dict(json.loads(proc.stdout))


def progress(label: str, preset: str, run: int, r: dict[str, Any]) -> None:
    if "fatal" in r:
        print(f"  run {run} {preset:5} {label:8} FAILED: {r['fatal'][:120]}", flush=True)
        return
    lat = r.get("latency", {}).get("gate/off", {})
    errors = f"  errors: {len(r['errors'])}" if r.get("errors") else ""
    print(f"  run {run} {preset:5} {label:8} import {r['import_s'] * 1e3:6.1f} ms  init {r['init_s'] * 1e3:7.1f} ms"
          f"  rss {r['rss_after_init_kib'] / 1024:6.1f} MiB  gate/off {lat.get('median_ns', 0) / 1e3:6.2f} us"
          f"  ({r['wall_s']:.1f} s){errors}", flush=True)


def measure(plan: Plan, output: Path, isolation: str) -> None:
    WORK.mkdir(exist_ok=True)
    started = time.time()
    load_before = os.getloadavg()[0]
    print(f"network isolation: {isolation}", flush=True)
    lite_source = snapshot_lite()
    specs = {preset: prepare_spec(preset, plan) for preset in plan.presets}
    sizes = installed_sizes()
    warm_imports()
    results: dict[str, dict[str, list[dict[str, Any]]]] = {p: {label: [] for label, _, _ in SDKS}
                                                           for p in plan.presets}
    with LoopbackServer() as server:
        for preset, spec in specs.items():
            server.set_specs(spec["texts"]["v1"], spec["texts"]["v2"], spec["lcut"])
            for run in range(plan.runs):
                order = SDKS[run % len(SDKS):] + SDKS[: run % len(SDKS)]  # rotate to spread drift
                for label, sdk, payload in order:
                    r = run_driver(sdk, spec["paths"][payload], spec, server, digest=run == 0,
                                   tag=f"{preset}-{label}")
                    results[preset][label].append(r)
                    progress(label, preset, run, r)
    flush, flush_data = {}, {}
    for preset in plan.presets:  # exposure delivery, both SDKs in one process (benchmarks/flush.py)
        print(f"  flush {preset} ...", flush=True)
        proc = subprocess.run([str(PYTHON), str(HERE / "flush.py"), preset, str(max(plan.runs, 3))], cwd=HERE,
                              env=driver_env(), capture_output=True, text=True)
        if proc.returncode != 0:
            flush[preset] = f"failed: {proc.stderr.strip()[-400:]}"
            continue
        lines = proc.stdout.strip().splitlines()
        flush[preset] = "\n".join(line for line in lines if not line.startswith("JSON "))
        flush_data[preset] = next((json.loads(line[5:]) for line in lines if line.startswith("JSON ")), {})
    meta = {
        "flush": flush,
        "flush_data": flush_data,
        "plan": asdict(plan),
        "isolation": isolation,
        "duration_s": time.time() - started,
        "load_1min": [load_before, os.getloadavg()[0]],
        "specs": {p: s["counts"] for p, s in specs.items()},
        "grids": {p: s["grid"] for p, s in specs.items()},
        "sizes": sizes,
        "lite_source": lite_source,
        "command": "python3 benchmarks/run.py" + (" --quick" if plan.presets == ("small",) else ""),
    }
    (WORK / "results.json").write_text(json.dumps({"meta": meta, "results": results}))
    output.write_text(report.render(meta, results))
    print(f"wrote {output} ({meta['duration_s']:.0f} s)", flush=True)


def main() -> int:
    args = parse_args()
    plan = QUICK if args.quick else FULL
    if args.runs:
        plan = Plan(**{**asdict(plan), "runs": args.runs})
    output = args.output or (WORK / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md")
    output = output.resolve()
    if not args.in_netns:
        ensure_venv()
        if not args.no_netns:
            ok, why = netns.can_unshare()
            if ok:
                argv = ["--quick"] if args.quick else []
                argv += ["--runs", str(plan.runs), "--output", str(output), "--in-netns"]
                return subprocess.call([*netns.UNSHARE, sys.executable, os.path.abspath(__file__), *argv])
            isolation = f"none ({why}); {NOT_ISOLATED}"
        else:
            isolation = f"none (--no-netns); {NOT_ISOLATED}"
    else:
        netns.loopback_up()
        isolation = f"loopback-only network namespace (unshare --user --net); {netns.outside_unreachable()}"
    measure(plan, output, isolation)
    return 0


if __name__ == "__main__":
    sys.exit(main())
