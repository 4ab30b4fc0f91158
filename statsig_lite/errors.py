"""The package's exceptions.

    StatsigLiteError
    ├── ConfigurationError (ValueError)      bad option or environment variable; names it
    ├── StatsigValueError (ValueError)       bad argument (legacy SDK name)
    ├── StatsigNameError (NameError)         legacy SDK name
    ├── StatsigRuntimeError (RuntimeError)   used before initialize (legacy SDK name)
    ├── StatsigTimeoutError (TimeoutError)   legacy SDK name
    ├── SpecError
    │   ├── SpecFormatError                  payload malformed; carries the JSON path
    │   └── SpecSourceError                  a source could not give a payload; carries source and why
    └── DeliveryError                        events could not be delivered
        └── SpillError                       ... nor kept in the spill store

Checks never raise: the check methods of StatsigServer turn failures into typed defaults.
"""

from __future__ import annotations


class StatsigLiteError(Exception):
    """Root of every error this package raises."""


class ConfigurationError(StatsigLiteError, ValueError):
    """An option or environment variable has a value we cannot use."""


class StatsigValueError(StatsigLiteError, ValueError):
    """A bad argument (kept under the legacy SDK's name)."""


class StatsigNameError(StatsigLiteError, NameError):
    """Kept under the legacy SDK's name."""


class StatsigRuntimeError(StatsigLiteError, RuntimeError):
    """The SDK was used in a state that does not allow the call."""


class SpecError(StatsigLiteError):
    """Spec payloads and where they come from."""


class SpecFormatError(SpecError, ValueError):
    """The payload is not a valid download_config_specs response."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


class SpecSourceError(SpecError):
    """A spec source could not produce a payload."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class DeliveryError(StatsigLiteError):
    """Events could not be delivered to Statsig."""


class SpillError(DeliveryError):
    """Undelivered events could not be written to the spill store."""


class StatsigTimeoutError(StatsigLiteError, TimeoutError):
    """Kept under the legacy SDK's name (initialize ran out of `overall_init_timeout`)."""
