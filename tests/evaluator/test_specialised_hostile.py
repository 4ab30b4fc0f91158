"""The specialised field getters and membership tests (issue 16) against their general form, on hostile users:
str subclasses (with their own equality and hash), equal values of different types (True, 1, 1.0), NaN, huge
ints, nested values, non-string and look-alike keys, custom objects that are not dicts, field names whose case
folding changes their length, and values whose comparison raises. The answer, or the exception, must be the
general form's (tests/evaluator/test_specialised.py keeps that form)."""

from __future__ import annotations

import random
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from statsig_lite.evaluator import operators as ops
from statsig_lite.evaluator import user_fields as uf
from statsig_lite.user import StatsigUser
from tests.evaluator.folded import Folded
from tests.evaluator.test_specialised import reference_core_membership, reference_field


class Sub(str):
    """A plain str subclass."""



class Touchy:
    """A value whose comparison with anything raises."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing")

    __hash__ = object.__hash__


class OnlyItems(Mapping[str, Any]):
    """A Mapping that is not a dict (get and `in` through __getitem__)."""

    def __init__(self, data: dict[Any, Any]) -> None:
        self._data = data

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


NAN = float("nan")
VALUES: list[Any] = [None, "", Sub(""), "us", Sub("US"), Folded("Us"), 0, 1, True, False, 1.0, 0.0, NAN, 1e308,
                     10**400, -(2**63), ["us", 1], {"us": True}, (), b"us", Touchy()]
FIELDS = ["plan", "Plan", "PLAN", "country", "Country", "email", "userID", "user_id", "UserId", "appVersion",
          "app_version", "ipAddress", "ß", "SS", "ss", "İd", "i̇d", "ǅ", "Σ", "\u03c3", "1", "True", "None", ""]
KEYS: list[Any] = ["plan", "Plan", "PLAN", Sub("plan"), Folded("PLAN"), "country", "Country", "ss", "SS", "ß",
                   "i̇d", "ǆ", "\u03c3", "\u03c2", 1, True, None, 1.0, ("plan",), "user_id", "userid", "email", "", "1"]
CUSTOM_SHAPES = ["dict", "dict_sub", "ordered", "proxy", "default", "only_items", "none", "list", "text"]


class DictSub(dict):  # type: ignore[type-arg]
    pass


def _shape(rng: random.Random, data: dict[Any, Any]) -> Any:
    shape = rng.choice(CUSTOM_SHAPES)
    if shape == "dict":
        return data
    if shape == "dict_sub":
        return DictSub(data)
    if shape == "ordered":
        return OrderedDict(data)
    if shape == "proxy":
        return MappingProxyType(data)
    if shape == "default":
        return defaultdict(lambda: "made up", data)
    if shape == "only_items":
        return OnlyItems(data)
    if shape == "none":
        return None
    return list(data) if shape == "list" else "plan"


def _users(seed: int, count: int) -> list[StatsigUser]:
    rng = random.Random(seed)
    users = []
    for _ in range(count):
        custom = {rng.choice(KEYS): rng.choice(VALUES) for _ in range(rng.randint(0, 6))}
        private = {rng.choice(KEYS): rng.choice(VALUES) for _ in range(rng.randint(0, 3))}
        user = StatsigUser(user_id=rng.choice([None, "u", Sub("u"), Folded("U")]), custom=_shape(rng, custom),
                           private_attributes=_shape(rng, private) if rng.random() < 0.6 else None)
        for attr in ("email", "country", "app_version", "ip", "user_agent", "locale"):
            if rng.random() < 0.4:
                setattr(user, attr, rng.choice(VALUES))  # reassigned after construction: no str() applied
        users.append(user)
    return users


class _Ctx:
    def __init__(self, user: StatsigUser) -> None:
        self.user = user


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        value = fn(*args)
    except Exception as exc:  # the same exception as the general form, or none where it has none
        return ("raises", type(exc))
    # NaN is not equal to itself: compare it by identity of kind; keep the value's type (True is not 1)
    if isinstance(value, float) and value != value:
        return ("nan", float)
    return ("value", (type(value), value))


GLOBALS: list[Any] = [None, {}, {"plan": Sub(""), "PLAN": "gp", "ss": None, "country": NAN, 1: "x"},
                      MappingProxyType({"Plan": True, "ß": ""})]


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "core"])
@pytest.mark.parametrize("global_custom", GLOBALS, ids=["none", "empty", "dict", "proxy"])
def test_specialised_getters_answer_hostile_users_as_the_general_form(legacy: bool, global_custom: Any) -> None:
    users = _users(7 if legacy else 8, 400)
    for field in FIELDS:
        get = uf.field_getter(field, legacy, global_custom)
        for user in users:
            want = _outcome(reference_field, user, field, legacy, global_custom)
            got = _outcome(get, _Ctx(user))
            assert got == want, (field, repr(user.custom), repr(user.private_attributes))


MEMBER_TARGETS: list[Any] = [["us", "DE", 1, 2.0, None, True, "ß", "İ"], {"us": 1, "De": 2, 1: 3}, "us", None, [],
                             [Sub("US"), "nan", "1e308"]]


@pytest.mark.parametrize("op", ["any", "none", "any_case_sensitive", "none_case_sensitive"])
def test_specialised_core_membership_answers_hostile_values_as_the_general_form(op: str) -> None:
    case_sensitive, negate = op.endswith("case_sensitive"), op.startswith("none")
    for target in MEMBER_TARGETS:
        pred = ops.CORE[op](target)
        for value in [*VALUES, "US", "de", "SS", "i̇", "1", "true", "nan", "1e308"]:
            want = _outcome(reference_core_membership, target, value, case_sensitive, negate)
            assert _outcome(pred, value) == want, (target, value)
