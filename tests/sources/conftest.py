"""Source tests share one boto3 client per module and service (see tests/servers/module_clients.py).

Tests that hook a client's events (``tests.sources.aws.SentRequests``) unregister their hooks when they finish.
"""

from __future__ import annotations

from tests.servers.module_clients import _module_dynamodb_client, _module_s3_client, dynamodb_client, s3_client

__all__ = ["_module_dynamodb_client", "_module_s3_client", "dynamodb_client", "s3_client"]
