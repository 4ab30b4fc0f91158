"""The loopback Extensions API behaves like Lambda's: register in init only, INVOKE with the invocation,
no freeze (and no next invocation) before every extension called next, SIGTERM and SHUTDOWN at the end."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.servers.lambda_runtime import SHUTDOWN_WINDOW_EXTERNAL_S, LambdaProcess

LINGER_S = 0.2

# A bare extension thread (no statsig_lite): it logs every event it gets to events.jsonl, lingers after
# each INVOKE before calling next; the runtime ignores SIGTERM (it only notes it).
APP = textwrap.dedent(
    f"""
    import http.client, json, os, signal, threading, time

    HOST, PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    LOG = os.path.join(os.environ["LAMBDA_TASK_ROOT"], "events.jsonl")
    EVENTS = json.loads(os.environ.get("EXT_EVENTS", '["INVOKE"]'))


    def note(entry):
        with open(LOG, "a") as out:
            out.write(json.dumps(entry) + "\\n")


    def call(method, path, ext_id=None, body=None, name=None):
        conn = http.client.HTTPConnection(HOST, int(PORT))
        headers = {{}}
        if ext_id:
            headers["Lambda-Extension-Identifier"] = ext_id
        if name:
            headers["Lambda-Extension-Name"] = name
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()


    def register(name):
        status, headers, body = call(
            "POST", "/2020-01-01/extension/register", body=json.dumps({{"events": EVENTS}}), name=name
        )
        note({{"register": status, "body": json.loads(body)}})
        return headers.get("Lambda-Extension-Identifier")


    def loop(ext_id):
        while True:
            status, _, body = call("GET", "/2020-01-01/extension/event/next", ext_id)
            event = json.loads(body)
            note({{"event": event, "at": time.time()}})
            if event.get("eventType") == "SHUTDOWN":
                return
            time.sleep({LINGER_S})


    signal.signal(signal.SIGTERM, lambda *_: note({{"sigterm": True}}))
    EXT_ID = register("probe")
    threading.Thread(target=loop, args=(EXT_ID,), daemon=True).start()


    def handler(event, context):
        if event.get("register_late"):
            status, _, _ = call("POST", "/2020-01-01/extension/register", body='{{"events": ["INVOKE"]}}', name="late")
            return {{"late_status": status}}
        return {{"request_id": context.aws_request_id}}
    """
)


def _log(root: Path) -> list[dict[str, Any]]:
    path = root / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def test_invoke_reaches_the_extension_and_freeze_waits_for_its_next(task_root: Path) -> None:
    with LambdaProcess("app.handler", task_root) as fn:
        assert fn.runtime.extensions() == [("probe", frozenset({"INVOKE"}))]
        registered = _log(task_root)[0]
        assert registered["register"] == 200
        assert registered["body"] == {
            "functionName": "statsig-lite-test",
            "functionVersion": "$LATEST",
            "handler": "app.handler",
        }
        first = fn.invoke({}, timeout_ms=3000)
        second = fn.invoke({}, timeout_ms=3000)
        first_ready = fn.freeze_ready_at(first)
        second_ready = fn.freeze_ready_at(second)
        # the caller got the answer at once; the sandbox could freeze only once the extension called next
        assert first.received_at - first.delivered_at < LINGER_S
        assert first_ready - first.received_at >= LINGER_S * 0.9
        # and the next invocation was not handed out before that
        assert second.delivered_at >= first_ready
        assert second_ready - second.received_at >= LINGER_S * 0.9
        invokes = [e["event"] for e in _log(task_root) if "event" in e]
        assert [i["requestId"] for i in invokes] == [first.request_id, second.request_id]
        assert invokes[0]["eventType"] == "INVOKE"
        assert invokes[0]["deadlineMs"] == first.deadline_ms
        assert invokes[0]["invokedFunctionArn"] == fn.function_arn
        ready_ms = fn.runtime.freeze_ready_epoch_ms(first.request_id)
        assert ready_ms is not None and ready_ms <= first.deadline_ms
        fn.freeze()  # waits for the extension's next, then SIGSTOP
        assert fn.state() == "T"
        fn.thaw()
        late = fn.invoke({"register_late": True})
        assert late.body["late_status"] == 403  # registration is for the init phase only
        report = fn.shutdown()
    assert report.sigterm_sent and report.window_s == 0.5
    assert not report.exited_in_window and report.returncode == -9  # its SIGTERM handler does not exit


def test_shutdown_event_for_an_extension_registered_for_it(task_root: Path) -> None:
    with LambdaProcess("app.handler", task_root, env={"EXT_EVENTS": '["INVOKE", "SHUTDOWN"]'}) as fn:
        fn.freeze_ready_at(fn.invoke({}))
        started = time.time()
        report = fn.shutdown(reason="spindown")
    assert report.window_s == SHUTDOWN_WINDOW_EXTERNAL_S
    shutdowns = [e["event"] for e in _log(task_root) if "event" in e and e["event"]["eventType"] == "SHUTDOWN"]
    assert len(shutdowns) == 1 and shutdowns[0]["shutdownReason"] == "spindown"
    assert started * 1000 < shutdowns[0]["deadlineMs"] <= (started + SHUTDOWN_WINDOW_EXTERNAL_S + 1) * 1000


def test_without_extensions_shutdown_kills_at_once(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("def handler(event, context):\n    return 1\n")
    with LambdaProcess("plain.handler", tmp_path) as fn:
        result = fn.invoke({})
        assert fn.freeze_ready_at(result) >= result.received_at
        report = fn.shutdown()
    assert not report.sigterm_sent and report.window_s == 0.0 and report.returncode == -9
