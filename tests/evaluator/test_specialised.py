"""Field getters and membership tests are specialised when a condition compiles (issue 16: which closure
depends on the field name, the dialect, case and negation). Each specialised form must answer exactly as the
one general form did: that form is written here as the reference, and both meet a grid of users."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest

from statsig_lite.evaluator import operators as ops
from statsig_lite.evaluator import user_fields as uf
from statsig_lite.user import StatsigUser

_MISSING = object()
_TOP = {"userid": "user_id", "email": "email", "ip": "ip", "country": "country", "locale": "locale",
        "appversion": "app_version", "useragent": "user_agent"}
_LEGACY_ALIASES = {"user_id": "user_id", "ipaddress": "ip", "ip_address": "ip", "user_agent": "user_agent",
                   "app_version": "app_version"}
_CORE_TRAILING = {"user_id": "user_id", "app_version": "app_version", "user_agent": "user_agent"}


def _lookup(mapping: object, field: str, folded: str) -> object:
    if not isinstance(mapping, Mapping):
        return None
    value = mapping.get(field, _MISSING)
    return mapping.get(folded) if value is _MISSING else value


def _legacy_lookup(mapping: object, field: str, folded: str, value: object) -> object:
    if not isinstance(mapping, Mapping):
        return value
    if field in mapping:
        return mapping[field]
    if folded in mapping:
        return mapping[folded]
    return value


def reference_field(user: Any, field: str, legacy: bool, global_custom: Mapping[str, Any] | None) -> object:
    """get_user_field as one general function (the form before specialisation)."""
    lower = field.lower()
    folded = field.casefold() if legacy else lower
    attr = _TOP.get(lower) or (_LEGACY_ALIASES.get(lower) if legacy else None)
    if legacy:
        value = getattr(user, attr) if attr else None
        if value is None or value == "":
            value = _legacy_lookup(user.custom, field, folded, value)
        if (value is None or value == "") and global_custom:
            value = _legacy_lookup(global_custom, field, folded, value)
        if value is None or value == "":
            value = _legacy_lookup(user.private_attributes, field, lower, value)
        return value
    if attr:
        value = getattr(user, attr)
        if value and type(value) is str:
            return value
    value = _lookup(user.custom, field, folded)
    if value is None and global_custom:
        value = _lookup(global_custom, field, folded)
    if value is None:
        value = _lookup(user.private_attributes, field, lower)
    trailing = _CORE_TRAILING.get(lower)
    if value is None and trailing:
        value = getattr(user, trailing)
    return value


FIELDS = ["country", "Country", "email", "plan", "Plan", "PLAN", "user_id", "userID", "app_version",
          "appVersion", "ipAddress", "ß", "STRASSE", "straße", "age"]
VALUES: list[object] = [None, "", "us", "US", 0, 30, 2.5, True, ["a"], {"k": 1}]


def _users() -> list[StatsigUser]:
    users = [StatsigUser(), StatsigUser(user_id="u1", email="", country="DE", app_version="1.2.3")]
    for i, (a, b) in enumerate(itertools.product(VALUES, VALUES)):
        custom: Any = {"plan": a, "PLAN": b, "country": a, "Country": b, "user_id": a, "ss": b, "strasse": a}
        private: Any = {"plan": b, "email": a, "straße": b} if i % 3 else None
        if i % 7 == 0:
            custom = MappingProxyType(custom)  # a Mapping that is not a dict
        if i % 11 == 0:
            custom = None
        users.append(StatsigUser(user_id=None if i % 5 == 0 else f"u{i}", email=a if isinstance(a, str) else None,
                                 country=b if isinstance(b, str) else None, custom=custom,
                                 private_attributes=private, app_version="" if i % 4 == 0 else None))
    return users


class _Ctx:
    def __init__(self, user: StatsigUser) -> None:
        self.user = user


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "core"])
@pytest.mark.parametrize("global_custom", [None, {}, {"plan": "gp", "age": None, "ss": ""}],
                         ids=["none", "empty", "set"])
def test_specialised_field_getters_answer_as_the_general_form(legacy: bool, global_custom: Any) -> None:
    users = _users()
    for field in FIELDS:
        get = uf.field_getter(field, legacy, global_custom)
        for user in users:
            assert get(_Ctx(user)) == reference_field(user, field, legacy, global_custom), (field, user)  # type: ignore[arg-type]


def reference_core_membership(target: object, value: object, case_sensitive: bool, negate: bool) -> bool:
    if isinstance(target, list):
        texts = [ops.core_target_text(t) for t in target]
        if case_sensitive:  # core keeps the last text of each lower-cased text
            last = {t.lower(): t for t in texts}
            texts = [t for t in texts if last[t.lower()] is t]
        keys = frozenset(texts if case_sensitive else (t.lower() for t in texts))
    elif isinstance(target, Mapping) and not case_sensitive:
        keys = frozenset(str(k) for k in target)
    else:
        keys = frozenset()
    v = value if type(value) is str else (ops.core_text(value) or "")
    return ((v if case_sensitive else v.lower()) in keys) != negate


@pytest.mark.parametrize("op", ["any", "none", "any_case_sensitive", "none_case_sensitive"])
def test_specialised_core_membership_answers_as_the_general_form(op: str) -> None:
    case_sensitive, negate = op.endswith("case_sensitive"), op.startswith("none")
    targets: list[object] = [["us", "DE", 1, 2.0, None, True], {"us": 1, "De": 2}, "us", None, [], ["", "x"],
                             ["de", "DE", "Us", "uS", "US", "us", "TRUE", True]]
    values: list[object] = [None, "", "us", "US", "uS", "de", "De", "DE", 1, 2, 2.0, True, "TRUE", ["us"], {"us": 1},
                            "None", "null"]
    for target in targets:
        pred = ops.CORE[op](target)
        for value in values:
            assert pred(value) == reference_core_membership(target, value, case_sensitive, negate), (target, value)


def reference_legacy_membership(target: object, value: object, case_sensitive: bool, negate: bool) -> bool:
    if not isinstance(target, list):
        return negate
    if value is None:
        return negate
    keys = frozenset(str(t) if case_sensitive else str(t).casefold() for t in target)
    v = str(value)
    return ((v if case_sensitive else v.casefold()) in keys) != negate


MEMBER_VALUES: list[object] = [None, "", "us", "US", "de", "De", "ß", "SS", "ss", 1, 2, 2.0, True, ["us"],
                               {"us": 1}, "None", "null", "True"]


@pytest.mark.parametrize("op", ["any", "none", "any_case_sensitive", "none_case_sensitive"])
def test_specialised_legacy_membership_answers_as_the_general_form(op: str) -> None:
    case_sensitive, negate = op.endswith("case_sensitive"), op.startswith("none")
    targets: list[object] = [["us", "DE", 1, 2.0, None, True, "SS"], {"us": 1}, "us", None, []]
    for target in targets:
        pred = ops.LEGACY[op](target)
        for value in MEMBER_VALUES:
            assert pred(value) == reference_legacy_membership(target, value, case_sensitive, negate), (target, value)


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte"])
def test_specialised_core_numbers_answer_as_f64_comparisons(op: str) -> None:
    import operator

    cmp = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}[op]
    big = 1 << 53
    values: list[object] = [0, 1, -1, 17, 18, 18.0, 17.5, big, big + 1, -big, -big - 1, 1 << 64, 1 << 1100,
                            True, False, None, "18", " 18", "1e3", "x", float("nan"), float("inf")]
    for target in [18, 18.5, -3, big, float(big + 2), "18", 1 << 64]:
        pred = ops.CORE[op](target)
        t = float(target)  # type: ignore[arg-type]
        for value in values:
            if type(value) in (int, float):
                try:
                    expected = cmp(float(value), t)  # type: ignore[arg-type]
                except OverflowError:  # beyond f64: core reads no number
                    expected = False
            else:
                number = ops.core_number(value)
                expected = number is not None and cmp(number, t)
            assert pred(value) == expected, (target, value)


def _outcome(pred: Any, value: object) -> object:
    """What a predicate answers, or the type of what it raises (legacy errors are answers too)."""
    try:
        return pred(value)
    except Exception as exc:
        return type(exc)


def reference_legacy_string_match(target: object, value: object, test: Any, negate: bool) -> bool:
    """The legacy SDK's __match_string_in_array, as one general function: the target's elements casefolded at
    every check."""
    if value is None or target is None:
        return negate
    v = str(value).casefold()
    found = any(test(v, str(m).casefold()) for m in target if m is not None)  # type: ignore[attr-defined]
    return found != negate


STRING_OPS = {
    "str_starts_with_any": (str.startswith, False),
    "str_ends_with_any": (str.endswith, False),
    "str_contains_any": (lambda hay, n: n in hay, False),
    "str_contains_none": (lambda hay, n: n in hay, True),
}


@pytest.mark.parametrize("op", sorted(STRING_OPS))
def test_specialised_legacy_string_match_answers_as_the_general_form(op: str) -> None:
    test, negate = STRING_OPS[op]
    targets: list[object] = [["@Gmail.com", "qa+", None, 1, 2.5, True, "STRASSE", ""], ["x"], [], "us", "",
                             {"Us": 1, "ß": 2}, None, 5, 2.5, True, [["nested"], {"k": 1}]]
    values: list[object] = [*MEMBER_VALUES, "person1@gmail.com", "QA+test@x.io", "straße", "usa", "1", 2.5,
                            "[\"nested\"]", "x"]
    for target in targets:
        pred = ops.LEGACY[op](target)
        for value in values:
            expected = _outcome(lambda v, t=target: reference_legacy_string_match(t, v, test, negate), value)
            assert _outcome(pred, value) == expected, (target, value)


def reference_legacy_version(target: object, value: object, cmp: Any) -> bool:
    """The legacy SDK's __version_compare_helper, as one general function."""
    if value is None or target is None:
        return False
    v, t = str(value), str(target)
    if (d := v.find("-")) > 0:
        v = v[:d]
    if (d := t.find("-")) > 0:
        t = t[:d]
    p1, p2 = v.split("."), t.split(".")
    try:
        for i in range(max(len(p1), len(p2))):
            c1 = int(float(p1[i])) if i < len(p1) else 0
            c2 = int(float(p2[i])) if i < len(p2) else 0
            if c1 != c2:
                return bool(cmp(-1 if c1 < c2 else 1, 0))
    except ValueError:
        return False
    return bool(cmp(0, 0))


