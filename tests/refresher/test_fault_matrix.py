"""The refresher's fault matrix: in every bad case the stored snapshot (S3 and DynamoDB) stays byte-identical.

Each case starts from a snapshot (time T1) the refresher itself wrote to both stores, makes a newer payload
available (so only the fault stands between it and a write), runs one refresh and compares what the
stores hold, byte for byte (S3 body + ETag, every DynamoDB item).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from statsig_lite.refresher.refresh import RefreshReport
from statsig_lite.refresher.targets import SnapshotTarget
from tests.refresher.helpers import (
    T1,
    T2,
    CountingTarget,
    RacingTarget,
    make_refresher,
    payload,
    stored_state,
    without_rule_id,
)
from tests.servers.statsig_api import FakeStatsigAPI
from tests.sources.aws import closed_port_url

T3 = T2 + 60_000


@dataclass
class Case:
    name: str
    run: Callable[[FakeStatsigAPI, Any, Any], tuple[RefreshReport, tuple[object, ...] | None]]
    expect_action: str  # "unchanged", "written" or a substring of the skip reason
    expect_unchanged: bool


def _plain(prepare: Callable[[FakeStatsigAPI], None], base: Callable[[FakeStatsigAPI], Any] | None = None) -> Any:
    def run(api: FakeStatsigAPI, s3: Any, ddb: Any) -> tuple[RefreshReport, None]:
        prepare(api)
        return make_refresher(base(api) if base else api, s3, ddb).refresh(10.0), None

    return run


def _racing(api: FakeStatsigAPI, s3: Any, ddb: Any) -> tuple[RefreshReport, tuple[object, ...]]:
    """A reads T1, then (before A writes) B reads T1 and writes T3; A's conditional writes must fail."""
    api.set_specs(payload(T2), "v2")
    after_b: list[tuple[object, ...]] = []

    def refresher_b_commits() -> None:
        api.set_specs(payload(T3), "v2")
        report_b = make_refresher(api, s3, ddb).refresh(10.0)
        assert len(report_b.written) == 2 and report_b.snapshot_time == T3
        after_b.append(stored_state(s3, ddb))
        api.set_specs(payload(T2), "v2")

    hook_once = _once(refresher_b_commits)
    report_a = make_refresher(api, s3, ddb, wrap=lambda t: RacingTarget(t, hook_once)).refresh(10.0)
    return report_a, after_b[0]


def _once(fn: Callable[[], None]) -> Callable[[], None]:
    done: list[bool] = []

    def call() -> None:
        if not done:
            done.append(True)
            fn()

    return call


def _set(body: Any) -> Callable[[FakeStatsigAPI], None]:
    return lambda api: api.set_specs(body, "v2")


def _then(*steps: Callable[[FakeStatsigAPI], None]) -> Callable[[FakeStatsigAPI], None]:
    def run(api: FakeStatsigAPI) -> None:
        for step in steps:
            step(api)

    return run


CASES = [
    Case("unchanged project", _plain(lambda api: None), "s3 unchanged, dynamodb unchanged", True),
    Case("changed project", _plain(_set(payload(T2))), "s3 written, dynamodb written", False),
    Case("Statsig down (connection refused)", _plain(_set(payload(T2)), lambda api: closed_port_url() + "/v1/"),
         "cannot connect", True),
    Case("download_config_specs HTTP 500", _plain(_then(_set(payload(T2)), lambda api: api.inject("dcs", 500))),
         "HTTP 500", True),
    Case("truncated response (connection cut)",
         _plain(_then(_set(payload(T2)), lambda api: api.inject("dcs", "truncated"))), "truncated", True),
    Case("truncated JSON body (HTTP 200)", _plain(_set(json.dumps(payload(T2)).encode()[:3000])), "not JSON", True),
    Case("parses, fails validation (rule without id)", _plain(_set(without_rule_id(T2))), "id missing", True),
    Case("payload for another SDK key", _plain(_set(payload(T2, hashed_sdk_key_used="12345"))), "another SDK key",
         True),
    Case("older time than stored", _plain(_set(payload(T1 - 60_000))), "refused [older]", True),
    Case("ID-list manifest HTTP 500",
         _plain(_then(_set(payload(T2)), lambda api: api.inject("id_lists", 500))), "ID lists unavailable", True),
    Case("two refreshers racing (A loses)", _racing, "s3 skipped (conflict: the object changed since it was read "
         "(PutObject precondition)), dynamodb skipped (conflict: ", True),
]


