"""After-response delivery (`STATSIG_DELIVERY=after_response`): an internal Lambda extension, i.e. a thread
of the runtime process registered for INVOKE. Lambda freezes the sandbox only once the runtime and every
extension called next, so the thread flushes after the response is posted, inside the invocation.
Design, shutdown (SIGTERM via a wakeup fd) and concurrency: DEVELOPERS.md, "The extension thread".
Any failure on this path means the synchronous flush."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import signal
import sys
import threading
import time

from ._log import get_logger

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .server import StatsigServer

__all__ = ["AFTER_RESPONSE", "SYNCHRONOUS", "AfterResponseDelivery", "delivery_mode", "running", "start"]

logger = get_logger(__name__)

SYNCHRONOUS = "synchronous"
AFTER_RESPONSE = "after_response"
_API = "/2020-01-01/extension"
SHUTDOWN_BUDGET_S = 0.4  # of the 500 ms Lambda gives a runtime with an internal extension after SIGTERM
WAIT_FOR_INVOKE_S = 0.25  # how long a finished handler waits for the thread to hold its INVOKE
HANDOVER_MARGIN_S = 0.05  # the thread stops waiting for a handover this long before the deadline
_REGISTER_TIMEOUT_S = 2.0

_instance: AfterResponseDelivery | None = None
_start_lock = threading.Lock()


def delivery_mode(value: str | None) -> str:
    """The mode a `delivery` value names; an unknown one is synchronous (logged)."""
    if value is None or not value.strip():
        return SYNCHRONOUS
    mode = value.strip().lower().replace("-", "_")
    if mode in (SYNCHRONOUS, "sync"):
        return SYNCHRONOUS
    if mode == AFTER_RESPONSE:
        return AFTER_RESPONSE
    logger.error("statsig_lite: delivery=%r is not 'synchronous' or 'after_response'; flushing synchronously", value)
    return SYNCHRONOUS


def running() -> AfterResponseDelivery | None:
    """The process's extension if it is registered and its thread alive, else None."""
    instance = _instance
    return instance if instance is not None and instance.alive else None


def start(flush: Callable[[StatsigServer, Any], None]) -> AfterResponseDelivery | None:
    """Register the extension and start its thread, once per process, in init; None if that fails (logged)."""
    global _instance
    with _start_lock:
        if _instance is not None:
            return running()
        api = os.environ.get("AWS_LAMBDA_RUNTIME_API")
        try:
            if not api:
                raise ExtensionError("not on Lambda")
            if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
                raise ExtensionError("SnapStart: a thread and a socket do not survive the snapshot")
            delivery = AfterResponseDelivery(api, flush)
            delivery.start()  # signal.signal raises ValueError off the main thread
        except Exception as exc:  # any failure here means: synchronous mode, said once
            logger.warning("statsig_lite: after-response delivery unavailable (%s); flushing synchronously", exc)
            return None
        _instance = delivery
        return delivery


class ExtensionError(RuntimeError):
    """The Extensions API refused or failed a request."""


