"""send_with_retries and RetryPolicy as pure logic: a scripted sink, a fake clock, no sockets."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from statsig_lite.buffer import Batch, cut_batches, encode_event
from statsig_lite.sinks import SendError
from statsig_lite.sinks.retry import Outcome, RetryPolicy, send_with_retries
from tests.sinks.wire_events import make_events


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedSink:
    """Raises the scripted errors in order, then accepts; each attempt costs ``cost_s`` of clock time."""

    def __init__(self, clock: FakeClock, script: Sequence[SendError], cost_s: float = 0.01) -> None:
        self.clock = clock
        self.script = list(script)
        self.cost_s = cost_s
        self.calls: list[tuple[int, float]] = []

    def send(self, batch: Batch, *, attempt: int, timeout_s: float) -> None:
        self.calls.append((attempt, timeout_s))
        self.clock.now += self.cost_s
        if self.script:
            raise self.script.pop(0)

    def close(self) -> None:
        pass


def _batch(count: int = 4) -> Batch:
    events = [encode_event(e) for e in make_events(count)]
    [batch] = cut_batches(events, b"{}", 1, max_events=100, max_body_bytes=10**9)
    return batch


def _run(script: Sequence[SendError], *, deadline_in: float = 5.0, count: int = 4) -> tuple[object, ...]:
    clock = FakeClock()
    sink = ScriptedSink(clock, script)
    policy = RetryPolicy(backoff_base_s=0.1, backoff_max_s=1.0, min_attempt_s=0.05)
    result = send_with_retries(
        sink, _batch(count), clock.now + deadline_in, policy=policy, clock=clock, sleep=clock.sleep, jitter=lambda: 1.0
    )
    return result.outcome, result.attempts, clock.sleeps, sink.calls


def test_backoff_doubles_up_to_the_cap_with_equal_jitter() -> None:
    policy = RetryPolicy(backoff_base_s=0.1, backoff_max_s=1.0)
    assert [policy.backoff_s(n, 1.0) for n in range(6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert [policy.backoff_s(n, 0.0) for n in range(3)] == pytest.approx([0.05, 0.1, 0.2])
    assert policy.backoff_s(10_000, 0.5) == pytest.approx(0.75)


def test_retryable_errors_are_retried_with_growing_waits_and_attempt_numbers() -> None:
    outcome, attempts, sleeps, calls = _run([SendError("503", status=503), SendError("reset")])
    assert (outcome, attempts) == (Outcome.SENT, 3)
    assert sleeps == pytest.approx([0.1, 0.2])
    assert [a for a, _ in calls] == [0, 1, 2]
    assert all(t <= 5.0 for _, t in calls)  # each attempt gets at most the time left


def test_retry_after_is_waited_when_longer_than_the_backoff() -> None:
    outcome, _, sleeps, _ = _run([SendError("429", status=429, retry_after_s=2.5)])
    assert outcome is Outcome.SENT and sleeps == [2.5]


def test_retry_after_beyond_the_deadline_stops_without_sleeping() -> None:
    outcome, attempts, sleeps, _ = _run([SendError("429", status=429, retry_after_s=9.0)])
    assert (outcome, attempts, sleeps) == (Outcome.UNSENT, 1, [])


def test_final_4xx_is_not_retried() -> None:
    outcome, attempts, sleeps, _ = _run([SendError("400", status=400, retryable=False)])
    assert (outcome, attempts, sleeps) == (Outcome.REJECTED, 1, [])


def test_413_asks_for_a_split_unless_the_batch_has_one_event() -> None:
    too_large = SendError("413", status=413, retryable=False)
    assert _run([too_large])[0] is Outcome.TOO_LARGE
    assert _run([too_large], count=1)[0] is Outcome.REJECTED


def test_persistent_failure_stops_before_the_deadline() -> None:
    outcome, attempts, sleeps, calls = _run([SendError("500", status=500)] * 100, deadline_in=1.0)
    assert outcome is Outcome.UNSENT
    assert 100.0 + sum(sleeps) + 0.01 * attempts <= 101.0
    assert attempts == len(calls) > 2


def test_no_attempt_starts_without_enough_time() -> None:
    outcome, attempts, _, calls = _run([], deadline_in=0.01)
    assert (outcome, attempts, calls) == (Outcome.UNSENT, 0, [])
