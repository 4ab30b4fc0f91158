"""A loopback HTTP proxy in front of a real server (moto) that delays, or refuses, every request.

    with DelayProxy(moto.endpoint_url) as proxy:
        proxy.delay_s = 0.4      # each request waits this long before it is forwarded
        proxy.down = True        # each request is answered with a TCP reset
        proxy.wait_for(lambda r: r.method == "PUT")  # block until such a request arrived
        proxy.serialize = True   # forward one request at a time

moto applies a conditional write (DynamoDB ConditionExpression, S3 If-None-Match / If-Match) as a read, a
check and a write without a lock, so two concurrent requests can both pass the check; the real services
apply it atomically. ``serialize`` gives moto that atomicity, for tests of concurrent claims.

Clients (boto3) point their ``endpoint_url`` at ``proxy.base``; moto does not check signatures, so the
changed host is fine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3

from tests.servers import LoopbackHTTPServer, LoopbackRequestHandler

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    at: float


class DelayProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay_s = 0.0
        self.down = False
        self.serialize = False
        self._one_at_a_time = threading.Lock()
        self._seen: list[Seen] = []
        self._cond = threading.Condition()
        self._pool = urllib3.PoolManager(maxsize=8, retries=False)
        self._server: _ProxyServer | None = None

    def __enter__(self) -> DelayProxy:
        self._server = _ProxyServer(self)
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def base(self) -> str:
        assert self._server is not None
        return self._server.base

    def seen(self) -> list[Seen]:
        with self._cond:
            return list(self._seen)

    def wait_for(self, matches: Callable[[Seen], bool], count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while sum(1 for s in self._seen if matches(s)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"proxy: {count} matching requests not seen in {timeout}s")
                self._cond.wait(left)

    def _record(self, seen: Seen) -> None:
        with self._cond:
            self._seen.append(seen)
            self._cond.notify_all()

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        if self.serialize:
            with self._one_at_a_time:
                return self._send(method, path, headers, body)
        return self._send(method, path, headers, body)

    def _send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        return self._pool.request(
            method, self.upstream + path, body=body or None, headers=headers, preload_content=True,
            redirect=False, timeout=30.0,
        )


class _ProxyServer(LoopbackHTTPServer):
    def __init__(self, proxy: DelayProxy) -> None:
        self.proxy = proxy
        super().__init__(_Handler, name="delay-proxy")


class _Handler(LoopbackRequestHandler):
    server: _ProxyServer

    def _serve(self) -> None:
        proxy = self.server.proxy
        body = self.read_body()
        proxy._record(Seen(self.command, self.path, time.monotonic()))
        if proxy.down:
            self.reset_connection()
            return
        if proxy.delay_s and self.server.stopping.wait(proxy.delay_s):
            self.reset_connection()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        answer = proxy._forward(self.command, self.path, headers, body)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve
