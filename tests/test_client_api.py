"""The public API: drop-in names and behaviour of the legacy `statsig` SDK, and checks that never raise."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from statsig_lite import (
    DataSource,
    EvaluationReason,
    HashingAlgorithm,
    StatsigEvent,
    StatsigOptions,
    StatsigServer,
    StatsigUser,
    StatsigValueError,
    statsig,
)
from statsig_lite.buffer import wire_deferred
from tests.servers.statsig_api import FakeStatsigAPI

EXAMPLE = resources.files("statsig_lite").joinpath("data/example_snapshot.json").read_text()
STAFF = StatsigUser(user_id="alice", email="alice@example.com", country="US")
BOB = StatsigUser(user_id="bob", country="US", app_version="2.1")


class Capture:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def enqueue(self, event: Any, strict: bool = False) -> None:
        self.events.append(event)

    def settle(self) -> int:  # builds each exposure as it is recorded: nothing is left to decide
        return 0

    def enqueue_exposure(self, event: Any) -> None:
        built = wire_deferred(event)  # None: a repeat (decided when built, in order)
        if built is not None:
            self.enqueue(built)

    def flush(self, timeout_s: float | None = None) -> None:
        return None

    def shutdown(self, timeout_s: float | None = None) -> None:
        return None


def make_server(**options: Any) -> tuple[StatsigServer, Capture]:
    capture = Capture()
    server = StatsigServer(clock=lambda: 1_765_000_000.0, event_pipeline=capture)  # type: ignore[arg-type]
    details = server.initialize("secret-test", StatsigOptions(bootstrap_values=EXAMPLE, **options))
    assert details.init_success and details.source == "Bootstrap"
    return server, capture


def test_module_facade_is_drop_in() -> None:
    statsig.initialize("secret-test", StatsigOptions(bootstrap_values=EXAMPLE, local_mode=True))
    try:
        assert statsig.check_gate(STAFF, "new_checkout") is True
        assert statsig.get_config(STAFF, "checkout_copy").get("show_badge") is True
        assert statsig.get_experiment(BOB, "button_color").get("color") in ("blue", "green", "grey")
        assert statsig.get_layer(BOB, "checkout_layer").get("button_text") == "Pay now"
        assert statsig.check_gate_with_exposure_logging_disabled(STAFF, "internal_tools") is True
    finally:
        statsig.shutdown()
    assert not statsig.is_initialized()


def test_results_carry_rule_group_and_details() -> None:
    server, _ = make_server()
    gate = server.get_feature_gate(STAFF, "new_checkout", log_exposure=False)
    assert (gate.value, gate.rule_id, gate.name) == (True, "employees_first", "new_checkout")
    assert gate.evaluation_details is not None
    assert gate.evaluation_details.source is DataSource.BOOTSTRAP
    assert gate.evaluation_details.config_sync_time == 1764000000000
    experiment = server.get_experiment(BOB, "button_color", log_exposure=False)
    assert experiment.group_name == "Control" and experiment.is_user_in_experiment
    layer = server.get_layer(BOB, "checkout_layer", log_exposure=False)
    assert layer.allocated_experiment == "button_color" and layer.group_name == "Control"


def test_get_typed_returns_default_on_type_mismatch() -> None:
    server, _ = make_server()
    config = server.get_config(STAFF, "checkout_copy")
    assert config.get_typed("headline", "x") == "Checkout (staff)"
    assert config.get_typed("headline", 3) == 3
    assert config.get("missing", "fallback") == "fallback"


def test_layer_logs_one_exposure_per_parameter_read() -> None:
    server, capture = make_server()
    layer = server.get_layer(BOB, "checkout_layer")
    assert capture.events == []  # no exposure for a bare get_layer
    assert layer.get("color") == "blue"
    assert layer.get("button_text") == "Pay now"
    assert layer.get("not_a_param", 7) == 7
    params = [(e["metadata"]["parameterName"], e["metadata"]["isExplicitParameter"]) for e in capture.events]
    assert params == [("color", "true"), ("button_text", "false")]
    assert capture.events[0]["metadata"]["allocatedExperiment"] == "button_color"


def test_exposures_are_deduplicated_and_private_attributes_never_logged() -> None:
    server, capture = make_server()
    user = StatsigUser(user_id="dee", country="US", private_attributes={"secret": "s3"})
    server.check_gate(user, "new_checkout")
    server.check_gate(user, "new_checkout")
    assert len(capture.events) == 1
    assert "privateAttributes" not in capture.events[0]["user"]
    assert capture.events[0]["metadata"]["gate"] == "new_checkout"


def test_overrides_win_and_can_be_removed() -> None:
    server, _ = make_server()
    server.override_gate("new_checkout", False, user_id="alice")
    assert server.check_gate(STAFF, "new_checkout") is False
    assert server.get_feature_gate(STAFF, "new_checkout").rule_id == "override"
    server.remove_gate_override("new_checkout", user_id="alice")
    assert server.check_gate(STAFF, "new_checkout") is True
    server.override_config("checkout_copy", {"headline": "Forced"})
    assert server.get_config(BOB, "checkout_copy").value == {"headline": "Forced"}
    server.override_layer("checkout_layer", {"color": "red"})
    assert server.get_layer(BOB, "checkout_layer").get("color") == "red"
    server.remove_all_overrides()
    assert server.get_config(BOB, "checkout_copy").get("headline") == "Checkout"


def test_checks_never_raise() -> None:
    uninitialized = StatsigServer()
    gate = uninitialized.get_feature_gate(STAFF, "new_checkout")
    assert gate.value is False and gate.evaluation_details is not None
    assert gate.evaluation_details.source is DataSource.UNINITIALIZED
    assert uninitialized.get_config(STAFF, "checkout_copy").value == {}
    server, _ = make_server()
    assert server.check_gate("not a user", "new_checkout") is False  # type: ignore[arg-type]
    weird = StatsigUser(user_id=12, email=5, app_version=2.5, custom={"level": [1, 2]})  # type: ignore[arg-type]
    # core semantics (v2 payload): a top-level field is used only when it is a non-empty string
    assert server.check_gate(weird, "modern_app") is False
    unknown = server.get_feature_gate(STAFF, "no_such_gate")
    assert unknown.evaluation_details is not None
    assert unknown.evaluation_details.reason is EvaluationReason.unrecognized


def test_log_event_rejects_bad_events_at_call_time() -> None:
    server, capture = make_server()
    with pytest.raises(StatsigValueError):
        StatsigEvent(STAFF, "")
    with pytest.raises(StatsigValueError):
        StatsigEvent(STAFF, "purchase", value={"not": "allowed"})  # type: ignore[arg-type]
    server.log_event(StatsigEvent(STAFF, "purchase", value=9.99, metadata={"sku": "abc"}))
    assert capture.events[-1]["eventName"] == "purchase" and capture.events[-1]["value"] == 9.99


def test_client_initialize_response_hashes() -> None:
    server, _ = make_server()
    for algo in HashingAlgorithm:
        response = server.get_client_initialize_response(STAFF, hash=algo)
        assert response is not None and response["hash_used"] == algo.value
    plain = server.get_client_initialize_response(STAFF, hash=HashingAlgorithm.NONE)
    assert plain is not None and plain["feature_gates"]["new_checkout"]["value"] is True
    assert server.get_client_initialize_response(STAFF)["hash_used"] == "djb2"  # type: ignore[index]


def test_user_from_dict_reads_statsig_json() -> None:
    user = StatsigUser.from_dict({"userID": 7, "customIDs": {"stableID": 1}, "statsigEnvironment": {"tier": "dev"}})
    assert user.user_id == "7" and user.custom_ids == {"stableID": "1"}
    assert user.to_dict()["statsigEnvironment"] == {"tier": "dev"}
    with pytest.raises(StatsigValueError):
        StatsigUser.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]


def test_bad_payload_leaves_defaults_not_a_crash() -> None:
    server = StatsigServer()
    details = server.initialize("secret-test", StatsigOptions(bootstrap_values="{broken"))
    assert not details.init_success and details.error is not None
    assert server.check_gate(STAFF, "new_checkout") is False


def test_first_load_freezes_the_rules_out_of_the_collector_and_leaves_it_running() -> None:
    import gc

    from statsig_lite import loader

    gc.unfreeze()
    loader._freeze_pending = True  # as in a fresh process
    try:
        make_server()
        assert gc.get_freeze_count() > 0 and gc.isenabled()
        gc.unfreeze()
        make_server()  # later loads in the same process do not freeze again
        assert gc.get_freeze_count() == 0
        gc.disable()  # an application that manages the collector itself keeps it as it was
        make_server()
        assert not gc.isenabled()
        gc.enable()
        StatsigServer().initialize("secret-test", StatsigOptions(bootstrap_values="{broken"))
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_an_exposure_carries_the_user_as_it_was_at_the_check(statsig_api: FakeStatsigAPI) -> None:
    """Exposures are built at flush from what the check recorded: later changes to the user do not leak in."""
    server = StatsigServer()
    server.initialize("secret-test", StatsigOptions(bootstrap_values=EXAMPLE, api=statsig_api.url, id_lists=False))
    user = StatsigUser(user_id="carol", email="carol@example.com", custom={"plan": "pro"}, custom_ids={"org": "o1"})
    server.check_gate(user, "new_checkout")
    user.email = "changed@example.com"
    user.custom["plan"] = "free"  # type: ignore[index]
    user.custom_ids["org"] = "o2"  # type: ignore[index]
    server.check_gate(user, "new_checkout")  # a new exposure: the user changed
    assert server.flush(5.0).sent == 2
    first, second = [e["user"] for e in statsig_api.accepted_events()]
    assert (first["email"], first["custom"], first["customIDs"]) == (
        "carol@example.com",
        {"plan": "pro"},
        {"org": "o1"},
    )
    assert (second["email"], second["custom"], second["customIDs"]) == (
        "changed@example.com",
        {"plan": "free"},
        {"org": "o2"},
    )


def test_empty_custom_ids_still_dedupe_exposures() -> None:
    server, capture = make_server()
    user = StatsigUser(user_id="dave", custom_ids={})
    for _ in range(3):
        server.check_gate(user, "new_checkout")
    assert len(capture.events) == 1


def test_an_exposure_that_cannot_be_built_is_dropped_counted_and_the_rest_are_sent(
    statsig_api: FakeStatsigAPI,
) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    server = StatsigServer()
    server.initialize("secret-test", StatsigOptions(bootstrap_values=EXAMPLE, api=statsig_api.url, id_lists=False))
    server.check_gate(StatsigUser(user_id="erin"), "new_checkout")
    server.check_gate(StatsigUser(user_id="fay", email=Unprintable()), "new_checkout")  # type: ignore[arg-type]
    server.check_gate(StatsigUser(user_id="gus"), "new_checkout")
    result = server.flush(5.0)
    assert (result.sent, result.dropped) == (2, 1)
    assert [e["user"]["userID"] for e in statsig_api.accepted_events()] == ["erin", "gus"]
    assert server.flush(5.0).sent == 0  # nothing left behind to fail again


def test_initialize_after_shutdown_delivers_with_the_new_options(statsig_api: FakeStatsigAPI) -> None:
    """A local_mode client shut down and initialized again with an api sends its exposures there."""
    server = StatsigServer()
    server.initialize("secret-test", StatsigOptions(bootstrap_values=EXAMPLE, local_mode=True))
    server.check_gate(STAFF, "new_checkout")
    server.shutdown()
    server.initialize("secret-test", StatsigOptions(bootstrap_values=EXAMPLE, api=statsig_api.url, id_lists=False))
    server.check_gate(STAFF, "new_checkout")
    assert server.shutdown(5.0).sent == 1
    assert [e["eventName"] for e in statsig_api.accepted_events()] == ["statsig::gate_exposure"]
