"""DirSpillStore on a real temporary directory."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from statsig_lite.errors import SpillError
from statsig_lite.sinks import DirSpillStore, open_spill_store
from statsig_lite.sinks.base import SpillFormatError, SpillRef
from tests.sinks.wire_events import make_events, make_record, record_events


def test_record_round_trips_with_batch_ids_and_events(tmp_path: Path) -> None:
    store = DirSpillStore(tmp_path / "spill")
    record = make_record(250, batch_size=100)
    store.write(record)
    [ref] = store.list()
    assert (ref.created_at_ms, ref.spill_id) == (record.created_at_ms, record.spill_id)
    back = store.read(ref)
    assert back is not None
    assert [b.batch_id for b in back.batches] == [b.batch_id for b in record.batches]
    assert [len(b) for b in back.batches] == [100, 100, 50]
    assert record_events(back) == make_events(250)
    assert [b.body for b in back.batches] == [b.body for b in record.batches]
    store.delete(ref)
    assert store.list() == []
    store.delete(ref)  # already gone: not an error
    assert store.read(ref) is None


def test_list_is_oldest_first_and_ignores_foreign_files(tmp_path: Path) -> None:
    store = DirSpillStore(tmp_path)
    for created in (3_000, 1_000, 2_000):
        store.write(make_record(3, created_at_ms=1_700_000_000_000 + created))
    (tmp_path / "notes.txt").write_text("not a record")
    (tmp_path / ".tmp-leftover").write_bytes(b"half")
    assert [r.created_at_ms - 1_700_000_000_000 for r in store.list()] == [1_000, 2_000, 3_000]


def test_files_are_private_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    store = DirSpillStore(tmp_path)
    store.write(make_record(5))
    [entry] = list(tmp_path.iterdir())
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert entry.name.endswith(".json.gz") and not entry.name.startswith(".tmp-")


def test_missing_directory_lists_empty_and_is_created_on_write(tmp_path: Path) -> None:
    store = DirSpillStore(tmp_path / "a" / "b")
    assert store.list() == []
    store.write(make_record(1))
    assert len(store.list()) == 1


def test_corrupt_record_raises_spill_format_error(tmp_path: Path) -> None:
    store = DirSpillStore(tmp_path)
    record = make_record(2)
    store.write(record)
    [ref] = store.list()
    (tmp_path / ref.key).write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(SpillFormatError, match=ref.key):
        store.read(ref)


def test_write_into_a_file_path_raises_spill_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = DirSpillStore(blocker)
    with pytest.raises(SpillError) as raised:
        store.write(make_record(1))
    assert isinstance(raised.value.__cause__, OSError)
    with pytest.raises(SpillError):
        store.read(
            SpillRef(
                key="0000000000001-00000000-0000-0000-0000-000000000000.json.gz",
                created_at_ms=1,
                spill_id="00000000-0000-0000-0000-000000000000",
            )
        )


def test_file_target_opens_a_dir_store(tmp_path: Path) -> None:
    store = open_spill_store(f"file://{tmp_path}/spill")
    assert isinstance(store, DirSpillStore)
    assert store.description == f"file://{tmp_path}/spill"
