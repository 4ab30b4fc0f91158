"""Exposure delivery: events encoded per second, and flush time for 50 / 500 / 5,000 events, beside the core.

    benchmarks/.venv/bin/python benchmarks/flush.py [small|large] [repeats]

One process, both SDKs on the same v2 payload, delivering to the same loopback Statsig API (it gunzips and
JSON-decodes each batch before it answers, in this process: its cost is in both SDKs' figures alike). For
each N: N check_gate calls with logging on over N distinct users (no dedupe), then the timed flush
(statsig_lite: `flush()`, which builds, encodes, gzips and posts every batch on the calling thread;
core: `flush_events().wait()`, which posts what its background logger has not sent yet). *Encode* is
statsig_lite's build + JSON encoding of the recorded exposures alone (no gzip, no HTTP), from a copy of the
buffer, as cutting a batch does it. Median of `repeats` rounds (default 5), rounds
interleaved between the SDKs.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from typing import Any

import specgen
from loopback import LoopbackServer

SECRET = "secret-benchmark-key"
SIZES = (50, 500, 5000)


def main() -> None:
    preset = sys.argv[1] if len(sys.argv) > 1 else "small"
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    v1 = specgen.generate(preset, 1)
    v2_text = specgen.dumps(specgen.to_v2(v1))
    gate = specgen.Names.of(v1).gates[0]
    users_raw = specgen.generate_users(max(SIZES), 202)

    import statsig_python_core as core

    from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
    from statsig_lite.buffer import encode_event
    from statsig_lite.exposures import ExposureDeduper

    with LoopbackServer() as server:
        server.set_specs(specgen.dumps(v1), v2_text, v1["time"])
        lite = StatsigServer()
        lite.initialize(SECRET, StatsigOptions(bootstrap_values=v2_text, api=f"{server.url}/v1/", id_lists=False,
                                               lambda_mode=True))  # no worker thread: flush() delivers

        class Store(core.DataStore):  # type: ignore[misc]
            def get(self, key: str) -> Any:
                return core.DataStoreResponse(result=v2_text, time=None)

        c = core.Statsig(SECRET, core.StatsigOptions(
            specs_url=f"{server.url}/v2/download_config_specs", log_event_url=f"{server.url}/v1/log_event",
            id_lists_url=f"{server.url}/v1/get_id_lists", data_store=Store(), specs_sync_interval_ms=3_600_000,
            output_log_level="error"))
        c.initialize().wait()
        lite.check_gate(StatsigUser("warm-up"), gate)  # a first real flush: HTTP client loaded, connection open
        c.check_gate(core.StatsigUser("warm-up"), gate)
        c.flush_events().wait()
        lite.flush(timeout=30)
        def users_for(tag: str, n: int) -> tuple[list[Any], list[Any]]:
            """N users no SDK has logged yet (both dedupe exposures)."""
            raw = [{**u, "userID": f"{tag}-{i}"} for i, u in enumerate(users_raw[:n])]
            return [StatsigUser.from_dict(u) for u in raw], [core.StatsigUser(
                user_id=u["userID"], email=u.get("email"), ip=u.get("ip"), country=u.get("country"),
                locale=u.get("locale"), app_version=u.get("appVersion"), user_agent=u.get("userAgent"),
                custom=u.get("custom"), custom_ids=u.get("customIDs"), private_attributes=u.get("privateAttributes"),
                statsig_environment=u.get("statsigEnvironment")) for u in raw]

        rows: dict[tuple[str, int], list[float]] = {}
        for r in range(repeats):
            for n in SIZES:
                lite_users, core_users = users_for(f"r{r}n{n}", n)
                gc.collect()  # the previous round's garbage is collected before either SDK is timed
                start = time.perf_counter()
                for u in lite_users:
                    lite.check_gate(u, gate)
                checks = time.perf_counter() - start
                recorded = list(lite._pipeline._buffer._fresh)  # type: ignore[union-attr]
                # what cutting a batch does (decide the dedupe, build, encode), with a deduper of its own: the
                # client's decides the same records again when it flushes below
                scratch = ExposureDeduper()
                t0 = time.perf_counter()
                for e in recorded:
                    encode_event(scratch.wire_record(e))
                rows.setdefault(("encode", n), []).append(time.perf_counter() - t0)
                before = server.stats.events.get("statsig::gate_exposure", 0)
                t0 = time.perf_counter()
                result = lite.flush(timeout=30)
                rows.setdefault(("lite", n), []).append(time.perf_counter() - t0)
                rows.setdefault(("lite total", n), []).append(time.perf_counter() - start)
                rows.setdefault(("lite checks", n), []).append(checks)
                got = server.stats.events.get("statsig::gate_exposure", 0) - before
                assert got == n, f"lite delivered {got} of {n}: {result}"

                c.flush_events().wait()
                c_before = server.stats.events.get("statsig::gate_exposure", 0)
                gc.collect()
                start = time.perf_counter()
                for u in core_users:
                    c.check_gate(u, gate)
                t0 = time.perf_counter()
                c.flush_events().wait()
                rows.setdefault(("core", n), []).append(time.perf_counter() - t0)
                rows.setdefault(("core total", n), []).append(time.perf_counter() - start)
                rows.setdefault(("core checks", n), []).append(t0 - start)
                got = server.stats.events.get("statsig::gate_exposure", 0) - c_before
                assert got == n, f"core delivered {got} of {n}"
        print(f"{preset} spec, v2 payload, median of {repeats} rounds (loopback API in this process)")
        print("| events | lite: build + encode (ms) | lite: encoded events/s | lite: flush (ms) | core: flush (ms) "
              "| lite: checks + flush (ms) | core: checks + flush (ms) | lite / core (checks + flush) "
              "| lite: delivered events/s (checks + flush) | core: delivered events/s (checks + flush) "
              "| lite encoded / core delivered (events/s) |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        figures = {}
        for n in SIZES:
            m = {k: statistics.median(rows[(k, n)]) * 1000 for k in
                 ("encode", "lite", "core", "lite total", "core total")}
            figures[n] = m
            print(f"| {n:,} | {m['encode']:.2f} | {n / m['encode'] * 1000:,.0f} | {m['lite']:.2f} | {m['core']:.2f} "
                  f"| {m['lite total']:.2f} | {m['core total']:.2f} | {m['lite total'] / m['core total']:.2f}x "
                  f"| {n / m['lite total'] * 1000:,.0f} | {n / m['core total'] * 1000:,.0f} "
                  f"| {m['core total'] / m['encode']:.1f}x |")
        print("JSON " + json.dumps(figures))  # for run.py's summary (milliseconds, medians)
        lite.shutdown(timeout=5)
        c.shutdown().wait()


if __name__ == "__main__":
    main()
