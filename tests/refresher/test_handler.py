"""The Lambda handler end to end: secret from SSM, snapshot to S3 + DynamoDB, spilled batches replayed,
one JSON log line and EMF metrics on stdout. boto3's default session and Powertools go to moto."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statsig_lite.errors import ConfigurationError
from statsig_lite.pipeline import DeliveryPolicy, EventPipeline
from statsig_lite.refresher import handler
from statsig_lite.sinks import DirSpillStore, StatsigHTTPSink
from tests.refresher.aws_env import use_moto
from tests.refresher.helpers import KEY, T1, TARGETS, payload, stored_state
from tests.servers.statsig_api import FakeStatsigAPI
from tests.sinks.wire_events import make_events


class Context:
    function_name = "statsig-refresher"

    def __init__(self, remaining_ms: int) -> None:
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


@pytest.fixture
def lambda_env(
    api: FakeStatsigAPI,
    stores: tuple[Any, Any],
    ssm_client: Any,
    aws_endpoint_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Path]:
    """The function's environment: secret name (SSM), targets, API, spill dir; a fresh Powertools logger."""
    from aws_lambda_powertools.utilities import parameters

    use_moto(monkeypatch, aws_endpoint_url)
    name = f"/statsig/refresher/{uuid.uuid4().hex}"  # Powertools caches values by name
    ssm_client.put_parameter(Name=name, Value=KEY, Type="SecureString")
    spill = tmp_path / "spill"
    for var, value in {
        "STATSIG_SECRET_NAME": name,
        "STATSIG_SNAPSHOT_TARGETS": TARGETS,
        "STATSIG_API_URL": api.url,
        "STATSIG_SPILL_TARGET": spill.as_uri(),
        "POWERTOOLS_SERVICE_NAME": f"refresher-test-{uuid.uuid4().hex[:8]}",  # a logger bound to this stdout
        "POWERTOOLS_METRICS_NAMESPACE": "statsig_lite_test",
    }.items():
        monkeypatch.setenv(var, value)
    parameters.clear_caches()
    try:
        yield spill
    finally:
        parameters.clear_caches()  # its providers hold clients bound to this test's moto endpoint


def _spill_events(api: FakeStatsigAPI, spill: Path, count: int) -> None:
    """Events a function could not deliver, spilled the way the SDK spills them."""
    api.inject("log_event", 503, times=None)
    pipeline = EventPipeline(
        sink=StatsigHTTPSink(KEY, "spilling-session", base_url=api.url),
        spill=DirSpillStore(spill),
        session_id="spilling-session",
        policy=DeliveryPolicy(batch_size=20),
    )
    for event in make_events(count):
        pipeline.enqueue(event)
    assert pipeline.flush(0.3).spilled == count
    api.clear_faults()
    api.clear_requests()


def _stdout_json(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_handler_refreshes_replays_and_reports(
    api: FakeStatsigAPI,
    stores: tuple[Any, Any],
    lambda_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    _spill_events(api, lambda_env, 50)

    result = handler({"source": "aws.events"}, Context(15_000))

    assert sorted(result["written"]) == sorted(TARGETS.split(","))
    assert (result["snapshot_time"], result["fetched"], result["skipped_reason"]) == (T1, True, None)
    assert result["replayed_events"] == 50 and result["replay_errors"] == ()
    assert len(api.accepted_events()) == 50 and list(lambda_env.iterdir()) == []
    # the secret read from SSM is the key every Statsig request carried
    assert {r.sdk_key for r in api.requests if r.route is not None} == {KEY}

    out = _stdout_json(capsys.readouterr().out)
    [log] = [line for line in out if line.get("message") == "statsig_lite refresh"]
    assert log["level"] == "INFO" and log["snapshot_time"] == T1 and log["replayed_events"] == 50
    assert sorted(log["written"]) == sorted(TARGETS.split(","))
    [emf] = [line for line in out if "_aws" in line]
    names = {m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"SnapshotWrites", "RefreshFailed", "EventsReplayed", "SnapshotBytes"} <= names
    assert (emf["SnapshotWrites"], emf["RefreshFailed"], emf["EventsReplayed"]) == ([2.0], [0.0], [50.0])

    before = stored_state(s3, ddb)
    again = handler({}, Context(15_000))
    assert (again["unchanged"], again["written"], again["replayed_events"]) == (True, (), 0)
    assert stored_state(s3, ddb) == before
    [log] = [line for line in _stdout_json(capsys.readouterr().out) if line.get("message") == "statsig_lite refresh"]
    assert log["unchanged"] is True


def test_handler_logs_an_error_line_when_statsig_fails(
    api: FakeStatsigAPI, stores: tuple[Any, Any], lambda_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.set_specs(payload(T1), "v2")
    api.inject("dcs", 500)
    result = handler({}, Context(15_000))
    assert "HTTP 500" in result["skipped_reason"] and result["written"] == ()
    out = _stdout_json(capsys.readouterr().out)
    [log] = [line for line in out if line.get("message") == "statsig_lite refresh"]
    assert log["level"] == "ERROR"
    [emf] = [line for line in out if "_aws" in line]
    assert emf["RefreshFailed"] == [1.0]


def test_handler_without_targets_raises_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATSIG_SERVER_SECRET", KEY)
    with pytest.raises(ConfigurationError, match="STATSIG_SNAPSHOT_TARGETS"):
        handler({}, Context(15_000))
