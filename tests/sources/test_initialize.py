"""initialize() and the reader against hostile payloads and sources: never raises, no example rules outside the
demo, Statsig's API by default (as the official SDK), clocks that step back, future-dated rules that must not pin,
and ID lists fetched only when the snapshot lacks them. Loopback fake Statsig API only."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from statsig_lite.errors import SpecSourceError
from statsig_lite.options import StatsigOptions
from statsig_lite.results import DataSource
from statsig_lite.server import StatsigServer
from statsig_lite.sources.base import Fetched
from statsig_lite.sources.file import FileSource
from statsig_lite.sources.uri import parse_spec_source
from statsig_lite.store.envelope import encode_snapshot
from statsig_lite.store.model import IdList
from statsig_lite.user import StatsigUser
from tests.servers.statsig_api import FakeStatsigAPI, delay
from tests.sources.payloads import example_bytes, example_payload

SECRET = "secret-init-tests"
REPO = Path(__file__).resolve().parents[2]
USER = StatsigUser(user_id="u1")
NOW_S = time.time()
NOW_MS = int(NOW_S * 1000)


def _deep(levels: int) -> str:
    return '{"time": 1, "feature_gates": ' + "[" * levels + "]" * levels + "}"


HOSTILE = {
    "time NaN": '{"time": NaN, "feature_gates": {}, "dynamic_configs": {}, "layer_configs": {}, "condition_map": {}}',
    "time Infinity": '{"time": Infinity, "feature_gates": [], "dynamic_configs": [], "layer_configs": []}',
    "time -Infinity": '{"time": -Infinity, "feature_gates": [], "dynamic_configs": [], "layer_configs": []}',
    "time 1e400": '{"time": 1e400, "feature_gates": [], "dynamic_configs": [], "layer_configs": []}',
    "time 1e300": '{"time": 1e300, "feature_gates": [], "dynamic_configs": [], "layer_configs": []}',
    "nested 5,000 deep": _deep(5000),
    "nested 100,000 deep": _deep(100_000),
    "nested objects 5,000 deep": '{"time": 1, "x": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}",
    "not JSON": "{nope",
    "empty": "",
    "a list": "[1, 2]",
    "null": "null",
    "not UTF-8": "\udcff",
    "envelope with bad id list": json.dumps({"statsig_lite_snapshot": 1, "dcs": {"time": 1},
                                             "id_lists": {"x": {"ids": [], "creation_time": "soon"}}}),
    "spec list holding numbers": '{"time": 1, "feature_gates": [1, 2], "dynamic_configs": [], "layer_configs": []}',
}


@pytest.mark.parametrize("body", list(HOSTILE.values()), ids=list(HOSTILE))
def test_initialize_never_raises_and_says_why(body: str, tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_bytes(body.encode("utf-8", "surrogateescape"))
    for options in (
        StatsigOptions(local_mode=True, spec_source=path.as_uri()),
        StatsigOptions(local_mode=True, bootstrap_values=body, spec_source=path.as_uri()),
    ):
        server = StatsigServer()
        details = server.initialize(SECRET, options)
        assert details.init_success is False and details.error is not None and str(details.error)
        assert server.check_gate(USER, "new_checkout") is False


@pytest.mark.parametrize("body", list(HOSTILE.values())[:6], ids=list(HOSTILE)[:6])
def test_a_hostile_preferred_source_falls_back_to_bundled(
    body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(body)
    (tmp_path / "statsig_snapshot.json").write_bytes(example_bytes())
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    server = StatsigServer()
    details = server.initialize(SECRET, StatsigOptions(local_mode=True, spec_source=f"{bad.as_uri()},bundled"))
    assert details.init_success, details.error
    assert details.source_detail.startswith("bundled:")
    assert server.check_gate(USER, "new_checkout") is server.check_gate(USER, "new_checkout")  # answers


def test_an_unusable_spec_source_value_is_reported_not_raised() -> None:
    details = StatsigServer().initialize(SECRET, StatsigOptions(local_mode=True, spec_source="ftp://nope/x"))
    assert not details.init_success and "STATSIG_SPEC_SOURCE" in str(details.error)


# --- no example rules outside the demo ---------------------------------------------------------------------


def test_bundled_without_a_snapshot_fails_clearly_and_never_answers_from_the_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    server = StatsigServer()
    details = server.initialize(SECRET, StatsigOptions(local_mode=True, spec_source="bundled"))
    assert not details.init_success
    assert isinstance(details.error, SpecSourceError) and "statsig_snapshot.json" in str(details.error)
    assert "file not found" in str(details.error)
    example_users = [StatsigUser(user_id=f"u{i}", email="a@example.com", country="US") for i in range(50)]
    assert not any(server.check_gate(u, "new_checkout") for u in example_users)


def test_example_only_by_name() -> None:
    server = StatsigServer()
    details = server.initialize(SECRET, StatsigOptions(local_mode=True, spec_source="example"))
    assert details.init_success and details.source_detail.startswith("example:")


def test_no_source_at_all_downloads_from_statsig_api(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.set_specs(example_payload(NOW_MS - 1000), "v1")
    server = StatsigServer()
    details = server.initialize(SECRET, StatsigOptions(api=statsig_api.url, id_lists=False))
    assert details.init_success, details.error
    assert details.source == DataSource.NETWORK.value
    requests = statsig_api.requests_for("dcs")
    assert len(requests) == 1 and requests[0].path.endswith(f"/download_config_specs/{SECRET}.json")


def test_api_for_download_config_specs_wins(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.set_specs(example_payload(NOW_MS - 1000), "v2")
    details = StatsigServer().initialize(
        SECRET, StatsigOptions(api="http://127.0.0.1:9/nothing/", api_for_download_config_specs=statsig_api.url.replace(
            "/v1/", "/v2/"), id_lists=False, timeout=1))
    assert details.init_success, details.error
    assert statsig_api.requests_for("dcs")[0].path.startswith("/v2/download_config_specs/")


def test_download_is_bounded_by_init_timeout(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.set_specs(example_payload(NOW_MS - 1000), "v1")
    statsig_api.inject("dcs", delay(5))
    started = time.monotonic()
    details = StatsigServer().initialize(SECRET, StatsigOptions(api=statsig_api.url, init_timeout=0.5, id_lists=False))
    assert time.monotonic() - started < 2.0
    assert not details.init_success and "timed out" in str(details.error)


def test_invalid_bootstrap_values_fall_back_to_downloading(statsig_api: FakeStatsigAPI) -> None:
    statsig_api.set_specs(example_payload(NOW_MS - 1000), "v1")
    for bootstrap in ("{broken", '{"time": NaN}', json.dumps(example_payload(NOW_MS + 10**12))):
        statsig_api.clear_requests()
        details = StatsigServer().initialize(
            SECRET, StatsigOptions(api=statsig_api.url, bootstrap_values=bootstrap, id_lists=False)
        )
        assert details.init_success and details.source == DataSource.NETWORK.value, details.error
        assert len(statsig_api.requests_for("dcs")) == 1


def test_valid_bootstrap_values_need_no_network(statsig_api: FakeStatsigAPI) -> None:
    details = StatsigServer().initialize(
        SECRET, StatsigOptions(api=statsig_api.url, bootstrap_values=example_bytes().decode(), id_lists=False)
    )
    assert details.init_success and details.source == DataSource.BOOTSTRAP.value
    assert statsig_api.requests_for("dcs") == []


def test_local_mode_without_a_source_does_not_touch_the_network() -> None:
    details = StatsigServer().initialize(SECRET, StatsigOptions(local_mode=True))
    assert not details.init_success and "local" in str(details.error)


def test_every_readme_spec_source_example_parses() -> None:
    readme = (REPO / "README.md").read_text()
    examples = set(re.findall(r"STATSIG_SPEC_SOURCE=([^`\s)]+)", readme))
    row = next(line for line in readme.splitlines() if line.startswith("| `STATSIG_SPEC_SOURCE`"))
    examples |= {value for value in re.findall(r"`([^`]+)`", row) if value != "STATSIG_SPEC_SOURCE"}
    examples = {e.replace("...", "bucket") for e in examples}
    assert "s3://b/k,bundled" in examples and len(examples) >= 6
    for example in sorted(examples):
        if example.startswith("https base"):
            continue
        parse_spec_source(example, secret_key=SECRET)  # raises ConfigurationError if not


# --- clocks -----------------------------------------------------------------------------------------------


class Counting:
    """A real source that counts the freshness checks that reach it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.checks = 0

    def fetch(self, timeout_s: float) -> Fetched:
        fetched: Fetched = self.inner.fetch(timeout_s)
        return fetched

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        self.checks += 1
        changed: Fetched | None = self.inner.fetch_if_changed(version, timeout_s)
        return changed


