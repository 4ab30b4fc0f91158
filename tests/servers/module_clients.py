"""Fixtures that reuse one boto3 client per test module and service (building one takes ~0.1-0.3 s).

They override the suite's ``s3_client`` / ``dynamodb_client`` by name where a conftest imports them: each
test still gets an emptied moto (through ``aws_endpoint_url``); only the client object is reused.
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
