"""Lazy boto3 helpers for the spill stores: one client per timeout step, so each call's connect + read
timeouts fit in the time its flush has left; botocore's own retries are off. An injected client is used as is.
"""

from __future__ import annotations

from typing import Any

from ..errors import SpillError
from .base import Deadline

__all__ = ["AwsClients", "aws_errors", "error_code"]

_STEPS_S = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0)  # connect and read timeout choices; 3 s when there is no deadline
_OVERHEAD_S = 0.02  # request signing and Python around the socket waits


class AwsClients:
    """Clients of one AWS service, one per timeout step, or one injected client."""

    def __init__(self, service: str, *, client: Any = None, session: Any = None, endpoint_url: str | None = None):
        self._service = service
        self._fixed = client
        self._session = session
        self._endpoint_url = endpoint_url
        self._by_step: dict[float, Any] = {}

    def for_call(self, deadline: Deadline | None, what: str) -> Any:
        """A client whose timeouts end the call before ``deadline``; SpillError if no step fits."""
        left = deadline.check(what) if deadline is not None else 2 * _STEPS_S[-1] + _OVERHEAD_S
        if self._fixed is not None:
            return self._fixed
        fitting = [s for s in _STEPS_S if 2 * s + _OVERHEAD_S <= left]
        if not fitting:
            raise SpillError(f"{what}: out of time ({left * 1000:.0f} ms left)")
        step = fitting[-1]
        client = self._by_step.get(step)
        if client is None:
            client = self._by_step[step] = self._new(step)
        return client

    def _new(self, timeout_s: float) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"total_max_attempts": 1})
        return (self._session or boto3).client(self._service, config=config, endpoint_url=self._endpoint_url)


def aws_errors() -> tuple[type[Exception], ...]:
    """The botocore exceptions a client call raises, to translate into SpillError."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ("NoSuchKey", ...), or "" for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        if isinstance(error, dict):
            return str(error.get("Code", ""))
    return ""