VERSION_OPS = {"version_gt": operator.gt, "version_gte": operator.ge, "version_lt": operator.lt,
               "version_lte": operator.le, "version_eq": operator.eq, "version_neq": operator.ne}
# versions whose components compare as tuples (no negative or unparsed one; trailing zeros) and the others
VERSION_TEXTS = ["1.2.3", "1.2.4", "1.2", "1.2.0", "1.2.3.0", "1.2.0.0", "0", "0.0", "", "2", "10", "0.9", "01.2",
                 "1.2.3-rc1", "1.2.3-beta.0", "-1", "-1.0", "1.-1", "1.-1.0", "1.-0", "+1.2", "1.x", "x", "1.inf",
                 "inf.1", "1.nan", "nan", "1..2", "1.2.", ".1", "1e3.0", " 1 .2", "1_0.1", "1.2.3-", "-", "9" * 70,
                 "1." + "9" * 40, "1.2-3.4", "٣.1", "1.2.3.4.5.6", "3.0.0.0.1"]


@pytest.mark.parametrize("op", sorted(VERSION_OPS))
def test_specialised_legacy_versions_answer_as_the_general_form(op: str) -> None:
    cmp = VERSION_OPS[op]
    targets: list[object] = [*VERSION_TEXTS, 2, 1.5, True, None, [1, 2], 0, -1]
    values: list[object] = [None, *VERSION_TEXTS, 1, 1.2, 2, True, ["1"], 0, -3]
    for target in targets:
        pred = ops.LEGACY[op](target)
        for value in values:
            expected = _outcome(lambda v, t=target: reference_legacy_version(t, v, cmp), value)
            assert _outcome(pred, value) == expected, (target, value)
            assert _outcome(pred, value) == expected, (target, value)  # and from the memo


