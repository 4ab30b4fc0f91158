"""The loopback Lambda Runtime API drives a real awslambdaric process like Lambda does."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tests.servers.lambda_runtime import LambdaInitError, LambdaProcess

HANDLER = textwrap.dedent(
    """
    import os
    import threading

    COUNT = 0


    def handler(event, context):
        global COUNT
        COUNT += 1
        if event.get("raise"):
            raise ValueError(event["raise"])
        return {
            "count": COUNT,
            "event": event,
            "pid": os.getpid(),
            "python_threads": threading.active_count(),
            "remaining_ms": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "arn": context.invoked_function_arn,
            "region": os.environ.get("AWS_REGION"),
            "extra": os.environ.get("STATSIG_TEST_MARKER"),
        }
    """
)


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(HANDLER)
    return tmp_path


def test_invocations_freeze_thaw_errors_and_kill(task_root: Path) -> None:
    with LambdaProcess("app.handler", task_root, env={"STATSIG_TEST_MARKER": "yes"}) as fn:
        pid = fn.pid
        assert fn.thread_count() == 1

        first = fn.invoke({"n": 1}, timeout_ms=3000)
        assert first.ok
        assert first.body["count"] == 1
        assert first.body["event"] == {"n": 1}
        assert first.body["request_id"] == first.request_id
        assert first.body["function_name"] == "statsig-lite-test"
        assert first.body["memory_limit_in_mb"] == "128"
        assert first.body["arn"] == fn.function_arn
        assert first.body["region"] == "us-east-1"
        assert first.body["extra"] == "yes"
        # The handler saw the deadline we sent: now + 3000 ms, minus the time it took to get there.
        assert 2500 <= first.body["remaining_ms"] <= 3000
        assert first.submitted_at <= first.delivered_at <= first.received_at

        fn.freeze()
        assert fn.state() == "T"
        fn.thaw()
        assert fn.state() != "T"

        second = fn.invoke({"n": 2}, timeout_ms=10_000)
        assert second.ok
        assert second.body["count"] == 2  # same warm process, module state kept
        assert second.body["pid"] == pid
        assert 9500 <= second.body["remaining_ms"] <= 10_000
        assert second.request_id != first.request_id

        failed = fn.invoke({"raise": "boom"})
        assert not failed.ok
        assert failed.error_type == "ValueError"
        assert failed.body["errorMessage"] == "boom"
        assert failed.body["requestId"] == failed.request_id

        third = fn.invoke({"n": 3})
        assert third.ok
        assert third.body["count"] == 4
        assert third.body["python_threads"] == 1
        assert fn.thread_count() == 1  # awslambdaric polls /next on the main thread for python3.11
        fn.wait_ready()  # back on /next after posting the answer
        assert fn.runtime.polls == 5  # one per invocation, and one waiting for the next

    assert fn.returncode == -9
    assert not os.path.exists(f"/proc/{pid}")
    assert "ValueError" in fn.output()


def test_next_event_is_only_handed_out_on_invoke(task_root: Path) -> None:
    with LambdaProcess("app.handler", task_root) as fn:
        assert fn.runtime.results() == []  # idle: blocked on /next, nothing delivered
        fn.freeze()
        # A frozen process cannot take an event; invoking it would only hang, so it is refused.
        with pytest.raises(RuntimeError, match="frozen"):
            fn.invoke({})
        fn.thaw()
        assert fn.invoke({}).body["count"] == 1


def test_frozen_process_is_killed_by_stop(task_root: Path) -> None:
    fn = LambdaProcess("app.handler", task_root).start()
    pid = fn.pid
    fn.freeze()
    fn.stop()
    assert fn.returncode == -9
    assert not os.path.exists(f"/proc/{pid}")


def test_init_error_is_reported(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('cannot start')\n")
    fn = LambdaProcess("broken.handler", tmp_path)
    with pytest.raises(LambdaInitError) as caught:
        fn.start()
    assert caught.value.body["errorType"] == "RuntimeError"
    assert "cannot start" in caught.value.body["errorMessage"]
    assert fn.returncode is not None  # start() cleaned up after itself