class Clock:
    def __init__(self, now_s: float) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def test_a_wall_clock_stepped_back_means_check_now(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(example_payload(NOW_MS - 1000)))
    clock = Clock(NOW_S)
    source = Counting(FileSource(path))
    server = StatsigServer(clock=clock)
    options = StatsigOptions(local_mode=True, spec_max_age_seconds=60)
    assert server.initialize(SECRET, options, source=source).init_success
    clock.now_s += 10
    server.refresh_if_stale()
    assert source.checks == 0  # fresh
    clock.now_s -= 300  # NTP steps the clock back five minutes (within the skew newer rules may have)
    path.write_text(json.dumps(example_payload(NOW_MS)))
    assert server.refresh_if_stale() is True and source.checks == 1
    clock.now_s += 10
    server.refresh_if_stale()
    assert source.checks == 1  # checked at the new clock: fresh again for a max age, not for the step


def test_future_dated_rules_do_not_pin_the_reader(statsig_api: FakeStatsigAPI) -> None:
    ahead = NOW_MS + 3 * 3600_000
    clock = Clock(ahead / 1000)  # the sandbox's clock ran 3 h ahead at its cold start
    statsig_api.set_specs(example_payload(ahead - 1000), "v1")
    server = StatsigServer(clock=clock)
    options = StatsigOptions(spec_source="statsig", api=statsig_api.url, spec_max_age_seconds=1, id_lists=False)
    assert server.initialize(SECRET, options).init_success
    clock.now_s = NOW_S  # corrected: the rules are now dated 3 h in the future
    statsig_api.set_specs(example_payload(NOW_MS - 60_000), "v1")  # the real, current rules
    statsig_api.clear_requests()
    assert server.refresh_if_stale(5.0) is True
    request = statsig_api.requests_for("dcs")[0]
    assert "sinceTime" not in request.query  # not "anything newer than 3 h from now?"
    assert server._loaded is not None and server._loaded.snapshot.time == NOW_MS - 60_000


