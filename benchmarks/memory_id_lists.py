"""Memory an ID list and a snapshot of N gates cost, held and at peak while built (tracemalloc).

    python benchmarks/memory_id_lists.py [count ...]          # ID lists; default: 100000 1000000 3000000
    python benchmarks/memory_id_lists.py --gates [count ...]  # snapshots; default: 1000 10000 100000

For each count: a file of `+id` lines (8-character base64 of 6 random bytes, as Statsig's hashed prefixes),
applied with `store.id_lists.apply_file` (what the SDK and the refresher do), then the same IDs as the
frozenset of str the SDK held before. Prints bytes an ID held and the peak while building.
"""

from __future__ import annotations

import base64
import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from statsig_lite.store.id_lists import apply_file
from statsig_lite.store.model import IdList


def measure(count: int) -> str:
    raw = os.urandom(6 * count)
    ids = [base64.b64encode(raw[i : i + 6]).decode() for i in range(0, len(raw), 6)]
    file_bytes = b"".join(b"+" + i.encode() + b"\n" for i in ids)
    del raw
    gc.collect()

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    held = apply_file(IdList(name="l", ids=frozenset()), file_bytes)
    built_s = time.perf_counter() - started
    now, peak = tracemalloc.get_traced_memory()
    compact_held, compact_peak = now - base, peak - base
    assert held is not None and len(held.ids) == len(set(ids))
    del held
    gc.collect()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    as_strings = frozenset(i[:] + "" for i in file_bytes.decode().split("\n") if i)  # new str objects
    now, peak = tracemalloc.get_traced_memory()
    str_held, str_peak = now - base, peak - base
    del as_strings
    tracemalloc.stop()
    mb = 1e6
    return (
        f"{count:>9,} IDs  compact: held {compact_held / mb:7.1f} MB ({compact_held / count:5.1f} B/ID), "
        f"peak {compact_peak / mb:7.1f} MB, built in {built_s:5.2f} s   |   frozenset of str: held "
        f"{str_held / mb:7.1f} MB ({str_held / count:5.1f} B/ID), peak {str_peak / mb:7.1f} MB"
    )


def measure_gates(count: int) -> str:
    """A v2 snapshot of `count` gates, each with two rules of two conditions (user field, pass_gate)."""
    import json

    from statsig_lite.store.snapshot import load_snapshot

    gates, conditions = {}, {}
    for i in range(count):
        keys = [f"c{i}a", f"c{i}b"]
        conditions[keys[0]] = {"type": "user_field", "operator": "any", "field": "email",
                               "targetValue": [f"u{i}@x.com", f"v{i}@x.com"], "idType": "userID"}
        conditions[keys[1]] = {"type": "pass_gate", "targetValue": f"g{max(0, i - 1)}", "idType": "userID"}
        gates[f"g{i}"] = {"type": "feature_gate", "salt": f"s{i}", "enabled": True, "defaultValue": False,
                          "idType": "userID", "entity": "feature_gate", "rules": [
                              {"id": f"r{i}{j}", "name": f"r{j}", "salt": f"r{i}{j}", "passPercentage": 50,
                               "returnValue": True, "idType": "userID", "conditions": [keys[j]]} for j in (0, 1)]}
    payload = json.dumps({"time": 1, "response_format": "dcs-v2", "feature_gates": gates, "dynamic_configs": {},
                          "layer_configs": {}, "condition_map": conditions})
    del gates, conditions
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    snapshot = load_snapshot(payload)
    now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(snapshot.gates) == count
    held = now - base
    return (f"{count:>9,} gates  held {held / 1e6:7.1f} MB ({held / count / 1e3:5.2f} kB/gate), peak "
            f"{(peak - base) / 1e6:7.1f} MB (payload text {len(payload) / 1e6:.1f} MB, not counted)")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--gates"]:
        for count in [int(a) for a in args[1:]] or [1_000, 10_000, 100_000]:
            print(measure_gates(count), flush=True)
        return
    counts = [int(a) for a in args] or [100_000, 1_000_000, 3_000_000]
    for count in counts:
        print(measure(count), flush=True)


if __name__ == "__main__":
    main()
