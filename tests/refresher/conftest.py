"""Refresher tests: the loopback Statsig API, moto (S3 + DynamoDB) and the refresher wired to both.

One boto3 client per module and service (tests/servers/module_clients.py); each test still starts from an
emptied moto (``aws_endpoint_url``) with the bucket and table created.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.refresher.helpers import BUCKET, TABLE, create_stores
from tests.servers.module_clients import _module_dynamodb_client, _module_s3_client, dynamodb_client, s3_client
from tests.servers.statsig_api import FakeStatsigAPI

if TYPE_CHECKING:
    from tests.servers.moto_server import MotoServer


@pytest.fixture
def stores(s3_client: Any, dynamodb_client: Any) -> tuple[Any, Any]:
    """(s3_client, dynamodb_client) with the bucket and table created."""
    create_stores(s3_client, dynamodb_client)
    return s3_client, dynamodb_client


@pytest.fixture
def api(statsig_api: FakeStatsigAPI) -> FakeStatsigAPI:
    """The fake Statsig API with an empty ID-list manifest (what Statsig serves for a project without lists)."""
    statsig_api.set_id_lists({})
    return statsig_api


@pytest.fixture
def reset_stores(moto_server: MotoServer, s3_client: Any, dynamodb_client: Any) -> Callable[[], None]:
    """Empty moto and recreate the bucket and table (for tests that run several scenarios)."""

    def reset() -> None:
        moto_server.reset()
        create_stores(s3_client, dynamodb_client)

    return reset


__all__ = [
    "BUCKET", "TABLE", "_module_dynamodb_client", "_module_s3_client", "dynamodb_client", "s3_client",
]
