"""`python -m statsig_lite`: validate, pull, refresh (against the fake Statsig API and moto), and demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from statsig_lite.__main__ import main
from statsig_lite.evaluator.hashing import id_list_hash
from statsig_lite.sources.bundled import BundledSource
from statsig_lite.store.envelope import encode_snapshot, split_snapshot
from statsig_lite.store.model import IdList
from tests.refresher.aws_env import use_moto
from tests.refresher.helpers import KEY, T1, T2, TARGETS, create_stores, id_list_manifest, payload, with_list_gate
from tests.servers.statsig_api import FakeStatsigAPI


@pytest.fixture
def statsig_env(statsig_api: FakeStatsigAPI, monkeypatch: pytest.MonkeyPatch) -> FakeStatsigAPI:
    monkeypatch.setenv("STATSIG_SERVER_SECRET", KEY)
    monkeypatch.setenv("STATSIG_API_URL", statsig_api.url)
    statsig_api.set_id_lists({})
    return statsig_api


def test_validate_a_raw_payload(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dcs.json"
    path.write_text(json.dumps(payload(T1)))
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"ok: v2 payload, time {T1}: 3 gates")


def test_validate_a_snapshot_document_reports_its_id_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "statsig_snapshot.json"
    lists = {"list_a": IdList("list_a", frozenset({"aaaaaaaa", "bbbbbbbb"}), "f1", 1, 20, "https://x/list_a")}
    path.write_bytes(encode_snapshot(with_list_gate(T1), lists, created_at=T1))
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"ok: v2 snapshot document, time {T1}: 4 gates")
    assert out[1] == "id lists: 1: list_a (2 ids)"


def test_validate_refuses_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"statsig_lite_snapshot": 1, "dcs": {"time": 1}, "id_lists": {"x": {"ids": 5}}}))
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err.startswith("invalid [invalid]: id_lists.x: expected an object with an ids list")


def test_pull_writes_a_bundleable_snapshot(
    statsig_env: FakeStatsigAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = f"+{id_list_hash('u1')}\n".encode()
    statsig_env.set_specs(with_list_gate(T1), "v2")
    statsig_env.set_id_lists(id_list_manifest("list_a", data), {"list_a": data})
    monkeypatch.chdir(tmp_path)
    assert main(["pull"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote statsig_snapshot.json: v2 payload, time {T1}")
    [dcs_request] = statsig_env.requests_for("dcs")
    assert dcs_request.path == f"/v2/download_config_specs/{KEY}.json" and "sinceTime" not in dcs_request.query

    fetched = BundledSource(environ={}, cwd=tmp_path).fetch(1.0)  # what a deployed function would load
    dcs, lists = split_snapshot(fetched.payload)
    assert dcs["time"] == T1 and lists["list_a"].ids == {id_list_hash("u1")}


def test_pull_v1_to_a_chosen_file(statsig_env: FakeStatsigAPI, tmp_path: Path) -> None:
    statsig_env.set_specs({"feature_gates": [], "dynamic_configs": [], "layer_configs": [], "time": T2}, "v1")
    out = tmp_path / "rules.json"
    assert main(["pull", "--out", str(out), "--format", "v1"]) == 0
    assert statsig_env.requests_for("dcs")[0].path == f"/v1/download_config_specs/{KEY}.json"
    assert main(["validate", str(out)]) == 0


def test_pull_failure_writes_nothing(
    statsig_env: FakeStatsigAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statsig_env.set_specs(payload(T1), "v2")
    statsig_env.inject("dcs", 500)
    out = tmp_path / "statsig_snapshot.json"
    assert main(["pull", "--out", str(out)]) == 1
    assert "HTTP 500" in capsys.readouterr().err and not out.exists() and list(tmp_path.iterdir()) == []


def test_refresh_runs_the_refresher_once(
    statsig_env: FakeStatsigAPI,
    s3_client: Any,
    dynamodb_client: Any,
    aws_endpoint_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create_stores(s3_client, dynamodb_client)
    use_moto(monkeypatch, aws_endpoint_url)
    monkeypatch.setenv("STATSIG_SNAPSHOT_TARGETS", TARGETS)
    statsig_env.set_specs(payload(T1), "v2")

    assert main(["refresh"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert sorted(first["written"]) == sorted(TARGETS.split(",")) and first["snapshot_time"] == T1
    assert main(["refresh"]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] is True

    statsig_env.inject("dcs", 503)
    assert main(["refresh"]) == 1
    assert "HTTP 503" in json.loads(capsys.readouterr().out)["skipped_reason"]


def test_refresh_without_configuration_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATSIG_SERVER_SECRET", KEY)
    assert main(["refresh"]) == 2
    assert "STATSIG_SNAPSHOT_TARGETS" in capsys.readouterr().err


def test_demo_still_runs(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    assert "local sink received 20 events" in capfd.readouterr().out


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"time": NaN, "feature_gates": [], "dynamic_configs": [], "layer_configs": []}', "bad_time"),
        ('{"time": 1e400, "feature_gates": [], "dynamic_configs": [], "layer_configs": []}', "bad_time"),
        ('{"time": 1e15, "feature_gates": [], "dynamic_configs": [], "layer_configs": []}', "future_time"),
        ('{"time": 5, "feature_gates": []}', "missing_section"),
        ('{"time": 5, "x": ' + "[" * 5000 + "]" * 5000 + "}", "too_deep"),
    ],
)
def test_validate_refuses_an_insane_payload_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, code: str
) -> None:
    path = tmp_path / "dcs.json"
    path.write_text(body)
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"invalid [{code}]: ")


def test_validate_against_the_stored_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stored, new = tmp_path / "stored.json", tmp_path / "new.json"
    stored.write_text(json.dumps(payload(T2)))
    new.write_text(json.dumps(payload(T1)))
    assert main(["validate", str(new), "--against", str(stored)]) == 1
    assert capsys.readouterr().err.startswith("invalid [older]: ")
    empty = payload(T2 + 1)
    empty["feature_gates"] = {}
    new.write_text(json.dumps(empty))
    assert main(["validate", str(new), "--against", str(stored)]) == 1
    assert capsys.readouterr().err.startswith("invalid [collapse]: gates: all 3 gates gone")
    assert main(["validate", str(new), "--against", str(stored), "--allow-shrink"]) == 0
