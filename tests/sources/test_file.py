"""FileSource and BundledSource: where the file is found, its hash as version, cheap freshness checks."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pytest

from statsig_lite.errors import SpecSourceError
from statsig_lite.sources.bundled import BUNDLED_FILE_NAME, BundledSource, ExampleSource
from statsig_lite.sources.file import FileSource
from tests.sources.payloads import example_bytes, payload_bytes


def test_file_source_reads_the_file_with_its_sha256_as_version(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_bytes(payload_bytes(1))
    source = FileSource(path)
    fetched = source.fetch(1.0)
    assert fetched.payload == payload_bytes(1)
    assert fetched.version == hashlib.sha256(payload_bytes(1)).hexdigest()
    assert fetched.source == source.name == path.as_uri()


def test_unchanged_file_is_none_and_a_rewritten_one_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_bytes(payload_bytes(1))
    source = FileSource(str(path))
    first = source.fetch(1.0)
    assert source.fetch_if_changed(first.version, 1.0) is None

    path.write_bytes(payload_bytes(22))  # other size, so the stat differs whatever the mtime resolution
    second = source.fetch_if_changed(first.version, 1.0)
    assert second is not None and second.payload == payload_bytes(22)
    assert source.fetch_if_changed(second.version, 1.0) is None


def test_same_bytes_rewritten_count_as_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_bytes(payload_bytes(1))
    source = FileSource(path)
    version = source.fetch(1.0).version
    os.utime(path, ns=(1, 1))  # the stat changes, the hash does not
    assert source.fetch_if_changed(version, 1.0) is None


def test_a_version_from_elsewhere_gets_the_file(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_bytes(payload_bytes(1))
    fetched = FileSource(path).fetch_if_changed('"some-s3-etag"', 1.0)
    assert fetched is not None and fetched.payload == payload_bytes(1)


def test_gzip_file_is_decompressed_and_versioned_by_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json.gz"
    packed = gzip.compress(payload_bytes(1))
    path.write_bytes(packed)
    fetched = FileSource(path).fetch(1.0)
    assert fetched.payload == payload_bytes(1)
    assert fetched.version == hashlib.sha256(packed).hexdigest()


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "file not found"), (b"", "empty"), (b"\x1f\x8b\x08not really gzip", "corrupt gzip")],
)
def test_unreadable_file_raises_spec_source_error(tmp_path: Path, content: bytes | None, reason: str) -> None:
    path = tmp_path / "snapshot.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SpecSourceError, match=reason) as caught:
        FileSource(path).fetch(1.0)
    assert caught.value.source == path.as_uri()


def test_directory_is_not_a_snapshot(tmp_path: Path) -> None:
    with pytest.raises(SpecSourceError, match="directory"):
        FileSource(tmp_path).fetch(1.0)


@pytest.mark.parametrize("in_lambda", [True, False])
def test_bundled_without_a_snapshot_fails_and_never_reads_the_example(tmp_path: Path, in_lambda: bool) -> None:
    environ = {"LAMBDA_TASK_ROOT": str(tmp_path / "task")} if in_lambda else {}
    (tmp_path / "task").mkdir()
    source = BundledSource(environ=environ, cwd=tmp_path / "task" if in_lambda else tmp_path)
    for attempt in (lambda: source.fetch(1.0), lambda: source.fetch_if_changed(None, 1.0)):
        with pytest.raises(SpecSourceError) as caught:
            attempt()
        message = str(caught.value)
        assert "file not found" in message and BUNDLED_FILE_NAME in message and "no bundled snapshot" in message
        assert "example" not in message


def test_example_is_the_package_example_by_name_only(tmp_path: Path) -> None:
    source = ExampleSource()
    fetched = source.fetch(1.0)
    assert fetched.payload == example_bytes()
    assert fetched.version == hashlib.sha256(example_bytes()).hexdigest()
    assert source.name == "example"
    assert fetched.source.startswith("example:") and fetched.source.endswith("data/example_snapshot.json")
    assert source.fetch_if_changed(fetched.version, 1.0) is None


def test_bundled_prefers_the_lambda_task_root_file(tmp_path: Path) -> None:
    task_root, cwd = tmp_path / "task", tmp_path / "cwd"
    task_root.mkdir()
    cwd.mkdir()
    (task_root / BUNDLED_FILE_NAME).write_bytes(payload_bytes(1))
    (cwd / BUNDLED_FILE_NAME).write_bytes(payload_bytes(2))
    source = BundledSource(environ={"LAMBDA_TASK_ROOT": str(task_root)}, cwd=cwd)
    fetched = source.fetch(1.0)
    assert fetched.payload == payload_bytes(1)
    assert fetched.source == f"bundled:{task_root / BUNDLED_FILE_NAME}"
    assert source.location() == str(task_root / BUNDLED_FILE_NAME)


def test_bundled_uses_the_working_directory_file_outside_lambda(tmp_path: Path) -> None:
    (tmp_path / BUNDLED_FILE_NAME).write_bytes(payload_bytes(2))
    assert BundledSource(environ={}, cwd=tmp_path).fetch(1.0).payload == payload_bytes(2)
    # in Lambda only the task root counts
    with pytest.raises(SpecSourceError, match="file not found"):
        BundledSource(environ={"LAMBDA_TASK_ROOT": str(tmp_path / "empty")}, cwd=tmp_path).fetch(1.0)


def test_bundled_reads_the_lambda_task_root_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / BUNDLED_FILE_NAME).write_bytes(payload_bytes(3))
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    assert BundledSource(cwd=tmp_path / "elsewhere").fetch(1.0).payload == payload_bytes(3)


def test_bundled_explicit_path_wins(tmp_path: Path) -> None:
    (tmp_path / BUNDLED_FILE_NAME).write_bytes(payload_bytes(1))
    explicit = tmp_path / "mine.json"
    explicit.write_bytes(payload_bytes(4))
    assert BundledSource(explicit, cwd=tmp_path, environ={}).fetch(1.0).payload == payload_bytes(4)


def test_bundled_building_reads_nothing(tmp_path: Path) -> None:
    source = BundledSource(tmp_path / "missing.json")  # no error until the first fetch
    with pytest.raises(SpecSourceError, match="file not found"):
        source.fetch(1.0)


def test_a_gzip_bomb_stops_at_the_size_bound(tmp_path: Path) -> None:
    from statsig_lite.store.validate import MAX_SNAPSHOT_BYTES

    path = tmp_path / "bomb.json.gz"
    path.write_bytes(gzip.compress(b" " * (MAX_SNAPSHOT_BYTES + 10)))  # ~65 KB that would unzip to 64 MB
    with pytest.raises(SpecSourceError, match="unzips to more than"):
        FileSource(path).fetch(1.0)
    path.write_bytes(gzip.compress(b'{"time": 1}') + gzip.compress(b" "))  # two members, as gzip(1) allows
    assert FileSource(path).fetch(1.0).payload == b'{"time": 1} '
    path.write_bytes(gzip.compress(b'{"time": 1}')[:-4])
    with pytest.raises(SpecSourceError, match="truncated"):
        FileSource(path).fetch(1.0)
