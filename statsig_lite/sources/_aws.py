"""Lazy boto3 helpers for the S3 and DynamoDB spec sources (boto3 is an optional extra).

Nothing here imports boto3 or botocore at module import: each function does, on first use. A botocore
client fixes its timeouts when it is built, so `ClientCache` keeps one client per timeout step (floored to
the steps below, so a client never waits longer than the caller's budget) and reuses it; in practice a
function uses one or two steps (the first fetch and the freshness checks).
"""

from __future__ import annotations

from typing import Any

from ..constants import CONNECT_TIMEOUT_S

__all__ = ["ClientCache", "aws_errors", "describe", "error_code", "http_status"]

# Read-timeout steps (seconds). A budget below the first step uses the first step.
_TIMEOUT_STEPS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0)
# One attempt: a failed check is retried by the next check (or served by a fallback source), and a retry
# inside the call could take up to twice the caller's budget.
_MAX_ATTEMPTS = 1


def timeout_step(timeout_s: float) -> float:
    """The largest step not above `timeout_s` (the smallest step for tiny budgets)."""
    chosen = _TIMEOUT_STEPS[0]
    for step in _TIMEOUT_STEPS:
        if step <= timeout_s:
            chosen = step
    return chosen


class ClientCache:
    """boto3 clients for one service: the injected one, else one per timeout step from `session`."""

    def __init__(self, service: str, client: Any = None, session: Any = None) -> None:
        self._service = service
        self._injected = client
        self._session = session
        self._by_step: dict[float, Any] = {}

    def get(self, timeout_s: float) -> Any:
        """A client whose connect/read timeouts fit in `timeout_s` (an injected client is returned as is)."""
        if self._injected is not None:
            return self._injected
        step = timeout_step(timeout_s)
        client = self._by_step.get(step)
        if client is None:
            if self._session is None:
                import boto3

                self._session = boto3.session.Session()  # one per source: building one loads data files
            client = self._by_step[step] = _new_client(self._service, self._session, step)
        return client


def _new_client(service: str, session: Any, read_timeout_s: float) -> Any:
    from botocore.config import Config

    config = Config(
        connect_timeout=min(CONNECT_TIMEOUT_S, read_timeout_s),
        read_timeout=read_timeout_s,
        retries={"total_max_attempts": _MAX_ATTEMPTS, "mode": "standard"},
    )
    return session.client(service, config=config)


def aws_errors() -> tuple[type[Exception], ...]:
    """The exceptions a botocore call (or reading its streamed body) raises."""
    import urllib3
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, urllib3.exceptions.HTTPError)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ("NoSuchKey", "304", ...), or "" for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        if isinstance(error, dict):
            return str(error.get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a ClientError, or None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        meta = response.get("ResponseMetadata")
        if isinstance(meta, dict) and isinstance(meta.get("HTTPStatusCode"), int):
            return int(meta["HTTPStatusCode"])
    return None


def describe(exc: BaseException, known: dict[str, str] | None = None) -> str:
    """A short reason for a botocore error: a plain phrase for known codes, else the code and message."""
    code = error_code(exc)
    if code and known and code in known:
        return f"{known[code]} ({code})"
    if code:
        response = getattr(exc, "response", {})
        message = response.get("Error", {}).get("Message", "") if isinstance(response, dict) else ""
        return f"{code}: {message}" if message else code
    return f"{type(exc).__name__}: {exc}"
