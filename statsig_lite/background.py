"""The background worker of a long-running process (never started on Lambda: see `lifecycle`).

One daemon thread per client flushes every ``logging_interval`` seconds and as soon as
``event_queue_size`` events are queued, refreshes the rules every ``rulesets_sync_interval`` seconds and the
ID lists every ``idlists_sync_interval`` seconds;
at interpreter exit (atexit) every running client's pending events are flushed.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from ._log import get_logger
from .results import FlushResult

if TYPE_CHECKING:
    from .server import StatsigServer

logger = get_logger(__name__)


class BackgroundWorker:
    """One daemon thread per client: flush every logging_interval or at event_queue_size queued events,
    refresh the rules every rulesets_sync_interval. `flush` and the thread's flushes are serialised."""

    def __init__(self, server: StatsigServer) -> None:
        options = server.options
        self._server = server
        self._flush_every = float(options.logging_interval)
        self._refresh_every = float(options.rulesets_sync_interval)
        self._id_lists_every = float(options.idlists_sync_interval)
        self._threshold = int(options.event_queue_size)
        self._queued = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._closed = False  # set under the lock by stop(): no flush of this worker runs after it
        self._thread = threading.Thread(target=self._run, name="statsig_lite-background", daemon=True)
        _register(self)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def queued(self) -> None:
        """Called by the client for each event it queues (cheap: a counter, an Event when full)."""
        self._queued += 1
        if self._queued >= self._threshold:
            self._wake.set()

    def flush(self, timeout: float | None = None) -> FlushResult:
        with self._lock:
            pipeline = self._server._pipeline
            if pipeline is None or self._closed:
                return FlushResult()
            self._queued = 0
            return pipeline.flush(timeout)

    def _events_queued(self) -> int:
        """How many events are queued: the client counts each exposure it records, and a repeated one (decided
        when built: EventPipeline.settle) is no event. The count goes on from there."""
        pipeline = self._server._pipeline
        if pipeline is None:
            return 0
        self._queued = queued = pipeline.settle()
        return queued

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        with self._lock:  # waits for a flush still running; none starts after this (shutdown flushes next)
            self._closed = True
        _unregister(self)

    def _run(self) -> None:
        now = time.monotonic()
        next_flush, next_refresh = now + self._flush_every, now + self._refresh_every
        next_id_lists = now + self._id_lists_every
        while not self._stopped:
            self._wake.wait(max(0.0, min(next_flush, next_refresh, next_id_lists) - time.monotonic()))
            self._wake.clear()
            if self._stopped:
                break
            now = time.monotonic()
            try:
                counted = self._queued >= self._threshold and self._events_queued() >= self._threshold
                if now >= next_flush or counted:
                    next_flush = now + self._flush_every
                    self.flush()
                if now >= next_refresh:
                    next_refresh = now + self._refresh_every
                    if not self._server._polling_paused:
                        self._server.refresh_if_stale(max(1.0, min(self._refresh_every, 10.0)))
                if now >= next_id_lists:
                    next_id_lists = now + self._id_lists_every
                    self._server.refresh_id_lists()
            except Exception as exc:  # the thread must survive anything one round does
                logger.error("statsig_lite: background round failed: %s", exc)


_workers: list[BackgroundWorker] = []
_atexit_registered = False


def _register(worker: BackgroundWorker) -> None:
    global _atexit_registered
    _workers.append(worker)
    if not _atexit_registered:
        import atexit

        atexit.register(_flush_at_exit)
        _atexit_registered = True


def _unregister(worker: BackgroundWorker) -> None:
    if worker in _workers:
        _workers.remove(worker)


def _flush_at_exit() -> None:
    """Interpreter exit: flush what every running client still holds (each within its flush budget)."""
    for worker in list(_workers):
        worker._stopped = True
        worker._wake.set()
        try:
            worker.flush()
        except Exception as exc:
            logger.error("statsig_lite: flush at exit failed: %s", exc)
