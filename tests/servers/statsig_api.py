"""A loopback fake of Statsig's HTTP API that records every request and injects faults.

Routes (protocol reference sections 1.1-1.7):

====================  ==========================================================================
route name            requests
====================  ==========================================================================
``"dcs"``             ``GET /v1/download_config_specs/{key}.json``, ``GET /v2/...`` (same), and the
                      old ``POST /v1/download_config_specs`` (key in ``STATSIG-API-KEY``, JSON body)
``"id_lists"``        ``POST /v1/get_id_lists`` and ``GET /v1/get_id_lists/{key}.json``
``"id_list_file"``    ``GET /id_lists/{name}`` honouring ``Range: bytes=N-`` (206 with the slice)
``"log_event"``       ``POST /v1/log_event`` (gzip or plain JSON body), answers 202 success true
====================  ==========================================================================

Typical use::

    with FakeStatsigAPI() as api:
        api.set_specs(payload, version="v2")
        api.inject("log_event", 503, times=2)
        ...  # point the SDK at api.url / api.specs_url("v2") / api.log_event_url
        assert [r.status for r in api.log_event_requests()] == [503, 503, 202]
        assert len(api.accepted_events()) == 3

A fault applies to the next ``times`` requests on its route (``times=None``: until ``clear_faults()``);
faults injected on one route queue up in order. Faulted requests are recorded like the others, with
``fault`` set to the fault's name.
"""

from __future__ import annotations

import copy
import gzip
import json
import math
import re
import threading
import time
import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from tests.servers import LoopbackHTTPServer, LoopbackRequestHandler

__all__ = [
    "RESET",
    "ROUTES",
    "SUCCESS_FALSE",
    "TRUNCATED",
    "FakeStatsigAPI",
    "Fault",
    "RecordedRequest",
    "delay",
    "read_conformance_id_lists",
    "status",
]

Route = Literal["dcs", "id_lists", "id_list_file", "log_event"]
ROUTES: tuple[Route, ...] = ("dcs", "id_lists", "id_list_file", "log_event")

URL_PLACEHOLDER = "URL_REPLACE"


# --------------------------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) the normal answer. Build with the helpers below."""

    name: str
    action: Literal["status", "delay", "reset", "truncated", "success_false"]
    status: int | None = None
    retry_after: float | None = None
    delay_s: float = 0.0


def status(code: int, *, retry_after: float | None = None) -> Fault:
    """Answer ``code`` with a small JSON error body; ``retry_after`` adds a ``Retry-After`` header.

    ``inject(route, 429)`` is ``status(429, retry_after=1)``: a 429 always carries ``Retry-After``.
    """
    if not 100 <= code <= 599:
        raise ValueError(f"not an HTTP status: {code}")
    return Fault(name=f"status_{code}", action="status", status=code, retry_after=retry_after)


def delay(seconds: float) -> Fault:
    """Answer normally after ``seconds`` (to trip client timeouts). ``stop()`` cuts the wait short."""
    if seconds < 0:
        raise ValueError("delay must be >= 0")
    return Fault(name=f"delay_{seconds:g}s", action="delay", delay_s=seconds)


RESET = Fault(name="reset", action="reset")
"""Read the request, then close the socket with a TCP RST (SO_LINGER 0) and no response."""
TRUNCATED = Fault(name="truncated", action="truncated")
"""Send 200 with a Content-Length larger than the body, half the body, then close."""
SUCCESS_FALSE = Fault(name="success_false", action="success_false")
"""Answer 202 ``{"success": false}`` (CORE treats it as a failed log_event)."""

_NAMED_FAULTS = {f.name: f for f in (RESET, TRUNCATED, SUCCESS_FALSE)}


