"""STATSIG_DELIVERY=after_response under the real awslambdaric, against the loopback Runtime and Extensions API.

Statsig answers log_event after 300 ms. The caller must not wait for it (response time as without the SDK),
yet every event must be delivered (or spilled) before the sandbox may freeze, within the deadline, and
whatever is still buffered when the sandbox shuts down must be delivered or spilled in the shutdown window.
"""

from __future__ import annotations

import statistics
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.servers.lambda_runtime import InvocationResult, LambdaProcess
from tests.servers.statsig_api import FakeStatsigAPI, delay

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "statsig_lite" / "data" / "example_snapshot.json"
STATSIG_DELAY_S = 0.3
MAX_ADDED_S = 0.15  # generous: a few ms expected, the machine is shared

APP = textwrap.dedent(
    """
    import threading
    from statsig_lite import StatsigEvent, StatsigUser, statsig, statsig_handler


    @statsig_handler
    def handler(event, context):
        user = StatsigUser(user_id=event["user"])
        statsig.log_event(StatsigEvent(user, "ping", value=event.get("n", 0)))
        if event.get("raise"):
            raise ValueError(event["raise"])
        return {"on": statsig.check_gate(user, "new_checkout"), "threads": threading.active_count()}
    """
)
# The same work without the SDK: the baseline response time.
PLAIN = textwrap.dedent(
    """
    import threading


    def handler(event, context):
        return {"on": False, "threads": threading.active_count()}
    """
)
# Decorated during the first invocation, not at init: Lambda refuses the registration.
LATE = textwrap.dedent(
    """
    from statsig_lite import StatsigEvent, StatsigUser, statsig, statsig_handler

    _wrapped = None


    def handler(event, context):
        global _wrapped
        if _wrapped is None:
            _wrapped = statsig_handler(lambda e, c: statsig.log_event(StatsigEvent(StatsigUser(e["user"]), "ping")))
        return _wrapped(event, context)
    """
)


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    root.mkdir()
    (root / "app.py").write_text(APP)
    (root / "plain.py").write_text(PLAIN)
    (root / "late.py").write_text(LATE)
    return root


def _env(api: FakeStatsigAPI, mode: str, spill: Path | None, **extra: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "STATSIG_SERVER_SECRET": "secret-after-response",
        "STATSIG_API_URL": api.url,
        "STATSIG_SPEC_SOURCE": f"file://{EXAMPLE}",
        "STATSIG_FLUSH_MARGIN_MS": "300",
        "STATSIG_DELIVERY": mode,
        "PYTHONPATH": str(REPO),
        **extra,
    }
    if spill is not None:
        env["STATSIG_SPILL_TARGET"] = f"file://{spill}"
    return env


def _custom_users(api: FakeStatsigAPI) -> set[str]:
    return {e["user"]["userID"] for e in api.accepted_events() if e.get("eventName") == "ping"}


def _requests_with(api: FakeStatsigAPI, user: str) -> list[Any]:
    return [
        r
        for r in api.accepted_log_event_requests()
        if any(e.get("eventName") == "ping" and e["user"]["userID"] == user for e in (r.json or {}).get("events", []))
    ]


def _response_s(result: InvocationResult) -> float:
    return result.received_at - result.delivered_at


def _median_response(fn: LambdaProcess, prefix: str, count: int = 5) -> float:
    times = []
    for n in range(count):
        result = fn.invoke({"user": f"{prefix}-{n}", "n": n})
        assert result.ok, result.body
        times.append(_response_s(result))
        fn.freeze_ready_at(result)
    return statistics.median(times)


