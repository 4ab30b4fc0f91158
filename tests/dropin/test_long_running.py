"""Outside Lambda statsig_lite behaves like the official SDK (a background thread flushes and refreshes, and
an exit flushes); on Lambda (detected or forced) no thread is ever started."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from statsig_lite import StatsigEvent, StatsigOptions, StatsigServer, StatsigUser
from tests.servers.statsig_api import FakeStatsigAPI

KEY = "secret-long-running"
USER = StatsigUser(user_id="u1", email="a@x.io")


def payload(time_ms: int = 1_700_000_000_000, on: bool = True) -> dict[str, Any]:
    gate = {
        "name": "g", "type": "feature_gate", "salt": "s", "enabled": True, "defaultValue": False, "idType": "userID",
        "rules": [{"id": "r", "salt": "r", "passPercentage": 100 if on else 0, "returnValue": True, "idType": "userID",
                   "conditions": [{"type": "public", "targetValue": None, "operator": None, "field": None,
                                   "additionalValues": {}, "idType": "userID"}]}],
    }  # fmt: skip
    return {"time": time_ms, "has_updates": True, "feature_gates": [gate], "dynamic_configs": [], "layer_configs": []}


@pytest.fixture
def api(statsig_api: FakeStatsigAPI) -> Iterator[FakeStatsigAPI]:
    statsig_api.set_specs(payload(), version="v1")
    yield statsig_api


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def test_events_arrive_within_logging_interval_without_a_flush_call(api: FakeStatsigAPI) -> None:
    server = StatsigServer()
    options = StatsigOptions(api=api.url, logging_interval=0.3, id_lists=False, bootstrap_values=json.dumps(payload()))
    assert server.initialize(KEY, options).init_success
    try:
        started = time.monotonic()
        assert server.check_gate(USER, "g") is True
        server.log_event(StatsigEvent(USER, "purchase", value=3))
        assert wait_until(lambda: len(api.accepted_events()) == 2, timeout=5.0)
        elapsed = time.monotonic() - started
        assert 0.2 <= elapsed < 3.0, elapsed  # the interval's flush, not an immediate one
        names = sorted(e["eventName"] for e in api.accepted_events())
        assert names == ["purchase", "statsig::gate_exposure"]
    finally:
        server.shutdown(1.0)


def test_event_queue_size_queued_events_are_flushed_at_once(api: FakeStatsigAPI) -> None:
    server = StatsigServer()
    options = StatsigOptions(api=api.url, logging_interval=60, event_queue_size=3, id_lists=False,
                             bootstrap_values=json.dumps(payload()))  # fmt: skip
    server.initialize(KEY, options)
    try:
        for n in range(3):
            server.log_event(StatsigEvent(USER, f"e{n}"))
        assert wait_until(lambda: len(api.accepted_events()) == 3, timeout=3.0)
    finally:
        server.shutdown(1.0)


def test_rules_refresh_every_rulesets_sync_interval_and_the_callback_sees_them(api: FakeStatsigAPI) -> None:
    seen: list[int] = []
    server = StatsigServer()
    options = StatsigOptions(api=api.url, rulesets_sync_interval=0.2, id_lists=False, fallback_to_statsig_api=False,
                             spec_source="statsig", rules_updated_callback=lambda s: seen.append(json.loads(s)["time"]))
    assert server.initialize(KEY, options).init_success
    try:
        assert server.check_gate(USER, "g", log_exposure=False) is True
        api.set_specs(payload(1_700_000_001_000, on=False), version="v1")
        assert wait_until(lambda: server.check_gate(USER, "g", log_exposure=False) is False, timeout=5.0)
        assert seen == [1_700_000_000_000, 1_700_000_001_000]
        server.pause_polling_dcs()
        api.set_specs(payload(1_700_000_002_000, on=True), version="v1")
        time.sleep(0.6)
        assert server.check_gate(USER, "g", log_exposure=False) is False  # paused: not refreshed
    finally:
        server.shutdown(1.0)


def test_pending_events_are_flushed_at_interpreter_exit(api: FakeStatsigAPI) -> None:
    script = textwrap.dedent(f"""
        import json
        from statsig_lite import StatsigEvent, StatsigOptions, StatsigUser, statsig
        payload = json.loads({json.dumps(json.dumps(payload()))})
        statsig.initialize("{KEY}", StatsigOptions(api="{api.url}", id_lists=False,
                                                  bootstrap_values=json.dumps(payload)))
        statsig.check_gate(StatsigUser("u1"), "g")
        statsig.log_event(StatsigEvent(StatsigUser("u1"), "bye"))
        # no flush, no shutdown: the interpreter exits
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(e["eventName"] for e in api.accepted_events()) == ["bye", "statsig::gate_exposure"]


@pytest.mark.parametrize("how", ["detected", "forced"])
def test_on_lambda_no_thread_is_ever_started(api: FakeStatsigAPI, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "detected":
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
        options = StatsigOptions(api=api.url, id_lists=False, bootstrap_values=json.dumps(payload()))
    else:
        options = StatsigOptions(api=api.url, id_lists=False, bootstrap_values=json.dumps(payload()), lambda_mode=True)
    started: list[str] = []
    original = threading.Thread.start

    def record(thread: threading.Thread) -> None:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if not caller.startswith("tests.servers"):  # the loopback server's own connection threads
            started.append(f"{thread.name} from {caller}")
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", record)
    server = StatsigServer()
    assert server.initialize(KEY, options).init_success
    assert server.check_gate(USER, "g") is True
    server.log_event(StatsigEvent(USER, "e"))
    server.refresh_if_stale(0.5)
    assert server.flush(2.0).sent == 2
    server.shutdown(1.0)
    assert started == []


def test_a_lambda_process_never_imports_threading() -> None:
    code = textwrap.dedent(f"""
        import json, os, sys
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "fn"
        from statsig_lite import StatsigOptions, StatsigUser, statsig
        payload = json.loads({json.dumps(json.dumps(payload()))})
        statsig.initialize("{KEY}", StatsigOptions(bootstrap_values=json.dumps(payload), id_lists=False))
        assert statsig.check_gate(StatsigUser("u1"), "g")
        print("threading" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_no_event_is_lost_while_the_background_thread_flushes(api: FakeStatsigAPI) -> None:
    """Events queued while the background thread cuts and sends batches all arrive (no lost update)."""
    server = StatsigServer()
    options = StatsigOptions(api=api.url, logging_interval=0.002, event_queue_size=20, id_lists=False,
                             bootstrap_values=json.dumps(payload()))  # fmt: skip
    server.initialize(KEY, options)
    try:
        for n in range(6000):  # exposures: built and encoded when the thread cuts a batch (the longest window)
            server.check_gate(StatsigUser(user_id=str(n)), "g")
    finally:
        server.shutdown(10.0)
    got = [e["user"]["userID"] for e in api.accepted_events()]
    assert sorted(got, key=int) == [str(n) for n in range(6000)]


def test_id_lists_are_synced_every_idlists_sync_interval(api: FakeStatsigAPI) -> None:
    api.set_id_lists({})
    server = StatsigServer()
    options = StatsigOptions(api=api.url, idlists_sync_interval=0.2, bootstrap_values=json.dumps(payload()))
    server.initialize(KEY, options)
    try:
        assert wait_until(lambda: len(api.requests_for("id_lists")) >= 3, timeout=5.0)
    finally:
        server.shutdown(1.0)
