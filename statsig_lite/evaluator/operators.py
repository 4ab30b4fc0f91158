"""Condition operators: one table per dialect, from operator name to a factory.

A factory takes the condition's target value once, when the store compiles the condition, and returns a
predicate over the resolved user value. A missing table entry means the operator is unsupported.

Two dialects exist because the official SDKs disagree (protocol doc, section 9):
- ``CORE``: how statsig-python-core compares (the reference for v2 payloads).
- ``LEGACY``: how the legacy ``statsig`` SDK compares (the reference for v1 payloads). Where the legacy SDK
  raises inside a comparison, the predicate raises too (one of ``EVALUATION_ERRORS``) and the evaluation
  ends in ``error``; predicates are not wrapped in a handler each, the evaluator catches these.
"""

from __future__ import annotations

import json
import math
import operator
import re
from array import array
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from .hashing import id_list_hash

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from collections.abc import Set as AbstractSet
    from datetime import datetime
    from typing import Any, Final

    Version = tuple[object, ...] | list[object]  # see _canonical

Predicate = Callable[[object], bool]
Factory = Callable[[object], Predicate]


class OperatorError(Exception):
    """A comparison failed in a way the legacy SDK reports as an evaluation error."""


# What a legacy comparison may raise (and OperatorError for conditions that cannot be evaluated at all).
EVALUATION_ERRORS: Final = (OperatorError, ValueError, TypeError, OverflowError, OSError, re.error, AttributeError)


# --- string forms -------------------------------------------------------------------------------------


def core_text(value: object) -> str | None:
    """statsig-python-core's string form of a user value: strings as they are, numbers as Rust prints an f64
    (no exponent, no ".0"), arrays as their compact JSON text; None for null and objects."""
    if type(value) is str or isinstance(value, str):
        return value
    if value is None:  # a missing field: the most common value after a string
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if -_F64_EXACT <= value <= _F64_EXACT:
            return str(value)
        try:
            return _rust_f64(float(value))
        except OverflowError:
            return str(value)
    if isinstance(value, float):
        return _rust_f64(value)
    if isinstance(value, list):
        return _json_text(value, user=True)
    return None


def core_target_text(item: object) -> str:
    """The text of one element of a condition's target array: a string as it is, anything else as its JSON
    text (serde's: `2.0` stays "2.0", null is "null")."""
    if type(item) is str or isinstance(item, str):
        return item
    return _json_text(item)


_F64_EXACT = 1 << 53
_I64 = 1 << 63


def _rust_f64(value: float) -> str:
    if not math.isfinite(value):
        return "NaN" if value != value else ("inf" if value > 0 else "-inf")
    text = repr(value)
    if "e" in text:
        from decimal import Decimal  # only numbers beyond 1e16 or below 1e-4 need it

        text = format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text


