"""Outside Lambda the official SDKs are called from many threads at once while their own thread flushes. Every
event logged from any thread must be delivered or kept (journal), never lost or dropped silently: application
threads log while the background thread cuts and sends batches, while the buffer overflows to the journal, and
while Statsig answers slowly."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from statsig_lite import StatsigEvent, StatsigOptions, StatsigServer, StatsigUser
from tests.dropin.test_long_running import payload
from tests.servers.statsig_api import FakeStatsigAPI, delay

KEY = "secret-threads"
THREADS = 8
PER_THREAD = 1500


def delivered_ids(api: FakeStatsigAPI) -> list[str]:
    return [str(e["value"]) for e in api.accepted_events() if e.get("eventName") == "stress"]


def log_from_threads(server: StatsigServer, threads: int, per_thread: int) -> None:
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        user = StatsigUser(user_id=f"u{t}")
        start.wait()
        for i in range(per_thread):
            server.log_event(StatsigEvent(user, "stress", value=f"{t}-{i}"))
            if i % 50 == 0:
                server.check_gate(user, "g")  # exposures share the buffer with custom events

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


@pytest.mark.parametrize(
    "case",
    [
        {"name": "fast API, small batches", "fault": None, "max_buffered_events": 100_000},
        {"name": "slow API, buffer overflows to the journal", "fault": 0.05, "max_buffered_events": 300},
    ],
    ids=lambda c: c["name"],
)
def test_no_event_is_lost_when_many_threads_log_during_background_flushes(
    statsig_api: FakeStatsigAPI, tmp_path: Path, case: dict[str, Any]
) -> None:
    statsig_api.set_specs(payload(), version="v1")
    if case["fault"] is not None:
        statsig_api.inject("log_event", delay(case["fault"]), times=None)
    journal = tmp_path / "journal"
    options = StatsigOptions(
        api=statsig_api.url,
        logging_interval=0.02,
        event_queue_size=40,
        id_lists=False,
        bootstrap_values=json.dumps(payload()),
        max_buffered_events=case["max_buffered_events"],
        journal_dir=str(journal),
    )
    server = StatsigServer()
    assert server.initialize(KEY, options).init_success
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can: more interleavings to break
    try:
        log_from_threads(server, THREADS, PER_THREAD)
    finally:
        sys.setswitchinterval(0.005)
        server.shutdown()
    statsig_api.clear_faults()
    # what the first client moved to its journal is replayed by the next one (the next process)
    second = StatsigServer()
    assert second.initialize(KEY, options).init_success
    second.shutdown()

    made = {f"{t}-{i}" for t in range(THREADS) for i in range(PER_THREAD)}
    got = delivered_ids(statsig_api)
    missing = made - set(got)
    # a batch resent under its STATSIG-BATCH-ID (the overflow journaled a batch a flush was sending) is
    # at-least-once; a missing one is a loss
    print(
        f"\n{case['name']}: made {len(made)}, delivered {len(set(got))} distinct, {len(got) - len(set(got))} "
        f"duplicates, {len(missing)} lost"
    )
    assert not missing, f"{len(missing)} events lost, e.g. {sorted(missing)[:5]}"
