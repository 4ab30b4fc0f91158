"""Evaluation instances keep their attributes in the class's shared keys (CPython 3.11/3.12 inline values), not
in a dict of their own: evaluate._share_attribute_keys picks the names at import. Left to chance, GCIR's and
layer checks' evaluations each built a dict (issue 16)."""

from __future__ import annotations

import gc
import sys

import pytest

from statsig_lite.evaluator import evaluate
from statsig_lite.evaluator.evaluate import Evaluation

pytestmark = pytest.mark.skipif(
    sys.implementation.name != "cpython" or sys.version_info[:2] not in ((3, 11), (3, 12)),
    reason="the shared-keys room rule is CPython 3.11/3.12's",
)


def _has_own_dict(obj: object) -> bool:
    # an instance with inline values reports its values to the collector; one that built a dict reports the dict
    return any(type(r) is dict and "snapshot" in r for r in gc.get_referents(obj))


def _fresh() -> Evaluation:
    ev = object.__new__(Evaluation)
    ev.snapshot = None  # type: ignore[assignment]
    return ev


def test_many_instances_later_every_hot_name_still_shares() -> None:
    # what shrinks the room is the number of instances made: make many, as a process does after import
    crowd = [_fresh() for _ in range(200)]
    del crowd
    for name in evaluate._ATTRIBUTE_KEYS[:29]:
        ev = _fresh()
        setattr(ev, name, 1)
        assert not _has_own_dict(ev), f"{name} is not among Evaluation's shared attribute keys"


def test_a_gcir_and_a_layer_evaluation_set_all_their_names_without_a_dict() -> None:
    ev = _fresh()
    for name in ("user", "reason", "spec", "value", "json_value", "rule_id", "nested_gates",
                 "allocated_experiment", "explicit_parameters", "undelegated", "forward_all_exposures", "_now"):
        setattr(ev, name, 1)
    assert not _has_own_dict(ev)


def test_the_detector_sees_a_dict_when_one_is_built() -> None:
    ev = _fresh()
    ev.__dict__  # noqa: B018  (reading __dict__ builds the instance's own dict)
    assert _has_own_dict(ev)


def test_every_name_an_evaluation_sets_is_listed() -> None:
    # a new field written on instances must be placed in _ATTRIBUTE_KEYS (by how often checks write it)
    fields = {name for name, value in vars(Evaluation).items()
              if not name.startswith("__") and not callable(value) and not isinstance(value, property)}
    assert fields - {"_now", "_clock_ms"} <= set(evaluate._ATTRIBUTE_KEYS)
    assert len(set(evaluate._ATTRIBUTE_KEYS)) == len(evaluate._ATTRIBUTE_KEYS)