def _as_fault(fault: Fault | int | str) -> Fault:
    if isinstance(fault, Fault):
        return fault
    if isinstance(fault, int):
        return status(fault, retry_after=1 if fault == 429 else None)
    if fault in _NAMED_FAULTS:
        return _NAMED_FAULTS[fault]
    raise ValueError(f"unknown fault {fault!r}; use an int status, {sorted(_NAMED_FAULTS)} or delay(s)")


# ------------------------------------------------------------------------------------------ recording


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it, and what it answered."""

    method: str
    target: str  # path and query as sent
    path: str
    query: Mapping[str, str]  # last value of each parameter
    route: Route | None  # None: no such route (answered 404)
    sdk_key: str | None  # from the path, else the STATSIG-API-KEY header
    headers: Mapping[str, str]  # names lower-cased
    body: bytes  # raw, as received (still gzip'd if it was)
    json: Any  # the body decoded (gzip) and parsed; None if empty or not JSON
    fault: str | None  # name of the injected fault, None for a normal answer
    status: int | None  # status sent (or planned, for a delay); None when the connection was reset
    accepted: bool  # 2xx, and for log_event a body with "success": true
    received_at: float  # time.monotonic() when the request had been read

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class _Specs:
    body: bytes
    time: int | None


@dataclass
class _State:
    specs: dict[str, _Specs] = field(default_factory=dict)
    id_list_manifest: dict[str, Any] | None = None
    id_list_files: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, deque[list[Any]]] = field(default_factory=dict)  # route -> [[fault, remaining]]
    refusals: list[tuple[Any, int]] = field(default_factory=list)  # (predicate on one event, status)


_ROUTE_TABLE: tuple[tuple[str, re.Pattern[str], Route, str | None], ...] = (
    ("GET", re.compile(r"/(?P<version>v[12])/download_config_specs/(?P<key>[^/]+)\.json"), "dcs", None),
    ("POST", re.compile(r"/v1/download_config_specs/?"), "dcs", "v1"),
    ("POST", re.compile(r"/v1/get_id_lists/?"), "id_lists", None),
    ("GET", re.compile(r"/v1/get_id_lists/(?P<key>[^/]+)\.json"), "id_lists", None),
    ("GET", re.compile(r"/id_lists/(?P<name>[^/]+)"), "id_list_file", None),
    ("POST", re.compile(r"/v1/log_event/?"), "log_event", None),
)


def _decode_json_body(body: bytes, content_encoding: str) -> tuple[Any, str | None]:
    """(parsed JSON or None, error text or None)."""
    if not body:
        return None, None
    encoding = content_encoding.strip().lower()
    try:
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding not in ("", "identity"):
            return None, f"unsupported Content-Encoding {encoding!r}"
        return json.loads(body), None
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        return None, f"cannot decode body: {exc}"


def _wants_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# --------------------------------------------------------------------------------------------- server


class FakeStatsigAPI:
    """Statsig's API on 127.0.0.1:<free port>. Thread-safe; use as a context manager or start()/stop()."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._state = _State()
        self._requests: list[RecordedRequest] = []
        self._server: _Server | None = None

    # -- lifecycle

    def start(self) -> FakeStatsigAPI:
        if self._server is not None:
            raise RuntimeError("already started")
        server = _Server(self)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> FakeStatsigAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def _require_server(self) -> _Server:
        if self._server is None:
            raise RuntimeError("FakeStatsigAPI is not running")
        return self._server

    # -- addresses

    @property
    def port(self) -> int:
        return self._require_server().port

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self._require_server().base

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/v1/``: the legacy SDK's ``api`` option (a base ending in /v1/)."""
        return f"{self.base}/v1/"

    def specs_url(self, version: Literal["v1", "v2"] = "v2") -> str:
        """Endpoint URL without the key: append ``/{key}.json`` (CORE's ``specs_url`` option)."""
        return f"{self.base}/{version}/download_config_specs"

    @property
    def id_lists_url(self) -> str:
        """``POST`` endpoint for the ID-list manifest (CORE's ``id_lists_url`` option)."""
        return f"{self.base}/v1/get_id_lists"

    @property
    def log_event_url(self) -> str:
        return f"{self.base}/v1/log_event"

    # -- content

    def set_specs(self, body: bytes | str | Mapping[str, Any], version: Literal["v1", "v2"] = "v1") -> None:
        """Serve ``body`` byte for byte on the ``version`` download_config_specs routes.

        Its top-level ``time`` (if it parses as a JSON object) is what ``sinceTime`` is compared with.
        """
        if version not in ("v1", "v2"):
            raise ValueError(f"version must be 'v1' or 'v2', not {version!r}")
        if isinstance(body, Mapping):
            raw = _json_bytes(dict(body))
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = bytes(body)
        lcut: int | None = None
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):  # hostile bodies are served as they are
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("time"), (int, float)) and math.isfinite(parsed["time"]):
            lcut = int(parsed["time"])
        with self._lock:
            self._state.specs[version] = _Specs(raw, lcut)

    def set_id_lists(self, manifest: Mapping[str, Any], files: Mapping[str, bytes] | None = None) -> None:
        """Serve ``manifest`` on the get_id_lists routes and ``files[name]`` at ``/id_lists/{name}``.

        ``URL_REPLACE`` inside each entry's ``url`` becomes ``{base}/id_lists`` (conformance suites use it).
        """
        served = copy.deepcopy(dict(manifest))
        base = f"{self.base}/id_lists"
        for entry in served.values():
            if isinstance(entry, dict) and isinstance(entry.get("url"), str):
                entry["url"] = entry["url"].replace(URL_PLACEHOLDER, base)
        with self._lock:
            self._state.id_list_manifest = served
            self._state.id_list_files = {name: bytes(data) for name, data in (files or {}).items()}

    def id_list_manifest(self) -> dict[str, Any] | None:
        """The manifest as served (placeholders replaced)."""
        with self._lock:
            return copy.deepcopy(self._state.id_list_manifest)

    def load_conformance_id_lists(self, suite_dir: str | Path) -> dict[str, Any]:
        """Serve a conformance suite's ``id_lists/`` (an empty manifest if it has none); return it."""
        manifest, files = read_conformance_id_lists(suite_dir)
        self.set_id_lists(manifest, files)
        served = self.id_list_manifest()
        assert served is not None
        return served

    # -- faults

    def inject(self, route: Route, fault: Fault | int | str, times: int | None = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests on ``route`` (None: until ``clear_faults()``).

        ``fault``: an int status (429 gets ``Retry-After: 1``), ``status(code, retry_after=s)``,
        ``delay(seconds)``, ``RESET`` / ``"reset"``, ``TRUNCATED`` / ``"truncated"``,
        ``SUCCESS_FALSE`` / ``"success_false"``.
        """
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; one of {ROUTES}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        resolved = _as_fault(fault)
        with self._lock:
            self._state.faults.setdefault(route, deque()).append([resolved, times])

    def refuse_events(self, predicate: Any, code: int) -> None:
        """Answer ``code`` to every log_event request carrying an event for which ``predicate(event)`` is
        true (a poison event: 400 for a final refusal, 500 for one that is retried forever), until
        ``clear_faults()``. Checked after the queued faults."""
        with self._lock:
            self._state.refusals.append((predicate, code))

    def clear_faults(self, route: Route | None = None) -> None:
        with self._lock:
            if route in (None, "log_event"):
                self._state.refusals.clear()
            if route is None:
                self._state.faults.clear()
            else:
                self._state.faults.pop(route, None)

    def _take_fault(self, route: Route | None) -> Fault | None:
        if route is None:
            return None
        with self._lock:
            queue = self._state.faults.get(route)
            if not queue:
                return None
            slot = queue[0]
            fault: Fault = slot[0]
            if slot[1] is not None:
                slot[1] -= 1
                if slot[1] == 0:
                    queue.popleft()
            return fault

    def _refusal(self, events: Any) -> Fault | None:
        with self._lock:
            refusals = list(self._state.refusals)
        for predicate, code in refusals:
            if isinstance(events, list) and any(predicate(e) for e in events):
                return status(code)
        return None

    # -- recorded requests

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, all routes, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, route: Route | None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if r.route == route]

    def log_event_requests(self) -> list[RecordedRequest]:
        return self.requests_for("log_event")

    def accepted_log_event_requests(self) -> list[RecordedRequest]:
        """log_event requests answered 2xx with ``{"success": true}`` (delayed ones included)."""
        return [r for r in self.log_event_requests() if r.accepted]

    def events(self) -> list[dict[str, Any]]:
        """Every event of every log_event request that had a readable body, accepted or not."""
        return [e for r in self.log_event_requests() for e in _events_of(r)]

    def accepted_events(self) -> list[dict[str, Any]]:
        return [e for r in self.accepted_log_event_requests() for e in _events_of(r)]

    def wait_for_requests(self, route: Route | None, count: int = 1, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until ``count`` requests on ``route`` were recorded; return them. TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [r for r in self._requests if r.route == route]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(matching)} of {count} {route} requests after {timeout}s")
                self._changed.wait(remaining)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    # -- answering (called from handler threads)

    def _answer(
        self,
        route: Route,
        match: re.Match[str],
        default_version: str | None,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        parsed: Any,
        decode_error: str | None,
    ) -> tuple[int, bytes, dict[str, str], bool]:
        """The normal answer: (status, body, extra headers, may gzip)."""
        with self._lock:
            state = self._state
            if route == "dcs":
                version = match.groupdict().get("version") or default_version or "v1"
                specs = state.specs.get(version)
                if specs is None:
                    return 404, _json_bytes({"error": f"no {version} specs set on the fake"}), {}, False
                since: Any = query.get("sinceTime")
                if since is None and isinstance(parsed, dict):
                    since = parsed.get("sinceTime")
                if since is not None and specs.time is not None and _as_int(since) == specs.time:
                    return 200, _json_bytes({"has_updates": False}), {}, True
                return 200, specs.body, {}, True
            if route == "id_lists":
                if state.id_list_manifest is None:
                    return 404, _json_bytes({"error": "no id lists set on the fake"}), {}, False
                return 200, _json_bytes(state.id_list_manifest), {}, True
            if route == "id_list_file":
                data = state.id_list_files.get(match.group("name"))
                if data is None:
                    return 404, _json_bytes({"error": "no such id list file"}), {}, False
                return _range_answer(data, headers.get("range"), query.get("range"))
            # log_event
            if decode_error is not None or not isinstance(parsed, dict):
                reason = decode_error or "body is not a JSON object"
                return 400, _json_bytes({"success": False, "error": reason}), {}, False
            return 202, _json_bytes({"success": True}), {}, False


def _as_int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _range_answer(
    data: bytes, range_header: str | None, range_query: str | None
) -> tuple[int, bytes, dict[str, str], bool]:
    spec = None
    if range_header:
        found = re.fullmatch(r"\s*bytes=(\d+)-(\d*)\s*", range_header)
        if found is None:
            return 400, _json_bytes({"error": f"unsupported Range {range_header!r}"}), {}, False
        spec = found.groups()
    elif range_query:  # CORE on the CDN: ?range=N-
        found = re.fullmatch(r"(\d+)-(\d*)", range_query)
        if found is None:
            return 400, _json_bytes({"error": f"unsupported range {range_query!r}"}), {}, False
        spec = found.groups()
    binary = {"Accept-Ranges": "bytes"}
    if spec is None:
        return 200, data, binary, False
    start = int(spec[0])
    end = min(int(spec[1]), len(data) - 1) if spec[1] else len(data) - 1
    if start >= len(data) or end < start:
        return 416, b"", {**binary, "Content-Range": f"bytes */{len(data)}"}, False
    return 206, data[start : end + 1], {**binary, "Content-Range": f"bytes {start}-{end}/{len(data)}"}, False


def _events_of(request: RecordedRequest) -> list[dict[str, Any]]:
    if isinstance(request.json, dict) and isinstance(request.json.get("events"), list):
        return list(request.json["events"])
    return []


def read_conformance_id_lists(suite_dir: str | Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(manifest, files) of a conformance suite's ``id_lists/`` folder; ({}, {}) if it has none."""
    folder = Path(suite_dir) / "id_lists"
    if not folder.is_dir():
        return {}, {}
    manifest = json.loads((folder / "get_id_lists.json").read_text())
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "get_id_lists.json"}
    return manifest, files


