"""moto server mode: clients bound to it, clean state per test, and a server that really stops."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.servers.moto_server import REGION, MotoServer


def test_clients_talk_to_the_loopback_server(
    aws_endpoint_url: str, s3_client: Any, dynamodb_client: Any, ssm_client: Any, secretsmanager_client: Any
) -> None:
    assert urlsplit(aws_endpoint_url).hostname == "127.0.0.1"
    for client in (s3_client, dynamodb_client, ssm_client, secretsmanager_client):
        assert client.meta.endpoint_url == aws_endpoint_url
        assert client.meta.region_name == REGION

    s3_client.create_bucket(Bucket="snapshots")
    s3_client.put_object(Bucket="snapshots", Key="dcs.json", Body=b"{}")
    assert s3_client.get_object(Bucket="snapshots", Key="dcs.json")["Body"].read() == b"{}"

    dynamodb_client.create_table(
        TableName="specs",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ssm_client.put_parameter(Name="/statsig/key", Value="secret-x", Type="SecureString")
    secretsmanager_client.create_secret(Name="statsig", SecretString="secret-y")

    assert ssm_client.get_parameter(Name="/statsig/key", WithDecryption=True)["Parameter"]["Value"] == "secret-x"
    assert secretsmanager_client.get_secret_value(SecretId="statsig")["SecretString"] == "secret-y"


def test_each_test_starts_with_empty_aws_state(
    s3_client: Any, dynamodb_client: Any, ssm_client: Any, secretsmanager_client: Any
) -> None:
    # Same names as the test above: nothing of it survived the reset.
    assert s3_client.list_buckets()["Buckets"] == []
    assert dynamodb_client.list_tables()["TableNames"] == []
    assert ssm_client.describe_parameters()["Parameters"] == []
    assert secretsmanager_client.list_secrets()["SecretList"] == []


def test_clients_do_not_read_host_credentials(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHOSTKEY")
    monkeypatch.setenv("AWS_PROFILE", "does-not-exist")  # would raise ProfileNotFound if it were read
    client = moto_server.s3_client()
    assert client._request_signer._credentials.access_key == "testing"


def test_server_stops_and_frees_its_port() -> None:
    with MotoServer() as moto:
        port = urlsplit(moto.endpoint_url).port
        assert port
        assert moto.s3_client().list_buckets()["Buckets"] == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1.0)
    with pytest.raises(RuntimeError, match="not running"):
        _ = moto.endpoint_url
