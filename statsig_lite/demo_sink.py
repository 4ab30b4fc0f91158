"""A local stand-in for Statsig's log_event endpoint, for the demo: run as its own process.

`python -m statsig_lite.demo_sink` prints its base URL, then records every log_event body; GET /events
returns what it received. It serves on 127.0.0.1 only and exits when its parent closes stdin.
"""

from __future__ import annotations

import gzip
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

RECEIVED: list[dict[str, Any]] = []


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path.endswith("/log_event"):
            RECEIVED.extend(json.loads(body).get("events", []))
            self._reply(202, {"success": True})
        else:
            self._reply(404, {"error": "not found"})

    def do_GET(self) -> None:
        if self.path == "/events":
            self._reply(200, {"events": RECEIVED})
        elif self.path == "/quit":
            self._reply(200, {})
            raise SystemExit(0)
        else:
            self._reply(404, {"error": "not found"})

    def _reply(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


def main() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}/v1/", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
