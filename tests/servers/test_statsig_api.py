"""FakeStatsigAPI seen from a plain urllib3 client with explicit timeouts and no retries."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
import urllib3
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from tests.servers.statsig_api import RESET, SUCCESS_FALSE, TRUNCATED, FakeStatsigAPI, delay, status

KEY = "secret-test-key"
SPECS_V1 = {"time": 1700000000000, "feature_gates": [], "dynamic_configs": [], "layer_configs": []}
SPECS_V2 = {"time": 1700000000999, "feature_gates": {}, "dynamic_configs": {}, "layer_configs": {}}


@pytest.fixture
def http() -> Iterator[urllib3.PoolManager]:
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2.0, read=5.0))
    try:
        yield pool
    finally:
        pool.clear()


def dcs_url(api: FakeStatsigAPI, version: Literal["v1", "v2"] = "v1") -> str:
    return f"{api.specs_url(version)}/{KEY}.json"


def post_events(
    http: urllib3.PoolManager, api: FakeStatsigAPI, events: list[dict[str, Any]], **kw: Any
) -> urllib3.BaseHTTPResponse:
    body = gzip.compress(json.dumps({"events": events, "statsigMetadata": {"sdkType": "t"}}).encode())
    return http.request(
        "POST",
        api.log_event_url,
        body=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip", "STATSIG-API-KEY": KEY},
        **kw,
    )


# ----------------------------------------------------------------------------------------------- dcs


def test_dcs_serves_v1_and_v2_payloads_byte_for_byte(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    raw_v1 = json.dumps(SPECS_V1, indent=1).encode()
    statsig_api.set_specs(raw_v1, version="v1")
    statsig_api.set_specs(SPECS_V2, version="v2")

    assert statsig_api.url == f"http://127.0.0.1:{statsig_api.port}/v1/"
    r1 = http.request("GET", f"{statsig_api.url}download_config_specs/{KEY}.json")
    r2 = http.request("GET", dcs_url(statsig_api, "v2"))

    assert (r1.status, r1.data) == (200, raw_v1)
    assert (r2.status, json.loads(r2.data)) == (200, SPECS_V2)
    assert [(r.path, r.sdk_key, r.route) for r in statsig_api.requests] == [
        (f"/v1/download_config_specs/{KEY}.json", KEY, "dcs"),
        (f"/v2/download_config_specs/{KEY}.json", KEY, "dcs"),
    ]


def test_dcs_answers_has_updates_false_when_since_time_is_current(
    statsig_api: FakeStatsigAPI, http: urllib3.PoolManager
) -> None:
    statsig_api.set_specs(SPECS_V1)
    current = http.request("GET", dcs_url(statsig_api), fields={"sinceTime": str(SPECS_V1["time"])})
    older = http.request("GET", dcs_url(statsig_api), fields={"sinceTime": "1"})

    assert json.loads(current.data) == {"has_updates": False}
    assert json.loads(older.data) == SPECS_V1
    assert [r.query.get("sinceTime") for r in statsig_api.requests] == [str(SPECS_V1["time"]), "1"]


def test_dcs_is_gzipped_only_when_asked(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    statsig_api.set_specs(SPECS_V1)
    zipped = http.request(
        "GET", dcs_url(statsig_api), headers={"Accept-Encoding": "gzip, deflate"}, decode_content=False
    )
    plain = http.request("GET", dcs_url(statsig_api), headers={"Accept-Encoding": "identity"})

    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.data)) == SPECS_V1
    assert "Content-Encoding" not in plain.headers
    assert json.loads(plain.data) == SPECS_V1


def test_old_post_dcs_takes_key_from_header_and_since_time_from_body(
    statsig_api: FakeStatsigAPI, http: urllib3.PoolManager
) -> None:
    statsig_api.set_specs(SPECS_V1)
    body = json.dumps({"statsigMetadata": {}, "sinceTime": SPECS_V1["time"]}).encode()
    r = http.request("POST", f"{statsig_api.url}download_config_specs", body=body, headers={"STATSIG-API-KEY": KEY})

    assert json.loads(r.data) == {"has_updates": False}
    (recorded,) = statsig_api.requests
    assert (recorded.route, recorded.sdk_key, recorded.header("STATSIG-API-KEY")) == ("dcs", KEY, KEY)


def test_dcs_without_specs_is_404(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    assert http.request("GET", dcs_url(statsig_api, "v2")).status == 404


# ------------------------------------------------------------------------------------------ id lists


def test_conformance_id_lists_are_served_with_loopback_urls(
    statsig_api: FakeStatsigAPI, http: urllib3.PoolManager, conformance_root: Path
) -> None:
    suite = conformance_root / "eval_proj"
    if not suite.is_dir():
        pytest.skip(f"no conformance suites at {conformance_root}")
    served = statsig_api.load_conformance_id_lists(suite)
    content = (suite / "id_lists" / "company_id_list").read_bytes()

    by_post = http.request("POST", statsig_api.id_lists_url, body=b"{}", headers={"STATSIG-API-KEY": KEY})
    by_get = http.request("GET", f"{statsig_api.url}get_id_lists/{KEY}.json")
    manifest = json.loads(by_post.data)

    assert manifest == json.loads(by_get.data) == served
    entry = manifest["company_id_list"]
    assert entry["url"] == f"{statsig_api.base}/id_lists/company_id_list"
    assert entry["size"] == len(content)
    assert http.request("GET", entry["url"]).data == content


def test_id_list_file_honours_range(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    content = b"+aaaaaaaa\n+bbbbbbbb\n-aaaaaaaa\n"
    statsig_api.set_id_lists(
        {"l": {"name": "l", "size": len(content), "url": "URL_REPLACE/l", "creationTime": 1, "fileID": "f"}},
        {"l": content},
    )
    url = f"{statsig_api.base}/id_lists/l"

    tail = http.request("GET", url, headers={"Range": "bytes=10-"})
    whole = http.request("GET", url)
    past_end = http.request("GET", url, headers={"Range": f"bytes={len(content)}-"})
    by_query = http.request("GET", url, fields={"range": "20-"})

    assert (tail.status, tail.data, tail.headers["Content-Range"]) == (206, content[10:], "bytes 10-29/30")
    assert (whole.status, whole.data) == (200, content)
    assert (past_end.status, past_end.headers["Content-Range"]) == (416, "bytes */30")
    assert (by_query.status, by_query.data) == (206, content[20:])
    assert [r.header("range") for r in statsig_api.requests_for("id_list_file")] == [
        "bytes=10-",
        None,
        "bytes=30-",
        None,
    ]


def test_missing_id_list_file_is_404(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    statsig_api.set_id_lists({})
    assert http.request("GET", f"{statsig_api.base}/id_lists/nope").status == 404


# ------------------------------------------------------------------------------------------ log_event


def test_log_event_gzip_round_trip_is_recorded(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    events: list[dict[str, Any]] = [
        {"eventName": "statsig::gate_exposure", "metadata": {"gate": "g"}},
        {"eventName": "custom"},
    ]
    r = post_events(http, statsig_api, events)

    assert (r.status, json.loads(r.data)) == (202, {"success": True})
    (recorded,) = statsig_api.log_event_requests()
    assert recorded.header("content-encoding") == "gzip"
    assert recorded.headers["statsig-api-key"] == KEY
    assert json.loads(gzip.decompress(recorded.body)) == recorded.json
    assert statsig_api.events() == events == statsig_api.accepted_events()


def test_log_event_plain_json_and_garbage(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    plain = http.request("POST", statsig_api.log_event_url, body=json.dumps({"events": [{"eventName": "a"}]}))
    garbage = http.request("POST", statsig_api.log_event_url, body=b"not gzip", headers={"Content-Encoding": "gzip"})

    assert plain.status == 202
    assert garbage.status == 400
    assert [r.accepted for r in statsig_api.log_event_requests()] == [True, False]
    assert statsig_api.events() == [{"eventName": "a"}]


# ---------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize("code", [500, 502, 503, 408, 413, 400])
def test_status_fault_applies_once_then_normal(
    statsig_api: FakeStatsigAPI, http: urllib3.PoolManager, code: int
) -> None:
    statsig_api.inject("log_event", code)
    failed = post_events(http, statsig_api, [{"eventName": "first"}])
    ok = post_events(http, statsig_api, [{"eventName": "second"}])

    assert (failed.status, ok.status) == (code, 202)
    assert [(r.fault, r.status) for r in statsig_api.log_event_requests()] == [(f"status_{code}", code), (None, 202)]
    assert statsig_api.events() == [{"eventName": "first"}, {"eventName": "second"}]
    assert statsig_api.accepted_events() == [{"eventName": "second"}]


def test_429_carries_retry_after(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    statsig_api.set_specs(SPECS_V1)
    statsig_api.inject("dcs", 429)
    statsig_api.inject("dcs", status(429, retry_after=7))

    first = http.request("GET", dcs_url(statsig_api))
    second = http.request("GET", dcs_url(statsig_api))

    assert (first.status, first.headers["Retry-After"]) == (429, "1")
    assert (second.status, second.headers["Retry-After"]) == (429, "7")
    assert http.request("GET", dcs_url(statsig_api)).status == 200


def test_delay_trips_client_read_timeout(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    statsig_api.set_specs(SPECS_V1)
    statsig_api.inject("dcs", delay(1.0))

    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        http.request("GET", dcs_url(statsig_api), timeout=urllib3.Timeout(connect=1.0, read=0.2))
    assert time.monotonic() - started < 0.9
    (recorded,) = statsig_api.requests
    assert recorded.fault == "delay_1s"


def test_delay_shorter_than_timeout_answers_normally(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    statsig_api.inject("log_event", delay(0.2))
    started = time.monotonic()
    r = post_events(http, statsig_api, [{"eventName": "late"}])
    assert time.monotonic() - started >= 0.2
    assert r.status == 202
    assert statsig_api.accepted_events() == [{"eventName": "late"}]


def test_reset_aborts_the_connection(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    statsig_api.inject("log_event", RESET)
    with pytest.raises(ProtocolError) as caught:
        post_events(http, statsig_api, [{"eventName": "lost"}])
    assert isinstance(caught.value.args[1], ConnectionResetError)

    (recorded,) = statsig_api.log_event_requests()
    assert (recorded.fault, recorded.status, recorded.accepted) == ("reset", None, False)
    assert statsig_api.events() == [{"eventName": "lost"}]  # the server did read it
    assert post_events(http, statsig_api, [{"eventName": "next"}]).status == 202


def test_truncated_body_is_a_protocol_error(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    statsig_api.set_specs(SPECS_V1)
    statsig_api.inject("dcs", "truncated")
    with pytest.raises(ProtocolError, match="IncompleteRead"):
        http.request("GET", dcs_url(statsig_api))
    assert statsig_api.requests[0].fault == TRUNCATED.name


def test_success_false_is_not_accepted(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    statsig_api.inject("log_event", SUCCESS_FALSE)
    r = post_events(http, statsig_api, [{"eventName": "rejected"}])

    assert (r.status, json.loads(r.data)) == (202, {"success": False})
    assert statsig_api.accepted_log_event_requests() == []
    assert statsig_api.events() == [{"eventName": "rejected"}]


def test_faults_queue_in_order_and_times_none_lasts_until_cleared(
    statsig_api: FakeStatsigAPI, http: urllib3.PoolManager
) -> None:
    statsig_api.inject("log_event", 500, times=2)
    statsig_api.inject("log_event", 503, times=None)
    statsig_api.inject("dcs", 502)  # other routes are independent

    statuses = [post_events(http, statsig_api, [{"eventName": str(i)}]).status for i in range(5)]
    statsig_api.clear_faults()
    statuses.append(post_events(http, statsig_api, [{"eventName": "5"}]).status)

    assert statuses == [500, 500, 503, 503, 503, 202]
    assert [e["eventName"] for e in statsig_api.accepted_events()] == ["5"]


def test_inject_rejects_unknown_route_and_fault(statsig_api: FakeStatsigAPI) -> None:
    with pytest.raises(ValueError, match="route"):
        statsig_api.inject("rgstr", 500)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fault"):
        statsig_api.inject("dcs", "explode")


def test_unknown_route_is_404_and_recorded(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    assert http.request("GET", f"{statsig_api.base}/v1/initialize").status == 404
    assert [(r.route, r.path) for r in statsig_api.requests] == [(None, "/v1/initialize")]


def test_wait_for_requests_returns_once_they_arrive(statsig_api: FakeStatsigAPI, http: urllib3.PoolManager) -> None:
    events: list[dict[str, Any]] = [{"eventName": "bg"}]
    sender = threading.Thread(target=post_events, args=(http, statsig_api, events))
    sender.start()
    (recorded,) = statsig_api.wait_for_requests("log_event", 1, timeout=5.0)
    sender.join()
    assert recorded.json["events"] == [{"eventName": "bg"}]
    with pytest.raises(TimeoutError):
        statsig_api.wait_for_requests("dcs", 1, timeout=0.05)


# ---------------------------------------------------------------------------------------------- stopping


def test_stop_while_a_delayed_handler_sleeps_is_prompt_and_complete() -> None:
    api = FakeStatsigAPI().start()
    api.set_specs(SPECS_V1)
    api.inject("dcs", delay(60))
    port = api.port
    errors: list[BaseException] = []

    def slow_client() -> None:
        pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2.0, read=30.0))
        try:
            pool.request("GET", dcs_url(api))
        except Exception as exc:  # the stop cuts the connection
            errors.append(exc)

    client = threading.Thread(target=slow_client)
    client.start()
    api.wait_for_requests("dcs", 1)
    server = api._server
    assert server is not None and server.live_handler_threads()

    started = time.monotonic()
    api.stop()
    client.join(5.0)

    assert time.monotonic() - started < 2.0
    assert not client.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], ProtocolError)
    assert server.live_handler_threads() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1.0)
    assert not any(t.name.startswith("fake-statsig") for t in threading.enumerate())


def test_stop_closes_idle_keep_alive_connections(http: urllib3.PoolManager) -> None:
    with FakeStatsigAPI() as api:
        api.set_specs(SPECS_V1)
        assert http.request("GET", dcs_url(api)).status == 200  # connection now pooled, handler waiting
        server = api._server
        assert server is not None
    assert server.live_handler_threads() == []
    assert not api.running
