"""HttpSource against the loopback Statsig API: URL forms, headers, sinceTime checks and faults."""

from __future__ import annotations

import json
import time

import pytest
import urllib3

from statsig_lite import constants as c
from statsig_lite.errors import ConfigurationError, SpecSourceError
from statsig_lite.sources.http import HttpSource
from tests.servers.statsig_api import FakeStatsigAPI, delay
from tests.sources.payloads import example_payload, payload_bytes

KEY = "secret-http-source-key"
LCUT = 1_700_000_000_123


def _source(api: FakeStatsigAPI, base: str | None = None) -> HttpSource:
    return HttpSource(base or api.url, KEY, wall_clock=lambda: 1_795_551_159.057, session_id="session-1")


def test_fetch_gets_the_v1_payload_with_statsig_headers(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.set_specs(payload_bytes(LCUT), "v1")
    source = _source(statsig_api)
    fetched = source.fetch(2.0)
    assert json.loads(fetched.payload) == example_payload(LCUT)
    assert fetched.version == str(LCUT)
    assert fetched.source == source.name == f"{statsig_api.base}/v1/download_config_specs"

    [request] = statsig_api.requests_for("dcs")
    assert request.method == "GET" and request.path == f"/v1/download_config_specs/{KEY}.json"
    assert request.query == {}
    assert request.header("statsig-api-key") == KEY
    assert request.header("statsig-client-time") == "1795551159057"
    assert request.header("statsig-sdk-type") == c.SDK_TYPE
    assert request.header("statsig-sdk-version") == c.SDK_VERSION
    assert request.header("statsig-server-session-id") == "session-1"
    accept = request.header("accept-encoding") or ""
    assert "gzip" in accept and "statsig-br" not in accept
    assert request.header("statsig-supports-proto") is None


@pytest.mark.parametrize("form", ["base", "base-no-slash", "endpoint"])
def test_v2_base_and_endpoint_forms_reach_the_same_route(statsig_api: FakeStatsigAPI, form: str) -> None:
    statsig_api.set_specs(payload_bytes(LCUT), "v2")
    base = {
        "base": f"{statsig_api.base}/v2/",
        "base-no-slash": f"{statsig_api.base}/v2",
        "endpoint": statsig_api.specs_url("v2"),
    }[form]
    assert _source(statsig_api, base).fetch(2.0).version == str(LCUT)
    [request] = statsig_api.requests_for("dcs")
    assert request.path == f"/v2/download_config_specs/{KEY}.json"


def test_unchanged_specs_send_since_time_and_answer_none(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.set_specs(payload_bytes(LCUT), "v1")
    source = _source(statsig_api)
    version = source.fetch(2.0).version
    assert source.fetch_if_changed(version, 2.0) is None

    first, check = statsig_api.requests_for("dcs")
    assert "sinceTime" not in first.query
    assert check.query == {"sinceTime": str(LCUT)}
    assert "supports_proto" not in check.query and "accept_deltas" not in check.query


def test_changed_specs_are_returned_by_the_check(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.set_specs(payload_bytes(LCUT), "v1")
    source = _source(statsig_api)
    version = source.fetch(2.0).version
    statsig_api.set_specs(payload_bytes(LCUT + 1), "v1")
    fetched = source.fetch_if_changed(version, 2.0)
    assert fetched is not None and fetched.version == str(LCUT + 1)


def test_a_version_that_is_not_an_lcut_asks_without_since_time(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.set_specs(payload_bytes(LCUT), "v1")
    fetched = _source(statsig_api).fetch_if_changed('"an-s3-etag"', 2.0)
    assert fetched is not None and fetched.version == str(LCUT)
    [request] = statsig_api.requests_for("dcs")
    assert "sinceTime" not in request.query


def test_one_pool_manager_is_reused(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.set_specs(payload_bytes(LCUT), "v1")
    with urllib3.PoolManager() as pool:
        source = HttpSource(statsig_api.url, KEY, pool_manager=pool)
        source.fetch(2.0)
        source.fetch_if_changed(str(LCUT), 2.0)
        assert len(pool.pools) == 1
    assert len(statsig_api.requests_for("dcs")) == 2


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (500, "HTTP 500"),
        (404, "HTTP 404"),
        ("reset", "connection broken"),
        ("truncated", "truncated response"),
    ],
)
def test_faults_raise_spec_source_error_without_the_key(
    statsig_api: FakeStatsigAPI, fault: int | str, reason: str
) -> None:
    statsig_api.set_specs(payload_bytes(LCUT), "v1")
    statsig_api.inject("dcs", fault)
    with pytest.raises(SpecSourceError, match=reason) as caught:
        _source(statsig_api).fetch(2.0)
    assert KEY not in str(caught.value)
    assert caught.value.source == f"{statsig_api.base}/v1/download_config_specs"
    assert len(statsig_api.requests_for("dcs")) == 1  # one attempt: no retry inside the budget


def test_slow_answer_times_out_within_the_budget(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.set_specs(payload_bytes(LCUT), "v1")
    statsig_api.inject("dcs", delay(5))
    started = time.monotonic()
    with pytest.raises(SpecSourceError, match="timed out") as caught:
        _source(statsig_api).fetch_if_changed(str(LCUT - 1), 0.3)
    assert time.monotonic() - started < 1.5
    assert KEY not in str(caught.value)


def test_unreachable_api_raises_spec_source_error(statsig_api: FakeStatsigAPI) -> None:
    base = statsig_api.url
    statsig_api.stop()
    with pytest.raises(SpecSourceError, match="cannot connect") as caught:
        HttpSource(base, KEY).fetch(1.0)
    assert KEY not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"feature_gates": []}', "no finite numeric 'time'"),
        (b'{"has_updates": false}', "has_updates=false to a request without sinceTime"),
    ],
)
def test_unusable_bodies_raise_spec_source_error(statsig_api: FakeStatsigAPI, body: bytes, reason: str) -> None:
    statsig_api.set_specs(body, "v1")
    with pytest.raises(SpecSourceError, match=reason):
        _source(statsig_api).fetch(2.0)


def test_secret_key_is_required_and_never_shown() -> None:
    with pytest.raises(ConfigurationError, match="secret"):
        HttpSource(None, "")
    source = HttpSource(None, KEY)
    assert source.name == c.DEFAULT_CDN_V1 + "download_config_specs"
    assert KEY not in repr(source) and KEY not in source.name
