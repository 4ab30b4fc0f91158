"""@statsig_handler under AWS's real runtime interface client, frozen between invocations as Lambda does."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.servers.lambda_runtime import LambdaProcess
from tests.servers.statsig_api import FakeStatsigAPI, delay

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "statsig_lite" / "data" / "example_snapshot.json"

HANDLER = textwrap.dedent(
    """
    import threading
    from statsig_lite import StatsigUser, statsig, statsig_handler


    @statsig_handler
    def handler(event, context):
        if event.get("raise"):
            raise ValueError(event["raise"])
        user = StatsigUser(user_id=event["user"], email=event.get("email"), country="US")
        return {
            "on": statsig.check_gate(user, "new_checkout"),
            "color": statsig.get_layer(user, "checkout_layer").get("color"),
            "headline": statsig.get_config(user, "checkout_copy").get("headline"),
            "threads": threading.active_count(),
        }
    """
)


def _env(api: FakeStatsigAPI, spec: Path, spill: Path, **extra: str) -> dict[str, str | None]:
    return {
        "STATSIG_SERVER_SECRET": "secret-lambda-test",
        "STATSIG_API_URL": api.url,
        "STATSIG_SPEC_SOURCE": f"file://{spec}",
        "STATSIG_SPEC_MAX_AGE_SECONDS": "1",
        "STATSIG_SPILL_TARGET": f"file://{spill}",
        "STATSIG_FLUSH_MARGIN_MS": "300",
        "PYTHONPATH": str(REPO),
        **extra,
    }


def _users_in(requests: list[Any]) -> set[str]:
    return {e["user"]["userID"] for r in requests for e in (r.json or {}).get("events", []) if "user" in e}


@pytest.fixture
def handler_root(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    root.mkdir()
    (root / "app.py").write_text(HANDLER)
    return root


def test_every_invocation_flushes_before_it_returns(
    handler_root: Path, tmp_path: Path, statsig_api: FakeStatsigAPI
) -> None:
    spec = tmp_path / "snapshot.json"
    spec.write_bytes(EXAMPLE.read_bytes())
    with LambdaProcess("app.handler", handler_root, env=_env(statsig_api, spec, tmp_path / "spill")) as fn:
        for n in range(4):
            result = fn.invoke({"user": f"user-{n}", "email": "a@example.com" if n == 0 else None})
            assert result.ok, result.body
            assert result.body["threads"] == 1
            accepted = statsig_api.accepted_log_event_requests()
            assert f"user-{n}" in _users_in(accepted), "exposures of this invocation were not sent"
            assert max(r.received_at for r in accepted) < result.received_at  # sent before the response
            assert fn.thread_count() == 1
            fn.freeze()
            time.sleep(0.2)
            fn.thaw()
        assert json.loads(json.dumps(result.body))["headline"] == "Checkout"
        failing = fn.invoke({"raise": "boom", "user": "x"})
        assert not failing.ok and failing.body["errorType"] == "ValueError"  # propagated unchanged


def test_snapshot_changed_while_frozen_is_picked_up(
    handler_root: Path, tmp_path: Path, statsig_api: FakeStatsigAPI
) -> None:
    spec = tmp_path / "snapshot.json"
    spec.write_bytes(EXAMPLE.read_bytes())
    with LambdaProcess("app.handler", handler_root, env=_env(statsig_api, spec, tmp_path / "spill")) as fn:
        assert fn.invoke({"user": "u1"}).body["headline"] == "Checkout"
        fn.freeze()
        changed = json.loads(EXAMPLE.read_text())
        changed["time"] += 1000
        changed["dynamic_configs"]["checkout_copy"]["defaultValue"]["headline"] = "Pay faster"
        spec.write_text(json.dumps(changed))
        time.sleep(1.2)  # longer than the max age, spent frozen
        fn.thaw()
        assert fn.invoke({"user": "u1"}).body["headline"] == "Pay faster"
        spec.write_text("{corrupt")  # a bad snapshot keeps the good one
        time.sleep(1.2)
        assert fn.invoke({"user": "u1"}).body["headline"] == "Pay faster"


def test_near_deadline_invocation_returns_on_time_and_spills(
    handler_root: Path, tmp_path: Path, statsig_api: FakeStatsigAPI
) -> None:
    spec, spill = tmp_path / "snapshot.json", tmp_path / "spill"
    spec.write_bytes(EXAMPLE.read_bytes())
    with LambdaProcess("app.handler", handler_root, env=_env(statsig_api, spec, spill)) as fn:
        fn.invoke({"user": "warm"})
        statsig_api.inject("log_event", delay(5.0), times=None)
        slow = fn.invoke({"user": "late-user"}, timeout_ms=1500)
        assert slow.ok
        assert slow.duration_s < 1.5  # returned within its deadline
        assert any(spill.rglob("*")), "undelivered events were not spilled"
        statsig_api.clear_faults()
        statsig_api.clear_requests()
        fn.invoke({"user": "next-user"}, timeout_ms=5000)
        assert "late-user" in _users_in(statsig_api.accepted_log_event_requests())  # replayed


def _aws_env(moto_endpoint: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}


def test_s3_snapshot_changed_while_frozen_is_picked_up(
    handler_root: Path, tmp_path: Path, statsig_api: FakeStatsigAPI, s3_client: Any, aws_endpoint_url: str
) -> None:
    s3_client.create_bucket(Bucket="snapshots")
    s3_client.put_object(Bucket="snapshots", Key="statsig.json", Body=EXAMPLE.read_bytes())
    env = _env(statsig_api, tmp_path, tmp_path / "spill", STATSIG_SPEC_SOURCE="s3://snapshots/statsig.json,bundled",
               **_aws_env(aws_endpoint_url))
    with LambdaProcess("app.handler", handler_root, env=env) as fn:
        assert fn.invoke({"user": "u1"}).body["headline"] == "Checkout"
        fn.freeze()
        changed = json.loads(EXAMPLE.read_text())
        changed["time"] += 1000
        changed["dynamic_configs"]["checkout_copy"]["defaultValue"]["headline"] = "From S3"
        s3_client.put_object(Bucket="snapshots", Key="statsig.json", Body=json.dumps(changed).encode())
        time.sleep(1.2)
        fn.thaw()
        assert fn.invoke({"user": "u1"}).body["headline"] == "From S3"
        s3_client.put_object(Bucket="snapshots", Key="statsig.json", Body=b'{"time": 1, "feature_gates": 7}')
        time.sleep(1.2)
        assert fn.invoke({"user": "u1"}).body["headline"] == "From S3"  # corrupt snapshot: previous good kept
        assert "rejected" in fn.output() or "keeping current rules" in fn.output()


def test_missing_bucket_falls_back_to_bundled_and_missing_everything_gives_defaults(
    handler_root: Path, tmp_path: Path, statsig_api: FakeStatsigAPI, aws_endpoint_url: str
) -> None:
    (handler_root / "statsig_snapshot.json").write_bytes(EXAMPLE.read_bytes())  # the function's own snapshot
    env = _env(statsig_api, tmp_path, tmp_path / "spill", STATSIG_SPEC_SOURCE="s3://no-such-bucket/k,bundled",
               **_aws_env(aws_endpoint_url))
    with LambdaProcess("app.handler", handler_root, env=env) as fn:
        assert fn.invoke({"user": "u1"}).body["headline"] == "Checkout"  # from the bundled snapshot
    env["STATSIG_SPEC_SOURCE"] = "s3://no-such-bucket/k"
    with LambdaProcess("app.handler", handler_root, env=env) as fn:
        result = fn.invoke({"user": "u1"})
        assert result.ok and result.body["on"] is False and result.body["headline"] is None
        assert "rules not loaded" in fn.output()