def reference_core_version(target: object, value: object, cmp: Any) -> bool:
    """statsig-python-core's version comparison, as one general function: components before the first "-",
    each Rust's i128 parse of its trimmed text (None where that fails), compared one by one, a missing one 0."""
    if type(target) is not str:
        return False

    def parts(v: object) -> list[int | None] | None:
        text = v if type(v) is str else ops.core_text(v)
        if text is None:
            return None
        if (d := text.find("-")) >= 0:
            text = text[:d]
        out: list[int | None] = []
        for part in text.split("."):
            part = part.strip()
            digits = part[1:] if part[:1] in ("+", "-") else part
            ok = digits and digits.isascii() and digits.isdigit() and len(digits) <= 38
            out.append(int(part) if ok else None)
        return out

    a, b = parts(value), parts(target)
    if a is None or b is None:
        return False
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else 0
        y = b[i] if i < len(b) else 0
        if x is None or y is None:
            return False
        if x != y:
            return bool(cmp(-1 if x < y else 1, 0))
    return bool(cmp(0, 0))


@pytest.mark.parametrize("op", sorted(VERSION_OPS))
def test_specialised_core_versions_answer_as_the_general_form(op: str) -> None:
    cmp = VERSION_OPS[op]
    targets: list[object] = [*VERSION_TEXTS, 2, None]
    values: list[object] = [None, *VERSION_TEXTS, 1, 1.2, 2, True, ["1"], 0, -3, {"k": 1}]
    for target in targets:
        pred = ops.CORE[op](target)
        for value in values:
            expected = reference_core_version(target, value, cmp)
            assert pred(value) == expected, (target, value)
            assert pred(value) == expected, (target, value)  # and from the memo


