"""Median time of one check_gate on the eval_proj conformance payload (microseconds).

Every (user, gate) pair of the suite, logging off and on, in this process: a quick figure for the evaluator,
not a comparison (benchmarks/run.py compares with the official SDKs).
Usage: python benchmarks/check_gate_eval_proj.py [suite_dir]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser

SUITE = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/conformance/eval_proj"


class _Discard:
    def enqueue(self, event: object) -> None:
        pass

    def flush(self, timeout_s: float | None = None) -> None:
        pass

    def shutdown(self, timeout_s: float | None = None) -> None:
        pass


def main() -> None:
    dcs = (SUITE / "dcs.json").read_text()
    users = [StatsigUser.from_dict(json.loads(line)["user"]) for line in (SUITE / "users.jsonl").open()]
    server = StatsigServer(event_pipeline=_Discard())  # type: ignore[arg-type]
    t0 = time.perf_counter()
    server.initialize("secret-bench", StatsigOptions(bootstrap_values=dcs))
    init_ms = (time.perf_counter() - t0) * 1000
    gates = sorted(json.loads(dcs)["feature_gates"])
    pairs = [(u, g) for u in users for g in gates]
    for log in (False, True):
        for u, g in pairs[:2000]:  # warm caches (UA parser, country table, hashes)
            server.check_gate(u, g, log_exposure=log)
        per_call = []
        for _ in range(5):
            start = time.perf_counter()
            for u, g in pairs:
                server.check_gate(u, g, log_exposure=log)
            per_call.append((time.perf_counter() - start) / len(pairs) * 1e6)
        print(f"check_gate eval_proj log_exposure={log!s:5}: median {statistics.median(per_call):.2f} us/call "
              f"over {len(pairs)} (user, gate) pairs x 5 runs")
    print(f"initialize (parse + compile): {init_ms:.1f} ms")


if __name__ == "__main__":
    main()
