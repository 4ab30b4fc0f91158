"""In-process side-by-side figure for developing the hot path on a busy machine (not the report).

    .venv/bin/python benchmarks/ab.py [small|large] [rounds]

statsig_lite on the v1 and the v2 payload and statsig-python-core on the v2 payload, in ONE process, driven
with the same call lists as benchmarks/run.py (specgen, seed 1), in interleaved rounds so that load from
other work hits every SDK alike. Each call is timed alone; medians and p99 are over all rounds, ratios are
lite / core. Exposures go to a loopback server (core) or are buffered (lite). benchmarks/run.py, with a
fresh process per SDK, is the figure of record.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any

import specgen
from inprocess import core_user, lite_user, ratio_columns, start_sdks, stop_sdks
from loopback import LoopbackServer


def summarize(samples: list[int]) -> tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2] / 1000, s[min(len(s) - 1, int(len(s) * 0.99))] / 1000


def main() -> None:
    preset = sys.argv[1] if len(sys.argv) > 1 else "large"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    v1 = specgen.generate(preset, 1)
    v2 = specgen.to_v2(v1)
    texts = {"v1": specgen.dumps(v1), "v2": specgen.dumps(v2)}
    names = specgen.Names.of(v1)
    users_raw = specgen.generate_users(2000, 101)
    calls_n = 5000

    import statsig_python_core as core

    with LoopbackServer() as server:
        server.set_specs(texts["v1"], texts["v2"], v1["time"])
        lites, c = start_sdks(texts, server.url)

        lu = [lite_user(u) for u in users_raw]
        cu = [core_user(u) for u in users_raw]
        g_off = core.FeatureGateEvaluationOptions(disable_exposure_logging=True)
        c_off = core.DynamicConfigEvaluationOptions(disable_exposure_logging=True)
        l_off = core.LayerEvaluationOptions(disable_exposure_logging=True)
        e_off = core.ExperimentEvaluationOptions(disable_exposure_logging=True)

        def lite_calls(s: Any) -> dict[tuple[str, bool], Any]:
            return {
                ("gate", True): lambda u, n, p: s.check_gate(u, n),
                ("gate", False): lambda u, n, p: s.check_gate(u, n, False),
                ("config", True): lambda u, n, p: s.get_config(u, n),
                ("config", False): lambda u, n, p: s.get_config(u, n, log_exposure=False),
                ("experiment", True): lambda u, n, p: s.get_experiment(u, n),
                ("experiment", False): lambda u, n, p: s.get_experiment(u, n, log_exposure=False),
                ("layer", True): lambda u, n, p: s.get_layer(u, n).get(p, None),
                ("layer", False): lambda u, n, p: s.get_layer(u, n, log_exposure=False).get(p, None),
            }

        core_calls = {
            ("gate", True): lambda u, n, p: c.check_gate(u, n),
            ("gate", False): lambda u, n, p: c.check_gate(u, n, g_off),
            ("config", True): lambda u, n, p: c.get_dynamic_config(u, n),
            ("config", False): lambda u, n, p: c.get_dynamic_config(u, n, c_off),
            ("experiment", True): lambda u, n, p: c.get_experiment(u, n),
            ("experiment", False): lambda u, n, p: c.get_experiment(u, n, e_off),
            ("layer", True): lambda u, n, p: c.get_layer(u, n).get(p, None),
            ("layer", False): lambda u, n, p: c.get_layer(u, n, l_off).get(p, None),
        }
        sdks = {"lite-v1": (lite_calls(lites["v1"]), lu), "lite-v2": (lite_calls(lites["v2"]), lu),
                "core": (core_calls, cu)}
        kinds = sys.argv[3].split(",") if len(sys.argv) > 3 else ["gate", "config", "experiment", "layer"]
        clock = time.perf_counter_ns
        samples: dict[tuple[str, str, bool], list[int]] = {}
        # untimed first: every SDK loads its lazy parts (ua-parser, country table) and meets every spec once,
        # as benchmarks/run.py's digest phase does; otherwise the SDK timed first pays for all of that
        for kind in kinds:
            warm = specgen.call_sequence(names, kind, 2000, 2000, 7)
            for fns, users in sdks.values():
                for ui, n, p in warm:
                    fns[(kind, False)](users[ui], n, p)
        if not os.environ.get("AB_GC"):
            gc.disable()
        for r in range(rounds):
            for kind in kinds:
                for log in (False, True):
                    seq = specgen.call_sequence(names, kind, calls_n, 2000, 11 + r * 2 + log)
                    for label, (fns, users) in sdks.items():
                        fn = fns[(kind, log)]
                        out = samples.setdefault((label, kind, log), [])
                        for ui, n, p in seq:
                            u = users[ui]
                            t0 = clock()
                            fn(u, n, p)
                            out.append(clock() - t0)
            # gc.collect()
        gc.enable()
        print(f"{preset}: {rounds} rounds x {calls_n} calls; µs median / p99; ratio lite/core")
        for kind in kinds:
            for log in (False, True):
                cm, cp = summarize(samples[("core", kind, log)])
                row = f"{kind:10} log={'on ' if log else 'off'}  core {cm:6.2f}/{cp:6.2f}"
                lite_runs = {k: summarize(samples[(k, kind, log)]) for k in ("lite-v1", "lite-v2")}
                row += ratio_columns((cm, cp), lite_runs, 2)
                print(row, flush=True)
        stop_sdks(lites, c)


if __name__ == "__main__":
    main()