class _Eval:
    """What getters and probes read and write of an evaluation."""

    def __init__(self, user: StatsigUser, lookups_off: int) -> None:
        self.user = user
        self.lookups_off = lookups_off
        self.lookup_missed = ""
        self.environment = None
        self.target_app_id = None
        self.now_ms = 0


def _legacy_conditions(conditions: list[dict[str, Any]]) -> list[Any]:
    import json

    from statsig_lite.store.snapshot import load_snapshot

    gate = {"name": "g", "type": "feature_gate", "salt": "s", "enabled": True, "defaultValue": False,
            "idType": "userID", "rules": [{"id": f"r{i}", "passPercentage": 100, "conditions": [c]}
                                          for i, c in enumerate(conditions)]}
    payload = {"time": 1, "feature_gates": [gate], "dynamic_configs": [], "layer_configs": []}
    return [rule.conditions[0] for rule in load_snapshot(json.dumps(payload)).gates["g"].rules]


def test_legacy_probes_raise_and_record_as_their_condition() -> None:
    """Once an earlier condition of a legacy rule failed, a condition with a probe runs only the probe (bucket
    hashes, user agent parses): the probe must raise exactly where the condition would and record the same
    missed lookup."""
    import json

    bucket: dict[str, Any] = {"type": "user_bucket", "additionalValues": {"salt": "b"}}
    conditions: list[dict[str, Any]] = [
        {**bucket, "operator": "lt", "targetValue": 500},
        {**bucket, "operator": "gte", "targetValue": "250"},
        {**bucket, "operator": "lt", "targetValue": None},
        {**bucket, "operator": "any", "targetValue": [1, 2, 3]},
        {**bucket, "operator": "none", "targetValue": [1, 2, 3], "idType": "companyID"},
        {**bucket, "operator": "eq", "targetValue": 7, "idType": "companyID"},
        {**bucket, "operator": "str_contains_any", "targetValue": ["1"]},
        {"type": "ua_based", "field": "os_name", "operator": "any", "targetValue": ["iOS"]},
        {"type": "ua_based", "field": "browser_version", "operator": "none", "targetValue": ["1.0.0"]},
        {"type": "ua_based", "field": "os_name", "operator": "str_starts_with_any", "targetValue": ["Mac"]},
    ]
    compiled = _legacy_conditions(conditions)
    assert all(c.probe is not None for c in compiled)
    # conditions whose test may raise keep no probe: they run whole
    lone_salt = {"additionalValues": {"salt": "\ud800"}}
    unprobed = _legacy_conditions([{**bucket, "operator": "lt", "targetValue": "x"},
                                   {**bucket, "operator": "version_gt", "targetValue": "1.inf"},
                                   {**bucket, "operator": "lt", "targetValue": 5, **lone_salt},
                                   {"type": "ua_based", "field": "os_name", "operator": "gt", "targetValue": 1}])
    assert all(c.probe is None for c in unprobed)
    lone = json.loads('"a\\ud800b"')
    agents = [None, "", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15", 5, lone]
    units: list[object] = [None, "u1", "ü1", lone, 7, 2.5, True, ["x"]]
    users = [StatsigUser(user_id=u, user_agent=a, custom_ids={"companyID": c} if c is not None else None,  # type: ignore[arg-type]
                         custom={"os_name": "iOS"} if i % 3 == 0 else None)
             for i, (u, a, c) in enumerate(itertools.product(units, agents, [None, "c1", lone, 3]))]
    for condition in compiled:
        for user in users:
            for lookups_off in (0, uf.LOOKUP_UA | uf.LOOKUP_COUNTRY):
                whole, probed = _Eval(user, lookups_off), _Eval(user, lookups_off)
                expected = _outcome(lambda ctx, c=condition: c.test(c.get(ctx)), whole)
                got = _outcome(lambda ctx, p=condition.probe: p[1](p[0](ctx)), probed)
                raised = expected if isinstance(expected, type) else None
                assert (got if isinstance(got, type) else None) == raised, (condition, user, expected, got)
                assert probed.lookup_missed == whole.lookup_missed, (condition, user)


def test_bucket_getters_read_the_hash_memo_as_salted_hash() -> None:
    """bucket_getter reads salted_hash's memo itself and hashes a miss through salted_hash_into: its bucket is
    eval_hash("{salt}.{unit}") % 1000 whatever the memo holds (empty, the prefix without the unit, the pair,
    just cleared), and the memo ends as salted_hash leaves it."""
    from statsig_lite.evaluator import hashing

    units: list[object] = ["u1", "u2", "ü", 7, 2.5, None, True]
    users = [StatsigUser(user_id=u, custom_ids={"companyID": u}) for u in units]  # type: ignore[arg-type,dict-item]
    getters = [uf.bucket_getter("salt", "userID"), uf.bucket_getter("salt", "companyID")]
    try:
        for state in ("empty", "prefix", "pairs", "cleared"):
            hashing.forget_salted_hashes()
            if state in ("prefix", "pairs"):
                hashing.salted_hash("salt.", "other")
            if state == "pairs":
                for u in units:
                    hashing.salted_hash("salt.", hashing.unit_text(u) if type(u) is not str else u)
            if state == "cleared":
                hashing.salted_hash("salt.", "other")
                hashing._HASHES.clear()
            for get, by_user_id in zip(getters, (True, False), strict=True):
                for user in users:
                    raw = user.user_id if by_user_id else uf.unit_id(user, "companyID")
                    unit = raw if type(raw) is str else hashing.unit_text(raw)
                    expected = hashing.eval_hash("salt." + unit) % 1000
                    assert get(_Ctx(user)) == expected, (state, user.user_id)  # type: ignore[arg-type]
                    assert get(_Ctx(user)) == expected  # type: ignore[arg-type]  # now from the memo
                    assert hashing.memo_of("salt.") is not None
                    assert hashing.memo_of("salt.")[unit] == hashing.salted_hash("salt.", unit)  # type: ignore[index]
    finally:
        hashing.forget_salted_hashes()


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "core"])
def test_bucket_comparisons_answer_as_getter_and_test(legacy: bool) -> None:
    """A user_bucket condition compared with a number compiles to one closure (user_fields.bucket_compare):
    it answers, and raises, as the bucket getter followed by the dialect's own test."""
    import json


    targets: list[object] = [500, 250.5, "250", " 250", 0, 1000, -1, 1e300, "x", None, True, [1], 999.999]
    ops_ = ["lt", "lte", "gt", "gte"]
    cases = [(op, t, id_type) for op in ops_ for t in targets for id_type in ("userID", "companyID")]
    conds = [{"type": "user_bucket", "operator": op, "targetValue": t, "idType": id_type,
              "additionalValues": {"salt": "b"}} for op, t, id_type in cases]
    compiled = _compiled_one_per_rule(conds, legacy)
    fused = sum(c.get.__name__ == "compare" for c in compiled)
    assert fused > len(cases) // 2  # most are one closure
    lone = json.loads('"a\\ud800b"')
    users = [StatsigUser(user_id=u, custom_ids={"companyID": c})  # type: ignore[arg-type,dict-item]
             for u in ["u1", "u2", "ü", 7, None, lone] for c in ["c1", lone]]
    table = ops.LEGACY if legacy else ops.CORE
    for (op, target, id_type), condition in zip(cases, compiled, strict=True):
        get, test = uf.bucket_getter("b", id_type), table[op](target)
        for user in users:
            ctx = _Ctx(user)
            expected = _outcome(lambda c: test(get(c)), ctx)  # noqa: B023
            assert _outcome(lambda c: condition.test(condition.get(c)), ctx) == expected, (op, target, user)  # noqa: B023


