"""The buffer's bound is one precomputed length (EventBuffer.full_at): a recorded exposure is appended without a
lock or a count, and the buffer is full exactly when its events or bytes, counted the long way (each recorded
event DEFERRED_EVENT_BYTES, each encoded one its length, each cut batch its size), reach the bound. Random
sequences of everything that changes the buffer: adds, recorded adds, cuts, removals, the overflow's takes and
drops, settles, events put back."""

from __future__ import annotations

import random
from typing import Any

import pytest

from statsig_lite.buffer import DEFERRED_EVENT_BYTES, EventBuffer, encode_json

META = b'{"sdkType":"t"}'


def _record(i: int, repeat: bool) -> tuple[Any, ...]:
    # a check record's shape: item 0 builds its event from the record (None: a repeat, no event)
    return (lambda rec: None if rec[2] else {"eventName": "e", "value": rec[1]}, i, repeat)


def _bytes_counted(buffer: EventBuffer) -> int:
    fresh = sum(len(e) if isinstance(e, bytes) else DEFERRED_EVENT_BYTES for e in buffer._fresh)
    return fresh + sum(b.size for b in buffer.held())


def test_a_recorded_add_reports_full_exactly_when_the_counted_events_or_bytes_reach_the_bound() -> None:
    filled = sum(_run(seed) > 0 for seed in range(40))
    assert filled >= 30  # most sequences reached the bound, some more than once


def _run(seed: int) -> int:
    rng = random.Random(seed)
    max_events, max_bytes = rng.randint(1, 30), rng.randint(500, 20_000)
    buffer = EventBuffer(META, max_events, max_bytes)
    fulls = 0
    for step in range(400):
        op = rng.random()
        if op < 0.55:
            full = buffer.add_deferred(_record(step, rng.random() < 0.2))
            want = len(buffer) >= max_events or _bytes_counted(buffer) >= max_bytes
            assert full == want, (seed, step, len(buffer), _bytes_counted(buffer))
            fulls += full
        elif op < 0.7:
            buffer.add(encode_json({"eventName": "x", "pad": "p" * rng.randint(0, 3000)}))
        elif op < 0.78:
            cut = buffer.batches(step, max_events=rng.randint(1, 9), max_body_bytes=1 << 20,
                                 in_flight=rng.random() < 0.5)
            if cut and rng.random() < 0.5:
                buffer.remove(cut[: rng.randint(1, len(cut))])
            if rng.random() < 0.5:
                buffer.delivered()
        elif op < 0.84:
            _taken, events = buffer.take_oldest(rng.randint(0, 5000), rng.randint(0, 6))
            if events and rng.random() < 0.5:
                buffer.add_oldest(events[0])
        elif op < 0.9:
            buffer.drop_oldest(rng.randint(1, 6))
        else:
            buffer.settle(rng.choice([None, 1, 3]))
        assert buffer.byte_size == _bytes_counted(buffer)
    return fulls


@pytest.mark.parametrize(("max_events", "max_bytes", "encoded", "first_full"), [
    (5, 10**9, 0, 5),  # the events bound
    (10**9, 3_000, 0, 3),  # the bytes bound: three recorded events of DEFERRED_EVENT_BYTES
    (10**9, 3_001, 0, 4),
    (10**9, 3_000, 1_999, 2),  # an encoded event of 1,999 bytes, then the second recorded one reaches 3,000
    (10**9, 3_000, 2_000, 1),
])
def test_full_at_the_exact_event(max_events: int, max_bytes: int, encoded: int, first_full: int) -> None:
    buffer = EventBuffer(META, max_events, max_bytes)
    if encoded:
        event = encode_json({"eventName": "x", "pad": ""})
        buffer.add(event + b" " * (encoded - len(event)))  # an event of exactly `encoded` bytes
    fulls = [buffer.add_deferred(_record(i, False)) for i in range(1, 8)]
    assert fulls.index(True) + 1 == first_full


def test_without_bounds_a_buffer_is_never_full() -> None:
    buffer = EventBuffer(META)
    assert not any(buffer.add_deferred(_record(i, False)) for i in range(10_000))
    assert buffer.byte_size == 10_000 * DEFERRED_EVENT_BYTES