def test_a_future_dated_payload_is_refused_at_a_cold_start(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(example_payload(NOW_MS + 3600_000)))
    details = StatsigServer().initialize(SECRET, StatsigOptions(local_mode=True, spec_source=path.as_uri()))
    assert not details.init_success and getattr(details.error, "code", None) == "future_time"


# --- ID lists at init (issue 15) ----------------------------------------------------------------------------


def test_id_lists_are_fetched_only_when_the_snapshot_lacks_them(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    statsig_api.set_id_lists({})
    lists = {"list_a": IdList("list_a", frozenset({"aaaaaaaa"}), "f1", 1, 9, "https://x/list_a")}
    envelope, raw = tmp_path / "envelope.json", tmp_path / "raw.json"
    envelope.write_bytes(encode_snapshot(example_payload(NOW_MS - 1000), lists, created_at=NOW_MS))
    raw.write_bytes(example_bytes())
    details = StatsigServer().initialize(SECRET, StatsigOptions(spec_source=envelope.as_uri(), api=statsig_api.url))
    assert details.init_success and details.id_list_count == 1
    assert statsig_api.requests_for("id_lists") == []
    StatsigServer().initialize(SECRET, StatsigOptions(spec_source=raw.as_uri(), api=statsig_api.url))
    assert len(statsig_api.requests_for("id_lists")) == 1


# --- collapse on the reader's side ---------------------------------------------------------------------------


def _many_gates(lcut: int, n: int) -> dict[str, Any]:
    payload = example_payload(lcut)
    gate = next(iter(payload["feature_gates"].values()))
    payload["feature_gates"].update({f"extra_{i}": gate for i in range(n)})
    return payload


def test_the_reader_refuses_a_collapse_unless_the_document_allows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(_many_gates(NOW_MS - 5000, 40)))
    server = StatsigServer()
    assert server.initialize(SECRET, StatsigOptions(local_mode=True, spec_source=path.as_uri(),
                                                    spec_max_age_seconds=0)).init_success
    path.write_text(json.dumps(example_payload(NOW_MS - 4000)))  # 43 gates down to 3
    assert server.refresh_if_stale(5.0) is False
    path.write_bytes(encode_snapshot(example_payload(NOW_MS - 3000), {}, NOW_MS, allow_shrink=True))
    assert server.refresh_if_stale(5.0) is True
    path.write_text(json.dumps(_many_gates(NOW_MS - 2000, 40)))
    assert server.refresh_if_stale(5.0) is True
    path.write_text(json.dumps(example_payload(NOW_MS - 1000)))
    monkeypatch.setenv("STATSIG_ALLOW_SNAPSHOT_SHRINK", "true")
    assert server.refresh_if_stale(5.0) is True
