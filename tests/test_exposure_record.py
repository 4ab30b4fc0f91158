"""A check's exposure record copies the user's custom and custom-ID objects: every shape
comes back as the check saw it, and a later change to the user does not reach the event."""

from __future__ import annotations

import copy
from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import pytest

from statsig_lite import StatsigUser
from statsig_lite.evaluator.evaluate import Evaluation
from statsig_lite.exposures import GATE_EXPOSURE, PendingExposure
from statsig_lite.store.snapshot import load_snapshot

SNAPSHOT = load_snapshot({"time": 1, "feature_gates": [], "dynamic_configs": [], "layer_configs": []})

SHAPES: list[Any] = [
    None, {}, {"a": 1}, {"a": 1, "b": [1, 2], "c": {"d": None}, "": ""}, OrderedDict([("x", 1), ("y", 2)]),
    MappingProxyType({"k": "v"}), "not a mapping", 7,
]
ID_SHAPES: list[Any] = [None, {}, {"stableID": "s"}, {"stableID": "s", "companyID": "c", "": ""}]


@pytest.mark.parametrize("custom", SHAPES, ids=repr)
@pytest.mark.parametrize("ids", ID_SHAPES, ids=repr)
def test_custom_and_ids_come_back_as_the_check_saw_them(custom: Any, ids: Any) -> None:
    if isinstance(custom, dict):  # a fresh one per case: the case mutates it
        custom = copy.copy(custom)
    user = StatsigUser(user_id="u", custom_ids=copy.copy(ids))
    user.custom = custom  # any shape: the record must not change what a check saw
    expected_custom = dict(custom) if isinstance(custom, (dict, OrderedDict, MappingProxyType)) else custom
    expected_ids = copy.copy(user.custom_ids)
    record = PendingExposure(GATE_EXPOSURE, "g", Evaluation(SNAPSHOT, user, None, 5), user, "Bootstrap", 5)
    if isinstance(custom, dict):
        custom["later"] = True  # changes after the check
    if user.custom_ids is not None:
        user.custom_ids["later"] = "x"
    logged = record.user
    assert logged[7] == expected_custom
    if isinstance(expected_custom, dict):
        assert type(logged[7]) is dict and list(logged[7].items()) == list(expected_custom.items())  # in order
    assert logged[8] == expected_ids
    assert not isinstance(custom, dict) or logged[7] is not custom  # copies, not the user's own objects
    assert logged[8] is None or logged[8] is not user.custom_ids
