"""RefresherConfig from the environment: targets, format, API base, and the secret (Secrets Manager on moto)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from statsig_lite.errors import ConfigurationError
from statsig_lite.refresher.config import RefresherConfig, TargetSpec, dcs_base, parse_targets
from tests.refresher.aws_env import use_moto


@pytest.fixture
def fresh_parameter_cache() -> Iterator[None]:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    yield
    parameters.clear_caches()  # the providers hold clients bound to this test's moto endpoint


def test_targets_use_the_spec_source_syntax() -> None:
    assert parse_targets(" s3://my-bucket/snapshots/prod.json , dynamodb://statsig-specs/prod ") == (
        TargetSpec("s3", "my-bucket", "snapshots/prod.json"),
        TargetSpec("dynamodb", "statsig-specs", "prod"),
    )
    assert parse_targets("s3://my-bucket/k")[0].uri == "s3://my-bucket/k"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "no target"),
        ("s3://my-bucket/k,", "empty entry"),
        ("s3://My_Bucket/k", "not an S3 bucket name"),
        ("dynamodb://statsig-specs", "dynamodb://table/key"),
        ("file:///tmp/snapshot.json", "writes only"),
        ("bundled", "writes only"),
        ("https://api.statsigcdn.com/v2/", "the SDK can read"),  # no secret given to the parser
        ("s3://my-bucket/k,s3://my-bucket/k", "listed twice"),
    ],
)
def test_bad_targets_name_the_variable(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match="STATSIG_SNAPSHOT_TARGETS") as caught:
        parse_targets(value)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("api_url", "fmt", "expected"),
    [
        (None, "v2", "https://api.statsigcdn.com/v2/"),
        (None, "v1", "https://api.statsigcdn.com/v1/"),
        ("https://proxy.example/v1/", "v2", "https://proxy.example/v2/"),
        ("https://proxy.example/v2", "v1", "https://proxy.example/v1/"),
        ("https://proxy.example/statsig/", "v2", "https://proxy.example/statsig/"),
    ],
)
def test_dcs_base_follows_the_format(api_url: str | None, fmt: Any, expected: str) -> None:
    assert dcs_base(api_url, fmt) == expected


def test_from_env_defaults_and_overrides() -> None:
    env = {"STATSIG_SERVER_SECRET": "secret-x", "STATSIG_SNAPSHOT_TARGETS": "s3://my-bucket/k"}
    config = RefresherConfig.from_env(env)
    assert (config.dcs_format, config.dcs_base, config.id_lists_base) == (
        "v2", "https://api.statsigcdn.com/v2/", "https://statsigapi.net/v1/")
    assert "secret-x" not in repr(config)
    env |= {"STATSIG_DCS_FORMAT": "V1", "STATSIG_API_URL": "http://127.0.0.1:9/v1"}
    config = RefresherConfig.from_env(env)
    assert (config.dcs_format, config.dcs_base, config.id_lists_base) == (
        "v1", "http://127.0.0.1:9/v1/", "http://127.0.0.1:9/v1/")


def test_from_env_refuses_a_missing_secret_target_or_format() -> None:
    with pytest.raises(ConfigurationError, match="STATSIG_SECRET_NAME"):
        RefresherConfig.from_env({"STATSIG_SNAPSHOT_TARGETS": "s3://my-bucket/k"})
    with pytest.raises(ConfigurationError, match="STATSIG_SNAPSHOT_TARGETS"):
        RefresherConfig.from_env({"STATSIG_SERVER_SECRET": "secret-x"})
    with pytest.raises(ConfigurationError, match="STATSIG_DCS_FORMAT='v3'"):
        RefresherConfig.from_env({"STATSIG_SERVER_SECRET": "s", "STATSIG_SNAPSHOT_TARGETS": "s3://b-1/k",
                                  "STATSIG_DCS_FORMAT": "v3"})
    assert RefresherConfig.from_env({"STATSIG_SERVER_SECRET": "s"}, require_targets=False).targets == ()


def test_secret_from_secrets_manager(
    secretsmanager_client: Any,
    aws_endpoint_url: str,
    monkeypatch: pytest.MonkeyPatch,
    fresh_parameter_cache: None,
) -> None:
    use_moto(monkeypatch, aws_endpoint_url)
    secretsmanager_client.create_secret(Name="statsig/refresher-sm", SecretString="secret-from-sm")
    config = RefresherConfig.from_env(
        {"STATSIG_SECRET_NAME": "secretsmanager:statsig/refresher-sm", "STATSIG_SNAPSHOT_TARGETS": "s3://b-1/k"}
    )
    assert config.secret_key == "secret-from-sm"
