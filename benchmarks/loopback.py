"""A fake Statsig API on 127.0.0.1 that every SDK under test is pointed at.

Serves download_config_specs in v1 (`/v1/download_config_specs/<key>.json`) and v2
(`/v2/download_config_specs/<key>.json`), an empty ID-list manifest, and accepts log_event and
sdk_exception posts. It counts what it gets, so the report can show that exposure logging really
produced events and that nothing asked for an endpoint the benchmark does not know.
"""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.reports: list[str] = []  # what SDKs posted to sdk_exception

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": dict(self.requests), "events": dict(self.events),
                    "unexpected": list(self.unexpected), "reports": list(self.reports)}


class LoopbackServer:
    """`with LoopbackServer() as server:` binds a free port; `server.url` is its base URL."""

    def __init__(self) -> None:
        self._specs: dict[str, bytes] = {"v1": b"{}", "v2": b"{}"}
        self._lcut = 0
        self.stats = Stats()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="loopback", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def set_specs(self, v1_text: str, v2_text: str, lcut: int) -> None:
        self._specs = {"v1": v1_text.encode(), "v2": v2_text.encode()}
        self._lcut = lcut

    def reset_stats(self) -> Stats:
        old, self.stats = self.stats, Stats()
        return old

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: with Nagle on, the body waits for the client's delayed
            # ACK of the headers (~40 ms a response on Linux loopback), a stall no real API adds
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if encoding == "gzip":
                    return gzip.decompress(raw)
                if encoding == "deflate":
                    return zlib.decompress(raw)
                return raw

            def _count(self, what: str) -> None:
                with server.stats.lock:
                    server.stats.requests[what] += 1

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                path = parts.path
                if "/download_config_specs/" in path:
                    version = "v2" if path.startswith("/v2/") else "v1"
                    self._count(f"GET {version}/download_config_specs")
                    since = parse_qs(parts.query).get("sinceTime", ["0"])[0]
                    if since.isdigit() and int(since) >= server._lcut:
                        self._send(200, b'{"has_updates":false}')
                    else:
                        self._send(200, server._specs[version])
                elif "/get_id_lists" in path:
                    self._count("GET get_id_lists")
                    self._send(200, b"{}")
                else:
                    self._unexpected("GET")

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                body = self._body()
                if path.endswith("/log_event"):
                    self._count("POST log_event")
                    try:
                        events = json.loads(body).get("events", [])
                    except ValueError:
                        events = []
                    with server.stats.lock:
                        for event in events:
                            server.stats.events[str(event.get("eventName"))] += 1
                    self._send(202, b'{"success":true}')
                elif path.endswith("/get_id_lists"):
                    self._count("POST get_id_lists")
                    self._send(200, b"{}")
                elif path.endswith("/sdk_exception"):
                    self._count("POST sdk_exception")
                    try:
                        report = json.loads(body)
                        what = f"sdk_exception {report.get('tag')}: {str(report.get('exception'))[:160]}"
                    except ValueError:
                        what = "sdk_exception (unparsable body)"
                    with server.stats.lock:
                        server.stats.reports.append(what)
                    self._send(202, b'{"success":true}')
                else:
                    self._unexpected("POST")

            def _unexpected(self, method: str) -> None:
                with server.stats.lock:
                    server.stats.unexpected.append(f"{method} {self.path}")
                self._send(404, b"{}")

        return Handler
