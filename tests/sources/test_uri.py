"""parse_spec_source: every STATSIG_SPEC_SOURCE form, fallback lists, and ConfigurationError for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from statsig_lite import constants as c
from statsig_lite.errors import ConfigurationError
from statsig_lite.sources.bundled import BundledSource
from statsig_lite.sources.chain import ChainSource
from statsig_lite.sources.dynamodb import DynamoDBSource
from statsig_lite.sources.file import FileSource
from statsig_lite.sources.http import HttpSource
from statsig_lite.sources.s3 import S3Source
from statsig_lite.sources.uri import parse_spec_source

SECRET = "secret-uri-test"


def test_bundled() -> None:
    assert isinstance(parse_spec_source("bundled"), BundledSource)
    assert isinstance(parse_spec_source("  Bundled "), BundledSource)


def test_file(tmp_path: Path) -> None:
    source = parse_spec_source(f"file://{tmp_path}/my%20snapshot.json")
    assert isinstance(source, FileSource)
    assert source.path == tmp_path / "my snapshot.json"
    assert isinstance(parse_spec_source("file://localhost/var/task/s.json"), FileSource)


def test_s3() -> None:
    source = parse_spec_source("s3://my-bucket.prod/specs/prod/snapshot.json")
    assert isinstance(source, S3Source)
    assert (source.bucket, source.key) == ("my-bucket.prod", "specs/prod/snapshot.json")
    assert source.name == "s3://my-bucket.prod/specs/prod/snapshot.json"


def test_dynamodb() -> None:
    source = parse_spec_source("dynamodb://Statsig_Specs/prod/v2")
    assert isinstance(source, DynamoDBSource)
    assert (source.table, source.key) == ("Statsig_Specs", "prod/v2")


def test_statsig_uses_the_api_base_or_the_v1_cdn() -> None:
    default = parse_spec_source("statsig", secret_key=SECRET)
    assert isinstance(default, HttpSource) and default.name == f"{c.DEFAULT_CDN_V1}download_config_specs"
    custom = parse_spec_source("statsig", secret_key=SECRET, api_base="http://127.0.0.1:9/v1/")
    assert custom.name == "http://127.0.0.1:9/v1/download_config_specs"


def test_https_url() -> None:
    source = parse_spec_source("https://api.statsigcdn.com/v2/", secret_key=SECRET)
    assert isinstance(source, HttpSource) and source.name == "https://api.statsigcdn.com/v2/download_config_specs"


def test_comma_separated_is_a_chain_in_order() -> None:
    source = parse_spec_source("s3://bucket/key.json , dynamodb://table/prod, statsig,bundled", secret_key=SECRET)
    assert isinstance(source, ChainSource)
    assert [type(s) for s in source.sources] == [S3Source, DynamoDBSource, HttpSource, BundledSource]


def test_boto3_session_reaches_the_aws_sources() -> None:
    session = object()  # never used: building a source does no I/O
    chain = parse_spec_source("s3://bucket/key,dynamodb://table/key", boto3_session=session)
    assert isinstance(chain, ChainSource)
    s3, ddb = chain.sources
    assert isinstance(s3, S3Source) and isinstance(ddb, DynamoDBSource)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("s3://bucket/key,", "empty entry"),
        ("nonsense", "not a spec source"),
        ("/var/task/snapshot.json", "use file:///var/task/snapshot.json"),
        ("file://relative/path.json", "absolute"),
        ("file:///", "absolute"),
        ("s3://bucket", "s3://bucket/key"),
        ("s3://bucket/", "s3://bucket/key"),
        ("s3://Bad_Bucket/key", "not an S3 bucket name"),
        ("s3://bucket/key?versionId=1", "no query"),
        ("dynamodb://table", "dynamodb://table/key"),
        ("dynamodb://t/key", "not a DynamoDB table name"),
        ("statsig", "server secret"),
        ("https://api.statsigcdn.com/v1/", "server secret"),
        ("https:///v1/", "no host"),
        ("ftp://host/file", "not a spec source"),
    ],
)
def test_bad_values_raise_configuration_error_naming_variable_and_value(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_spec_source(value)
    message = str(caught.value)
    assert message.startswith(f"{c.ENV_SPEC_SOURCE}={value!r}")
    assert problem in message
