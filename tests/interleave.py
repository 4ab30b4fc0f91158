"""Threads made to interleave as often as the interpreter can: producers, and one flusher until they end."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable


def run_interleaved(producer: Callable[[int], None], threads: int, flusher: Callable[[threading.Event], None]) -> None:
    """`producer(t)` on `threads` threads and `flusher(done)` on one more, with a thread switch every
    microsecond (more interleavings); `done` is set once every producer has returned."""
    done = threading.Event()
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=producer, args=(t,)) for t in range(threads)]
        flush = threading.Thread(target=flusher, args=(done,))
        flush.start()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        done.set()
        flush.join()
    finally:
        sys.setswitchinterval(old)
