"""AfterResponseDelivery in this process against the loopback Runtime + Extensions API (this test plays the
runtime): the handover, its fallbacks, and the lock that keeps a flush and the next invocation apart."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from statsig_lite.lambda_extension import WAIT_FOR_INVOKE_S, AfterResponseDelivery
from statsig_lite.server import StatsigServer
from tests.servers.lambda_runtime import LambdaRuntimeAPI


class Context:
    def __init__(self, request_id: str, behaviour: str = "ok") -> None:
        self.aws_request_id = request_id
        self.behaviour = behaviour


class Recorder:
    """The flush the extension runs: records (request id, thread name); can fail or take its time."""

    def __init__(self) -> None:
        self.flushed: list[tuple[str, str]] = []
        self.cond = threading.Condition()

    def __call__(self, client: Any, context: Context) -> None:
        if context.behaviour == "raise":
            raise RuntimeError("flush failed")
        if context.behaviour == "slow":
            time.sleep(0.3)
        with self.cond:
            self.flushed.append((context.aws_request_id, threading.current_thread().name))
            self.cond.notify_all()

    def wait_for(self, request_id: str, timeout: float = 5.0) -> str:
        with self.cond:
            assert self.cond.wait_for(lambda: any(r == request_id for r, _ in self.flushed), timeout)
            return next(name for r, name in self.flushed if r == request_id)


@pytest.fixture
def runtime() -> Iterator[LambdaRuntimeAPI]:
    with LambdaRuntimeAPI() as api:
        yield api


@pytest.fixture
def extension(runtime: LambdaRuntimeAPI) -> Iterator[tuple[AfterResponseDelivery, Recorder]]:
    recorder = Recorder()
    delivery = AfterResponseDelivery(runtime.address, recorder)
    delivery.start()  # pytest runs tests on the main thread: the SIGTERM hook can be installed
    try:
        yield delivery, recorder
    finally:
        runtime.stop()  # the long poll is reset: the thread ends
        if delivery._thread is not None:
            delivery._thread.join(5)
        delivery._remove_sigterm_hook()


def _take_invocation(runtime: LambdaRuntimeAPI) -> str:
    """Act as the runtime: queue an invocation and fetch it with /next (once the extension is ready)."""
    request_id = runtime.submit({}, timeout_ms=3000)
    host, port = runtime.address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.getheader("Lambda-Runtime-Aws-Request-Id") == request_id
    return request_id


def test_the_extension_thread_runs_each_handed_over_flush(
    runtime: LambdaRuntimeAPI, extension: tuple[AfterResponseDelivery, Recorder]
) -> None:
    delivery, recorder = extension
    assert runtime.extensions() == [("statsig_lite", frozenset({"INVOKE"}))]
    for _ in range(3):  # each next invocation is handed out only after the thread called next again
        request_id = _take_invocation(runtime)
        assert delivery.hand_over(StatsigServer(), Context(request_id))
        assert recorder.wait_for(request_id) == "statsig-lite-extension"


def test_a_failing_flush_does_not_stop_the_extension(
    runtime: LambdaRuntimeAPI, extension: tuple[AfterResponseDelivery, Recorder]
) -> None:
    delivery, recorder = extension
    assert delivery.hand_over(StatsigServer(), Context(_take_invocation(runtime), "raise"))
    request_id = _take_invocation(runtime)
    assert delivery.alive and delivery.hand_over(StatsigServer(), Context(request_id))
    recorder.wait_for(request_id)


def test_an_invocation_the_thread_does_not_hold_is_flushed_by_the_caller(
    runtime: LambdaRuntimeAPI, extension: tuple[AfterResponseDelivery, Recorder]
) -> None:
    delivery, recorder = extension
    started = time.monotonic()
    assert not delivery.hand_over(StatsigServer(), Context("not-an-invocation"))  # no INVOKE for it
    assert time.monotonic() - started < WAIT_FOR_INVOKE_S + 1.0
    assert not delivery.hand_over(StatsigServer(), Context(""))  # no request id at all
    assert recorder.flushed == []


def test_no_handover_once_the_thread_is_gone(
    runtime: LambdaRuntimeAPI, extension: tuple[AfterResponseDelivery, Recorder]
) -> None:
    delivery, _ = extension
    runtime.stop()  # the Runtime API goes away: next fails, the thread ends
    assert delivery._thread is not None
    delivery._thread.join(5)
    assert not delivery.alive
    assert not delivery.hand_over(StatsigServer(), Context("any"))


def test_the_next_invocation_waits_until_the_flush_released_the_pipeline(
    runtime: LambdaRuntimeAPI, extension: tuple[AfterResponseDelivery, Recorder]
) -> None:
    delivery, recorder = extension
    request_id = _take_invocation(runtime)
    assert delivery.hand_over(StatsigServer(), Context(request_id, "slow"))
    time.sleep(0.05)  # the thread is inside the slow flush
    started = time.monotonic()
    delivery.wait_idle(5.0)  # what @statsig_handler does before the next handler runs
    assert recorder.flushed and recorder.flushed[-1][0] == request_id
    assert time.monotonic() - started > 0.1
