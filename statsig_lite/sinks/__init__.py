"""Where events go: Statsig's log_event endpoint, and the spill stores that keep what could not be sent.

Only this package talks to the network or AWS for events, and only it catches urllib3 and botocore
exceptions, which it turns into ``DeliveryError`` / ``SpillError``. Nothing here imports urllib3 or boto3
until it is used.
"""

from __future__ import annotations

from .. import constants as c
from ..errors import ConfigurationError
from .base import EventSink, SendError, SpillRecord, SpillRef, SpillStore
from .statsig_http import StatsigHTTPSink

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

    from .spill_dir import DirSpillStore
    from .spill_dynamodb import DynamoDBSpillStore
    from .spill_s3 import S3SpillStore

_LAZY = {"DirSpillStore": "spill_dir", "DynamoDBSpillStore": "spill_dynamodb", "S3SpillStore": "spill_s3"}


def __getattr__(name: str) -> Any:
    # spill stores load when a spill target names them: a cold start without one pays for none
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DirSpillStore",
    "DynamoDBSpillStore",
    "EventSink",
    "S3SpillStore",
    "SendError",
    "SpillRecord",
    "SpillRef",
    "SpillStore",
    "StatsigHTTPSink",
    "open_spill_store",
]


def open_spill_store(
    target: str,
    *,
    retention_s: float = c.DEFAULT_SPILL_RETENTION_SECONDS,
    s3_client: Any = None,
    dynamodb_client: Any = None,
    boto3_session: Any = None,
) -> SpillStore:
    """The store a ``spill_target`` names: ``file:///dir``, ``s3://bucket/prefix``, ``dynamodb://table``.

    Makes no connection and imports no AWS library. Raises ConfigurationError naming STATSIG_SPILL_TARGET.
    """
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(target.strip())
    scheme = parts.scheme.lower()
    if scheme == "file" and parts.netloc in ("", "localhost") and parts.path not in ("", "/"):
        from .spill_dir import DirSpillStore

        return DirSpillStore(unquote(parts.path))
    if scheme == "s3" and parts.netloc:
        from .spill_s3 import S3SpillStore

        return S3SpillStore(parts.netloc, parts.path.strip("/"), client=s3_client, session=boto3_session)
    if scheme == "dynamodb" and parts.netloc:
        from .spill_dynamodb import DynamoDBSpillStore

        return DynamoDBSpillStore(
            parts.netloc,
            parts.path.strip("/") or "statsig_lite",
            retention_s=retention_s,
            client=dynamodb_client,
            session=boto3_session,
        )
    raise ConfigurationError(
        f"{c.ENV_SPILL_TARGET}={target!r} is not a spill target "
        "(use file:///dir, s3://bucket/prefix or dynamodb://table)"
    )
