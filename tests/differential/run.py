"""Differential runs: random jobs answered by each payload dialect's official SDK and by statsig_lite.

    python -m tests.differential.run --seed 1 --budget 60      (what `make fuzz SEED=1 BUDGET=60` runs)

Seeds start at --seed and go up by one until --budget seconds are spent (or --seeds are done). Every job is
run twice: as a v1 payload against the legacy SDK and as v2 against the core. Prints agreement per dialect,
the README's documented divergences seen (each recognised narrowly, from the reference SDK's own reason
where it gives one) with their counts, and each other class of difference (dialect, call kind and the fields
that differ) with the seed and call of its first example; exits 1 when such a class is found.
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


@dataclass
class Report:
    seeds: list[int] = field(default_factory=list)
    compared: Counter[str] = field(default_factory=Counter)  # by dialect: calls both answered
    agreed: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # users the reference SDK would not build
    crashed: Counter[str] = field(default_factory=Counter)  # calls the reference SDK itself failed
    classes: dict[str, tuple[int, str]] = field(default_factory=dict)  # class -> (count, first example)
    documented: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # (dialect, README row)

    def add(self, fmt: str, seed: int, call: dict[str, Any], problems: list[str], documented: str = "") -> None:
        if not problems:
            return
        example = f"seed {seed} {json.dumps(call, default=str)[:400]}\n      " + "\n      ".join(
            p[:1200] for p in problems)
        if documented:
            count, first = self.documented.get((fmt, documented), (0, example))
            self.documented[(fmt, documented)] = (count + 1, first)
            return
        fields = sorted({p.split(":", 1)[0] for p in problems})
        key = f"{fmt} {call['kind']} {'+'.join(fields)}"
        count, first = self.classes.get(key, (0, example))
        self.classes[key] = (count + 1, first)

    def summary(self) -> str:
        seeds = f"{len(self.seeds)} seeds ({self.seeds[0]}..{self.seeds[-1]})" if self.seeds else "no seeds"
        lines = [f"differential: {seeds}", "",
                 f"  {'dialect':<8}{'reference':<27}{'compared':>9}{'agree':>8}{'agree %':>9}{'documented':>11}"
                 f"{'other':>7}{'refused':>9}{'crashed':>9}"]
        for fmt, sdk in (("v1", "legacy statsig 0.72.1"), ("v2", "statsig-python-core 0.24")):
            n, ok = self.compared[fmt], self.agreed[fmt]
            doc = sum(c for (f, _), (c, _e) in self.documented.items() if f == fmt)
            other = sum(c for k, (c, _e) in self.classes.items() if k.startswith(fmt + " "))
            pct = 100.0 * ok / n if n else 100.0
            lines.append(f"  {fmt:<8}{sdk:<27}{n:>9}{ok:>8}{pct:>8.2f}%{doc:>11}{other:>7}{self.refused[fmt]:>9}"
                         f"{self.crashed[fmt]:>9}")
        lines += ["", "  compared: calls both answered (documented: differences the README lists; other: anything "
                  "else); refused: users the reference would not build; crashed: calls the reference raised on "
                  "(each also counted as documented or other)", ""]
        lines.append("  documented divergences seen (README: Where we do not copy the official SDKs):")
        if not self.documented:
            lines.append("    none")
        for (fmt, key), (count, _example) in sorted(self.documented.items()):
            lines.append(f"    {fmt}  {count:>6}  {key}")
        lines.append("")
        lines.append(f"  undocumented classes: {len(self.classes) or 'none'}")
        for key, (count, example) in sorted(self.classes.items()):
            lines.append(f"  CLASS {key}: {count}x, first: {example}")
        return "\n".join(lines)


LEAK = "legacy: a config's value is a nested gate's return value after an error"
GCIR_NONE_NAME = "legacy: GCIR None: it cannot hash the exposure of a pass_gate/fail_gate without a string target"
CORE_PANIC = "core: panics on an IP with an octet above 255"


def documented(fmt: str, call: dict[str, Any], want: dict[str, Any], got: dict[str, Any]) -> str:
    """The README divergence a difference is, or "" (then it is a bug until shown to be the SDK's fault)."""
    kind = call["kind"]
    if (fmt == "v1" and kind in ("config", "experiment", "layer") and not isinstance(want.get("value"), dict)
            and not differences({**want, "value": got.get("value")}, got)):
        return LEAK + (" (Layer.get raises)" if "get_crashed" in want else "")
    if fmt == "v1" and kind == "gcir" and want.get("gcir") is None and isinstance(got.get("gcir"), dict):
        why = want.get("gcir_error") or {}
        frames, error = why.get("frames", []), why.get("error", "")
        if "hash_exposures" in frames and error.startswith(("TypeError", "AttributeError")):
            return GCIR_NONE_NAME + f" ({call.get('hash')})"
        if "populate_experiment_fields" in frames and "not a mapping" in error:
            return LEAK + " (GCIR: None, it cannot merge that value into the layer's defaults)"
    if fmt == "v1" and kind == "gcir" and isinstance(want.get("gcir"), dict):
        fixed = json.loads(json.dumps(want))
        for section in ("dynamic_configs", "layer_configs"):
            ours = (got.get("gcir") or {}).get(section) or {}
            for name, entry in (fixed["gcir"].get(section) or {}).items():
                if not isinstance(entry.get("value"), dict) and name in ours:
                    entry["value"] = ours[name].get("value")
        if fixed != want and not differences(fixed, got):
            return LEAK
    return ""


def known_crash(fmt: str, call: dict[str, Any], error: str) -> str:
    """The README row of a reference SDK's crash, or "" (an unknown crash is a class of its own)."""
    parts = str(call["user"].get("ip")).strip().split(".")
    octet_above_255 = len(parts) == 4 and all(p.isdigit() for p in parts) and any(int(p) > 255 for p in parts)
    if fmt == "v2" and error.startswith("PanicException: index out of bounds") and octet_above_255:
        return CORE_PANIC
    return ""


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
                ours = run_ours(job, skip=refused)
                for call, want, got in zip(job["queries"], ref["answers"], ours, strict=True):
                    if "refused" in want:
                        report.refused[fmt] += 1
                        continue
                    if "crashed" in want:  # the official SDK failed the call itself: nothing to compare with
                        report.crashed[fmt] += 1
                        report.add(fmt, s, call, [f"reference crashed: {want['crashed']}"],
                                   known_crash(fmt, call, want["crashed"]))
                        continue
                    report.compared[fmt] += 1
                    problems = differences(want, got)
                    if problems:
                        report.add(fmt, s, call, problems, documented(fmt, call, want, got))
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
