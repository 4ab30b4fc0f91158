"""Helpers for the S3 and DynamoDB source tests: record what a boto3 client sent, and a closed port."""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Any


class SentRequests:
    """Every request a boto3 client sends for ``operation``, through botocore's public event hooks.

    Use as a context manager: the hooks are removed on exit (the clients are shared within a module).
    """

    def __init__(self, client: Any, service: str, operation: str) -> None:
        self.params: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._events = client.meta.events
        self._hooks = (
            (f"before-parameter-build.{service}.{operation}", self._on_params),
            (f"before-send.{service}.{operation}", self._on_send),
        )

    def __enter__(self) -> SentRequests:
        for event, handler in self._hooks:
            self._events.register(event, handler, unique_id=f"{event}-{id(self)}")
        return self

    def __exit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        for event, handler in self._hooks:
            self._events.unregister(event, handler, unique_id=f"{event}-{id(self)}")

    def _on_params(self, params: dict[str, Any], **_: Any) -> None:
        self.params.append(dict(params))

    def _on_send(self, request: Any, **_: Any) -> None:
        self.headers.append({k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()})

    def __len__(self) -> int:
        return len(self.headers)


def closed_port_url() -> str:
    """http://127.0.0.1:<port> where nothing listens (the port was bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def create_snapshot_table(client: Any, name: str) -> None:
    """The table of decisions.md: string partition key ``pk`` and string sort key ``sk``."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
