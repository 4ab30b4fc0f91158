"""Lazy boto3/botocore helpers shared by the S3 and DynamoDB spill stores (boto3 is an optional extra)."""

from __future__ import annotations

from typing import Any

__all__ = ["aws_errors", "error_code", "new_client"]

# Spill I/O runs at the end of an invocation, close to its deadline: fail fast rather than wait.
_CONNECT_TIMEOUT_S = 1.0
_READ_TIMEOUT_S = 3.0
_MAX_ATTEMPTS = 2


def new_client(service: str, session: Any = None) -> Any:
    """A boto3 client with short timeouts, from ``session`` (a boto3.Session) or the default session."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=_CONNECT_TIMEOUT_S,
        read_timeout=_READ_TIMEOUT_S,
        retries={"max_attempts": _MAX_ATTEMPTS, "mode": "standard"},
    )
    return (session or boto3).client(service, config=config)


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
