"""In-process side-by-side figure for get_client_initialize_response to JSON text (not the report).

    .venv/bin/python benchmarks/ab_gcir.py [small|large] [rounds] [users] [djb2,sha256] [--cpu --cold --fresh-hash --gc]

statsig_lite's get_client_initialize_response_json on the v1 and the v2 payload and statsig-python-core's
get_client_initialize_response (a str) on the v2 payload, in ONE process, on the same users as benchmarks/run.py
(specgen, seed 1, its first `users`), interleaved per user so that load from other work hits every SDK alike.
Medians and p99 over all rounds; ratios lite / core. An untimed first round meets every user once.

--cpu          time the calling thread's CPU (time.thread_time_ns) rather than the wall clock: much steadier
               on a shared machine (every SDK answers on the calling thread)
--cold         every round starts with no memoised entry text, as in driver.py's one round of fresh users
--fresh-hash   statsig_lite's memo of rule hashes emptied before each of its calls (driver.py times the text
               call right after a dict call for the same user, which fills it)
--gc           leave the cyclic collector on while timing (off by default, as benchmarks/ab.py)

benchmarks/run.py, with a fresh process per SDK, is the figure of record.
"""

from __future__ import annotations

import gc
import sys
import time

import specgen
from inprocess import core_user, lite_user, ratio_columns, start_sdks, stop_sdks
from loopback import LoopbackServer


def summarize(samples: list[int]) -> tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2] / 1e6, s[min(len(s) - 1, int(len(s) * 0.99))] / 1e6


def main() -> None:
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    preset = args[0] if args else "large"
    rounds = int(args[1]) if len(args) > 1 else 5
    n_users = int(args[2]) if len(args) > 2 else (12 if preset == "large" else 40)  # as benchmarks/run.py
    algos = args[3].split(",") if len(args) > 3 else ["djb2", "sha256"]
    v1 = specgen.generate(preset, 1)
    texts = {"v1": specgen.dumps(v1), "v2": specgen.dumps(specgen.to_v2(v1))}
    users_raw = specgen.generate_users(2000, 101)[:n_users]

    from statsig_lite import HashingAlgorithm
    from statsig_lite.evaluator.hashing import eval_hash, forget_salted_hashes

    with LoopbackServer() as server:
        server.set_specs(texts["v1"], texts["v2"], v1["time"])
        lites, c = start_sdks(texts, server.url)
        lu = [lite_user(u) for u in users_raw]
        cu = [core_user(u) for u in users_raw]
        hashing = {"djb2": HashingAlgorithm.DJB2, "sha256": HashingAlgorithm.SHA256}
        l1, l2 = lites["v1"], lites["v2"]
        fns = {
            "lite-v1": lambda i, a: l1.get_client_initialize_response_json(lu[i], hash=hashing[a]),
            "lite-v2": lambda i, a: l2.get_client_initialize_response_json(lu[i], hash=hashing[a]),
            "core": lambda i, a: c.get_client_initialize_response(cu[i], hash=a),
        }
        for a in algos:  # untimed: every SDK meets every user once (lazy parts: ua-parser, country table, ...)
            for i in range(n_users):
                for fn in fns.values():
                    fn(i, a)
        clock = time.thread_time_ns if "--cpu" in flags else time.perf_counter_ns
        samples: dict[tuple[str, str], list[int]] = {}
        if "--gc" not in flags:
            gc.disable()
        for _ in range(rounds):
            if "--cold" in flags:
                for s in lites.values():
                    s._loaded.snapshot.derived.clear()
            for a in algos:
                for i in range(n_users):
                    for label, fn in fns.items():
                        if "--fresh-hash" in flags and label != "core":
                            eval_hash.cache_clear()
                            forget_salted_hashes()  # rule and bucket hashes (issue 16)
                        t0 = clock()
                        fn(i, a)
                        samples.setdefault((label, a), []).append(clock() - t0)
        gc.enable()
        print(f"{preset}: {rounds} rounds x {n_users} users {sorted(flags)}; ms median / p99; ratio lite/core")
        for a in algos:
            cm, cp = summarize(samples[("core", a)])
            row = f"{a:7} core {cm:7.3f}/{cp:7.3f}"
            row += ratio_columns((cm, cp), {k: summarize(samples[(k, a)]) for k in ("lite-v1", "lite-v2")}, 3)
            print(row, flush=True)
        stop_sdks(lites, c)


if __name__ == "__main__":
    main()
