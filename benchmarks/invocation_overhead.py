"""Per-invocation cost @statsig_handler adds to a warm function when nothing changed (medians, µs).

One process: the same handler body (one check_gate) run undecorated and decorated, interleaved, with the
rules fresh (no source request) and the flush posting that invocation's exposure to a loopback sink.
Usage: python benchmarks/invocation_overhead.py [invocations]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class Context:
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 3000


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    sink = subprocess.Popen([sys.executable, "-m", "statsig_lite.demo_sink"], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        os.environ.update({"STATSIG_SERVER_SECRET": "secret-bench", "STATSIG_API_URL": sink.stdout.readline().strip(),
                           "STATSIG_SPEC_SOURCE": "bundled", "STATSIG_SPEC_MAX_AGE_SECONDS": "3600"})
        from statsig_lite import StatsigServer, StatsigUser, statsig_handler

        plain_server, wrapped_server = StatsigServer(), StatsigServer()
        plain_server.initialize("secret-bench")

        def body(server: StatsigServer, n: int) -> bool:
            return server.check_gate(StatsigUser(user_id=f"user-{n % 50}"), "new_checkout", log_exposure=False)

        def plain(event: dict[str, int], context: Context) -> bool:
            return body(plain_server, event["n"])

        @statsig_handler(server=wrapped_server)
        def wrapped(event: dict[str, int], context: Context) -> bool:
            return body(wrapped_server, event["n"])

        ctx = Context()
        samples: dict[str, list[float]] = {"plain": [], "decorated": []}
        for n in range(count):
            for name, fn in (("plain", plain), ("decorated", wrapped)):
                start = time.perf_counter()
                fn({"n": n}, ctx)
                samples[name].append((time.perf_counter() - start) * 1e6)
        plain_us, deco_us = statistics.median(samples["plain"]), statistics.median(samples["decorated"])
        print(f"warm invocation, median of {count}: undecorated {plain_us:.1f} us, decorated {deco_us:.1f} us, "
              f"added by @statsig_handler {deco_us - plain_us:.1f} us (freshness check + empty flush)")
    finally:
        sink.terminate()
        sink.wait(timeout=5)


if __name__ == "__main__":
    main()
