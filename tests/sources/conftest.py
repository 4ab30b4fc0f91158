"""Source tests share one boto3 client per module and service (building one takes ~0.1-0.3 s).

These override the suite's ``s3_client`` / ``dynamodb_client`` by name: each test still gets an emptied moto
(through ``aws_endpoint_url``); only the client object is reused. Tests that hook a client's events
(``tests.sources.aws.SentRequests``) unregister their hooks when they finish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.servers.moto_server import MotoServer


@pytest.fixture(scope="module")
def _module_s3_client(moto_server: MotoServer) -> Any:
    return moto_server.s3_client()


@pytest.fixture(scope="module")
def _module_dynamodb_client(moto_server: MotoServer) -> Any:
    return moto_server.dynamodb_client()


@pytest.fixture
def s3_client(aws_endpoint_url: str, _module_s3_client: Any) -> Any:
    return _module_s3_client


@pytest.fixture
def dynamodb_client(aws_endpoint_url: str, _module_dynamodb_client: Any) -> Any:
    return _module_dynamodb_client
