"""Value getters for conditions, built once per condition when the store compiles it.

A getter reads the evaluation context (user, now, target app, environment) and returns the raw value the
operator compares. Which lookups apply (aliases, empty-string fall-through) is chosen by the dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import FunctionType

from ..store.model import EvalInput, Getter
from .hashing import memo_of, salted_hash_into, unit_text

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

_TOP_LEVEL = {
    "userid": "user_id",
    "email": "email",
    "ip": "ip",
    "country": "country",
    "locale": "locale",
    "appversion": "app_version",
    "useragent": "user_agent",
}
_LEGACY_ALIASES = {
    "user_id": "user_id",
    "ipaddress": "ip",
    "ip_address": "ip",
    "user_agent": "user_agent",
    "app_version": "app_version",
}
_CORE_TRAILING_ALIASES = {"user_id": "user_id", "app_version": "app_version", "user_agent": "user_agent"}


_MISSING = object()


def _lookup(mapping: object, field: str, folded: str) -> object:
    # `type(...) is dict` first: an ABC isinstance check costs more than the lookup itself
    if mapping is None or (type(mapping) is not dict and not isinstance(mapping, Mapping)):
        return None
    value = mapping.get(field, _MISSING)
    if value is _MISSING:  # a key present with null stops the search, as in the official SDKs
        return mapping.get(folded)
    return value


def _legacy_lookup(mapping: object, field: str, folded: str, value: object) -> object:
    """The key's value when the mapping has it (exact, then folded), else `value` unchanged."""
    if mapping is None or (type(mapping) is not dict and not isinstance(mapping, Mapping)):
        return value
    if field in mapping:
        return mapping[field]
    if folded in mapping:
        return mapping[folded]
    return value


def field_getter(field: str, legacy: bool, global_custom: Mapping[str, Any] | None) -> Getter:
    """`get_user_field` (protocol doc 3.6) for one field name."""
    lower = field.lower()
    folded = field.casefold() if legacy else lower
    attr = _TOP_LEVEL.get(lower) or (_LEGACY_ALIASES.get(lower) if legacy else None)
    trailing = None if legacy else _CORE_TRAILING_ALIASES.get(lower)
    two_keys = folded != field  # most field names are lower case: one key to look up

    if legacy:
        # The legacy SDK treats "" like a missing value only to look further: a mapping without the key
        # leaves it "", which is a value (it matches [""], not null, and fails a date parse).

        def legacy_rest(user: Any, value: object) -> object:
            """The user's own fields gave None or "": the global custom, then the private attributes."""
            if global_custom:
                value = _legacy_lookup(global_custom, field, folded, value)
                if not (value is None or value == ""):
                    return value
            return _legacy_lookup(user.private_attributes, field, lower, value)

        if not attr:

            def get_legacy_custom(ctx: EvalInput) -> object:
                user = ctx.user
                custom = user.custom
                if type(custom) is dict:  # _legacy_lookup inline: the common case
                    if field in custom:
                        value = custom[field]
                    elif two_keys and folded in custom:
                        value = custom[folded]
                    else:
                        value = None
                elif custom is None:  # no call to learn that a missing custom object has no value
                    value = None
                else:
                    value = _legacy_lookup(custom, field, folded, None)
                if (value is None or value == "") and (global_custom or user.private_attributes is not None):
                    return legacy_rest(user, value)
                return value

            return get_legacy_custom

        def get_legacy(ctx: EvalInput) -> object:
            user = ctx.user
            value = user.attr_  # user.<attr> (see _reading)
            if value is None or value == "":
                custom = user.custom
                if type(custom) is dict:
                    if field in custom:
                        value = custom[field]
                    elif two_keys and folded in custom:
                        value = custom[folded]
                elif custom is not None:
                    value = _legacy_lookup(custom, field, folded, value)
                if (value is None or value == "") and (global_custom or user.private_attributes is not None):
                    return legacy_rest(user, value)
            return value

        return _reading(get_legacy, attr)

    def rest(user: Any) -> object:
        """The custom object gave None: the global custom, the private attributes, an alias."""
        value = _lookup(global_custom, field, folded) if global_custom else None
        if value is None:
            value = _lookup(user.private_attributes, field, lower)
            if value is None and trailing:
                value = getattr(user, trailing)
        return value

    def get_custom(ctx: EvalInput) -> object:
        user = ctx.user
        custom = user.custom
        if type(custom) is dict:  # _lookup inline: the common case
            value = custom.get(field, _MISSING)
            if value is _MISSING:  # a key present with null stops the search, as in the official SDKs
                value = custom.get(folded) if two_keys else None
        elif custom is None:  # no call to learn that a missing custom object has no value
            value = None
        else:
            value = _lookup(custom, field, folded)
        if value is None and (global_custom or trailing or user.private_attributes is not None):
            return rest(user)
        return value

    if not attr:
        return get_custom

    def get_core(ctx: EvalInput) -> object:
        user = ctx.user
        value = user.attr_  # user.<attr> (see _reading)
        if value and type(value) is str:
            return value
        custom = user.custom  # get_custom inline
        if type(custom) is dict:
            value = custom.get(field, _MISSING)
            if value is _MISSING:
                value = custom.get(folded) if two_keys else None
        elif custom is None:  # no call to learn that a missing custom object has no value
            value = None
        else:
            value = _lookup(custom, field, folded)
        if value is None and (global_custom or trailing or user.private_attributes is not None):
            return rest(user)
        return value

    return _reading(get_core, attr)