def _serde_float(value: float) -> str:
    text = repr(value)
    if "e" in text:  # ryu: "1e21", "1.5e-7"
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else ""
        text = f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def _json_text(value: object, user: bool = False) -> str:
    """serde_json's compact text of a value. `user`: a user's value, which reaches core through Python, where
    an integer beyond 64 bits signed becomes a float (a payload's keeps up to 64 bits unsigned)."""
    if isinstance(value, float):
        return _serde_float(value) if math.isfinite(value) else "null"
    if value is None:
        return "null"
    if isinstance(value, int) and user and not isinstance(value, bool) and not -_I64 <= value < _I64:
        try:
            return _serde_float(float(value))
        except OverflowError:  # beyond f64: core drops the element (see the list case)
            return ""
    if isinstance(value, (bool, int, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        texts = (_json_text(v, user) for v in value)
        return "[" + ",".join(t for t in texts if t) + "]"
    if isinstance(value, Mapping):
        pairs = ((k, _json_text(v, user)) for k, v in value.items())
        items = (f"{json.dumps(str(k), ensure_ascii=False)}:{t}" for k, t in pairs if t)
        return "{" + ",".join(items) + "}"
    return json.dumps(str(value), ensure_ascii=False)


_F64_INT_LIMIT = 1 << 1023  # float() of an int this large raises OverflowError


def core_number(value: object) -> float | None:
    """statsig-python-core's number of a value (f64), None when it reads none."""
    return _core_number(value)


def _core_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # beyond f64: statsig-python-core reads no number
            return None
    if isinstance(value, str):
        text = value  # Rust's float parse: no surrounding spaces, no digit separators
        if not text or "_" in text or text != text.strip():
            return None
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _target_items(target: object) -> list[object]:
    """Target elements: a list as-is, an object map's keys, a scalar as itself."""
    if isinstance(target, list):
        return target
    if isinstance(target, Mapping):
        return list(target.keys())
    if target is None:
        return []
    return [target]


# --- CORE ---------------------------------------------------------------------------------------------


def _core_numeric(cmp: Callable[[float, float], bool]) -> Factory:
    def factory(target: object) -> Predicate:
        t = _core_number(target)
        if t is None:
            return _never

        def pred(value: object) -> bool:
            kind = type(value)
            if kind is float or (kind is int and -_F64_INT_LIMIT < value < _F64_INT_LIMIT):  # type: ignore[operator]
                return cmp(float(value), t)  # type: ignore[arg-type]  # f64, as the core compares
            v = _core_number(value)
            return v is not None and cmp(v, t)

        # the hot case written out: an int within 2**53 is its f64 exactly, so it compares as itself
        if cmp is operator.lt:

            def lt(value: object) -> bool:
                if type(value) is int and -_F64_EXACT <= value <= _F64_EXACT:
                    return value < t
                return pred(value)

            return lt
        if cmp is operator.gt:

            def gt(value: object) -> bool:
                if type(value) is int and -_F64_EXACT <= value <= _F64_EXACT:
                    return value > t
                return pred(value)

            return gt
        return pred

    return factory


# A version's components as a comparison reads them. Where every component is an integer >= 0 (almost every
# version a user reports) they are a tuple without its trailing zeros, and two such tuples compare as Python
# compares tuples: component by component, the shorter one first when it is a prefix of the other, which is
# the official SDKs' order (a missing component counts as 0; with no trailing zeros and none negative, the
# longer one has a component > 0 past the shorter's end). Any other version is a list of its components, for
# the one-by-one comparison (a negative or unparsed component, a trailing zero kept).
def _canonical(parts: list[object]) -> Version:
    for part in parts:
        if type(part) is not int or part < 0:
            return parts
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _core_version_parts(value: object) -> Version | None:
    text = value if type(value) is str else core_text(value)
    if text is None:
        return None
    return _parse_version(text) if len(text) <= 64 else _parse_version.__wrapped__(text)  # cache stays small


@lru_cache(maxsize=4096)  # a project's users report a handful of app versions, checked over and over
def _parse_version(text: str) -> Version:
    """Components before the first "-", each an integer or None where it does not parse (as core reads
    them: Rust's i128 parse after trimming, a sign allowed); see _canonical."""
    dash = text.find("-")
    if dash >= 0:
        text = text[:dash]
    parts: list[object] = []
    for part in text.split("."):
        part = part.strip()
        digits = part[1:] if part[:1] in ("+", "-") else part
        if digits and digits.isascii() and digits.isdigit() and len(digits) <= 38:
            parts.append(int(part))
        else:
            parts.append(None)
    return _canonical(parts)


def _compare_parts(a: Version, b: Version) -> int | None:
    """Component by component, a missing component counting as 0; a component that does not parse ends
    the comparison without a result (None) unless an earlier one already decided it (core's loop)."""
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else 0
        y = b[i] if i < len(b) else 0
        if x is None or y is None:
            return None
        if x != y:
            return -1 if x < y else 1  # type: ignore[operator]
    return 0


def _core_version(cmp: Callable[[Any, Any], bool]) -> Factory:
    def factory(target: object) -> Predicate:
        if type(target) is not str:
            return _never  # core compares versions only with a string target
        t = _core_version_parts(target)
        if t is None:
            return _never
        plain = type(t) is tuple

        def pred(value: object) -> bool:
            if type(value) is str:  # _core_version_parts inline: a frame fewer
                v = _parse_version(value) if len(value) <= 64 else _parse_version.__wrapped__(value)
            else:
                v = _core_version_parts(value)  # type: ignore[assignment]
                if v is None:
                    return False
            if plain and type(v) is tuple:
                return cmp(v, t)  # as tuples: see _canonical
            result = _compare_parts(v, t)
            return result is not None and cmp(result, 0)

        return pred

    return factory


def _core_membership(case_sensitive: bool, negate: bool) -> Factory:
    def factory(target: object) -> Predicate:
        keys: frozenset[str] | None = None

        def build() -> frozenset[str]:
            # built on first use: target lists can be long (allocated buckets), and a cold start
            # evaluates few of them, so the load stays cheap
            if isinstance(target, list):
                texts = (core_target_text(item) for item in target)
                if case_sensitive:
                    # core keeps one text per lower-cased text, the last, and compares the value with it:
                    # "a@b.com" is not in ["a@b.com", "A@B.COM"] (differential seed 5099)
                    return frozenset({t.lower(): t for t in texts}.values())
                return frozenset(t.lower() for t in texts)
            if isinstance(target, Mapping) and not case_sensitive:
                return frozenset(str(k) for k in target)  # core looks the lower-cased value up in the raw keys
            return frozenset()  # core: no array, no match

        # one closure per (case, negation): the hot path of most rules, a string value, tests nothing else
        if case_sensitive:

            def pred(value: object) -> bool:
                nonlocal keys
                if keys is None:
                    keys = build()
                if type(value) is str:
                    return (value in keys) != negate
                return ((core_text(value) or "") in keys) != negate

            return pred

        if negate:

            def pred_none(value: object) -> bool:
                nonlocal keys
                if keys is None:
                    keys = build()
                if type(value) is str:
                    return value.lower() not in keys
                if value is None:  # a missing field, the other common value: its text is ""
                    return "" not in keys
                return (core_text(value) or "").lower() not in keys

            return pred_none

        def pred_any(value: object) -> bool:
            nonlocal keys
            if keys is None:
                keys = build()
            if type(value) is str:
                return value.lower() in keys
            if value is None:  # a missing field, the other common value: its text is ""
                return "" in keys
            return (core_text(value) or "").lower() in keys

        return pred_any

    return factory


def _core_string_match(mode: str, negate: bool) -> Factory:
    """str_starts_with_any / str_ends_with_any / str_contains_any|none: the value's lower-cased text against
    each target element's (one closure per mode: no generator or call per element)."""

    def factory(target: object) -> Predicate:
        # only an array target has needles (core); a missing value reads as ""
        needles = tuple(core_target_text(x).lower() for x in target) if isinstance(target, list) else ()
        if mode == "contains":

            def contains(value: object) -> bool:
                hay = (value if type(value) is str else (core_text(value) or "")).lower()
                for needle in needles:
                    if needle in hay:
                        return not negate
                return negate

            return contains
        starts = mode == "starts"

        def affix(value: object) -> bool:
            hay = (value if type(value) is str else (core_text(value) or "")).lower()
            return (hay.startswith(needles) if starts else hay.endswith(needles)) != negate

        return affix

    return factory


def _core_str_matches(target: object) -> Predicate:
    from .regex_bound import RegexTimeout, compile_bounded  # only payloads with regex conditions load it

    pattern = core_text(target)
    if pattern is None:
        return _never
    from .rust_regex import to_python  # only payloads with a core str_matches condition need it

    pattern = to_python(pattern)  # core's patterns are Rust's syntax
    if pattern is None:
        return _never
    try:
        search = compile_bounded(pattern).search  # bounded in time: see regex_bound
    except (re.error, RecursionError):  # nested deeper than re can parse: no match, never a refused payload
        return _never

    def pred(value: object) -> bool:
        v = core_text(value)
        if v is None:
            return False
        try:
            return search(v)
        except RegexTimeout:  # core's engine is linear and never fails a match: past the bound we say false
            return False

    return pred


def _core_equals(target: object) -> Predicate:
    if target is None:
        return lambda value: value is None
    if isinstance(target, bool):
        return lambda value: isinstance(value, bool) and value is target
    if isinstance(target, (int, float)):
        t = _core_number(target)
        if t is None:
            return _never

        def number_eq(value: object) -> bool:
            v = _core_number(value)
            return v is not None and v == t

        return number_eq
    if isinstance(target, str):
        return lambda value: core_text(value) == target
    if isinstance(target, (list, Mapping)):
        items = [core_target_text(x) for x in _target_items(target)]

        def seq_eq(value: object) -> bool:
            if isinstance(target, list) and isinstance(value, list):
                return len(value) == len(items) and all(core_text(x) == y for x, y in zip(value, items, strict=True))
            if isinstance(target, Mapping) and isinstance(value, Mapping):
                return len(value) == len(target) and all(
                    k in value and core_text(value[k]) == core_target_text(v) for k, v in target.items()
                )
            return False

        return seq_eq
    return _never


def _negate(factory: Factory) -> Factory:
    def negated(target: object) -> Predicate:
        pred = factory(target)
        return lambda value: not pred(value)

    return negated


_ISO_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def _rust_i64(text: str) -> int | None:
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    number = int(text)
    return number if _I64_MIN <= number <= _I64_MAX else None


def _core_date_ms(text: str) -> int | None:
    from datetime import datetime, timezone  # only date strings need it

    text = text.strip().replace("Z", "+00:00")
    for fmt in _ISO_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return int(parsed.timestamp() * 1000)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


def _core_time_ms(value: object, user_side: bool) -> int | None:
    """A timestamp in ms as core reads it: a string's integer or date, else (user side) an integral number
    within i64, (target side) any number truncated."""
    if isinstance(value, str):
        number = _rust_i64(value)
        if number is not None:
            return _seconds_to_ms(number) if user_side else number
        if user_side or not value:
            return _core_date_ms(value) if value else None
        date = _core_date_ms(value)
        if date is not None:
            return date
        target = _core_number(value)
        return int(target) if target is not None and math.isfinite(target) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):
        if _I64_MIN <= value <= _I64_MAX:
            return _seconds_to_ms(value) if user_side else value
        return None if user_side else _saturate(float(value))
    if not math.isfinite(value):
        return None if user_side else _saturate(value)
    if user_side:
        return _seconds_to_ms(int(value)) if value.is_integer() and _I64_MIN <= value < 2.0**63 else None
    return _saturate(value)


def _seconds_to_ms(value: int) -> int:
    """A user's timestamp below 1e10 is read as seconds."""
    return value * 1000 if -10_000_000_000 < value < 10_000_000_000 else value


def _saturate(value: float) -> int:
    """Rust's `f64 as i64`: truncates, saturates, NaN is 0."""
    if value != value:
        return 0
    if value >= 2.0**63:
        return _I64_MAX
    if value < -(2.0**63):
        return _I64_MIN
    return int(value)


def _core_time(cmp: Callable[[int, int], bool]) -> Factory:
    def factory(target: object) -> Predicate:
        t = _core_time_ms(target, user_side=False)
        if t is None:
            return _never

        def pred(value: object) -> bool:
            v = _core_time_ms(value, user_side=True)
            return v is not None and cmp(v, t)

        return pred

    return factory


def _same_utc_day(a: int, b: int) -> bool:
    return int(a / 86_400_000) == int(b / 86_400_000)  # chrono's num_days truncates toward zero


def _array_factory(
    texts_of: Callable[[object], str | None], test: Callable[[set[str], frozenset[str]], bool]
) -> Factory:
    def factory(target: object) -> Predicate:
        wanted = frozenset(t for t in (texts_of(x) for x in _target_items(target)) if t is not None)

        def pred(value: object) -> bool:
            if not isinstance(value, list):
                return False
            have = {t for t in (texts_of(x) for x in value) if t is not None}
            return test(have, wanted)

        return pred

    return factory


def _segment_factory(negate: bool) -> Callable[[object, Callable[[str], AbstractSet[str] | None]], Predicate]:
    """ID-list operators read the current lists through a lookup, at evaluation time."""

    def factory(target: object, lists: Callable[[str], AbstractSet[str] | None]) -> Predicate:
        name = core_text(target)

        def pred(value: object) -> bool:
            v = core_text(value)
            ids = lists(name) if name is not None else None
            if v is None or ids is None:
                return negate
            return (id_list_hash(v) in ids) != negate

        return pred

    return factory


def _never(value: object) -> bool:
    return False


CORE: Final[Mapping[str, Factory]] = {
    "gt": _core_numeric(operator.gt),
    "gte": _core_numeric(operator.ge),
    "lt": _core_numeric(operator.lt),
    "lte": _core_numeric(operator.le),
    "version_gt": _core_version(operator.gt),
    "version_gte": _core_version(operator.ge),
    "version_lt": _core_version(operator.lt),
    "version_lte": _core_version(operator.le),
    "version_eq": _core_version(operator.eq),
    "version_neq": _core_version(operator.ne),
    "any": _core_membership(case_sensitive=False, negate=False),
    "none": _core_membership(case_sensitive=False, negate=True),
    "any_case_sensitive": _core_membership(case_sensitive=True, negate=False),
    "none_case_sensitive": _core_membership(case_sensitive=True, negate=True),
    "str_starts_with_any": _core_string_match("starts", negate=False),
    "str_ends_with_any": _core_string_match("ends", negate=False),
    "str_contains_any": _core_string_match("contains", negate=False),
    "str_contains_none": _core_string_match("contains", negate=True),
    "str_matches": _core_str_matches,
    "eq": _core_equals,
    "neq": _negate(_core_equals),
    "before": _core_time(lambda a, b: a < b),
    "after": _core_time(lambda a, b: a > b),
    "on": _core_time(_same_utc_day),
    "array_contains_any": _array_factory(core_text, lambda have, want: bool(have & want)),
    "array_contains_none": _array_factory(core_text, lambda have, want: not (have & want)),
    "array_contains_all": _array_factory(core_text, lambda have, want: want <= have),
    "not_array_contains_all": _array_factory(core_text, lambda have, want: not want <= have),
}

SEGMENT_OPERATORS: Final = {
    "in_segment_list": _segment_factory(negate=False),
    "not_in_segment_list": _segment_factory(negate=True),
}

# --- LEGACY -------------------------------------------------------------------------------------------


_CONVERSION_ERRORS = (ValueError, TypeError, OverflowError)


def _legacy_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _legacy_numeric(cmp: Callable[[float, float], bool]) -> Factory:
    def factory(target: object) -> Predicate:
        def pred(value: object) -> bool:
            v = _legacy_float(value)
            t = _legacy_float(target)
            return v is not None and t is not None and cmp(v, t)

        try:
            t = _legacy_float(target)
        except _CONVERSION_ERRORS:
            return pred  # the legacy SDK raises on every evaluation: so does pred
        if t is None:
            return pred

        def pred_number(value: object) -> bool:  # the target converted once
            return value is not None and cmp(float(value), t)  # type: ignore[arg-type]

        return pred_number

    return factory


_OVERFLOW: Final = object()  # a component whose int(float()) overflows (legacy: the evaluation fails there)


@lru_cache(maxsize=4096)  # a project's users report a handful of app versions, checked over and over
def _legacy_version_parts(text: str) -> Version:
    """The legacy SDK's components of a version's text cut at its first "-" past the start: int(float()) of
    each, None where that raises ValueError, _OVERFLOW where OverflowError; see _canonical."""
    if (d := text.find("-")) > 0:
        text = text[:d]
    parts: list[object] = []
    for part in text.split("."):
        try:
            parts.append(int(float(part)))
        except ValueError:
            parts.append(None)
        except OverflowError:
            parts.append(_OVERFLOW)
    return _canonical(parts)


def _legacy_compare_parts(a: Version, b: Version) -> int | None:
    """The legacy SDK's loop: each component of `a`, then of `b`, read in turn, a missing one as 0; the first
    that does not parse ends it without a result (None), or raises as the legacy SDK does (OverflowError)."""
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else 0
        if x is None:
            return None
        if x is _OVERFLOW:
            raise OverflowError("cannot convert float infinity to integer")
        y = b[i] if i < len(b) else 0
        if y is None:
            return None
        if y is _OVERFLOW:
            raise OverflowError("cannot convert float infinity to integer")
        if x != y:
            return -1 if x < y else 1  # type: ignore[operator]
    return 0


def _legacy_version(cmp: Callable[[Any, Any], bool]) -> Factory:
    def factory(target: object) -> Predicate:
        if target is None:
            return _never  # the legacy SDK compares nothing with a null target, for any value
        text = str(target)  # pure: JSON values
        t = _legacy_version_parts.__wrapped__(text)  # not memoised: each condition holds its own
        plain = type(t) is tuple

        def pred(value: object) -> bool:
            if value is None:
                return False
            v = value if type(value) is str else str(value)
            # memoised like core's _parse_version: a project's users report a handful of app versions
            parts = _legacy_version_parts(v) if len(v) <= 64 else _legacy_version_parts.__wrapped__(v)
            if plain and type(parts) is tuple:
                return cmp(parts, t)  # as tuples: see _canonical
            result = _legacy_compare_parts(parts, t)
            return result is not None and cmp(result, 0)

        return pred

    return factory


def _legacy_membership(case_sensitive: bool, negate: bool) -> Factory:
    def factory(target: object) -> Predicate:
        if not isinstance(target, list):
            return lambda value: negate
        keys: frozenset[str] | None = None  # built on first use, as in the core table

        def build() -> frozenset[str]:
            return frozenset(str(t) if case_sensitive else str(t).casefold() for t in target)

        # one closure per (case, negation), as in the core table: a string value tests nothing else (str() of a
        # str is itself)
        if case_sensitive:

            def pred(value: object) -> bool:
                nonlocal keys
                if value is None:
                    return negate
                if keys is None:
                    keys = build()
                return ((value if type(value) is str else str(value)) in keys) != negate

            return pred

        if negate:

            def pred_none(value: object) -> bool:
                nonlocal keys
                if keys is None:
                    keys = build()
                if type(value) is str:
                    return value.casefold() not in keys
                return value is None or str(value).casefold() not in keys

            return pred_none

        def pred_any(value: object) -> bool:
            nonlocal keys
            if keys is None:
                keys = build()
            if type(value) is str:
                return value.casefold() in keys
            return value is not None and str(value).casefold() in keys

        return pred_any

    return factory


def _legacy_string_match(mode: str, negate: bool) -> Factory:
    """str_starts_with_any / str_ends_with_any / str_contains_any|none: the value's casefolded text against each
    target element's (null elements skipped)."""

    def factory(target: object) -> Predicate:
        if target is None:
            return lambda value: negate
        if not isinstance(target, (list, str, dict)):

            def not_iterable(value: object) -> bool:
                if value is None:
                    return negate
                return any(str(m) for m in target) != negate  # type: ignore[attr-defined]  # raises, as legacy

            return not_iterable
        # what the legacy SDK casefolds from the target at every check, once
        needles = tuple(str(m).casefold() for m in target if m is not None)
        if mode == "contains":

            def contains(value: object) -> bool:
                if value is None:
                    return negate
                v = (value if type(value) is str else str(value)).casefold()
                for needle in needles:
                    if needle in v:
                        return not negate
                return negate

            return contains
        starts = mode == "starts"

        def affix(value: object) -> bool:
            if value is None:
                return negate
            v = (value if type(value) is str else str(value)).casefold()
            return (v.startswith(needles) if starts else v.endswith(needles)) != negate

        return affix

    return factory


def _legacy_str_matches(target: object) -> Predicate:
    from .regex_bound import compile_bounded  # only payloads with regex conditions load it

    if target is None:
        return _never
    try:  # compiled once at load, bounded in time (regex_bound); a timeout is an evaluation error
        search = compile_bounded(str(target)).search
    except (re.error, RecursionError) as exc:  # a deep nesting: re.search raises it too, at every check
        error = exc

        def fails(value: object) -> bool:
            if value is None:
                return False
            # as the legacy SDK's re.search does at every check; a raise chains onto the error's traceback:
            # cleared, it holds the last check's frames only, not every check's
            raise error.with_traceback(None)

        return fails

    def pred(value: object) -> bool:
        return value is not None and search(str(value))

    return pred


def _legacy_date(value: object) -> datetime | None:
    if value is None:
        return None
    from datetime import datetime  # only time comparisons need it
    epoch = int(value)  # type: ignore[call-overload]
    if len(str(value)) >= 11:
        epoch //= 1000
    return datetime.fromtimestamp(epoch)


def _legacy_time(cmp: Callable[[datetime, datetime], bool]) -> Factory:
    def factory(target: object) -> Predicate:
        def pred(value: object) -> bool:
            if value is None and target is None:
                return False
            a, b = _legacy_date(value), _legacy_date(target)
            return a is not None and b is not None and cmp(a, b)

        return pred

    return factory


def _safe_int(value: str) -> int | None:
    try:
        return int(value)
    except (ValueError, TypeError):
        return None


def _legacy_array(mode: str) -> Factory:
    def factory(target: object) -> Predicate:
        wanted: list[tuple[str, int | None]] | None = (
            [(str(t), _safe_int(str(t))) for t in dict.fromkeys(str(x) for x in target)]
            if isinstance(target, list)
            else None
        )

        def pred(value: object) -> bool:
            if not isinstance(value, list):
                return False
            if wanted is None:
                raise TypeError("'NoneType' object is not iterable")
            if mode in ("any", "none"):
                common = any((i and i in value) or s in value for s, i in wanted)
                return common if mode == "any" else not common
            has_all = all(not (i not in value and s not in value) for s, i in wanted)
            return has_all if mode == "all" else not has_all

        return pred

    return factory


def _legacy_equals(negate: bool) -> Factory:
    def factory(target: object) -> Predicate:
        return lambda value: (value == target) != negate

    return factory


LEGACY: Final[Mapping[str, Factory]] = {
    "gt": _legacy_numeric(operator.gt),
    "gte": _legacy_numeric(operator.ge),
    "lt": _legacy_numeric(operator.lt),
    "lte": _legacy_numeric(operator.le),
    "version_gt": _legacy_version(operator.gt),
    "version_gte": _legacy_version(operator.ge),
    "version_lt": _legacy_version(operator.lt),
    "version_lte": _legacy_version(operator.le),
    "version_eq": _legacy_version(operator.eq),
    "version_neq": _legacy_version(operator.ne),
    "any": _legacy_membership(case_sensitive=False, negate=False),
    "none": _legacy_membership(case_sensitive=False, negate=True),
    "any_case_sensitive": _legacy_membership(case_sensitive=True, negate=False),
    "none_case_sensitive": _legacy_membership(case_sensitive=True, negate=True),
    "str_starts_with_any": _legacy_string_match("starts", negate=False),
    "str_ends_with_any": _legacy_string_match("ends", negate=False),
    "str_contains_any": _legacy_string_match("contains", negate=False),
    "str_contains_none": _legacy_string_match("contains", negate=True),
    "str_matches": _legacy_str_matches,
    "eq": _legacy_equals(negate=False),
    "neq": _legacy_equals(negate=True),
    "before": _legacy_time(lambda a, b: a < b),
    "after": _legacy_time(lambda a, b: a > b),
    "on": _legacy_time(lambda a, b: a.date() == b.date()),
    "array_contains_any": _legacy_array("any"),
    "array_contains_none": _legacy_array("none"),
    "array_contains_all": _legacy_array("all"),
    "not_array_contains_all": _legacy_array("not_all"),
}


def legacy_segment(negate: bool) -> Callable[[object, Callable[[str], AbstractSet[str] | None]], Predicate]:
    """Legacy ID-list check: the value's str() (None hashes as "None"); an unknown list never matches."""

    def factory(target: object, lists: Callable[[str], AbstractSet[str] | None]) -> Predicate:
        if isinstance(target, (list, dict)):

            def unhashable(value: object) -> bool:
                raise OperatorError("unhashable list name")

            return unhashable
        name = target if isinstance(target, str) else None

        def pred(value: object) -> bool:
            ids = lists(name) if name is not None else None
            if ids is None:
                return negate
            return (id_list_hash(str(value)) in ids) != negate

        return pred

    return factory


LEGACY_SEGMENT_OPERATORS: Final = {
    "in_segment_list": legacy_segment(negate=False),
    "not_in_segment_list": legacy_segment(negate=True),
}


def legacy_bucket_bits(target: object) -> tuple[int, frozenset[int]]:
    """Legacy user_bucket any/none's target, its ints as bucket_mask gives them (raises where the legacy SDK
    cannot read the target)."""
    return bucket_mask(frozenset(map(int, target)) if isinstance(target, Iterable) else frozenset())


def legacy_bucket_any(target: object, negate: bool) -> Predicate:
    """Legacy user_bucket any/none: membership of the unit's bucket in the target's ints."""
    mask, others = legacy_bucket_bits(target)

    def pred(value: object) -> bool:
        if type(value) is int or isinstance(value, int):  # always a bucket: the getter's `% 1000`
            found = bool((mask >> value) & 1) if 0 <= value < BUCKETS else value in others
            return found != negate
        return negate

    return pred


BUCKETS: Final = 1000  # user_bucket values: a hash % 1000


def bucket_mask(members: Iterable[int]) -> tuple[int, frozenset[int]]:
    """The members 0..999 as the bits of one int (~160 bytes, where a set of a few hundred ints takes ~16 KiB)
    and the set of the others (almost always empty)."""
    mask = 0
    others = []
    for m in members:
        if 0 <= m < BUCKETS:
            mask |= 1 << m
        else:
            others.append(m)
    return mask, frozenset(others)


def _small_ints(values: list[object]) -> object:
    """`values` as an array of 2-byte ints when every one fits (texts, floats, larger ints: as they came)."""
    if any(type(v) is bool for v in values):  # array("H") takes True as 1; its text is "true", never a bucket
        return values
    try:
        return array("H", values)  # type: ignore[type-var]
    except (TypeError, OverflowError):
        return values


def core_bucket_any(target: object, negate: bool) -> Predicate:
    """statsig-python-core's user_bucket any/none: its case-insensitive text membership (the `any` entry of
    CORE) for the only values a bucket getter gives, ints 0..999, whose text is their decimal digits: a
    bucket is a member exactly when that text is one of the target texts. Held as the bits of one int, built
    on first use (as the other membership tests: a cold start evaluates few of them); until then a list of
    ints is held as an array (2 bytes a target, not an int object each: ~2 MB of a large project's rules)."""
    build = core_bucket_bits(target)
    mask: int | None = None

    def pred(value: object) -> bool:
        nonlocal mask
        if mask is None:
            mask = build()
        if type(value) is int and 0 <= value < BUCKETS:
            return ((mask >> value) & 1) != negate  # 0 or 1 against a bool: a bool
        return negate  # never: bucket getters give ints 0..999 only

    return pred


def core_bucket_bits(target: object) -> Callable[[], int]:
    """What core_bucket_any builds on first use: the buckets of the target as the bits of one int."""
    if type(target) is list:
        target = _small_ints(target)

    def build() -> int:
        bits = 0
        texts: Iterable[object] = target if isinstance(target, (list, array)) else ()
        for item in texts if not isinstance(target, Mapping) else (str(k) for k in target):
            if type(item) is int:  # its text is its digits: no JSON needed
                if 0 <= item < BUCKETS:
                    bits |= 1 << item
                continue
            text = str(item) if isinstance(target, Mapping) else core_target_text(item).lower()
            if text.isascii() and text.isdigit() and str(int(text)) == text and int(text) < BUCKETS:
                bits |= 1 << int(text)
        return bits

    return build