def _action(report: RefreshReport) -> str:
    """One cell: the run's skip reason, else what happened per target (loopback URLs left out)."""
    if report.skipped_reason:
        text = f"skipped: {report.skipped_reason}"
    else:
        text = ", ".join(f"{t.target.split(':')[0]} {t.action}" + (f" ({t.reason})" if t.reason else "")
                         for t in report.targets)
    return re.sub(r"http://127\.0\.0\.1:\d+", "", text)


def test_bad_payloads_and_races_never_change_the_stored_snapshot(
    api: FakeStatsigAPI, stores: tuple[Any, Any], reset_stores: Callable[[], None]
) -> None:
    s3, ddb = stores
    rows: list[tuple[str, str, bool]] = []
    failures: list[str] = []
    for case in CASES:
        reset_stores()
        api.clear_faults()
        api.set_specs(payload(T1), "v2")
        seeded = make_refresher(api, s3, ddb).refresh(10.0)
        assert len(seeded.written) == 2, seeded
        before = stored_state(s3, ddb)
        api.clear_requests()

        report, expected_state = case.run(api, s3, ddb)
        after = stored_state(s3, ddb)
        unchanged = after == (expected_state or before)
        action = _action(report)
        rows.append((case.name, action, unchanged))
        if case.expect_action not in action or unchanged != case.expect_unchanged:
            failures.append(f"{case.name}: {action!r}, stored bytes unchanged={unchanged}")

    width = max(len(r[0]) for r in rows)
    print("\nrefresher fault matrix (S3 + DynamoDB targets)")
    print(f"{'case':{width}}  {'stored bytes unchanged':22}  action")
    for name, action, unchanged in rows:
        print(f"{name:{width}}  {'yes' if unchanged else 'no (new snapshot)':22}  {action}")
    assert not failures, failures


def test_unchanged_project_sends_since_time_and_writes_nothing(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    first = make_refresher(api, s3, ddb).refresh(10.0)
    assert first.fetched and len(first.written) == 2 and first.stored_time is None
    assert "sinceTime" not in api.requests_for("dcs")[0].query
    before = stored_state(s3, ddb)
    etag = s3.head_object(Bucket="statsig-snapshots", Key="prod/snapshot.json")["ETag"]

    second = make_refresher(api, s3, ddb).refresh(10.0)
    request = api.requests_for("dcs")[-1]
    assert request.query["sinceTime"] == str(T1)
    assert request.status == 200 and request.fault is None
    assert (second.fetched, second.unchanged, second.written, second.skipped_reason) == (False, True, (), None)
    assert second.dcs_bytes == 0 and second.snapshot_time == T1
    assert s3.head_object(Bucket="statsig-snapshots", Key="prod/snapshot.json")["ETag"] == etag
    assert stored_state(s3, ddb) == before


def test_changed_project_is_written_exactly_once_per_target(api: FakeStatsigAPI, stores: tuple[Any, Any]) -> None:
    s3, ddb = stores
    api.set_specs(payload(T1), "v2")
    make_refresher(api, s3, ddb).refresh(10.0)
    writes: list[str] = []

    def count_writes(target: SnapshotTarget) -> SnapshotTarget:
        return CountingTarget(target, writes)

    api.set_specs(payload(T2), "v2")
    report = make_refresher(api, s3, ddb, wrap=count_writes).refresh(10.0)
    assert report.fetched and report.snapshot_time == T2 and report.stored_time == T1
    assert sorted(writes) == sorted(report.written) and len(writes) == 2
    assert make_refresher(api, s3, ddb, wrap=count_writes).refresh(10.0).unchanged
    assert len(writes) == 2  # the run after the change wrote nothing