def test_response_does_not_wait_for_statsig_and_events_land_before_freeze(
    task_root: Path, statsig_api: FakeStatsigAPI
) -> None:
    statsig_api.inject("log_event", delay(STATSIG_DELAY_S), times=None)
    with LambdaProcess("plain.handler", task_root) as fn:
        plain = _median_response(fn, "plain")
    with LambdaProcess("app.handler", task_root, env=_env(statsig_api, "synchronous", None)) as fn:
        sync = _median_response(fn, "sync")
    with LambdaProcess("app.handler", task_root, env=_env(statsig_api, "after_response", None)) as fn:
        after = _median_response(fn, "warm")
        for n in range(4):
            user = f"user-{n}"
            result = fn.invoke({"user": user, "n": n}, timeout_ms=3000)
            assert result.ok and result.body["threads"] == 2  # the handler's and the extension's
            assert _response_s(result) < STATSIG_DELAY_S  # the caller did not wait for Statsig
            frozen_at = fn.freeze_ready_at(result)
            requests = _requests_with(statsig_api, user)
            assert requests, f"the event of {user} did not reach Statsig before the sandbox could freeze"
            # sent after the response, and the sandbox stayed up until Statsig's (slow) answer came back
            assert result.received_at <= requests[0].received_at
            assert requests[0].received_at + STATSIG_DELAY_S * 0.9 <= frozen_at
            freeze_ms = fn.runtime.freeze_ready_epoch_ms(result.request_id)
            assert freeze_ms is not None and freeze_ms <= result.deadline_ms  # within the invocation's deadline
            fn.freeze()
            fn.thaw()
        assert fn.thread_count() == 2
        failed = fn.invoke({"user": "raiser", "raise": "boom"})
        assert not failed.ok and failed.error_type == "ValueError"  # the handler's error, unchanged
        assert _response_s(failed) < STATSIG_DELAY_S
        fn.freeze_ready_at(failed)
        assert _requests_with(statsig_api, "raiser"), "the failed invocation's event was not delivered"
    assert sync - plain > STATSIG_DELAY_S * 0.9, (plain, sync)  # the synchronous mode pays the round trip
    assert after - plain < MAX_ADDED_S, (plain, after)


def test_statsig_outage_spills_within_the_deadline_and_is_replayed(
    task_root: Path, tmp_path: Path, statsig_api: FakeStatsigAPI
) -> None:
    spill = tmp_path / "spill"
    env = _env(statsig_api, "after_response", spill)
    with LambdaProcess("app.handler", task_root, env=env) as fn:
        fn.invoke({"user": "warm"})  # connections and modules warm
        fn.freeze_ready_at(fn.invoke({"user": "warm"}))
        statsig_api.inject("log_event", 503, times=None)
        for n in range(3):
            result = fn.invoke({"user": f"down-{n}"}, timeout_ms=1500)
            assert result.ok and _response_s(result) < MAX_ADDED_S  # the outage is not the caller's wait
            fn.freeze_ready_at(result)
            freeze_ms = fn.runtime.freeze_ready_epoch_ms(result.request_id)
            assert freeze_ms is not None and freeze_ms <= result.deadline_ms
            assert sum(1 for _ in spill.rglob("*") if _.is_file()) == n + 1  # spilled before the freeze
            fn.freeze()
            fn.thaw()
        report = fn.shutdown()
        assert report.sigterm_sent and report.exited_in_window
    assert not {f"down-{n}" for n in range(3)} & _custom_users(statsig_api)
    statsig_api.clear_faults()
    with LambdaProcess("app.handler", task_root, env=_env(statsig_api, "after_response", spill)) as fn:
        fn.freeze_ready_at(fn.invoke({"user": "back"}, timeout_ms=5000))  # replays what was spilled
    assert {f"down-{n}" for n in range(3)} <= _custom_users(statsig_api)


