"""store.validate on its own: the rules, their bounds, and that an absurd held snapshot pins nothing."""

from __future__ import annotations

import pytest

from statsig_lite.store.validate import (
    MAX_FUTURE_SKEW_MS,
    SHRINK_TOLERANCE,
    SnapshotRefused,
    Summary,
    allow_shrink_from,
    check_replacement,
)

NOW = 1_800_000_000_000


def _code(new: Summary, held: Summary | None, **kwargs: bool) -> str | None:
    try:
        check_replacement(new, held, NOW, **kwargs)
    except SnapshotRefused as exc:
        return exc.code
    return None


def test_future_time_is_refused_beyond_the_skew_only() -> None:
    assert _code(Summary(NOW + MAX_FUTURE_SKEW_MS, 1, 1, 1), None) is None
    assert _code(Summary(NOW + MAX_FUTURE_SKEW_MS + 1, 1, 1, 1), None) == "future_time"


def test_older_than_held_is_refused_equal_is_not() -> None:
    held = Summary(NOW - 10, 5, 5, 5)
    assert _code(Summary(NOW - 11, 5, 5, 5), held) == "older"
    assert _code(Summary(NOW - 10, 5, 5, 5), held) is None


def test_an_absurd_held_snapshot_pins_nothing() -> None:
    absurd = Summary(10**15, 500, 500, 500)
    assert _code(Summary(NOW - 10_000, 1, 0, 0), absurd) is None  # older and smaller, yet it replaces it


@pytest.mark.parametrize(
    ("before", "after", "code"),
    [
        (1, 0, "collapse"),  # a section emptied
        (100, 0, "collapse"),
        (100, 49, "collapse"),  # more than halved, by more than the tolerance
        (100, 50, None),
        (2 * SHRINK_TOLERANCE, SHRINK_TOLERANCE, None),  # halved, but no more than the tolerance lost
        (2 * SHRINK_TOLERANCE + 2, SHRINK_TOLERANCE, "collapse"),
        (0, 0, None),
        (3, 300, None),
    ],
)
def test_collapse(before: int, after: int, code: str | None) -> None:
    held = Summary(NOW - 10, before, 5, 5)
    assert _code(Summary(NOW, after, 5, 5), held) == code
    assert _code(Summary(NOW, 5, after, 5), Summary(NOW - 10, 5, before, 5)) == code
    assert _code(Summary(NOW, after, 5, 5), held, allow_shrink=True) is None


def test_the_switch_reads_true_words_only() -> None:
    assert allow_shrink_from({"STATSIG_ALLOW_SNAPSHOT_SHRINK": "true"})
    assert allow_shrink_from({"STATSIG_ALLOW_SNAPSHOT_SHRINK": " 1 "})
    assert not allow_shrink_from({"STATSIG_ALLOW_SNAPSHOT_SHRINK": "false"})
    assert not allow_shrink_from({})