def reference_core_string_match(target: object, value: object, test: Any, negate: bool) -> bool:
    """statsig-python-core's string match, as one general function."""
    needles = [ops.core_target_text(x).lower() for x in target] if isinstance(target, list) else []
    hay = (value if type(value) is str else (ops.core_text(value) or "")).lower()
    return any(test(hay, n) for n in needles) != negate


@pytest.mark.parametrize("op", sorted(STRING_OPS))
def test_specialised_core_string_match_answers_as_the_general_form(op: str) -> None:
    test, negate = STRING_OPS[op]
    targets: list[object] = [["@Gmail.com", "qa+", None, 1, 2.5, True, "STRASSE", ""], ["x"], [], "us", None,
                             {"Us": 1}, [["nested"], {"k": 1}], ["İ", "ß"]]
    values: list[object] = [*MEMBER_VALUES, "person1@gmail.com", "QA+test@x.io", "straße", "usa", "1", 2.5,
                            '["nested"]', "x", "İstanbul", "null", "true"]
    for target in targets:
        pred = ops.CORE[op](target)
        for value in values:
            assert pred(value) == reference_core_string_match(target, value, test, negate), (target, value)


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "core"])
def test_bucket_members_answer_as_getter_and_test(legacy: bool) -> None:
    """A user_bucket any / none compiles to one closure (user_fields.bucket_member): it answers, and raises, as
    the bucket getter followed by the dialect's bucket membership test."""
    import json

    from statsig_lite.store.model import ERROR

    targets: list[object] = [[1, 2, 3, 999, 1000, -1], list(range(0, 1000, 3)), ["5", "05", 7.0, "x", None], [],
                             {"12": 1, "13": 2}, 500, "12", None, [True, False]]
    cases = [(op, t, id_type) for op in ("any", "none") for t in targets for id_type in ("userID", "companyID")]
    conds = [{"type": "user_bucket", "operator": op, "targetValue": t, "idType": id_type,
              "additionalValues": {"salt": "b"}} for op, t, id_type in cases]
    compiled = _compiled_one_per_rule(conds, legacy)
    lone = json.loads('"a\\ud800b"')
    users = [StatsigUser(user_id=u, custom_ids={"companyID": c})  # type: ignore[arg-type,dict-item]
             for u in ["u1", "u2", "ü", 7, None, lone, *(f"user_{i}" for i in range(40))] for c in ["c1", lone]]
    factory = ops.legacy_bucket_any if legacy else ops.core_bucket_any
    members = 0
    for (op, target, id_type), condition in zip(cases, compiled, strict=True):
        try:
            test = factory(target, negate=op == "none")
        except (ValueError, TypeError):
            assert legacy and condition.kind == ERROR, (op, target)
            continue
        members += condition.get.__name__ == "member"
        get = uf.bucket_getter("b", id_type)
        for user in users:
            ctx = _Ctx(user)
            expected = _outcome(lambda c: test(get(c)), ctx)  # noqa: B023
            assert _outcome(lambda c: condition.test(condition.get(c)), ctx) == expected, (op, target, user)  # noqa: B023
    assert members > 10


def _compiled_one_per_rule(conds: list[dict[str, Any]], legacy: bool) -> list[Any]:
    """Each condition compiled as the only condition of its own rule of one gate, in a v1 or a v2 payload."""
    import json

    from statsig_lite.store.snapshot import load_snapshot

    rules = [{"id": f"r{i}", "passPercentage": 100, "conditions": [c] if legacy else [f"c{i}"]}
             for i, c in enumerate(conds)]
    gate = {"type": "feature_gate", "salt": "s", "enabled": True, "defaultValue": False, "idType": "userID",
            "rules": rules}
    if legacy:
        payload: dict[str, Any] = {"time": 1, "feature_gates": [{"name": "g", **gate}], "dynamic_configs": [],
                                   "layer_configs": []}
    else:
        payload = {"time": 1, "response_format": "dcs-v2", "feature_gates": {"g": gate}, "dynamic_configs": {},
                   "layer_configs": {}, "condition_map": {f"c{i}": c for i, c in enumerate(conds)}}
    return [r.conditions[0] for r in load_snapshot(json.dumps(payload)).gates["g"].rules]
