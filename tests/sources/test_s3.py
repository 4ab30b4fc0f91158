"""S3Source against moto's server over a real socket: GetObject, conditional checks, errors."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from statsig_lite.errors import SpecSourceError
from statsig_lite.sources._aws import ClientCache
from statsig_lite.sources.s3 import S3Source
from tests.servers.moto_server import MotoServer, make_client
from tests.sources.aws import SentRequests, closed_port_url
from tests.sources.payloads import envelope_bytes, payload_bytes

BUCKET, KEY = "statsig-specs", "prod/snapshot.json"


@pytest.fixture
def bucket(s3_client: Any) -> str:
    s3_client.create_bucket(Bucket=BUCKET)
    return BUCKET


def test_fetch_returns_the_object_and_its_etag(bucket: str, s3_client: Any) -> None:
    etag = s3_client.put_object(Bucket=bucket, Key=KEY, Body=envelope_bytes(1))["ETag"]
    source = S3Source(bucket, KEY, boto3_client=s3_client)
    fetched = source.fetch(2.0)
    assert fetched.payload == envelope_bytes(1)
    assert fetched.version == etag
    assert fetched.source == source.name == f"s3://{BUCKET}/{KEY}"


def test_unchanged_object_is_one_conditional_request_and_none(bucket: str, s3_client: Any) -> None:
    s3_client.put_object(Bucket=bucket, Key=KEY, Body=payload_bytes(1))
    source = S3Source(bucket, KEY, boto3_client=s3_client)
    version = source.fetch(2.0).version
    with SentRequests(s3_client, "s3", "GetObject") as sent:
        assert source.fetch_if_changed(version, 2.0) is None
    assert len(sent) == 1
    assert sent.headers[0]["if-none-match"] == version
    assert sent.params[0]["IfNoneMatch"] == version


def test_changed_object_is_picked_up(bucket: str, s3_client: Any) -> None:
    s3_client.put_object(Bucket=bucket, Key=KEY, Body=payload_bytes(1))
    source = S3Source(bucket, KEY, boto3_client=s3_client)
    old = source.fetch(2.0)
    new_etag = s3_client.put_object(Bucket=bucket, Key=KEY, Body=payload_bytes(2))["ETag"]

    fetched = source.fetch_if_changed(old.version, 2.0)
    assert fetched is not None
    assert fetched.payload == payload_bytes(2) and fetched.version == new_etag != old.version
    assert source.fetch_if_changed(fetched.version, 2.0) is None


def test_gzip_object_is_decompressed(bucket: str, s3_client: Any) -> None:
    s3_client.put_object(Bucket=bucket, Key=KEY, Body=gzip.compress(payload_bytes(1)), ContentEncoding="gzip")
    assert S3Source(bucket, KEY, boto3_client=s3_client).fetch(2.0).payload == payload_bytes(1)


def test_missing_bucket_raises_spec_source_error(s3_client: Any) -> None:
    with pytest.raises(SpecSourceError, match="bucket does not exist") as caught:
        S3Source("no-such-bucket", KEY, boto3_client=s3_client).fetch(2.0)
    assert caught.value.source == f"s3://no-such-bucket/{KEY}"
    assert type(caught.value.__cause__).__name__ == "NoSuchBucket"


def test_missing_key_raises_spec_source_error_on_checks_too(bucket: str, s3_client: Any) -> None:
    source = S3Source(bucket, "missing.json", boto3_client=s3_client)
    with pytest.raises(SpecSourceError, match="no such key"):
        source.fetch(2.0)
    with pytest.raises(SpecSourceError, match="no such key"):
        source.fetch_if_changed('"an-old-etag"', 2.0)


def test_empty_object_is_an_error(bucket: str, s3_client: Any) -> None:
    s3_client.put_object(Bucket=bucket, Key=KEY, Body=b"")
    with pytest.raises(SpecSourceError, match="empty"):
        S3Source(bucket, KEY, boto3_client=s3_client).fetch(2.0)


def test_unreachable_endpoint_raises_spec_source_error() -> None:
    client = make_client("s3", closed_port_url(), connect_timeout=0.5, retries={"total_max_attempts": 1})
    with pytest.raises(SpecSourceError, match=r"EndpointConnectionError|ConnectTimeout"):
        S3Source(BUCKET, KEY, boto3_client=client).fetch(1.0)


def test_own_client_is_built_from_the_session_with_budget_timeouts(
    moto_server: MotoServer, aws_endpoint_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, "/dev/null")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint_url)
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    moto_server.s3_client().create_bucket(Bucket=BUCKET)
    moto_server.s3_client().put_object(Bucket=BUCKET, Key=KEY, Body=payload_bytes(5))

    assert S3Source(BUCKET, KEY, boto3_session=session).fetch(0.8).payload == payload_bytes(5)

    clients = ClientCache("s3", session=session)
    quick, slow = clients.get(0.8), clients.get(2.5)
    assert quick.meta.config.read_timeout == 0.5 and quick.meta.config.connect_timeout == 0.5
    assert slow.meta.config.read_timeout == 2.0 and slow.meta.config.connect_timeout == 1.0
    assert quick.meta.config.retries["total_max_attempts"] == 1
    assert clients.get(0.9) is quick  # one client per timeout step, reused
