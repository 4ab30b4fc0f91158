"""A check's exposure is held in the buffer as a plain tuple (exposures.check_record) and built when batches are
cut, or when the overflow takes the oldest (buffer.wire_deferred). Threads recording checks while a flush cuts
and removes batches and the overflow takes the oldest: every record comes out exactly once, built as its check
saw the user, and nothing raises."""

from __future__ import annotations

import json
import threading
from typing import Any

from statsig_lite import StatsigUser
from statsig_lite.buffer import EventBuffer, encode_json
from statsig_lite.evaluator.evaluate import Evaluation
from statsig_lite.exposures import GATE_EXPOSURE, _wire_record, check_record
from statsig_lite.store.snapshot import load_snapshot
from tests.interleave import run_interleaved

META = encode_json({"sdkType": "t", "sdkVersion": "0", "languageVersion": "3", "sessionID": "s"})
SNAPSHOT = load_snapshot({"time": 1, "feature_gates": [], "dynamic_configs": [], "layer_configs": []})


def test_threads_recording_checks_while_batches_are_cut_and_the_oldest_taken_build_each_once() -> None:
    buffer, out, errors = EventBuffer(META), [], []
    per_thread, threads = 5000, 4
    lock = threading.Lock()

    def producer(t: int) -> None:
        try:
            user = StatsigUser(user_id=f"t{t}", custom={"i": -1}, custom_ids={"stableID": "s"})
            for i in range(per_thread):
                user.custom = {"i": i}  # type: ignore[assignment]
                user.custom_ids["n"] = str(i)  # type: ignore[index]  # changed in place after each record
                ev = Evaluation(SNAPSHOT, user, None, 5)
                record = check_record(_wire_record, GATE_EXPOSURE, "g", ev, ev.value, user, "Bootstrap", 5_000_000)
                buffer.add_deferred(record)
                user.custom["i"] = "changed after the check"  # type: ignore[index]
                if len(buffer) > 300:
                    taken, events = buffer.take_oldest(0, 25)
                    with lock:
                        out.extend(e for b in taken for e in b.events)
                        out.extend(events)
        except Exception as exc:  # pragma: no cover - the failure this test is for
            errors.append(exc)

    def flusher(done: threading.Event) -> None:
        try:
            while not done.is_set():
                cut = buffer.batches(0, max_events=7, max_body_bytes=1 << 20, in_flight=True)
                with lock:
                    out.extend(e for b in cut for e in b.events)
                buffer.remove(cut)
                buffer.delivered()
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    run_interleaved(producer, threads, flusher)
    out.extend(e for b in buffer.batches(0, max_events=50, max_body_bytes=1 << 20) for e in b.events)
    assert not errors, errors
    assert buffer.unsendable == 0
    users: list[Any] = [json.loads(e)["user"] for e in out]
    seen = [(u["userID"], u["custom"]["i"], u["customIDs"]["n"]) for u in users]
    assert len(seen) == len(set(seen)) == threads * per_thread  # each exactly once
    assert all(str(i) == n for _, i, n in seen)  # as the check saw the user
