"""After-response delivery on AWS Lambda (`STATSIG_DELIVERY=after_response`): an internal Lambda extension.

Why an internal extension (a thread of the runtime process) and not an external one (a process in
/opt/extensions): the events are in this process's memory. An external extension would need them handed
over through a socket or a file on every invocation, and would cost a second process (memory, cold start).
Lambda treats both alike: it sends INVOKE to every extension registered for it when the runtime gets the
invocation, and freezes the sandbox only once the runtime *and* every extension called next again; the
caller already has the response the runtime posted. So the work below happens inside the invocation,
billed and bounded by its deadline, but nobody waits for it.

Lifecycle (one `AfterResponseDelivery` per process):

- Init (decoration time, main thread): install the SIGTERM hook, register "statsig_lite" for INVOKE, start
  the thread; it calls /event/next at once (Lambda ends init only when every extension has).
- Invocation: the thread receives INVOKE (request id, deadline) as the handler starts and waits. At the
  end of the handler `hand_over(client, context)` gives it the client, but only once the thread holds this
  invocation's INVOKE (Lambda cannot freeze until it calls next); otherwise it answers False and the caller
  flushes synchronously. The handler returns, the runtime posts the response, the thread runs the same
  flush the synchronous mode runs (same budget: the deadline minus the margin; same spill), then calls next.
- Shutdown: with an extension registered, Lambda sends SIGTERM to the runtime and allows 500 ms. With
  awslambdaric on python3.11 the main thread sits in a C call (`runtime_client.next()`) and a Python signal
  handler would not run, so the hook is also a `signal.set_wakeup_fd` pipe the thread watches next to the
  /event/next socket: whichever sees SIGTERM first shuts the clients down (deliver or spill, within 400 ms).
- Any failure of this path (no Runtime API, not the main thread, the wakeup fd taken, SnapStart, register
  refused, the thread gone) falls back to the synchronous flush: events are never left to a dead thread.

Concurrency: the handler thread and this thread never use a client's pipeline at the same time. Lambda
does not start the next invocation before this thread called next (after its flush); the `_busy` lock
makes the same true without relying on it (`wait_idle` at the start of every invocation, held around
every flush and the shutdown).
"""

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
EXTENSION_NAME = "statsig_lite"
_API = "/2020-01-01/extension"
SHUTDOWN_BUDGET_S = 0.4  # of the 500 ms Lambda gives a runtime with an internal extension after SIGTERM
WAIT_FOR_INVOKE_S = 0.25  # how long a finished handler waits for the thread to hold its INVOKE
HANDOVER_MARGIN_S = 0.05  # the thread stops waiting for a handover this long before the deadline
_REGISTER_TIMEOUT_S = 2.0
_NEXT_ATTEMPTS = 3

_instance: AfterResponseDelivery | None = None
_start_lock = threading.Lock()


def delivery_mode(value: str | None) -> str:
    """The delivery mode an option or STATSIG_DELIVERY value names; an unknown one is synchronous (logged)."""
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
    """Register the extension and start its thread, once per process, during init; None when this process
    cannot (the reason is logged and the caller flushes synchronously)."""
    global _instance
    with _start_lock:
        if _instance is not None:
            return running()
        why = _unavailable()
        if why is not None:
            logger.warning("statsig_lite: after-response delivery unavailable (%s); flushing synchronously", why)
            return None
        delivery = AfterResponseDelivery(os.environ["AWS_LAMBDA_RUNTIME_API"], flush)
        try:
            delivery.start()
        except Exception as exc:  # any failure here means: synchronous mode, said once
            logger.warning("statsig_lite: after-response delivery unavailable (%s); flushing synchronously", exc)
            return None
        _instance = delivery
        return delivery


def _unavailable() -> str | None:
    if not os.environ.get("AWS_LAMBDA_RUNTIME_API"):
        return "no AWS_LAMBDA_RUNTIME_API: not on Lambda"
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
        return "SnapStart: a thread and a socket do not survive the snapshot"
    if threading.current_thread() is not threading.main_thread():
        return "not initialised on the main thread: the SIGTERM hook cannot be installed"
    return None


class ExtensionError(RuntimeError):
    """The Extensions API refused or failed a request."""


class AfterResponseDelivery:
    """The internal extension: see the module docstring."""

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
        self._conn: http.client.HTTPConnection | None = None
        self._wake_r = -1
        self._wake_w = -1
        self._previous_sigterm: Any = signal.SIG_DFL
        self._shutdown_lock = threading.Lock()
        self._shut_down = False
        self.deliveries = 0  # invocations delivered after their response (tests, logs)

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
                "POST",
                f"{_API}/register",
                body=json.dumps({"events": ["INVOKE"]}),
                headers={"Lambda-Extension-Name": EXTENSION_NAME, "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            body = response.read()
            ext_id = response.getheader("Lambda-Extension-Identifier")
        except OSError as exc:
            raise ExtensionError(f"register: {exc}") from exc
        finally:
            conn.close()
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

    def wait_idle(self, timeout_s: float) -> None:
        """At the start of an invocation: wait (bounded) until no delivery uses a pipeline."""
        if self._busy.acquire(timeout=max(0.0, timeout_s)):
            self._busy.release()

    def hand_over(self, client: StatsigServer, context: Any) -> bool:
        """Give this invocation's delivery to the thread. False: the caller must flush synchronously."""
        request_id = getattr(context, "aws_request_id", None)
        if not request_id or not self.alive:
            return False
        self.watch(client)
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
            while True:
                event = self._next_event()
                kind = None if event is None else event.get("eventType")
                if kind == "INVOKE":
                    assert event is not None
                    self._serve(str(event.get("requestId", "")), event.get("deadlineMs"))
                elif kind == "SHUTDOWN" or event is None:
                    self._shutdown_from_thread()
                    return
        except Exception as exc:  # the handler sees a dead thread and flushes synchronously
            logger.error("statsig_lite: extension stopped (%s); flushing synchronously from now on", exc)
        finally:
            with self._cond:
                self._invoke_id = None
                self._cond.notify_all()

    def _serve(self, request_id: str, deadline_ms: Any) -> None:
        """One INVOKE: wait for the handler's handover, deliver, and return (the caller then calls next)."""
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
                self.deliveries += 1
            except Exception as exc:  # events stay buffered for the next flush or shutdown
                logger.error("statsig_lite: delivery after the response failed: %s", exc)

    def _next_event(self) -> dict[str, Any] | None:
        """The next event; None once SIGTERM arrived. Retries a broken connection a few times."""
        for attempt in range(_NEXT_ATTEMPTS):
            try:
                return self._poll_next()
            except (OSError, http.client.HTTPException) as exc:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                if attempt + 1 == _NEXT_ATTEMPTS:
                    raise ExtensionError(f"event/next: {exc}") from exc
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _poll_next(self) -> dict[str, Any] | None:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port)
        conn = self._conn
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
        event = json.loads(body)
        if not isinstance(event, dict):
            raise ExtensionError(f"event/next answered {body[:200]!r}")
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
        """The Python-level handler: runs on the main thread when it gets the chance (python3.12+ runtimes)."""
        self.shutdown_clients()
        previous = self._previous_sigterm
        if callable(previous):
            previous(signum, frame)
        elif previous in (None, signal.SIG_DFL):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