# python3.11: awslambdaric waits for /next in C code on the main thread, so only the extension thread sees
# SIGTERM (through the wakeup fd); python3.12+: it waits from a worker thread and the Python handler runs too.
@pytest.mark.parametrize("runtime", ["AWS_Lambda_python3.11", "AWS_Lambda_python3.12"])
def test_shutdown_after_n_invocations_delivers_what_is_still_buffered(
    task_root: Path, statsig_api: FakeStatsigAPI, runtime: str
) -> None:
    users = [f"kept-{n}" for n in range(4)]
    env = _env(statsig_api, "after_response", None, AWS_EXECUTION_ENV=runtime)
    with LambdaProcess("app.handler", task_root, env=env) as fn:
        statsig_api.inject("log_event", 503, times=None)  # no spill target: events stay in memory
        for n, user in enumerate(users):
            result = fn.invoke({"user": user, "n": n}, timeout_ms=1000)
            assert result.ok
            fn.freeze()
            fn.thaw()
        assert not set(users) & _custom_users(statsig_api)
        statsig_api.clear_faults()
        report = fn.shutdown()
    assert report.sigterm_sent
    assert report.exited_in_window and report.duration_s < report.window_s
    assert set(users) <= _custom_users(statsig_api), fn.output()


def test_outage_at_shutdown_spills_in_the_window(task_root: Path, tmp_path: Path, statsig_api: FakeStatsigAPI) -> None:
    spill = tmp_path / "spill"
    spill.write_text("a file where the spill directory should be")  # spilling fails: events stay in memory
    users = [f"held-{n}" for n in range(3)]
    with LambdaProcess("app.handler", task_root, env=_env(statsig_api, "after_response", spill)) as fn:
        statsig_api.inject("log_event", 503, times=None)
        for user in users:
            fn.freeze_ready_at(fn.invoke({"user": user}, timeout_ms=1000))
            fn.freeze()
            fn.thaw()
        assert "keeping them in memory" in fn.output()
        spill.unlink()  # the store works again, Statsig is still down: shutdown must spill
        report = fn.shutdown()
    assert report.sigterm_sent and report.exited_in_window
    assert any(p.is_file() for p in spill.iterdir()), fn.output()
    statsig_api.clear_faults()
    with LambdaProcess("app.handler", task_root, env=_env(statsig_api, "synchronous", spill)) as fn:
        fn.invoke({"user": "replayer"}, timeout_ms=5000)  # replays the spilled record
    assert set(users) <= _custom_users(statsig_api)


@pytest.mark.parametrize(
    ("module", "env"),
    [
        ("late.handler", {}),  # registered after init: refused by Lambda
        ("app.handler", {"STATSIG_DELIVERY": "later"}),  # unknown mode
        ("app.handler", {"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}),
    ],
)
def test_unavailable_extension_falls_back_to_the_synchronous_flush(
    task_root: Path, statsig_api: FakeStatsigAPI, module: str, env: dict[str, str | None]
) -> None:
    with LambdaProcess(module, task_root, env={**_env(statsig_api, "after_response", None), **env}) as fn:
        for n in range(2):
            user = f"fallback-{n}"
            result = fn.invoke({"user": user})
            assert result.ok, result.body
            requests = _requests_with(statsig_api, user)
            assert requests and requests[0].received_at < result.received_at  # flushed before the response
        assert fn.thread_count() == 1
        assert fn.runtime.extensions() == []
    assert fn.output().count("flushing synchronously") == 1  # said once, not per invocation


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        (None, "synchronous"),
        ("", "synchronous"),
        ("sync", "synchronous"),
        ("Synchronous", "synchronous"),
        ("after_response", "after_response"),
        ("after-response", "after_response"),
        (" AFTER_RESPONSE ", "after_response"),
        ("later", "synchronous"),
    ],
)
def test_delivery_mode_names(value: str | None, mode: str) -> None:
    from statsig_lite.lambda_extension import delivery_mode

    assert delivery_mode(value) == mode


def test_delivery_option_from_environment_and_argument() -> None:
    from statsig_lite.options import StatsigOptions, resolve_options

    assert resolve_options(None, {"STATSIG_DELIVERY": "after_response"}).delivery == "after_response"
    assert resolve_options(StatsigOptions(delivery="synchronous"), {"STATSIG_DELIVERY": "after_response"}).delivery == (
        "synchronous"
    )  # an explicit option wins
    assert resolve_options(None, {}).delivery is None


def test_start_outside_lambda_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from statsig_lite import lambda_extension

    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    assert lambda_extension.start(lambda client, context: None) is None
    assert lambda_extension.running() is None
