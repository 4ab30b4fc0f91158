"""The official options that matter, implemented, and official behaviour at the edges; where the official
SDK can answer the same question offline, it is asked too and the answers compared."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import statsig as official

import statsig_lite
from statsig_lite import (
    DataSource,
    DynamicConfig,
    FeatureGate,
    IDataStore,
    Layer,
    LogLevel,
    NetworkEndpoint,
    NetworkProtocol,
    OutputLogger,
    ProxyConfig,
    StatsigEvent,
    StatsigOptions,
    StatsigServer,
    StatsigUser,
    StatsigValueError,
)
from tests.servers.statsig_api import FakeStatsigAPI, delay

KEY = "secret-official-options"
USER_FIELDS: dict[str, Any] = {"user_id": "u1", "email": "a@x.io", "ip": "1.2.3.4",
                               "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0"}
USER = StatsigUser(**USER_FIELDS)
OFFICIAL_USER = official.StatsigUser(**USER_FIELDS)


def _condition(kind: str, field: str | None, operator: str | None, target: Any) -> dict[str, Any]:
    return {"type": kind, "targetValue": target, "operator": operator, "field": field, "additionalValues": {},
            "idType": "userID"}


def _gate(name: str, condition: dict[str, Any], on: bool = True) -> dict[str, Any]:
    return {"name": name, "type": "feature_gate", "salt": name, "enabled": True, "defaultValue": False,
            "idType": "userID", "entity": "feature_gate",
            "rules": [{"id": f"{name}_rule", "salt": "r", "passPercentage": 100 if on else 0, "returnValue": True,
                       "idType": "userID", "conditions": [condition]}]}  # fmt: skip


def payload(time_ms: int = 1_700_000_000_000, on: bool = True) -> dict[str, Any]:
    experiment = {
        "name": "exp", "type": "dynamic_config", "entity": "experiment", "salt": "exp", "enabled": True,
        "isActive": True, "defaultValue": {"c": "default"}, "idType": "userID",
        "rules": [
            {"id": "holdout", "salt": "h", "passPercentage": 0, "returnValue": {}, "idType": "userID",
             "conditions": [_condition("public", None, None, None)]},
            {"id": "grp_a", "groupName": "A", "salt": "a", "passPercentage": 100, "returnValue": {"c": "a"},
             "idType": "userID", "isExperimentGroup": True, "conditions": [_condition("public", None, None, None)]},
            {"id": "grp_b", "groupName": "B", "salt": "b", "passPercentage": 100, "returnValue": {"c": "b"},
             "idType": "stableID", "isExperimentGroup": True, "conditions": [_condition("public", None, None, None)]},
        ],
    }  # fmt: skip
    return {
        "time": time_ms, "has_updates": True, "layer_configs": [], "dynamic_configs": [experiment],
        "feature_gates": [
            _gate("g", _condition("public", None, None, None), on),
            _gate("ua", _condition("ua_based", "os_name", "any", ["Windows"])),
            _gate("geo", _condition("ip_based", "country", "any", ["US"])),
        ],
    }


@pytest.fixture
def api(statsig_api: FakeStatsigAPI) -> Iterator[FakeStatsigAPI]:
    statsig_api.set_specs(payload(), version="v1")
    statsig_api.set_id_lists({})
    yield statsig_api


def lite(fake: FakeStatsigAPI | None = None, **options: Any) -> StatsigServer:
    server = StatsigServer()
    opts = {"bootstrap_values": json.dumps(payload()), "lambda_mode": True, "disable_diagnostics": True}
    if fake is not None:
        opts["api"] = fake.url
    opts.update(options)
    server.initialize(KEY, StatsigOptions(**opts))
    return server


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [{"tier": 123}, {"init_timeout": "3"}, {"event_queue_size": 0},
                                 {"evaluation_callback": 5}, {"data_store": object()}, {"local_mode": "yes"},
                                 {"logging_interval": True}])  # fmt: skip
def test_a_wrong_typed_option_raises_statsig_value_error(bad: dict[str, Any]) -> None:
    with pytest.raises(StatsigValueError):
        StatsigOptions(**bad)


def test_tier_validation_matches_the_official_sdk() -> None:
    with pytest.raises(official.statsig_errors.StatsigValueError):
        official.StatsigOptions(tier=123)  # type: ignore[arg-type]
    assert StatsigOptions(tier=statsig_lite.StatsigEnvironmentTier.staging).get_sdk_environment_tier() == (
        official.StatsigOptions(tier=official.StatsigEnvironmentTier.staging).get_sdk_environment_tier()
    )
    assert StatsigOptions().get_sdk_environment_tier() == official.StatsigOptions().get_sdk_environment_tier()


@pytest.mark.parametrize("key", ["client-abc", "", "not-a-key"])
def test_a_key_that_is_not_a_server_secret_is_refused_as_officially(key: str) -> None:
    theirs = official.StatsigServer().initialize(key, official.StatsigOptions(disable_diagnostics=True))
    server = StatsigServer()
    ours = server.initialize(key, StatsigOptions(bootstrap_values=json.dumps(payload())))
    assert (ours.init_success, ours.store_populated, ours.source) == (
        theirs.init_success, theirs.store_populated, theirs.source.value)
    assert not server.is_initialized() and server.check_gate(USER, "g") is False
    assert StatsigServer().initialize(key, StatsigOptions(local_mode=True, bootstrap_values=json.dumps(payload()))
                                      ).init_success  # local mode takes any key, as officially


def test_initialize_twice_changes_nothing_and_shutdown_resets_dedupe(api: FakeStatsigAPI) -> None:
    server = lite(api)
    again = server.initialize(KEY, StatsigOptions(bootstrap_values=json.dumps(payload(on=False))))
    assert again.init_success and again.duration == 0
    assert server.check_gate(USER, "g") and server.check_gate(USER, "g")  # the second is deduped
    server.shutdown(2.0)
    assert len(api.accepted_events()) == 1
    server.initialize(KEY, StatsigOptions(api=api.url, bootstrap_values=json.dumps(payload()), lambda_mode=True))
    assert server.check_gate(USER, "g")
    server.shutdown(2.0)
    assert len(api.accepted_events()) == 2  # logged again after shutdown + initialize, as officially


def test_store_views_match_the_official_sdk(api: FakeStatsigAPI) -> None:
    server = lite(api)
    theirs = official.StatsigServer()
    theirs.initialize(KEY, official.StatsigOptions(api=api.url, bootstrap_values=json.dumps(payload()),
                                                   disable_diagnostics=True))
    try:
        assert server.get_init_source() == theirs.get_init_source().value
        assert server.is_store_populated() is theirs.is_store_populated() is True
        assert server.get_id_list_count() == theirs.get_id_list_count() == 0
        for name in ("exp", "g", "missing"):
            assert server.get_experiment_groups(name) == theirs.get_experiment_groups(name)
        assert server.evaluate_all(USER) == theirs.evaluate_all(OFFICIAL_USER)
        assert server.evaluate_all(USER)["feature_gates"]["g"] == {"value": True, "rule_id": "g_rule"}
    finally:
        theirs.shutdown()
        server.shutdown(1.0)
    assert StatsigServer().get_init_source() is DataSource.UNINITIALIZED


# --- data store -------------------------------------------------------------------------------------


class DictStore(IDataStore):
    def __init__(self, values: dict[str, Any] | None = None, for_updates: bool = True) -> None:
        self.values = dict(values or {})
        self.sets: list[str] = []
        self.closed = False

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.sets.append(key)
        self.values[key] = value

    def shutdown(self) -> None:
        self.closed = True


def test_rules_come_from_the_data_store_and_it_wins_over_bootstrap_values(api: FakeStatsigAPI) -> None:
    store = DictStore({"statsig.cache": json.dumps(payload(on=False)).encode()})  # bytes, as redis gives
    server = StatsigServer()
    details = server.initialize(KEY, StatsigOptions(data_store=store, bootstrap_values=json.dumps(payload()),
                                                    api=api.url, lambda_mode=True, spec_max_age_seconds=0))
    assert (details.init_success, details.source, details.init_source_api) == (True, "DataAdapter", "DataAdapter")
    assert server.check_gate(USER, "g", log_exposure=False) is False  # the store's rules, not the bootstrap's
    store.values["statsig.cache"] = json.dumps(payload(1_700_000_005_000, on=True))
    assert server.refresh_if_stale(1.0) is True  # freshness checks read the store
    assert server.check_gate(USER, "g", log_exposure=False) is True
    server.shutdown(1.0)
    assert store.closed


def test_an_empty_data_store_falls_back_to_the_network_and_is_filled(api: FakeStatsigAPI) -> None:
    store = DictStore()
    server = StatsigServer()
    details = server.initialize(KEY, StatsigOptions(data_store=store, api=api.url, lambda_mode=True))
    assert details.init_success and details.source == "Network" and details.fallback_spec_used
    assert json.loads(store.values["statsig.cache"])["time"] == payload()["time"]  # as the official SDK writes it
    server.shutdown(1.0)


def test_initialize_sources_order_is_followed(api: FakeStatsigAPI) -> None:
    api.set_specs(payload(on=False), version="v1")
    server = StatsigServer()
    details = server.initialize(KEY, StatsigOptions(api=api.url, bootstrap_values=json.dumps(payload()),
                                                    initialize_sources=[DataSource.NETWORK, DataSource.BOOTSTRAP],
                                                    lambda_mode=True))  # fmt: skip
    assert details.source == "Network" and server.check_gate(USER, "g", log_exposure=False) is False
    server.shutdown(1.0)
    api.inject("dcs", 500, times=None)
    details = server.initialize(KEY, StatsigOptions(api=api.url, bootstrap_values=json.dumps(payload()),
                                                    initialize_sources=[DataSource.NETWORK, DataSource.BOOTSTRAP],
                                                    lambda_mode=True))  # fmt: skip
    assert (details.source, details.fallback_spec_used) == ("Bootstrap", True)
    assert server.check_gate(USER, "g", log_exposure=False) is True
    server.shutdown(1.0)


def test_overall_init_timeout_bounds_initialize(api: FakeStatsigAPI) -> None:
    api.inject("dcs", delay(3.0), times=None)
    started = time.monotonic()
    details = StatsigServer().initialize(KEY, StatsigOptions(api=api.url, overall_init_timeout=0.3,
                                                             lambda_mode=True))  # fmt: skip
    assert time.monotonic() - started < 2.0
    assert details.init_success is False and details.timed_out is True


# --- callbacks and logging ----------------------------------------------------------------------------


def test_evaluation_callback_gets_every_result_and_cannot_break_a_check(api: FakeStatsigAPI) -> None:
    seen: list[Any] = []
    server = lite(api, evaluation_callback=seen.append)
    server.check_gate(USER, "g")
    server.get_feature_gate(USER, "g")
    server.get_config(USER, "exp")
    server.get_experiment(USER, "exp")
    server.get_layer(USER, "nope")
    assert [type(r) for r in seen] == [FeatureGate, FeatureGate, DynamicConfig, DynamicConfig, Layer]
    assert seen[0].value is True and seen[3].rule_id == "holdout"

    def boom(result: Any) -> None:
        raise RuntimeError("app bug")

    broken = lite(api, evaluation_callback=boom)
    assert broken.check_gate(USER, "g") is True
    server.shutdown(1.0)
    broken.shutdown(1.0)


def test_sdk_error_callback_hears_of_every_error(api: FakeStatsigAPI) -> None:
    errors: list[tuple[str, Exception]] = []
    server = lite(api, sdk_error_callback=lambda tag, exc: errors.append((tag, exc)))
    assert server.check_gate("not a user", "g") is False  # type: ignore[arg-type]
    assert server.check_gate("not a user", "g") is False  # type: ignore[arg-type]
    assert [tag for tag, _ in errors] == ["g", "g"] and all(isinstance(e, StatsigValueError) for _, e in errors)
    server.shutdown(1.0)


def test_events_flushed_callback_reports_each_request(api: FakeStatsigAPI) -> None:
    reports: list[tuple[bool, list[dict[str, Any]], int | None, Any]] = []
    server = lite(api, events_flushed_callback=lambda *report: reports.append(report))
    server.log_event(StatsigEvent(USER, "one"))
    assert server.flush(2.0).sent == 1
    api.inject("log_event", 500, times=None)
    server.log_event(StatsigEvent(USER, "two"))
    server.flush(0.3)
    ok, events, code, error = reports[0]
    assert (ok, [e["eventName"] for e in events], code, error) == (True, ["one"], 200, None)
    assert reports[1][0] is False and reports[1][2] == 500 and reports[1][3] is not None
    assert [e["eventName"] for e in reports[1][1]] == ["two"]
    api.clear_faults()
    server.shutdown(2.0)


def test_rules_updated_callback_gets_the_payload_at_initialize(api: FakeStatsigAPI) -> None:
    got: list[str] = []
    server = lite(api, rules_updated_callback=got.append)
    assert [json.loads(g)["time"] for g in got] == [payload()["time"]]
    server.shutdown(1.0)


def test_timeout_bounds_each_request_and_flush_timeout_the_flush(api: FakeStatsigAPI) -> None:
    api.inject("log_event", delay(0.6), times=None)
    server = lite(api, timeout=0.15, flush_timeout=1.0)
    server.log_event(StatsigEvent(USER, "slow"))
    started = time.monotonic()
    result = server.flush()
    assert time.monotonic() - started < 2.5 and result.sent == 0 and result.kept == 1
    assert len(api.log_event_requests()) >= 2  # each attempt cut at `timeout`, retried within flush_timeout
    api.clear_faults()
    server.shutdown(2.0)


class Collect(OutputLogger):
    def __init__(self) -> None:
        super().__init__("test.collect")
        self.lines: list[tuple[str, str]] = []

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.lines.append(("warning", str(msg)))

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.lines.append(("debug", str(msg)))


@pytest.fixture
def restore_logging() -> Iterator[None]:
    package = logging.getLogger("statsig_lite")
    level, handlers = package.level, list(package.handlers)
    yield
    package.setLevel(level)
    package.handlers[:] = handlers


@pytest.mark.usefixtures("restore_logging")
def test_custom_logger_and_levels_go_through_logging(api: FakeStatsigAPI) -> None:
    collect = Collect()
    server = lite(api, custom_logger=collect, output_logger_level=LogLevel.DEBUG)
    server.check_gate(USER, "no_such_gate")
    assert any(level == "warning" and "no_such_gate" in line for level, line in collect.lines)
    assert logging.getLogger("statsig_lite").level == logging.DEBUG
    server.shutdown(1.0)
    lite(api, enable_debug_logs=True).shutdown(1.0)
    assert logging.getLogger("statsig_lite").level == logging.DEBUG


def test_options_without_an_effect_here_warn_once(caplog: pytest.LogCaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from statsig_lite import lifecycle

    monkeypatch.setattr(lifecycle, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="statsig_lite"):
        for _ in range(2):
            lite(None, local_mode=True, retry_queue_size=3, idlists_thread_limit=9).shutdown(0.1)
    warned = [r.getMessage() for r in caplog.records if "has no effect" in r.getMessage()]
    assert len(warned) == 2 and any("retry_queue_size" in w for w in warned)


# --- lookups and proxies --------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"disable_ua_parser": True}, {"disable_country_lookup": True}])
def test_disabled_lookups_answer_as_the_official_sdk(options: dict[str, Any]) -> None:
    theirs = official.StatsigServer()
    theirs.initialize(KEY, official.StatsigOptions(bootstrap_values=json.dumps(payload()), local_mode=True,
                                                   disable_diagnostics=True, **options))
    server = lite(None, local_mode=True, **options)
    try:
        for gate in ("ua", "geo"):
            a, b = theirs.get_feature_gate(OFFICIAL_USER, gate), server.get_feature_gate(USER, gate)
            assert (b.value, b.rule_id, b.evaluation_details.source.value) == (
                a.value, a.rule_id, a.evaluation_details.source.value)
    finally:
        theirs.shutdown()
        server.shutdown(0.1)


@pytest.mark.parametrize("options", [{}, {"disable_ua_parser": True}])
def test_a_disabled_parser_is_reported_after_a_failed_condition_as_officially(options: dict[str, Any]) -> None:
    """The legacy SDK runs every condition of a rule: a user agent condition after a failed one still reports
    the disabled parser (statsig_lite runs only that part of it: user_fields.ua_probe)."""
    late = _gate("ua_late", _condition("user_field", "email", "any", ["nobody@x.io"]))
    late["rules"][0]["conditions"].append(_condition("ua_based", "os_name", "any", ["Windows"]))
    specs = {**payload(), "feature_gates": [late]}
    theirs = official.StatsigServer()
    theirs.initialize(KEY, official.StatsigOptions(bootstrap_values=json.dumps(specs), local_mode=True,
                                                   disable_diagnostics=True, **options))
    server = lite(None, local_mode=True, bootstrap_values=json.dumps(specs), **options)
    try:
        a, b = theirs.get_feature_gate(OFFICIAL_USER, "ua_late"), server.get_feature_gate(USER, "ua_late")
        assert (b.value, b.rule_id, b.evaluation_details.source.value) == (
            a.value, a.rule_id, a.evaluation_details.source.value)
        assert (b.evaluation_details.source.value == "UAParserNotLoaded") == bool(options)
    finally:
        theirs.shutdown()
        server.shutdown(0.1)


def test_an_http_proxy_config_replaces_the_endpoint_base_as_officially(api: FakeStatsigAPI) -> None:
    configs = {NetworkEndpoint.LOG_EVENT: ProxyConfig(NetworkProtocol.HTTP, api.base)}
    server = lite(None, api="http://127.0.0.1:9/v1/", proxy_configs=configs)
    server.log_event(StatsigEvent(USER, "via_proxy_config"))
    assert server.flush(2.0).sent == 1
    assert [e["eventName"] for e in api.accepted_events()] == ["via_proxy_config"]
    server.shutdown(1.0)


def test_the_proxy_environment_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from statsig_lite._http import pool_manager, proxy_for

    env = {"HTTPS_PROXY": "http://proxy.internal:3128", "NO_PROXY": "internal.example,.corp"}
    assert proxy_for("https://statsigapi.net/v1/log_event", env) == "http://proxy.internal:3128"
    assert proxy_for("https://api.internal.example/x", env) is None
    assert proxy_for("https://a.b.corp/x", env) is None
    assert proxy_for("http://127.0.0.1:8080/v1/", {"HTTP_PROXY": "http://p:1"}) is None  # loopback: never
    assert proxy_for("https://statsigapi.net/", {}) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    import urllib3

    assert isinstance(pool_manager("https://statsigapi.net/v1/log_event"), urllib3.ProxyManager)
    monkeypatch.setenv("NO_PROXY", "statsigapi.net")
    assert not isinstance(pool_manager("https://statsigapi.net/v1/log_event"), urllib3.ProxyManager)
