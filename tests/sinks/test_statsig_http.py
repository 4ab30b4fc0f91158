"""StatsigHTTPSink against the loopback Statsig API: wire format, headers, and how failures are classified."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest
import urllib3

from statsig_lite import constants as c
from statsig_lite.buffer import Batch, cut_batches, encode_event, encode_json
from statsig_lite.sinks import SendError, StatsigHTTPSink
from tests.servers.statsig_api import RESET, SUCCESS_FALSE, TRUNCATED, FakeStatsigAPI, delay, status
from tests.sinks.wire_events import make_events

KEY = "secret-http-sink-key"
SESSION = "3b8c6f8e-0000-4000-8000-000000000001"
META = encode_json(
    {"sdkType": c.SDK_TYPE, "sdkVersion": c.SDK_VERSION, "languageVersion": "3.11", "sessionID": SESSION}
)


def _batch(count: int = 25) -> tuple[Batch, list[dict[str, Any]]]:
    events = make_events(count)
    [batch] = cut_batches([encode_event(e) for e in events], META, 1, max_events=1000, max_body_bytes=10**9)
    return batch, events


def _sink(api: FakeStatsigAPI) -> StatsigHTTPSink:
    return StatsigHTTPSink(KEY, SESSION, base_url=api.url, wall_clock=lambda: 1_795_551_159.057)


def test_posts_gzip_wire_format_with_statsig_headers(statsig_api: FakeStatsigAPI) -> None:
    batch, events = _batch()
    _sink(statsig_api).send(batch, attempt=2, timeout_s=5.0)
    [request] = statsig_api.accepted_log_event_requests()
    assert request.method == "POST" and request.path == "/v1/log_event"
    assert gzip.decompress(request.body) == gzip.decompress(batch.body)
    assert request.json["events"] == events
    assert request.json["statsigMetadata"] == json.loads(META)
    expected = {
        "statsig-api-key": KEY,
        "statsig-client-time": "1795551159057",
        "statsig-sdk-type": c.SDK_TYPE,
        "statsig-sdk-version": c.SDK_VERSION,
        "statsig-server-session-id": SESSION,
        "statsig-event-count": "25",
        "statsig-retry": "2",
        "statsig-batch-id": batch.batch_id,
        "content-type": "application/json",
        "content-encoding": "gzip",
        "accept-encoding": "gzip",
    }
    assert {k: request.header(k) for k in expected} == expected


def test_one_pool_manager_is_reused(statsig_api: FakeStatsigAPI) -> None:
    pool = urllib3.PoolManager(retries=False)
    sink = StatsigHTTPSink(KEY, SESSION, base_url=statsig_api.url, pool_manager=pool)
    batch, _ = _batch(3)
    for attempt in range(3):
        sink.send(batch, attempt=attempt, timeout_s=5.0)
    assert len(pool.pools) == 1
    assert len(statsig_api.accepted_log_event_requests()) == 3


@pytest.mark.parametrize(
    ("fault", "retryable", "status_code", "retry_after"),
    [
        (500, True, 500, None),
        (502, True, 502, None),
        (503, True, 503, None),
        (408, True, 408, None),
        (status(429, retry_after=3), True, 429, 3.0),
        (400, False, 400, None),
        (401, False, 401, None),
        (403, False, 403, None),
        (413, False, 413, None),
        (SUCCESS_FALSE, True, 202, None),
        (RESET, True, None, None),
        (TRUNCATED, True, None, None),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_failures_are_classified(
    statsig_api: FakeStatsigAPI, fault: Any, retryable: bool, status_code: int | None, retry_after: float | None
) -> None:
    statsig_api.inject("log_event", fault)
    batch, _ = _batch(3)
    with pytest.raises(SendError) as raised:
        _sink(statsig_api).send(batch, attempt=0, timeout_s=5.0)
    err = raised.value
    assert (err.retryable, err.status, err.retry_after_s) == (retryable, status_code, retry_after)
    assert err.too_large == (status_code == 413)
    if status_code is None:  # transport failures come from urllib3, translated
        assert isinstance(err.__cause__, urllib3.exceptions.HTTPError)
    assert KEY not in str(err)


def test_slow_response_times_out_within_the_time_given(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.inject("log_event", delay(3.0))
    batch, _ = _batch(3)
    started = time.monotonic()
    with pytest.raises(SendError) as raised:
        _sink(statsig_api).send(batch, attempt=0, timeout_s=0.3)
    assert time.monotonic() - started < 1.5
    assert raised.value.retryable and raised.value.status is None


def test_connection_refused_is_a_retryable_send_error() -> None:
    with FakeStatsigAPI() as api:
        url = api.url
    batch, _ = _batch(1)
    with pytest.raises(SendError) as raised:
        StatsigHTTPSink(KEY, SESSION, base_url=url).send(batch, attempt=0, timeout_s=1.0)
    assert raised.value.retryable


def test_http_date_retry_after_is_read_as_seconds_from_now() -> None:
    from statsig_lite.sinks.statsig_http import _retry_after_s

    assert _retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480.0 - 2.0) == pytest.approx(2.0)
    assert _retry_after_s("soon", 0.0) is None
    assert _retry_after_s("-5", 0.0) == 0.0


def test_repr_does_not_show_the_key() -> None:
    assert KEY not in repr(StatsigHTTPSink(KEY, SESSION))
    assert StatsigHTTPSink(KEY, SESSION).url == "https://statsigapi.net/v1/log_event"
