"""Compact ID lists hold exactly what the file format says, in either representation."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statsig_lite.evaluator.hashing import id_list_hash
from statsig_lite.store import id_lists
from statsig_lite.store.id_lists import IdSet, apply_file, compact_ids
from statsig_lite.store.model import IdList

_CANONICAL = [id_list_hash(f"user-{i}") for i in range(12)]
_ODD = ["short", "not base64!", "AAAAAAA=", "é-ümlaut", "AAAAAAAAAAAA", "abc\tdef"]
_IDS = st.sampled_from(_CANONICAL + _ODD)


def _reference(current: set[str], chunk: bytes) -> set[str]:
    """The format as the original implementation read it: strip the line, then `+`/`-` and the rest."""
    ids = set(current)
    for line in chunk.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if len(line) <= 1:
            continue
        if line[0] == "+":
            ids.add(line[1:])
        elif line[0] == "-":
            ids.discard(line[1:])
    return ids


@pytest.mark.parametrize("compact_from", [0, 20_000])
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(chunks=st.lists(st.lists(st.tuples(st.sampled_from("+-"), _IDS, st.sampled_from(["\n", "\r\n"])),
                                min_size=1, max_size=12), min_size=1, max_size=4))
def test_applying_files_gives_the_formats_set(compact_from: int, chunks: list[list[Any]]) -> None:
    saved = id_lists.COMPACT_FROM
    id_lists.COMPACT_FROM = compact_from
    try:
        held = IdList(name="l", ids=frozenset())
        expected: set[str] = set()
        for lines in chunks:
            chunk = "".join(f"{sign}{ident}{end}" for sign, ident, end in lines).encode()
            updated = apply_file(held, chunk)
            assert updated is not None
            held, expected = updated, _reference(expected, chunk)
            assert set(held.ids) == expected
            assert len(held.ids) == len(expected)
            for ident in _CANONICAL + _ODD:
                assert (ident in held.ids) == (ident in expected)
            assert isinstance(held.ids, IdSet) == (compact_from == 0)
    finally:
        id_lists.COMPACT_FROM = saved


def test_an_id_set_answers_membership_for_anything() -> None:
    built = compact_ids([*_CANONICAL[:5], "odd"])
    assert isinstance(built, frozenset)  # small: a frozenset
    saved = id_lists.COMPACT_FROM
    id_lists.COMPACT_FROM = 0
    try:
        ids = compact_ids([*_CANONICAL[:5], "odd"])
    finally:
        id_lists.COMPACT_FROM = saved
    assert isinstance(ids, IdSet)
    assert all(i in ids for i in _CANONICAL[:5]) and "odd" in ids
    assert not any(i in ids for i in _CANONICAL[5:])
    for other in (None, 5, b"AAAAAAAA", ["x"], "", "x" * 8, base64.b64encode(b"\0" * 6).decode()):
        assert other not in ids
    assert sorted(ids) == sorted([*_CANONICAL[:5], "odd"])
    assert ids == frozenset([*_CANONICAL[:5], "odd"])  # a Set: equal to the same frozenset


def test_a_file_that_is_not_an_id_list_keeps_what_was_held() -> None:
    held = IdList(name="l", ids=frozenset({"a"}))
    assert apply_file(held, b"<html>") is None
    assert apply_file(held, b"") is None
