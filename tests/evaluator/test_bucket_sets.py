"""user_bucket any/none hold their targets as the bits of one int: the same answers as the general operators
for every bucket a unit can land in (0..999), in both dialects."""

from __future__ import annotations

import sys

import pytest

from statsig_lite.evaluator import operators as ops

TARGETS = [
    [],
    [0, 1, 999],
    list(range(0, 1000, 7)),
    ["5", "017", " 8", "9.0", 10.0, 11, True, None, "1e2", "٣"],  # texts that are / are not a bucket's digits
    [1000, -1, 2**70, 42],
    [True, False, 2],  # booleans among ints: their text is "true"/"false", never bucket 1 or 0
    {"3": 1, "4": 2},  # core reads an object's keys
]


@pytest.mark.parametrize("target", TARGETS, ids=range(len(TARGETS)))
@pytest.mark.parametrize("negate", [False, True])
def test_core_bucket_mask_matches_core_membership(target: object, negate: bool) -> None:
    compact = ops.core_bucket_any(target, negate)
    general = ops.CORE["none" if negate else "any"](target)
    assert [compact(b) for b in range(ops.BUCKETS)] == [general(b) for b in range(ops.BUCKETS)]


@pytest.mark.parametrize("target", [[0, 1, 999], list(range(0, 1000, 7)), ["5", 6, 7.9], [1000, -1, 42], "123"])
@pytest.mark.parametrize("negate", [False, True])
def test_legacy_bucket_mask_matches_int_set(target: object, negate: bool) -> None:
    pred = ops.legacy_bucket_any(target, negate)
    members = frozenset(map(int, target))  # type: ignore[call-overload]
    for value in [*range(-2, 1002), 2**70, True, "5", None]:
        found = isinstance(value, int) and value in members
        assert pred(value) == (found != negate), value


def test_bucket_mask_is_compact() -> None:
    mask, others = ops.bucket_mask(range(0, 1000, 2))
    assert others == frozenset()
    assert sys.getsizeof(mask) < 200 < sys.getsizeof(frozenset(range(0, 1000, 2))) // 50
