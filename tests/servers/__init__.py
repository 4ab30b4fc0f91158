"""Loopback servers for the test suite.

Every server here binds 127.0.0.1 on a port the OS picks, is ready to accept connections when its
``start()`` returns, and stops (listening socket closed, open connections shut, handler threads woken)
in ``stop()``. The fixtures in ``tests/conftest.py`` wrap them; tests that need more control use them as
context managers.

- ``tests.servers.statsig_api``: ``FakeStatsigAPI``, Statsig's HTTP API with request recording and
  fault injection.
- ``tests.servers.moto_server``: ``MotoServer``, moto's threaded server plus boto3 client factories.
- ``tests.servers.lambda_runtime``: ``LambdaRuntimeAPI`` and ``LambdaProcess``, the Lambda Runtime API
  and a real ``awslambdaric`` subprocess driven through it.

This module holds the small HTTP server base the first and last share. Import the servers from their
own modules (``from tests.servers.statsig_api import FakeStatsigAPI``): this package imports none of
them, so moto and boto3 load only when a test asks for them.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LoopbackHTTPServer", "LoopbackRequestHandler"]

_log = logging.getLogger(__name__)

# How long serve_forever() sleeps in select(); shutdown() waits up to this long.
_POLL_INTERVAL_S = 0.02
# How long stop() waits for handler threads after their sockets were shut down.
_JOIN_TIMEOUT_S = 2.0


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1:<free port> that can always be stopped.

    Handler threads are daemons and are tracked with their sockets, so ``stop()`` can shut the sockets
    (waking handlers blocked on a keep-alive read) and join the threads. Handlers that wait on purpose
    (slow responses, long polls) must wait on ``self.stopping`` or a condition notified by ``stop()``.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(self, handler_class: type[BaseHTTPRequestHandler], name: str) -> None:
        self.name = name
        self.stopping = threading.Event()
        self._live_lock = threading.Lock()
        self._live: dict[threading.Thread, socket.socket] = {}
        self._serve_thread: threading.Thread | None = None
        # Binds and listens: once this returns, connections queue in the backlog.
        super().__init__(("127.0.0.1", 0), handler_class)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup; skip it.
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        running = threading.Event()

        def serve() -> None:
            running.set()
            self.serve_forever(poll_interval=_POLL_INTERVAL_S)

        self._serve_thread = threading.Thread(target=serve, name=f"{self.name}-serve", daemon=True)
        self._serve_thread.start()
        running.wait()

    def stop(self) -> None:
        """Stop accepting, wake and join every handler, close the listening socket. Idempotent."""
        self.stopping.set()
        self.wake_waiters()
        if self._serve_thread is not None:
            self.shutdown()
            self._serve_thread.join()
            self._serve_thread = None
        with self._live_lock:
            live = list(self._live.items())
        for _thread, conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread, _conn in live:
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():  # pragma: no cover - only a handler that ignores `stopping`
                _log.warning("%s: handler thread %s still running after stop()", self.name, thread.name)
        self.server_close()

    def wake_waiters(self) -> None:
        """Hook for subclasses whose handlers wait on a condition rather than on ``stopping``."""

    def live_handler_threads(self) -> list[threading.Thread]:
        with self._live_lock:
            return [t for t in self._live if t.is_alive()]

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{self.name}-conn-{client_address[1]}",
            daemon=True,
        )
        with self._live_lock:
            self._live[thread] = request
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._live_lock:
                self._live.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-response is normal under fault injection; anything else is a bug
        # in a fake and is logged with its traceback (pytest shows it on failure).
        if self.stopping.is_set() or isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        _log.exception("%s: error while handling a request from %s", self.name, client_address)


class LoopbackRequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 handler with body reading, JSON/bytes replies and an abrupt-reset helper."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY the second one waits for the
    # peer's delayed ACK (~40 ms on Linux) on every keep-alive request after the first.
    disable_nagle_algorithm = True
    server: LoopbackHTTPServer

    _reset_on_finish = False

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        """Read the request body (Content-Length or chunked); b"" when there is none."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer section: lines until an empty one.
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)  # CRLF after the chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_bytes(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reset_connection(self) -> None:
        """Close the connection with a TCP RST and no response (SO_LINGER 0), once the handler returns."""
        self.close_connection = True
        self._reset_on_finish = True

    def finish(self) -> None:
        super().finish()  # closes rfile/wfile, so the socket's close() below is the real one
        if self._reset_on_finish:
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