# code objects of getters that read a user attribute by name, per (template, name): see _reading
_READING: dict[tuple[object, str], Any] = {}


def _reading(getter: Getter, attr: str) -> Getter:
    """`getter` (a closure whose code reads `user.attr_`) reading `user.<attr>` instead: the same closure over a
    copy of its code with that one name replaced, made once per name. A read by name in the code is specialised
    by the interpreter (a slot read, ~20 instructions); getattr(user, attr) is a call and a generic lookup
    (~300 instructions a read, twice a check of a large spec)."""
    func: Any = getter
    code = func.__code__
    named = _READING.get((code, attr))
    if named is None:
        named = _READING[(code, attr)] = code.replace(
            co_names=tuple(attr if name == "attr_" else name for name in code.co_names))
    return FunctionType(named, func.__globals__, func.__name__, None, func.__closure__)


def unit_id(user: Any, id_type: str | None) -> object:
    """The unit a rule or condition hashes: userID, or a custom ID (exact key, then lower-cased key)."""
    if id_type is None or id_type.lower() == "userid":
        return user.user_id
    ids = user.custom_ids
    if ids is None or (type(ids) is not dict and not isinstance(ids, Mapping)):
        return None
    value = ids.get(id_type)
    if value is None:
        value = ids.get(id_type.lower())
    return value


def unit_id_getter(id_type: str | None) -> Getter:
    return lambda ctx: unit_id(ctx.user, id_type)


def bucket_getter(salt: str, id_type: str | None) -> Getter:
    """The unit's bucket, salted_hash("{salt}.", unit) % 1000. A check often asks for one bucket several times
    (a layer's rules, then its experiment's: one salt each): the memo is read here, without salted_hash's
    frame."""
    prefix = salt + "."
    if id_type is None or id_type.lower() == "userid":

        def get_by_user_id(ctx: EvalInput) -> object:
            unit = ctx.user.user_id
            if type(unit) is not str:
                unit = unit_text(unit)
            units = memo_of(prefix)
            if units is not None and (found := units.get(unit)) is not None:
                return found % 1000
            return salted_hash_into(units, prefix, unit) % 1000

        return get_by_user_id

    def get(ctx: EvalInput) -> object:
        unit = unit_id(ctx.user, id_type)
        if type(unit) is not str:
            unit = unit_text(unit)
        units = memo_of(prefix)
        if units is not None and (found := units.get(unit)) is not None:
            return found % 1000
        return salted_hash_into(units, prefix, unit) % 1000

    return get


def bucket_compare(salt: str, id_type: str | None, cmp: Callable[[float, float], bool], bound: float) -> Getter:
    """`bucket_getter(salt, id_type)` and a comparison with a number in one closure: cmp(bucket, bound), a
    frame fewer than getter and predicate (an experiment's groups: `user_bucket lt`). Raises where the getter
    does; the comparison of an int with a float cannot."""
    prefix = salt + "."
    by_user_id = id_type is None or id_type.lower() == "userid"

    def compare(ctx: EvalInput) -> object:
        unit = ctx.user.user_id if by_user_id else unit_id(ctx.user, id_type)
        if type(unit) is not str:
            unit = unit_text(unit)
        units = memo_of(prefix)
        if units is None or (found := units.get(unit)) is None:
            found = salted_hash_into(units, prefix, unit)
        return cmp(found % 1000, bound)

    return compare


def bucket_member(
    salt: str, id_type: str | None, mask: int | None, build: Callable[[], int] | None, negate: bool
) -> Getter:
    """`bucket_getter(salt, id_type)` and a user_bucket any / none in one closure: whether the bucket is a bit of
    `mask` (or of what `build` gives, on first use), != negate; a frame fewer than getter and predicate (a
    layer's rules, an experiment's layer assignment). Raises where the getter does."""
    prefix = salt + "."
    by_user_id = id_type is None or id_type.lower() == "userid"

    def member(ctx: EvalInput) -> object:
        nonlocal mask
        unit = ctx.user.user_id if by_user_id else unit_id(ctx.user, id_type)
        if type(unit) is not str:
            unit = unit_text(unit)
        units = memo_of(prefix)
        if units is None or (found := units.get(unit)) is None:
            found = salted_hash_into(units, prefix, unit)
        if mask is None:
            mask = build()  # type: ignore[misc]
        return ((mask >> (found % 1000)) & 1) != negate

    return member


