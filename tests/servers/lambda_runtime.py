"""The AWS Lambda Runtime API on loopback, and a real ``awslambdaric`` process driven through it.

``LambdaRuntimeAPI`` implements the four runtime endpoints (``/2018-06-01/runtime/...``):
``GET invocation/next`` (long-polls until ``submit()`` hands it an event), ``POST invocation/{id}/response``,
``POST invocation/{id}/error`` and ``POST init/error``; and the Extensions API (``/2020-01-01/extension/...``):
``POST register`` (during init only), ``GET event/next`` (INVOKE and SHUTDOWN events), ``POST init/error`` and
``POST exit/error``. As in Lambda, an invocation is handed out only when the runtime and every registered
extension wait on their ``next``, every extension registered for INVOKE gets the INVOKE event when the runtime
gets the invocation, and the sandbox is ready to freeze only once all of them called ``next`` again:
``wait_freeze_ready(request_id)`` says when that was (the caller had the answer at ``received_at``).
``LambdaProcess.shutdown()`` ends the sandbox like Lambda: SIGTERM to the runtime if an extension registered,
SHUTDOWN to extensions registered for it, SIGKILL when the shutdown window is over.

``LambdaProcess`` starts ``python -m awslambdaric <module.handler>`` against it, with the environment
Lambda sets for a python3.11 function, and drives invocations one at a time like real Lambda: between
``invoke()`` calls the process sits blocked on ``/next``.

    with LambdaProcess("app.handler", task_root=tmp_path, env={"STATSIG_API": api.url}) as fn:
        first = fn.invoke({"user": "u1"}, timeout_ms=3000)
        fn.freeze()          # SIGSTOP, like Lambda between invocations
        fn.thaw()            # SIGCONT
        second = fn.invoke({"user": "u2"})
        assert second.ok and second.body["count"] == 2
        assert fn.thread_count() == 1

``AWS_EXECUTION_ENV=AWS_Lambda_python3.11`` matters: for python3.12+ values awslambdaric polls
``/next`` from a worker thread, so the function process would not be single-threaded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.servers import LoopbackHTTPServer, LoopbackRequestHandler

__all__ = [
    "InvocationResult",
    "LambdaInitError",
    "LambdaProcess",
    "LambdaProcessExited",
    "LambdaRuntimeAPI",
    "ShutdownReport",
    "thread_count",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_ID = "123456789012"
_PREFIX = "/2018-06-01/runtime"
_INVOCATION_POST = re.compile(rf"{_PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)")
_EXT_PREFIX = "/2020-01-01/extension"
_EXT_EVENTS = frozenset({"INVOKE", "SHUTDOWN"})
# Lambda's shutdown windows: the runtime with only internal extensions gets 500 ms after SIGTERM; with
# external ones (the only kind that can register for SHUTDOWN) the whole phase gets 2 s.
SHUTDOWN_WINDOW_INTERNAL_S = 0.5
SHUTDOWN_WINDOW_EXTERNAL_S = 2.0


class LambdaInitError(RuntimeError):
    """The function failed to initialise (it posted ``init/error``)."""

    def __init__(self, body: Any, error_type: str | None) -> None:
        super().__init__(f"init error {error_type}: {body}")
        self.body = body
        self.error_type = error_type


class LambdaProcessExited(RuntimeError):
    """The runtime process exited while an invocation was pending."""


@dataclass(frozen=True)
class InvocationResult:
    request_id: str
    ok: bool  # True: posted to /response; False: posted to /error
    body: Any  # parsed JSON of the posted body (None if it was not JSON)
    raw: bytes
    error_type: str | None  # error post: Lambda-Runtime-Function-Error-Type, else the body's errorType
    headers: Mapping[str, str]  # of the post, names lower-cased
    deadline_ms: int  # epoch ms sent in Lambda-Runtime-Deadline-Ms
    submitted_at: float  # time.monotonic() when invoke() queued the event
    delivered_at: float  # ... when /next handed it to the process
    received_at: float  # ... when the response or error post had been read

    @property
    def duration_s(self) -> float:
        """From queueing the event to receiving the answer."""
        return self.received_at - self.submitted_at


@dataclass(frozen=True)
class ShutdownReport:
    sigterm_sent: bool  # True when an extension was registered (Lambda signals the runtime only then)
    window_s: float  # how long the sandbox was given before SIGKILL
    exited_in_window: bool  # the process ended by itself before the window closed
    returncode: int | None
    duration_s: float  # from the start of the shutdown until the process was gone


@dataclass
class _Extension:
    ext_id: str
    name: str
    events: frozenset[str]
    queue: deque[dict[str, Any]]
    waiting: bool = False  # a /event/next request is blocked
    polls: int = 0

    @property
    def ready(self) -> bool:
        """Called next and has nothing left to take: Lambda may go on (or freeze)."""
        return self.waiting and not self.queue


@dataclass
class _Pending:
    request_id: str
    event: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str
    submitted_at: float
    delivered_at: float | None = None


class LambdaRuntimeAPI:
    """The runtime side of the Lambda Runtime API on 127.0.0.1:<free port>. Thread-safe."""

    def __init__(self, function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:test") -> None:
        self.function_arn = function_arn
        self._cond = threading.Condition()
        self._queue: deque[_Pending] = deque()
        self._in_flight: dict[str, _Pending] = {}
        self._results: dict[str, InvocationResult] = {}
        self._polls = 0  # /next requests received
        self._waiting = 0  # /next requests currently blocked
        self._init_error: tuple[Any, str | None] | None = None
        self._exit_code: int | None = None
        self._server: _RuntimeServer | None = None
        self.handler = ""  # what register answers as the function's handler
        self._extensions: dict[str, _Extension] = {}
        self._extension_errors: list[tuple[str, str, str | None, Any]] = []  # (name, init|exit, type, body)
        self._dispatched = 0  # invocations handed to the runtime; register is refused after the first
        self._last_answered: str | None = None
        self._freeze_ready: dict[str, tuple[float, int]] = {}  # request id -> (monotonic, epoch ms)

    # -- lifecycle

    def start(self) -> LambdaRuntimeAPI:
        if self._server is not None:
            raise RuntimeError("already started")
        server = _RuntimeServer(self)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> LambdaRuntimeAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        if self._server is None:
            raise RuntimeError("LambdaRuntimeAPI is not running")
        return f"127.0.0.1:{self._server.port}"

    # -- driving

    def submit(self, event: Any, timeout_ms: int = 3000) -> str:
        """Queue ``event`` (JSON-encoded unless bytes) for the next ``/next``; return its request id.

        The deadline is wall-clock epoch ms: now + ``timeout_ms``, as Lambda computes it at invoke.
        """
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        request_id = str(uuid.uuid4())
        pending = _Pending(
            request_id=request_id,
            event=body,
            deadline_ms=int(time.time() * 1000) + timeout_ms,
            function_arn=self.function_arn,
            trace_id=f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0",
            submitted_at=time.monotonic(),
        )
        with self._cond:
            self._queue.append(pending)
            self._cond.notify_all()
        return request_id

    def wait_result(self, request_id: str, timeout: float) -> InvocationResult:
        """Block until ``request_id`` is answered. Raises LambdaInitError, LambdaProcessExited, TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if request_id in self._results:
                    return self._results[request_id]
                if self._init_error is not None:
                    raise LambdaInitError(*self._init_error)
                if self._exit_code is not None:
                    raise LambdaProcessExited(f"runtime process exited with {self._exit_code} during {request_id}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no answer to {request_id} after {timeout:.1f}s")
                self._cond.wait(remaining)

    def wait_polling(self, timeout: float) -> None:
        """Block until a ``/next`` request is waiting (the function finished init and is idle)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._sandbox_idle():
                if self._init_error is not None:
                    raise LambdaInitError(*self._init_error)
                if self._exit_code is not None:
                    raise LambdaProcessExited(f"runtime process exited with {self._exit_code} before polling")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"runtime and extensions did not all poll next within {timeout:.1f}s")
                self._cond.wait(remaining)

    def wait_freeze_ready(self, request_id: str, timeout: float) -> float:
        """Block until, after answering ``request_id``, the runtime and every extension called next again:
        the moment Lambda would freeze the sandbox (time.monotonic()). Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while request_id not in self._freeze_ready:
                if self._exit_code is not None:
                    raise LambdaProcessExited(f"runtime process exited with {self._exit_code} after {request_id}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"sandbox not ready to freeze {timeout:.1f}s after {request_id}")
                self._cond.wait(remaining)
            return self._freeze_ready[request_id][0]

    def freeze_ready_epoch_ms(self, request_id: str) -> int | None:
        """Wall-clock epoch ms of the freeze-ready moment (comparable to the invocation's deadline_ms)."""
        with self._cond:
            ready = self._freeze_ready.get(request_id)
            return None if ready is None else ready[1]

    def wait_idle(self, timeout: float) -> None:
        """Block until the runtime and every extension wait on next (nothing is running)."""
        self.wait_polling(timeout)

    def extensions(self) -> list[tuple[str, frozenset[str]]]:
        """(name, events) of every registered extension."""
        with self._cond:
            return [(e.name, e.events) for e in self._extensions.values()]

    def extension_errors(self) -> list[tuple[str, str, str | None, Any]]:
        """(extension name, "init" or "exit", error type, parsed body) of every error an extension posted."""
        with self._cond:
            return list(self._extension_errors)

    def send_shutdown(self, reason: str, deadline_ms: int) -> int:
        """Queue a SHUTDOWN event for every extension registered for it; return how many."""
        event = {"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline_ms}
        with self._cond:
            targets = [e for e in self._extensions.values() if "SHUTDOWN" in e.events]
            for ext in targets:
                ext.queue.append(dict(event))
            self._cond.notify_all()
            return len(targets)

    def process_exited(self, code: int) -> None:
        with self._cond:
            self._exit_code = code
            self._cond.notify_all()

    @property
    def init_error(self) -> tuple[Any, str | None] | None:
        """(parsed body, error type) of an ``init/error`` post, if any."""
        with self._cond:
            return self._init_error

    @property
    def polls(self) -> int:
        with self._cond:
            return self._polls

    def results(self) -> list[InvocationResult]:
        with self._cond:
            return list(self._results.values())

    # -- handler side

    def _sandbox_idle(self) -> bool:
        return self._waiting > 0 and all(e.ready for e in self._extensions.values())

    def _note_idle(self) -> None:
        """Called under the lock whenever someone starts waiting on next: record the freeze-ready moment."""
        answered = self._last_answered
        if answered is not None and answered not in self._freeze_ready and self._sandbox_idle():
            self._freeze_ready[answered] = (time.monotonic(), int(time.time() * 1000))
        self._cond.notify_all()

    def _next(self, stopping: threading.Event) -> _Pending | None:
        with self._cond:
            self._polls += 1
            self._waiting += 1
            self._note_idle()
            try:
                # Lambda hands out an invocation only when every extension called next too.
                while not (self._queue and self._sandbox_idle()) and not stopping.is_set():
                    self._cond.wait()
            finally:
                self._waiting -= 1
            if stopping.is_set():
                return None
            pending = self._queue.popleft()
            pending.delivered_at = time.monotonic()
            self._in_flight[pending.request_id] = pending
            self._dispatched += 1
            invoke = {
                "eventType": "INVOKE",
                "deadlineMs": pending.deadline_ms,
                "requestId": pending.request_id,
                "invokedFunctionArn": pending.function_arn,
                "tracing": {"type": "X-Amzn-Trace-Id", "value": pending.trace_id},
            }
            for ext in self._extensions.values():
                if "INVOKE" in ext.events:
                    ext.queue.append(dict(invoke))
            self._cond.notify_all()
            return pending

    def _register(self, name: str, events: frozenset[str]) -> str | None:
        """A new extension's identifier; None once init is over (Lambda accepts registrations only then)."""
        with self._cond:
            if self._dispatched:
                return None
            ext_id = str(uuid.uuid4())
            self._extensions[ext_id] = _Extension(ext_id, name, events, deque())
            self._cond.notify_all()
            return ext_id

    def _extension_next(self, ext_id: str, stopping: threading.Event) -> dict[str, Any] | None:
        with self._cond:
            ext = self._extensions[ext_id]
            ext.polls += 1
            ext.waiting = True
            self._note_idle()
            try:
                while not ext.queue and not stopping.is_set():
                    self._cond.wait()
            finally:
                ext.waiting = False
            if stopping.is_set():
                return None
            event = ext.queue.popleft()
            self._cond.notify_all()
            return event

    def _extension_error(self, ext_id: str, kind: str, error_type: str | None, raw: bytes) -> bool:
        with self._cond:
            ext = self._extensions.get(ext_id)
            if ext is None:
                return False
            self._extension_errors.append((ext.name, kind, error_type, _parse_json(raw)))
            return True

    def _known_extension(self, ext_id: str | None) -> bool:
        with self._cond:
            return ext_id is not None and ext_id in self._extensions

    def _answer(
        self, request_id: str, ok: bool, raw: bytes, error_type: str | None, headers: Mapping[str, str]
    ) -> bool:
        received_at = time.monotonic()
        with self._cond:
            pending = self._in_flight.pop(request_id, None)
            if pending is None:
                return False
            assert pending.delivered_at is not None
            self._results[request_id] = InvocationResult(
                request_id=request_id,
                ok=ok,
                body=_parse_json(raw),
                raw=raw,
                error_type=error_type,
                headers=dict(headers),
                deadline_ms=pending.deadline_ms,
                submitted_at=pending.submitted_at,
                delivered_at=pending.delivered_at,
                received_at=received_at,
            )
            self._last_answered = request_id
            self._note_idle()
            return True

    def _record_init_error(self, raw: bytes, error_type: str | None) -> None:
        with self._cond:
            self._init_error = (_parse_json(raw), error_type)
            self._cond.notify_all()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


class _RuntimeServer(LoopbackHTTPServer):
    def __init__(self, runtime: LambdaRuntimeAPI) -> None:
        self.runtime = runtime
        super().__init__(_RuntimeHandler, name="lambda-runtime-api")

    def wake_waiters(self) -> None:
        self.runtime._wake()


class _RuntimeHandler(LoopbackRequestHandler):
    server: _RuntimeServer

    def _json(self, status: int, value: Any) -> None:
        self.send_bytes(status, json.dumps(value).encode())

    def do_GET(self) -> None:
        self.read_body()
        if self.path == f"{_EXT_PREFIX}/event/next":
            self._extension_next()
            return
        if self.path == f"{_PREFIX}/restore/next":  # SnapStart: the snapshot is "restored" at once
            self._json(200, {})
            return
        if self.path != f"{_PREFIX}/invocation/next":
            self._json(404, {"errorType": "NotFound", "errorMessage": self.path})
            return
        pending = self.server.runtime._next(self.server.stopping)
        if pending is None:
            self.reset_connection()
            return
        self.send_bytes(
            200,
            pending.event,
            headers={
                "Lambda-Runtime-Aws-Request-Id": pending.request_id,
                "Lambda-Runtime-Deadline-Ms": str(pending.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": pending.function_arn,
                "Lambda-Runtime-Trace-Id": pending.trace_id,
            },
        )

    def _extension_next(self) -> None:
        runtime = self.server.runtime
        ext_id = self.headers.get("Lambda-Extension-Identifier")
        if not runtime._known_extension(ext_id):
            self._json(403, {"errorType": "Extension.UnknownExtensionIdentifier", "errorMessage": str(ext_id)})
            return
        assert ext_id is not None
        event = runtime._extension_next(ext_id, self.server.stopping)
        if event is None:
            self.reset_connection()
            return
        headers = {"Lambda-Extension-Event-Identifier": str(uuid.uuid4())}
        self.send_bytes(200, json.dumps(event).encode(), headers=headers)

    def _extension_post(self, raw: bytes) -> None:
        runtime = self.server.runtime
        if self.path == f"{_EXT_PREFIX}/register":
            name = self.headers.get("Lambda-Extension-Name")
            parsed = _parse_json(raw)
            events = parsed.get("events") if isinstance(parsed, dict) else None
            if not name or not isinstance(events, list) or not set(events) <= _EXT_EVENTS:
                self._json(400, {"errorType": "InvalidRequest", "errorMessage": "name and events required"})
                return
            ext_id = runtime._register(name, frozenset(events))
            if ext_id is None:
                self._json(403, {"errorType": "Extension.InvalidState", "errorMessage": "register after init"})
                return
            body = {
                "functionName": runtime.function_arn.rsplit(":", 1)[-1],
                "functionVersion": "$LATEST",
                "handler": runtime.handler,
            }
            self.send_bytes(200, json.dumps(body).encode(), headers={"Lambda-Extension-Identifier": ext_id})
            return
        kind = {f"{_EXT_PREFIX}/init/error": "init", f"{_EXT_PREFIX}/exit/error": "exit"}.get(self.path)
        ext_id = self.headers.get("Lambda-Extension-Identifier") or ""
        if kind is None:
            self._json(404, {"errorType": "NotFound", "errorMessage": self.path})
        elif runtime._extension_error(ext_id, kind, self.headers.get("Lambda-Extension-Function-Error-Type"), raw):
            self._json(202, {"status": "OK"})
        else:
            self._json(403, {"errorType": "Extension.UnknownExtensionIdentifier", "errorMessage": ext_id})

    def do_POST(self) -> None:
        raw = self.read_body()
        if self.path.startswith(_EXT_PREFIX + "/"):
            self._extension_post(raw)
            return
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
        runtime = self.server.runtime
        if self.path == f"{_PREFIX}/init/error":
            runtime._record_init_error(raw, error_type)
            self._json(202, {"status": "OK"})
            return
        match = _INVOCATION_POST.fullmatch(self.path)
        if match is None:
            self._json(404, {"errorType": "NotFound", "errorMessage": self.path})
            return
        ok = match.group("kind") == "response"
        if not ok and error_type is None:
            # awslambdaric 4.x posts invocation errors without the error-type header; the type is in the body.
            parsed = _parse_json(raw)
            error_type = parsed.get("errorType") if isinstance(parsed, dict) else None
        headers = {name.lower(): value for name, value in self.headers.items()}
        if runtime._answer(match.group("id"), ok, raw, None if ok else error_type, headers):
            self._json(202, {"status": "OK"})
        else:
            self._json(400, {"errorType": "InvalidRequestID", "errorMessage": "unknown or answered request id"})


def thread_count(pid: int) -> int:
    """Number of threads of process ``pid`` (entries of /proc/<pid>/task)."""
    return len(os.listdir(f"/proc/{pid}/task"))


def process_state(pid: int) -> str:
    """The one-letter state from /proc/<pid>/stat (R, S, T for stopped, Z, ...)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


class LambdaProcess:
    """``python -m awslambdaric <handler>`` against a private ``LambdaRuntimeAPI``.

    ``task_root`` holds the handler module (it becomes the cwd, ``LAMBDA_TASK_ROOT`` and the head of
    ``PYTHONPATH``; the repo follows, so ``statsig_lite`` imports). The environment is built from scratch
    (nothing from the host's AWS_* or STATSIG_*); ``env`` adds to it, and a value of None removes a key.
    Output (stdout and stderr) goes to a temp file: ``output()``.
    """

    def __init__(
        self,
        handler: str,
        task_root: str | Path,
        *,
        env: Mapping[str, str | None] | None = None,
        function_name: str = "statsig-lite-test",
        memory_mb: int = 128,
        region: str = "us-east-1",
        python: str = sys.executable,
        ready_timeout_s: float = 15.0,
    ) -> None:
        self.handler = handler
        self.task_root = Path(task_root).resolve()
        self.function_name = function_name
        self.memory_mb = memory_mb
        self.region = region
        self.python = python
        self.ready_timeout_s = ready_timeout_s
        self._extra_env = dict(env or {})
        self.function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self.runtime = LambdaRuntimeAPI(self.function_arn)
        self.runtime.handler = handler
        self._proc: subprocess.Popen[bytes] | None = None
        self._watcher: threading.Thread | None = None
        self._log_path: str | None = None
        self._output = ""
        self._frozen = False
        self._returncode: int | None = None

    def environment(self) -> dict[str, str]:
        """The environment the process gets (also useful to inspect in a test)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": os.pathsep.join([str(self.task_root), str(REPO_ROOT)]),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "LAMBDA_RUNTIME_DIR": str(Path(sys.prefix)),
            "_HANDLER": self.handler,
            "AWS_LAMBDA_RUNTIME_API": self.runtime.address,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"2024/01/01/[$LATEST]{secrets.token_hex(16)}",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }
        for key, value in self._extra_env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    # -- lifecycle

    def start(self, wait_ready: bool = True) -> LambdaProcess:
        """Start the runtime API and the process; by default wait until it polls ``/next``."""
        if self._proc is not None:
            raise RuntimeError("already started")
        self.runtime.start()
        try:
            fd, self._log_path = tempfile.mkstemp(prefix="lambda-", suffix=".log")
            try:
                self._proc = subprocess.Popen(
                    [self.python, "-m", "awslambdaric", self.handler],
                    cwd=self.task_root,
                    env=self.environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=fd,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            finally:
                os.close(fd)
            self._watcher = threading.Thread(target=self._watch, name=f"lambda-watch-{self._proc.pid}", daemon=True)
            self._watcher.start()
            if wait_ready:
                self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _watch(self) -> None:
        assert self._proc is not None
        code = self._proc.wait()
        self.runtime.process_exited(code)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the function finished init and waits on ``/next``."""
        self.runtime.wait_polling(self.ready_timeout_s if timeout is None else timeout)

    def stop(self) -> None:
        """Kill the process (SIGKILL works on a frozen one too), reap it, stop the runtime API."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            self._returncode = proc.returncode
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        self.runtime.stop()
        if self._log_path is not None:
            self._output = self._read_log()
            with contextlib.suppress(OSError):
                os.unlink(self._log_path)
            self._log_path = None
        self._frozen = False

    def __enter__(self) -> LambdaProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- driving

    def invoke(self, event: Any, timeout_ms: int = 3000, *, grace_s: float = 5.0) -> InvocationResult:
        """Hand ``event`` to the process and block until it posts a response or an error.

        Waits at most ``timeout_ms`` + ``grace_s``; raises TimeoutError past that (the process is left
        running: call ``stop()``), LambdaProcessExited if it dies, LambdaInitError if init failed.
        """
        if self._frozen:
            raise RuntimeError("process is frozen; thaw() it before invoking")
        request_id = self.runtime.submit(event, timeout_ms)
        return self.runtime.wait_result(request_id, timeout_ms / 1000 + grace_s)

    def freeze(self, *, when_idle: bool | None = None, timeout: float = 10.0) -> None:
        """SIGSTOP the process and wait until the kernel reports it stopped.

        With ``when_idle`` (the default once an extension registered) it first waits, like Lambda, until the
        runtime and every extension called next, so work an extension does after the response is not cut."""
        proc = self._require_proc()
        if when_idle if when_idle is not None else bool(self.runtime.extensions()):
            self.runtime.wait_idle(timeout)
        os.kill(proc.pid, signal.SIGSTOP)
        os.waitid(os.P_PID, proc.pid, os.WSTOPPED)
        self._frozen = True

    def thaw(self) -> None:
        """SIGCONT the process and wait until the kernel reports it continued."""
        proc = self._require_proc()
        os.kill(proc.pid, signal.SIGCONT)
        os.waitid(os.P_PID, proc.pid, os.WCONTINUED)
        self._frozen = False

    def freeze_ready_at(self, result: InvocationResult, timeout: float = 10.0) -> float:
        """time.monotonic() when the sandbox could freeze after ``result`` (runtime and extensions in next)."""
        return self.runtime.wait_freeze_ready(result.request_id, timeout)

    def shutdown(self, reason: str = "spindown", window_s: float | None = None) -> ShutdownReport:
        """End the sandbox as Lambda does, then ``stop()``: thaw it; if an extension registered, SIGTERM the
        runtime and send SHUTDOWN to extensions registered for it; SIGKILL once the window is over (at once
        when no extension registered). The window is 500 ms, or 2 s if an extension takes SHUTDOWN."""
        proc = self._require_proc()
        if self._frozen:
            self.thaw()
        extensions = self.runtime.extensions()
        if window_s is None:
            external = any("SHUTDOWN" in events for _name, events in extensions)
            window_s = SHUTDOWN_WINDOW_EXTERNAL_S if external else SHUTDOWN_WINDOW_INTERNAL_S
        started = time.monotonic()
        exited = False
        if extensions:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            self.runtime.send_shutdown(reason, int(time.time() * 1000 + window_s * 1000))
            if self._watcher is not None:
                self._watcher.join(window_s)
            exited = proc.poll() is not None
        else:
            window_s = 0.0
        self.stop()
        return ShutdownReport(
            sigterm_sent=bool(extensions),
            window_s=window_s,
            exited_in_window=exited,
            returncode=self._returncode,
            duration_s=time.monotonic() - started,
        )

    # -- inspecting

    def _require_proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError("LambdaProcess is not running")
        return self._proc

    @property
    def pid(self) -> int:
        return self._require_proc().pid

    @property
    def frozen(self) -> bool:
        return self._frozen

    @property
    def returncode(self) -> int | None:
        """Exit status once the process ended (negative: killed by that signal)."""
        if self._proc is not None:
            return self._proc.poll()
        return self._returncode

    def thread_count(self) -> int:
        return thread_count(self.pid)

    def state(self) -> str:
        """One-letter process state; "T" while frozen."""
        return process_state(self.pid)

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far (kept after ``stop()``)."""
        return self._read_log() if self._log_path is not None else self._output

    def _read_log(self) -> str:
        assert self._log_path is not None
        with open(self._log_path, "rb") as log:
            return log.read().decode("utf-8", errors="replace")
