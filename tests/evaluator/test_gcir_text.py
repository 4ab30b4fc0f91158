"""get_client_initialize_response_json is the JSON text of get_client_initialize_response: for every user of
every conformance suite, every hash, the first call (entries encoded) and the next (memoised entry texts),
with and without local overrides."""

from __future__ import annotations

import json
import time

import pytest

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
from tests.conformance.suites import Suite, load_suite, suite_names
from tests.servers.statsig_api import FakeStatsigAPI

NOW_MS = int(time.time() * 1000)


class _NoEvents:
    def enqueue(self, event: object) -> None:
        pass

    def settle(self) -> int:  # builds each exposure as it is recorded: nothing is left to decide
        return 0

    def enqueue_exposure(self, event: object) -> None:
        pass

    def flush(self, timeout_s: float | None = None) -> None:
        pass

    def shutdown(self, timeout_s: float | None = None) -> None:
        pass


def _server(suite: Suite) -> StatsigServer:
    api = FakeStatsigAPI().start() if suite.has_id_lists else None  # as tests/conformance does
    try:
        if api is not None:
            api.load_conformance_id_lists(suite.path)
        now = (suite.meta.get("eval_time_ms") or NOW_MS) / 1000.0  # the suite's clock, as tests/conformance
        server = StatsigServer(clock=lambda: now, event_pipeline=_NoEvents())  # type: ignore[arg-type]
        options = StatsigOptions(bootstrap_values=suite.dcs, api=api.url if api else None)
        assert server.initialize("secret-gcir", options).init_success
        return server
    finally:
        if api is not None:
            api.stop()


@pytest.mark.parametrize("name", suite_names())
def test_text_is_the_dict_as_json(name: str) -> None:
    suite = load_suite(name)
    server = _server(suite)
    users = [StatsigUser.from_dict(u["user"]) for u in suite.users.values()][:40]
    compared = 0
    for algo in ("djb2", "sha256", "none"):
        for _ in range(2):  # the second round reads the memoised entry texts
            for user in users:
                expected = server.get_client_initialize_response(user, hash=algo)
                text = server.get_client_initialize_response_json(user, hash=algo)
                if expected is None:
                    assert text is None
                    continue
                assert text is not None and json.loads(text) == expected
                compared += 1
    assert compared or not users


def test_text_with_overrides_and_app_ids() -> None:
    server = _server(load_suite("eval_proj"))
    suite = load_suite("eval_proj")
    users = [StatsigUser.from_dict(u["user"]) for u in suite.users.values()][:10]
    first = server.get_client_initialize_response(users[0])
    assert first is not None
    gate = next(iter(first["feature_gates"].values()))["name"]
    server.override_gate("a_gate_no_one_has", True)
    for include in (False, True):
        for user in users:
            for kwargs in ({}, {"target_app_id": "no-such-app"}, {"client_sdk_key": "client-key"}):
                expected = server.get_client_initialize_response(user, include_local_overrides=include, **kwargs)
                text = server.get_client_initialize_response_json(user, include_local_overrides=include, **kwargs)
                assert text is not None and json.loads(text) == expected, (include, kwargs)
    assert gate


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_text_is_the_dict_as_json_on_random_payloads(fmt: str) -> None:
    """The differential's random payloads (nested gates, segments, holdouts, unknown gates, errors, layers)."""
    from tests.differential.generate import random_job
    from tests.differential.harness import payload_for

    compared = 0
    for seed in range(80):
        v1, calls, tier = random_job(seed, users=6)
        server = StatsigServer(clock=lambda: 1_700_000_100.0, event_pipeline=_NoEvents())  # type: ignore[arg-type]
        text = json.dumps(payload_for(v1, fmt))
        assert server.initialize("secret-gcir", StatsigOptions(bootstrap_values=text, tier=tier)).init_success
        users = {json.dumps(c["user"], sort_keys=True): c["user"] for c in calls}
        for raw in users.values():
            user = StatsigUser.from_dict(raw)
            for algo in ("djb2", "sha256", "none"):
                expected = server.get_client_initialize_response(user, hash=algo)
                got = server.get_client_initialize_response_json(user, hash=algo)
                assert (got is None) == (expected is None), (seed, raw)
                if got is not None:
                    assert json.loads(got) == expected, (seed, raw)
                    compared += 1
    assert compared > 80 * 6 * 3 * 0.9