def bucket_probe(id_type: str | None) -> Getter:
    """What `bucket_getter(salt, id_type)` still does once an earlier condition of its rule failed (legacy: its
    answer no longer matters), for a salt UTF-8 can encode: raise where its hash would (a unit ID UTF-8 cannot
    encode), without hashing."""
    by_user_id = id_type is None or id_type.lower() == "userid"

    def probe(ctx: EvalInput) -> object:
        unit = ctx.user.user_id if by_user_id else unit_id(ctx.user, id_type)
        text = unit if type(unit) is str else unit_text(unit)
        if not text.isascii():
            text.encode("utf-8")  # raises where salted_hash would
        return None

    return probe


def environment_getter(field: str, legacy: bool) -> Getter:
    lower = field.lower()

    def get(ctx: EvalInput) -> object:
        env = ctx.environment
        if type(env) is not dict and not isinstance(env, Mapping):  # dict first: an ABC check costs a frame
            return None
        if field in env:
            return env[field]
        if lower in env:
            # the legacy SDK finds the lower-cased key but then reads the original one
            return env.get(field) if legacy else env[lower]
        return None

    return get


def now_getter(ctx: EvalInput) -> object:
    return ctx.now_ms


def target_app_getter(default_app: str | None) -> Getter:
    def get(ctx: EvalInput) -> object:
        return ctx.target_app_id if ctx.target_app_id is not None else default_app

    return get


LOOKUP_UA = 1
LOOKUP_COUNTRY = 2


def ip_getter(field: str, legacy: bool, global_custom: Mapping[str, Any] | None) -> Getter:
    explicit = field_getter(field, legacy, global_custom)
    from . import country  # the module, not its table: that loads on the first lookup

    ip_field = field_getter("ip", legacy, global_custom)
    # legacy: only the exact name "country" looks the IP up (core: any case is compared, see tests)
    is_country = field == "country"

    if legacy:

        def get_legacy(ctx: EvalInput) -> object:
            value = explicit(ctx)
            if value is not None or not is_country:
                return value  # "" is a value: no lookup
            ip = ip_field(ctx)
            if ip is not None and ctx.lookups_off & LOOKUP_COUNTRY:  # disable_country_lookup, as officially
                ctx.lookup_missed = "CountryLookupNotLoaded"
                return None
            return None if ip is None else country.lookup_legacy(ip)

        return get_legacy

    def get(ctx: EvalInput) -> object:
        value = explicit(ctx)
        if value is not None:
            return value
        if not is_country:
            return None
        user = ctx.user
        if _has_key(user.custom, field) or _has_key(global_custom, field) or _has_key(user.private_attributes, field):
            return None  # core: a custom or private "country" present as null is a value: no lookup
        ip = ip_field(ctx)
        if not isinstance(ip, str) or not ip or ip != ip.strip():
            return None  # core parses the address strictly
        if ctx.lookups_off & LOOKUP_COUNTRY:  # disable_country_lookup: no value, as the legacy SDK
            ctx.lookup_missed = "CountryLookupNotLoaded"
            return None
        return country.lookup(ip)

    return get


def _has_key(mapping: object, key: str) -> bool:
    return mapping is not None and (type(mapping) is dict or isinstance(mapping, Mapping)) and key in mapping


def ua_probe(field: str, legacy: bool, global_custom: Mapping[str, Any] | None) -> Getter:
    """What `ua_getter(field, ...)` still does once an earlier condition of its rule failed (legacy: it cannot
    raise, and its answer no longer matters): record that a disabled parser was needed (disable_ua_parser)."""
    explicit = field_getter(field, legacy, global_custom)
    from . import user_agent

    part = user_agent.part_for_field(field)

    def probe(ctx: EvalInput) -> object:
        if ctx.lookups_off & LOOKUP_UA and part is not None and explicit(ctx) is None:
            ctx.lookup_missed = "UAParserNotLoaded"
        return None

    return probe


def ua_getter(field: str, legacy: bool, global_custom: Mapping[str, Any] | None) -> Getter:
    explicit = field_getter(field, legacy, global_custom)
    from . import user_agent  # only payloads with ua_based conditions need it

    ua_field = field_getter("userAgent", legacy, global_custom)
    part = user_agent.part_for_field(field)

    def get(ctx: EvalInput) -> object:
        value = explicit(ctx)
        if value is not None:
            return value
        if part is None:
            return None
        if ctx.lookups_off & LOOKUP_UA:  # disable_ua_parser: no value, as the legacy SDK
            ctx.lookup_missed = "UAParserNotLoaded"
            return None
        ua = ctx.user.user_agent  # ua_field's first answer, a str that is not "", read inline: a frame fewer
        if type(ua) is not str or not ua:
            ua = ua_field(ctx)
        if not isinstance(ua, str) or (not ua and not legacy):
            return None  # the legacy SDK parses "" too (browser "Other", version 0.0.0)
        return user_agent.parse(ua, legacy).get(part)

    return get
