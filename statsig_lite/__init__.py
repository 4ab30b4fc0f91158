"""statsig_lite: a serverless-first, Statsig-compatible server SDK for AWS Lambda.

Drop-in for the legacy `statsig` package: `from statsig_lite import statsig, StatsigUser, StatsigOptions`.
"""

from __future__ import annotations

from ._gc import PausedCollector

# Importing the package allocates thousands of long-lived objects and no garbage: no collection scans them
with PausedCollector():
    from . import statsig
    from .details import HashingAlgorithm, InitializeDetails
    from .errors import (
        ConfigurationError,
        DeliveryError,
        SpecError,
        SpecFormatError,
        SpecSourceError,
        SpillError,
        StatsigLiteError,
        StatsigNameError,
        StatsigRuntimeError,
        StatsigTimeoutError,
        StatsigValueError,
    )
    from .options import ProxyConfig, StatsigEnvironmentTier, StatsigOptions
    from .output_logger import LogLevel, OutputLogger
    from .results import DataSource, DynamicConfig, EvaluationDetails, EvaluationReason, FeatureGate, FlushResult, Layer
    from .server import StatsigServer
    from .user import StatsigEvent, StatsigUser
    from .version import __version__

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

    from .interface_data_store import IDataStore
    from .interface_network import NetworkEndpoint, NetworkProtocol

__all__ = [
    "ConfigurationError",
    "DataSource",
    "DeliveryError",
    "DynamicConfig",
    "EvaluationDetails",
    "EvaluationReason",
    "FeatureGate",
    "FlushResult",
    "HashingAlgorithm",
    "IDataStore",
    "InitializeDetails",
    "Layer",
    "LogLevel",
    "NetworkEndpoint",
    "NetworkProtocol",
    "OutputLogger",
    "ProxyConfig",
    "SpecError",
    "SpecFormatError",
    "SpecSourceError",
    "SpillError",
    "StatsigEnvironmentTier",
    "StatsigEvent",
    "StatsigLiteError",
    "StatsigNameError",
    "StatsigOptions",
    "StatsigRuntimeError",
    "StatsigServer",
    "StatsigTimeoutError",
    "StatsigUser",
    "StatsigValueError",
    "__version__",
    "statsig",
    "statsig_handler",
]


def __getattr__(name: str) -> Any:
    # loaded when first asked for: the Lambda decorator (not needed by a plain client), the data store
    # interface and the network enums (only the drop-in surface names them; not on any call's path)
    if name == "statsig_handler":
        from .lambda_handler import statsig_handler

        return statsig_handler
    if name in ("NetworkEndpoint", "NetworkProtocol"):
        from . import interface_network

        return getattr(interface_network, name)
    if name == "IDataStore":
        from .interface_data_store import IDataStore

        return IDataStore
    raise AttributeError(f"module 'statsig_lite' has no attribute {name!r}")
