"""Module-level facade over one shared StatsigServer, as in the legacy `statsig` SDK.

`from statsig_lite import statsig; statsig.initialize(...); statsig.check_gate(user, "gate")`.
Building the shared instance does no work (nothing happens at import time).
"""

from __future__ import annotations

from collections.abc import Mapping

from .details import HashingAlgorithm, InitializeDetails
from .options import StatsigOptions
from .results import DynamicConfig, FeatureGate, FlushResult, Layer
from .server import StatsigServer
from .user import StatsigEvent, StatsigUser

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

_instance = StatsigServer()


def get_instance() -> StatsigServer:
    return _instance


def initialize(secret_key: str, options: StatsigOptions | None = None) -> InitializeDetails:
    return _instance.initialize(secret_key, options)


def is_initialized() -> bool:
    return _instance.is_initialized()


def check_gate(user: StatsigUser, gate: str, log_exposure: bool = True) -> bool:
    return _instance.check_gate(user, gate, log_exposure)


def get_feature_gate(user: StatsigUser, gate: str, log_exposure: bool = True) -> FeatureGate:
    return _instance.get_feature_gate(user, gate, log_exposure)


def check_gate_with_exposure_logging_disabled(user: StatsigUser, gate: str) -> bool:
    return _instance.check_gate(user, gate, False)


def manually_log_gate_exposure(user: StatsigUser, gate: str) -> None:
    _instance.manually_log_gate_exposure(user, gate)


def get_config(user: StatsigUser, config: str, log_exposure: bool = True) -> DynamicConfig:
    return _instance.get_config(user, config, log_exposure)


def get_config_with_exposure_logging_disabled(user: StatsigUser, config: str) -> DynamicConfig:
    return _instance.get_config(user, config, log_exposure=False)


def manually_log_config_exposure(user: StatsigUser, config: str) -> None:
    _instance.manually_log_config_exposure(user, config)


def get_experiment(user: StatsigUser, experiment: str, log_exposure: bool = True) -> DynamicConfig:
    return _instance.get_experiment(user, experiment, log_exposure)


def get_experiment_with_exposure_logging_disabled(user: StatsigUser, experiment: str) -> DynamicConfig:
    return _instance.get_experiment(user, experiment, log_exposure=False)


def manually_log_experiment_exposure(user: StatsigUser, experiment: str) -> None:
    _instance.manually_log_experiment_exposure(user, experiment)


def get_layer(user: StatsigUser, layer: str, log_exposure: bool = True) -> Layer:
    return _instance.get_layer(user, layer, log_exposure)


def get_layer_with_exposure_logging_disabled(user: StatsigUser, layer: str) -> Layer:
    return _instance.get_layer(user, layer, log_exposure=False)


def manually_log_layer_parameter_exposure(user: StatsigUser, layer: str, parameter: str) -> None:
    _instance.manually_log_layer_parameter_exposure(user, layer, parameter)


def log_event(event: StatsigEvent) -> None:
    _instance.log_event(event)


def get_client_initialize_response(
    user: StatsigUser,
    client_sdk_key: str | None = None,
    hash: HashingAlgorithm | str | None = None,
    include_local_overrides: bool = False,
    target_app_id: str | None = None,
) -> dict[str, Any] | None:
    return _instance.get_client_initialize_response(user, client_sdk_key, hash, include_local_overrides, target_app_id)


def get_client_initialize_response_json(
    user: StatsigUser,
    client_sdk_key: str | None = None,
    hash: HashingAlgorithm | str | None = None,
    include_local_overrides: bool = False,
    target_app_id: str | None = None,
) -> str | None:
    return _instance.get_client_initialize_response_json(
        user, client_sdk_key, hash, include_local_overrides, target_app_id
    )


def override_gate(gate: str, value: bool, user_id: str | None = None) -> None:
    _instance.override_gate(gate, value, user_id)


def override_config(config: str, value: Mapping[str, Any], user_id: str | None = None) -> None:
    _instance.override_config(config, value, user_id)


def override_experiment(experiment: str, value: Mapping[str, Any], user_id: str | None = None) -> None:
    _instance.override_experiment(experiment, value, user_id)


def override_layer(layer: str, value: Mapping[str, Any], user_id: str | None = None) -> None:
    _instance.override_layer(layer, value, user_id)


def remove_gate_override(gate: str, user_id: str | None = None) -> None:
    _instance.remove_gate_override(gate, user_id)


def remove_config_override(config: str, user_id: str | None = None) -> None:
    _instance.remove_config_override(config, user_id)


def remove_experiment_override(experiment: str, user_id: str | None = None) -> None:
    _instance.remove_experiment_override(experiment, user_id)


def remove_layer_override(layer: str, user_id: str | None = None) -> None:
    _instance.remove_layer_override(layer, user_id)


def remove_all_overrides() -> None:
    _instance.remove_all_overrides()


def evaluate_all(user: StatsigUser) -> dict[str, Any]:
    return _instance.evaluate_all(user)


def get_experiment_groups(experiment: str) -> dict[str, Any]:
    return _instance.get_experiment_groups(experiment)


def log_exposure_for_config(config_value: DynamicConfig) -> None:
    _instance.log_exposure_for_config(config_value)


def pause_polling_dcs() -> None:
    _instance.pause_polling_dcs()


def start_polling_dcs() -> None:
    _instance.start_polling_dcs()


def flush(timeout: float | None = None) -> FlushResult:
    return _instance.flush(timeout)


def shutdown(timeout: float | None = None) -> FlushResult:
    return _instance.shutdown(timeout)
