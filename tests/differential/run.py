"""Differential runs: random jobs answered by each payload dialect's official SDK and by statsig_lite.

    python -m tests.differential.run --seed 1 --budget 60      (what `make fuzz SEED=1 BUDGET=60` runs)

Seeds start at --seed and go up by one until --budget seconds are spent (or --seeds are done). Every job is
run twice: as a v1 payload against the legacy SDK and as v2 against the core. Prints agreement per dialect
and each class of difference found (a class: dialect, call kind and the fields that differ), with the seed
and call of its first example; exits 1 when a class is found.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .generate import random_job
from .harness import differences, payload_for, run_ours, run_reference

REFERENCE_NAMES = {"v1": "legacy", "v2": "core"}


@dataclass
class Report:
    seeds: list[int] = field(default_factory=list)
    compared: Counter[str] = field(default_factory=Counter)  # by dialect: calls both answered
    agreed: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # users the reference SDK would not build
    crashed: Counter[str] = field(default_factory=Counter)  # calls the reference SDK itself failed
    classes: dict[str, tuple[int, str]] = field(default_factory=dict)  # class -> (count, first example)
    documented: dict[str, tuple[int, str]] = field(default_factory=dict)  # README divergences seen

    def add(self, fmt: str, seed: int, call: dict[str, Any], problems: list[str], documented: str = "") -> None:
        if not problems:
            return
        fields = sorted({p.split(":", 1)[0] for p in problems})
        key = documented or f"{fmt} {call['kind']} {'+'.join(fields)}"
        table = self.documented if documented else self.classes
        count, example = table.get(key, (0, ""))
        if not example:
            example = f"seed {seed} {json.dumps(call, default=str)[:400]}\n      " + "\n      ".join(
                p[:1200] for p in problems)
        table[key] = (count + 1, example)

    def summary(self) -> str:
        lines = [f"differential: {len(self.seeds)} seeds ({self.seeds[0]}..{self.seeds[-1]})" if self.seeds
                 else "differential: no seeds"]
        for fmt, sdk in (("v1", "legacy statsig 0.72.1"), ("v2", "statsig-python-core 0.24")):
            n, ok = self.compared[fmt], self.agreed[fmt]
            pct = 100.0 * ok / n if n else 100.0
            lines.append(f"  {fmt} vs {sdk}: {ok}/{n} calls agree ({pct:.2f}%); not compared: "
                         f"{self.refused[fmt]} (user refused by the reference), {self.crashed[fmt]} (reference "
                         f"crashed)")
        for key, (count, _example) in sorted(self.documented.items()):
            lines.append(f"  documented divergence ({key}): {count}x")
        for key, (count, example) in sorted(self.classes.items()):
            lines.append(f"  CLASS {key}: {count}x, first: {example}")
        return "\n".join(lines)


LEAK = "legacy: a config's value is a nested gate's return value after an error"


def documented(fmt: str, call: dict[str, Any], want: dict[str, Any], got: dict[str, Any],
               leaky_users: frozenset[str] = frozenset()) -> str:
    """The README divergence a difference is, or "" (then it is a bug until shown to be the SDK's fault)."""
    kind = call["kind"]
    if (fmt == "v1" and kind in ("config", "experiment", "layer") and not isinstance(want.get("value"), dict)
            and not differences({**want, "value": got.get("value")}, got)):
        return LEAK
    if fmt == "v1" and call["kind"] == "gcir" and want.get("gcir") is None and _user_key(call) in leaky_users:
        return LEAK + " (GCIR: None, it cannot merge that value into the layer's defaults)"
    if fmt == "v1" and call["kind"] == "gcir" and isinstance(want.get("gcir"), dict):
        fixed = json.loads(json.dumps(want))
        for section in ("dynamic_configs", "layer_configs"):
            ours = (got.get("gcir") or {}).get(section) or {}
            for name, entry in (fixed["gcir"].get(section) or {}).items():
                if not isinstance(entry.get("value"), dict) and name in ours:
                    entry["value"] = ours[name].get("value")
        if fixed != want and not differences(fixed, got):
            return LEAK
    return ""


def _user_key(call: dict[str, Any]) -> str:
    return json.dumps(call["user"], sort_keys=True, default=str)


def run(first_seed: int, budget_s: float, max_seeds: int | None = None, batch: int = 4, users: int = 12) -> Report:
    report = Report()
    started = time.monotonic()
    seed = first_seed
    while (max_seeds is None or len(report.seeds) < max_seeds) and time.monotonic() - started < budget_s:
        count = batch if max_seeds is None else min(batch, max_seeds - len(report.seeds))
        seeds = list(range(seed, seed + count))
        seed += count
        jobs = {s: random_job(s, users) for s in seeds}
        for fmt in ("v1", "v2"):
            batch_jobs = [{"payload": payload_for(p, fmt), "queries": calls, "tier": tier}
                          for p, calls, tier in jobs.values()]
            answers = run_reference(fmt, batch_jobs)
            for s, job, ref in zip(seeds, batch_jobs, answers, strict=True):
                if "error" in ref:
                    report.add(fmt, s, {"kind": "init"}, [f"reference: {ref['error']}"])
                    continue
                refused = frozenset(i for i, a in enumerate(ref["answers"]) if "refused" in a or "crashed" in a)
                leaky = frozenset(_user_key(c) for c, a in zip(job["queries"], ref["answers"], strict=True)
                                  if c["kind"] in ("config", "experiment") and "value" in a
                                  and not isinstance(a["value"], dict))
                ours = run_ours(job, skip=refused)
                for call, want, got in zip(job["queries"], ref["answers"], ours, strict=True):
                    if "refused" in want:
                        report.refused[fmt] += 1
                        continue
                    if "crashed" in want:  # the official SDK failed the call itself: nothing to compare with
                        report.crashed[fmt] += 1
                        report.add(fmt, s, call, [f"reference crashed: {want['crashed']}"],
                                   f"{REFERENCE_NAMES[fmt]} crashes: {want['crashed'][:80]}")
                        continue
                    report.compared[fmt] += 1
                    problems = differences(want, got)
                    if problems:
                        report.add(fmt, s, call, problems, documented(fmt, call, want, got, leaky))
                    else:
                        report.agreed[fmt] += 1
        report.seeds.extend(seeds)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds to spend (seeds go up by one)")
    parser.add_argument("--seeds", type=int, default=None, help="stop after this many seeds")
    args = parser.parse_args(argv)
    report = run(args.seed, args.budget, args.seeds)
    print(report.summary())
    return 1 if report.classes else 0


if __name__ == "__main__":
    sys.exit(main())
