"""The differential test in CI: a fixed range of seeds, each job answered by the official SDK of its payload's
dialect (v1: statsig 0.72.1, v2: statsig-python-core 0.24, loopback-only processes) and by statsig_lite.
Any difference outside the README's documented divergences fails the test with its first example.
`make fuzz SEED=... BUDGET=...` runs the same comparison for longer."""

from __future__ import annotations

import time

from tests.differential.generate import random_job
from tests.differential.run import run

SEEDS = 24  # about 25 s on a quiet 2-core machine


def test_official_sdks_and_statsig_lite_agree_on_random_payloads() -> None:
    started = time.monotonic()
    report = run(first_seed=1, budget_s=float("inf"), max_seeds=SEEDS)
    summary = report.summary()
    print(summary)
    assert not report.classes, summary
    # it compared real answers, in both dialects, not just refusals
    assert report.compared["v1"] > 2000 and report.compared["v2"] > 1500, summary
    assert time.monotonic() - started < 240, "the differential run outgrew its CI budget"


def test_the_generator_is_deterministic() -> None:
    assert random_job(7) == random_job(7)
    assert random_job(7) != random_job(8)
