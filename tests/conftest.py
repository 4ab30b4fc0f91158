"""Fixtures shared by the whole suite: a clean environment and real loopback servers.

- ``clean_environ`` (autouse): no ``STATSIG_*`` / ``AWS_*`` variable is visible to a test (except
  ``STATSIG_CONFORMANCE_DIR``); whatever a test sets under those prefixes is undone afterwards.
- ``statsig_api``: a fresh ``FakeStatsigAPI`` per test.
- ``moto_server``: one moto server for the session; ``aws_endpoint_url`` resets it and returns its URL;
  ``s3_client``, ``dynamodb_client``, ``ssm_client``, ``secretsmanager_client`` build on that, so every
  test starts with empty AWS state.
- ``conformance_root``: the conformance suites folder (``conformance_dir()`` for collection time).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not put the repo on sys.path
    sys.path.insert(0, str(REPO_ROOT))

from tests.servers.statsig_api import FakeStatsigAPI  # noqa: E402

if TYPE_CHECKING:  # moto and boto3 are imported only when a test asks for them
    from tests.servers.moto_server import MotoServer

CLEANED_PREFIXES = ("STATSIG_", "AWS_")
KEPT_VARIABLES = frozenset({"STATSIG_CONFORMANCE_DIR"})

# Read once at import, before any test could change the environment.
CONFORMANCE_DIR = Path(
    os.environ.get("STATSIG_CONFORMANCE_DIR") or (REPO_ROOT / ".." / "shared" / "conformance")
).resolve()


def conformance_dir() -> Path:
    """``$STATSIG_CONFORMANCE_DIR`` as it was when the session started, else ``<repo>/../shared/conformance``."""
    return CONFORMANCE_DIR


def _cleaned(name: str) -> bool:
    return name.startswith(CLEANED_PREFIXES) and name not in KEPT_VARIABLES


@pytest.fixture(autouse=True)
def clean_environ() -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if _cleaned(k)}
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        for name in [k for k in os.environ if _cleaned(k)]:
            del os.environ[name]
        os.environ.update(saved)


@pytest.fixture(scope="session")
def conformance_root() -> Path:
    return conformance_dir()


@pytest.fixture
def statsig_api() -> Iterator[FakeStatsigAPI]:
    api = FakeStatsigAPI()
    api.start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    from tests.servers.moto_server import MotoServer

    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws_endpoint_url(moto_server: MotoServer) -> str:
    """The moto endpoint, with every backend emptied for this test."""
    moto_server.reset()
    return moto_server.endpoint_url


@pytest.fixture
def s3_client(moto_server: MotoServer, aws_endpoint_url: str) -> Any:
    return moto_server.s3_client()


@pytest.fixture
def dynamodb_client(moto_server: MotoServer, aws_endpoint_url: str) -> Any:
    return moto_server.dynamodb_client()


@pytest.fixture
def ssm_client(moto_server: MotoServer, aws_endpoint_url: str) -> Any:
    return moto_server.ssm_client()


@pytest.fixture
def secretsmanager_client(moto_server: MotoServer, aws_endpoint_url: str) -> Any:
    return moto_server.secretsmanager_client()
