"""A refresher role whose s3:ListBucket is limited to the snapshot key (as template.yaml grants it) gets 403,
not NoSuchKey, for a snapshot that does not exist yet: the first run must still write it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from statsig_lite.refresher.targets import ABSENT, S3Target, TargetError

BUCKET, KEY = "snapshots", "statsig/snapshot.json"


def _client() -> Any:
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _target(stub_setup: Any) -> S3Target:
    client = _client()
    stubber = Stubber(client)
    stub_setup(stubber)
    stubber.activate()
    return S3Target(BUCKET, KEY, client)


def _denied(stubber: Stubber) -> None:
    stubber.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)


def test_403_for_a_key_that_is_not_listed_reads_as_absent() -> None:
    def setup(stubber: Stubber) -> None:
        _denied(stubber)
        stubber.add_response("list_objects_v2", {"KeyCount": 1, "Contents": [{"Key": KEY + ".old"}]},
                             {"Bucket": BUCKET, "Prefix": KEY, "MaxKeys": 1})

    assert _target(setup).read(1.0) is ABSENT


def test_403_for_a_key_that_exists_is_access_denied() -> None:
    def setup(stubber: Stubber) -> None:
        _denied(stubber)
        stubber.add_response("list_objects_v2", {"KeyCount": 1, "Contents": [{"Key": KEY}]},
                             {"Bucket": BUCKET, "Prefix": KEY, "MaxKeys": 1})

    with pytest.raises(TargetError, match="access denied"):
        _target(setup).read(1.0)


def test_403_when_listing_is_denied_too_is_access_denied() -> None:
    def setup(stubber: Stubber) -> None:
        _denied(stubber)
        stubber.add_client_error("list_objects_v2", service_error_code="AccessDenied", http_status_code=403)

    with pytest.raises(TargetError, match="access denied"):
        _target(setup).read(1.0)
