#!/usr/bin/env python3
"""Instructions per call beside the core: deterministic where timings on a shared machine move by 10-15%.

    python3 benchmarks/instructions.py                  # small + large, logging off and on (~10 min)
    python3 benchmarks/instructions.py --presets large --modes off --calls 1000

Runs benchmarks/driver.py's own adapters and call sequences (the calls `run.py` times: the driver's lambda,
statsig_lite's module facade, the core's methods) under `valgrind --tool=callgrind`, each SDK and payload in a
process of its own, and counts the instructions of each API's loop between two `os.getppid()` markers
(`--dump-before=getppid`). The collector is off in the loops (its work is in the timed runs, not here), and the
loops run after a warm-up over another call sequence, as the timed loops do. The core's background threads are
counted when they run inside a loop. Needs valgrind (not a dependency of the project; CI does not run this).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

KINDS = ("gate", "config", "experiment", "layer")
RUNS = (("core", "core", "v2"), ("lite-v1", "lite", "v1"), ("lite-v2", "lite", "v2"))
TOTALS = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


def child(sdk: str, spec_path: str, data_path: str, calls: int, log: bool) -> None:
    """Inside valgrind: initialise one SDK, warm up, then one marked loop per API."""
    import gc
    import json

    import driver

    adapter = driver.ADAPTERS[sdk]()
    adapter.import_sdk()
    with open(spec_path, encoding="utf-8") as f:
        adapter.init(f.read(), "http://127.0.0.1:9")
    with open(data_path) as f:
        data = json.load(f)
    users = [adapter.user(u) for u in data["users"]]
    fns = adapter.calls()
    for kind in KINDS:  # warm-up: another sequence, logging off (specialised code, memoised hashes of its own)
        fn = fns[(kind, False)]
        for i, name, param in data["seqs"][kind]["on"][:3000]:
            fn(users[i], name, param)
    gc.disable()
    for kind in KINDS:
        fn = fns[(kind, log)]
        seq = [(users[i], name, param) for i, name, param in data["seqs"][kind]["off"][:calls]]
        os.getppid()
        for u, name, param in seq:
            fn(u, name, param)
        os.getppid()
    os._exit(0)  # no shutdown: a flush of what the loops logged is not a check's cost


def measure(python: str, env: dict[str, str], sdk: str, spec_path: str, data_path: str, calls: int,
            log: bool) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        cmd = ["valgrind", "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}", python,
               __file__, "--child", sdk, spec_path, data_path, str(calls), "on" if log else "off"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        result = {}
        for index, kind in enumerate(KINDS):  # dump 1: before the first marker; 2, 4, ...: each loop
            dump = Path(f"{out}.{2 + 2 * index}")
            if not dump.exists():
                raise RuntimeError(f"{sdk}: no callgrind dump for {kind}: {proc.stderr[-800:]}")
            found = TOTALS.search(dump.read_text())
            assert found is not None
            result[kind] = int(found.group(1)) // calls
        return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", default="small,large")
    p.add_argument("--modes", default="off,on", help="logging off, on, or both")
    p.add_argument("--calls", type=int, default=1500, help="calls per API loop")
    p.add_argument("--jobs", type=int, default=2, help="valgrind processes at once")
    args = p.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind): nothing measured")

    import run  # the benchmark's own spec, users and call sequences
    from benchenv import PYTHON, REPO, ensure_venv

    ensure_venv()
    plan = run.Plan(presets=tuple(args.presets.split(",")), runs=1, calls=max(args.calls, 3000),
                    latency_users=2000, grid_users=1, gcir_users={"small": 1, "large": 1})
    run.WORK.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=f"{REPO}{os.pathsep}{Path(__file__).parent}", PYTHONHASHSEED="0")
    jobs = []
    for preset in plan.presets:
        spec = run.prepare_spec(preset, plan)
        for mode in args.modes.split(","):
            for label, sdk, payload in RUNS:
                jobs.append((preset, mode, label, sdk, spec["paths"][payload], spec["data_path"]))
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(measure, str(PYTHON), env, sdk, spec_path, data_path, args.calls, mode == "on")
                   for preset, mode, label, sdk, spec_path, data_path in jobs]
        results = {(j[0], j[1], j[2]): f.result() for j, f in zip(jobs, futures, strict=True)}
    print(f"instructions per call ({args.calls} calls a loop; lite / core in brackets)\n")
    print("| spec | logging | API | core | lite v1 | lite v2 |")
    print("|---|---|---|---:|---:|---:|")
    for preset in plan.presets:
        for mode in args.modes.split(","):
            core = results[(preset, mode, "core")]
            for kind in KINDS:
                cells = [f"{core[kind]:,}"]
                for label in ("lite-v1", "lite-v2"):
                    mine = results[(preset, mode, label)][kind]
                    cells.append(f"{mine:,} ({mine / core[kind]:.2f}x)")
                print(f"| {preset} | {mode} | {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sdk, spec_path, data_path, calls, log = sys.argv[2:7]
        child(sdk, spec_path, data_path, int(calls), log == "on")
    else:
        main()