class AfterResponseDelivery:
    def __init__(self, runtime_api: str, flush: Callable[[StatsigServer, Any], None]) -> None:
        host, _, port = runtime_api.rpartition(":")
        self._host = host or runtime_api
        self._port = int(port) if host else 80
        self._flush = flush
        self._id = ""
        self._cond = threading.Condition()
        self._busy = threading.Lock()  # held by whoever uses a client's pipeline outside the handler
        self._invoke_id: str | None = None  # the invocation whose INVOKE the thread holds
        self._job: tuple[StatsigServer, Any] | None = None
        self._clients: dict[int, StatsigServer] = {}
        self._thread: threading.Thread | None = None
        self._conn = http.client.HTTPConnection(self._host, self._port)  # no timeout: a long poll
        self._wake_r = -1
        self._wake_w = -1
        self._previous_sigterm: Any = signal.SIG_DFL
        self._shutdown_lock = threading.Lock()
        self._shut_down = False

    # -- init

    def start(self) -> None:
        self._install_sigterm_hook()
        try:
            self._id = self._register()
            self._thread = threading.Thread(target=self._run, name="statsig-lite-extension", daemon=True)
            self._thread.start()
        except BaseException:
            self._remove_sigterm_hook()
            raise

    def _install_sigterm_hook(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        try:
            previous_fd = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
            if previous_fd != -1:  # someone else (an asyncio loop) relies on it: leave it to them
                signal.set_wakeup_fd(previous_fd)
                raise ExtensionError("signal.set_wakeup_fd is already in use")
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
        except BaseException:
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_r = self._wake_w = -1
            raise

    def _remove_sigterm_hook(self) -> None:
        signal.signal(signal.SIGTERM, self._previous_sigterm or signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._wake_r = self._wake_w = -1

    def _register(self) -> str:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=_REGISTER_TIMEOUT_S)
        try:
            conn.request(
                "POST", f"{_API}/register", '{"events": ["INVOKE"]}', {"Lambda-Extension-Name": "statsig_lite"}
            )
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        ext_id = response.getheader("Lambda-Extension-Identifier")
        if response.status != 200 or not ext_id:
            raise ExtensionError(f"register answered HTTP {response.status}: {body[:200]!r}")
        return ext_id

    # -- the handler's side

    @property
    def alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._shut_down

    def watch(self, client: StatsigServer) -> None:
        """Shut this client down too when the sandbox shuts down."""
        self._clients[id(client)] = client

    def delivers_for(self, client: StatsigServer) -> bool:
        return self._clients.get(id(client)) is client

    def wait_idle(self, timeout_s: float) -> None:
        """At the start of an invocation: wait (bounded) until no delivery uses a pipeline."""
        if self._busy.acquire(timeout=max(0.0, timeout_s)):
            self._busy.release()

    def hand_over(self, client: StatsigServer, context: Any) -> bool:
        """Give this invocation's delivery to the thread. False: the caller must flush synchronously."""
        request_id = getattr(context, "aws_request_id", None)
        if not request_id or not self.alive:
            return False
        give_up = time.monotonic() + WAIT_FOR_INVOKE_S
        with self._cond:
            while self._invoke_id != request_id:
                left = give_up - time.monotonic()
                if left <= 0 or not self.alive:
                    logger.warning("statsig_lite: extension did not hold invocation %s; flushing now", request_id)
                    return False
                self._cond.wait(left)
            self._job = (client, context)
            self._cond.notify_all()
        return True

    # -- the thread

    def _run(self) -> None:
        try:
            while (event := self._next_event()) is not None and event.get("eventType") == "INVOKE":
                self._serve(str(event.get("requestId")), event.get("deadlineMs"))
            self._shutdown_from_thread()  # SIGTERM (or SHUTDOWN, were it registered)
        except Exception as exc:  # the handler sees a dead thread and flushes synchronously
            logger.error("statsig_lite: extension stopped (%s); flushing synchronously from now on", exc)
        finally:
            with self._cond:
                self._invoke_id = None
                self._cond.notify_all()

    def _serve(self, request_id: str, deadline_ms: Any) -> None:
        """One INVOKE: wait for the handover, then deliver."""
        try:
            until = float(deadline_ms) / 1000.0 - HANDOVER_MARGIN_S
        except (TypeError, ValueError):
            until = time.time() + 900.0  # Lambda always sends it; the longest invocation otherwise
        with self._cond:
            self._invoke_id = request_id
            self._cond.notify_all()
            while self._job is None and time.time() < until:
                self._cond.wait(until - time.time())
            job, self._job, self._invoke_id = self._job, None, None
        if job is None:  # the handler never finished in time: Lambda is about to time the invocation out
            logger.warning("statsig_lite: no handover for invocation %s before its deadline", request_id)
            return
        client, context = job
        with self._busy:
            try:
                self._flush(client, context)
            except Exception as exc:  # events stay buffered for the next flush or shutdown
                logger.error("statsig_lite: delivery after the response failed: %s", exc)

    def _next_event(self) -> dict[str, Any] | None:
        """The next event; None once SIGTERM arrived. A dropped connection gets one new one."""
        try:
            return self._poll_next()
        except (OSError, http.client.HTTPException):
            assert self._conn is not None
            self._conn.close()
            self._conn = http.client.HTTPConnection(self._host, self._port)
            return self._poll_next()

    def _poll_next(self) -> dict[str, Any] | None:
        conn = self._conn
        assert conn is not None
        conn.request("GET", f"{_API}/event/next", headers={"Lambda-Extension-Identifier": self._id})
        sock = conn.sock
        assert sock is not None
        while True:  # the long poll, and SIGTERM through the wakeup fd while it lasts
            readable, _, _ = select.select([sock, self._wake_r], [], [])
            if self._wake_r in readable and signal.SIGTERM in os.read(self._wake_r, 64):
                return None
            if sock in readable:
                break
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise ExtensionError(f"event/next answered HTTP {response.status}: {body[:200]!r}")
        event: dict[str, Any] = json.loads(body)
        return event

    # -- shutdown

    def shutdown_clients(self, budget_s: float = SHUTDOWN_BUDGET_S) -> None:
        """Deliver or spill what every watched client still holds, once, within ``budget_s``."""
        with self._shutdown_lock:
            if self._shut_down:
                return
            self._shut_down = True
            end = time.monotonic() + budget_s
            acquired = self._busy.acquire(timeout=budget_s / 2)  # a delivery still running has the pipeline
            try:
                for client in list(self._clients.values()):
                    left = end - time.monotonic()
                    try:
                        result = client.shutdown(timeout=max(0.0, left))
                    except Exception as exc:  # the next client still gets its turn
                        logger.error("statsig_lite: shutdown delivery failed: %s", exc)
                        continue
                    if result.sent or result.spilled or result.kept:
                        logger.info(
                            "statsig_lite: at shutdown sent %d, spilled %d, kept %d events",
                            result.sent,
                            result.spilled,
                            result.kept,
                        )
            finally:
                if acquired:
                    self._busy.release()

    def _shutdown_from_thread(self) -> None:
        self.shutdown_clients()
        previous = self._previous_sigterm
        if previous in (None, signal.SIG_DFL):  # what SIGTERM would have done, now that the events are safe
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):  # a closed stream must not keep the process alive
                    stream.flush()
            os._exit(128 + signal.SIGTERM)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        """Runs on the main thread if it gets the chance (python3.12+ runtimes), then chains."""
        self.shutdown_clients()
        previous = self._previous_sigterm
        if callable(previous):
            previous(signum, frame)
        elif previous in (None, signal.SIG_DFL):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