class _Server(LoopbackHTTPServer):
    def __init__(self, api: FakeStatsigAPI) -> None:
        self.api = api
        super().__init__(_Handler, name="fake-statsig")


class _Handler(LoopbackRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        api = self.server.api
        body = self.read_body()
        received_at = time.monotonic()
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value

        route: Route | None = None
        extra: dict[str, str]
        match: re.Match[str] | None = None
        default_version: str | None = None
        for method, pattern, candidate, version in _ROUTE_TABLE:
            if self.command == method and (match := pattern.fullmatch(split.path)) is not None:
                route, default_version = candidate, version
                break
        sdk_key = (match.groupdict().get("key") if match else None) or headers.get("statsig-api-key")
        parsed, decode_error = _decode_json_body(body, headers.get("content-encoding", ""))

        fault = api._take_fault(route)
        if fault is None and route == "log_event" and isinstance(parsed, dict):
            fault = api._refusal(parsed.get("events"))
        if route is None or match is None:
            status_code, payload, extra, may_gzip = 404, _json_bytes({"error": "no such route"}), {}, False
        else:
            status_code, payload, extra, may_gzip = api._answer(
                route, match, default_version, query, headers, parsed, decode_error
            )
        content_type: str | None = "application/json" if route != "id_list_file" else "text/plain"

        if fault is not None and fault.action == "status":
            assert fault.status is not None
            status_code, payload, may_gzip = fault.status, _json_bytes({"error": f"injected {fault.name}"}), False
            content_type = "application/json"
            extra = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
        elif fault is not None and fault.action == "success_false":
            status_code, payload, extra, may_gzip = 202, _json_bytes({"success": False}), {}, False
            content_type = "application/json"

        if may_gzip and _wants_gzip(headers.get("accept-encoding", "")):
            payload = gzip.compress(payload)
            extra = {**extra, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}

        reset = fault is not None and fault.action == "reset"
        accepted = not reset and 200 <= status_code < 300
        if accepted and route == "log_event":
            accepted = fault is None or fault.action not in ("success_false", "truncated")
        if fault is not None and fault.action == "truncated":
            accepted = False
        api._record(
            RecordedRequest(
                method=self.command,
                target=self.path,
                path=split.path,
                query=query,
                route=route,
                sdk_key=sdk_key,
                headers=headers,
                body=body,
                json=parsed,
                fault=fault.name if fault is not None else None,
                status=None if reset else status_code,
                accepted=accepted,
                received_at=received_at,
            )
        )

        if reset:
            self.reset_connection()
            return
        if fault is not None and fault.action == "delay" and self.server.stopping.wait(fault.delay_s):
            self.reset_connection()  # stopping: give up on the answer
            return
        if fault is not None and fault.action == "truncated":
            self._send_truncated(status_code, payload, content_type, extra)
            return
        self.send_bytes(status_code, payload, content_type=content_type, headers=extra)

    def _send_truncated(
        self, status_code: int, payload: bytes, content_type: str | None, extra: dict[str, str]
    ) -> None:
        self.close_connection = True
        self.send_response(status_code)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload) + 64))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
