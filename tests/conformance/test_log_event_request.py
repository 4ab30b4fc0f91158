"""The log_event request our pipeline sends has the shape the official SDKs' requests have.

Each suite pins one real request (`kind: log_event_request`): path, header names, payload keys and the
statsigMetadata keys. Header values that name the SDK (type, version) are ours by design.
"""

from __future__ import annotations

import gzip
import json

import pytest

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
from tests.conformance.suites import load_suite, suite_names
from tests.servers.statsig_api import FakeStatsigAPI

# headers every official request carries that mean the same for us
_SHARED_HEADERS = {
    "statsig-api-key", "statsig-client-time", "statsig-event-count", "statsig-sdk-type", "statsig-sdk-version",
    "statsig-server-session-id", "content-type", "content-encoding", "x-request-service",
}


@pytest.mark.parametrize("suite_name", suite_names())
def test_log_event_request_shape(suite_name: str, statsig_api: FakeStatsigAPI) -> None:
    suite = load_suite(suite_name)
    [case] = [c for c in suite.cases if c["kind"] == "log_event_request"]
    expected = case["expected"]
    server = StatsigServer()
    assert server.initialize("secret-shape", StatsigOptions(bootstrap_values=suite.dcs, api=statsig_api.url,
                                                             id_lists=False)).init_success
    user = StatsigUser(user_id="u1", email="a@example.com")
    server.check_gate(user, "nonexistent_gate_xyz")
    server.get_config(user, "nonexistent_config_xyz")
    assert server.flush(timeout=5.0).sent == 2
    [request] = statsig_api.log_event_requests()
    assert request.path == expected["path"]
    headers = request.headers
    missing = (_SHARED_HEADERS & set(expected["headers"])) - set(headers)
    assert not missing, f"headers the official SDK sends and we do not: {sorted(missing)}"
    assert headers["content-type"] == expected["headers"]["content-type"] == "application/json"
    assert headers["content-encoding"] == expected["headers"]["content-encoding"] == "gzip"
    assert headers["statsig-event-count"] == "2"
    payload = json.loads(gzip.decompress(request.body))
    assert sorted(payload) == expected["payload_keys"]
    assert {"sdkType", "sdkVersion", "languageVersion", "sessionID"} <= set(payload["statsigMetadata"])
    assert payload["statsigMetadata"]["sessionID"] == headers["statsig-server-session-id"]
