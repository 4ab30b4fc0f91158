"""ChainSource: ordered fallback (S3 -> bundled on moto), which source served, and winning back; checks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from statsig_lite.errors import SpecFormatError, SpecSourceError
from statsig_lite.sources.base import Fetched
from statsig_lite.sources.bundled import BUNDLED_FILE_NAME, BundledSource
from statsig_lite.sources.chain import ChainSource, check_fetched, load_fetched
from statsig_lite.sources.http import HttpSource
from statsig_lite.sources.s3 import S3Source
from tests.servers.statsig_api import FakeStatsigAPI, delay
from tests.sources.payloads import envelope_bytes, example_bytes, payload_bytes

BUCKET, KEY = "statsig-specs", "snapshot.json"


class Recording:
    """Wraps a source and records the calls the chain makes (a plain SpecSource, no library patched)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[str] = []

    def fetch(self, timeout_s: float) -> Fetched:
        self.calls.append("fetch")
        fetched: Fetched = self.inner.fetch(timeout_s)
        return fetched

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        self.calls.append("fetch_if_changed")
        fetched: Fetched | None = self.inner.fetch_if_changed(version, timeout_s)
        return fetched


def _chain(s3_client: Any, tmp_path: Path, **kwargs: Any) -> tuple[ChainSource, Recording, Recording]:
    s3 = Recording(S3Source(BUCKET, KEY, boto3_client=s3_client))
    (tmp_path / BUNDLED_FILE_NAME).write_bytes(example_bytes())  # the function's own snapshot
    bundled = Recording(BundledSource(environ={}, cwd=tmp_path))
    return ChainSource([s3, bundled], **kwargs), s3, bundled


def test_falls_back_to_bundled_and_wins_back_once_s3_is_there(s3_client: Any, tmp_path: Path) -> None:
    chain, s3, bundled = _chain(s3_client, tmp_path)
    assert chain.name == f"s3://{BUCKET}/{KEY},bundled"

    first = chain.fetch(2.0)  # no bucket yet
    assert chain.served_by is bundled
    assert first.payload == example_bytes() and first.source.startswith("bundled:")
    [error] = chain.last_errors
    assert error.source == s3.name and "bucket does not exist" in error.reason

    # Still missing: the check asks S3 first, then the bundled file says "unchanged".
    assert chain.fetch_if_changed(first.version, 2.0) is None
    assert chain.served_by is bundled
    assert s3.calls == ["fetch", "fetch"] and bundled.calls == ["fetch", "fetch_if_changed"]

    s3_client.create_bucket(Bucket=BUCKET)
    s3_client.put_object(Bucket=BUCKET, Key=KEY, Body=envelope_bytes(2))
    back = chain.fetch_if_changed(first.version, 2.0)
    assert back is not None and back.payload == envelope_bytes(2) and back.source == s3.name
    assert chain.served_by is s3 and chain.last_errors == ()

    # S3 serves now: checks go to it alone, conditionally.
    s3.calls.clear()
    bundled.calls.clear()
    assert chain.fetch_if_changed(back.version, 2.0) is None
    assert s3.calls == ["fetch_if_changed"] and bundled.calls == []


def test_failure_of_the_serving_source_is_raised_not_hidden(s3_client: Any, tmp_path: Path) -> None:
    s3_client.create_bucket(Bucket=BUCKET)
    s3_client.put_object(Bucket=BUCKET, Key=KEY, Body=payload_bytes(1))
    chain, s3, bundled = _chain(s3_client, tmp_path)
    version = chain.fetch(2.0).version
    s3_client.delete_object(Bucket=BUCKET, Key=KEY)
    with pytest.raises(SpecSourceError, match="no such key"):
        chain.fetch_if_changed(version, 2.0)
    assert bundled.calls == [] and chain.served_by is s3


def test_every_source_failing_names_each(s3_client: Any, tmp_path: Path) -> None:
    chain = ChainSource(
        [S3Source("missing-bucket", KEY, boto3_client=s3_client), BundledSource(tmp_path / "none.json")]
    )
    with pytest.raises(SpecSourceError) as caught:
        chain.fetch(2.0)
    message = str(caught.value)
    assert "every source failed" in message
    assert "s3://missing-bucket/snapshot.json: bucket does not exist" in message
    assert "file not found" in message
    assert chain.served_by is None and len(chain.last_errors) == 2


def test_validate_skips_an_unusable_payload(s3_client: Any, tmp_path: Path) -> None:
    s3_client.create_bucket(Bucket=BUCKET)
    s3_client.put_object(Bucket=BUCKET, Key=KEY, Body=payload_bytes(1)[:100])  # a truncated upload
    chain, _, bundled = _chain(s3_client, tmp_path, validate=check_fetched)
    assert chain.fetch(2.0).payload == example_bytes()
    assert chain.served_by is bundled
    assert "unusable snapshot" in chain.last_errors[0].reason


def test_a_hanging_source_leaves_time_for_the_fallback(statsig_api: FakeStatsigAPI, tmp_path: Path) -> None:
    statsig_api.set_specs(payload_bytes(1), "v1")
    statsig_api.inject("dcs", delay(5))
    (tmp_path / BUNDLED_FILE_NAME).write_bytes(example_bytes())
    bundled = BundledSource(environ={}, cwd=tmp_path)
    chain = ChainSource([HttpSource(statsig_api.url, "secret-chain"), bundled])
    started = time.monotonic()
    assert chain.fetch(1.0).payload == example_bytes()
    assert time.monotonic() - started < 0.9  # the API got half the budget
    assert chain.served_by is bundled and "timed out" in chain.last_errors[0].reason


def test_needs_a_source() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ChainSource([])


def test_check_and_load_fetched_accept_envelopes_and_raw_payloads() -> None:
    for payload in (envelope_bytes(5), payload_bytes(5)):
        fetched = Fetched(payload=payload, version="v", source="test")
        check_fetched(fetched)
        assert load_fetched(fetched).time == 5


@pytest.mark.parametrize(
    ("payload", "path"),
    [(b"{not json", ""), (b'{"feature_gates": []}', "time"), (b'{"has_updates": false}', "has_updates")],
)
def test_check_fetched_rejects_unusable_payloads(payload: bytes, path: str) -> None:
    with pytest.raises(SpecFormatError) as caught:
        check_fetched(Fetched(payload=payload, version="v", source="test"))
    assert caught.value.path == path
