"""Point boto3's default session (what the handler and Powertools parameters use) at moto."""

from __future__ import annotations

import pytest

from tests.servers.moto_server import DUMMY_CREDENTIALS, REGION


def use_moto(monkeypatch: pytest.MonkeyPatch, endpoint_url: str) -> None:
    """Default-session clients go to ``endpoint_url`` with dummy credentials; no config file is read.

    ``clean_environ`` removes these AWS_* variables again after the test."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DUMMY_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
