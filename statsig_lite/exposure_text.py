"""Recorded exposures encoded straight to JSON text, a batch in one pass.

The text is the one ``buffer.encode_event(exposure.wire())`` gives, byte for byte (tests/test_exposure_text.py
compares them on every kind and dialect), built without the wire dicts: fixed keys are literals, strings go
through the json module's C escaper, flat custom objects are written here, anything else through its encoder.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _q

from .buffer import checked_event
from .errors import StatsigValueError
from .exposures import CONFIG_EXPOSURE, GATE_EXPOSURE, PendingExposure, i64_or_float
from .user import _environment as user_environment

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

_FALSE_TRUE = ('"false"', '"true"')
_JSON_FALSE_TRUE = ("false", "true")
_EXPOSURE_KEYS = ("gate", "gateValue", "ruleID")
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def _any(value: Any) -> str:
    """JSON text of an arbitrary value, as buffer's encoder writes it."""
    from .buffer import _ENCODER

    return _ENCODER.encode(value)


def _text(value: Any) -> str:
    return _q(value) if type(value) is str else _any(value)


def _num(value: Any) -> str:
    return repr(value) if type(value) is int else _any(value)


def _object(value: Any, core: bool = False) -> str:
    """A flat dict of strings, ints, bools and None written here (most custom objects); anything else encoded.
    `core`: an integer beyond 64 bits is written as a float (core's `i64_or_float`)."""
    if type(value) is not dict:
        return _any(i64_or_float(value) if core else value)
    parts = []
    for key, item in value.items():
        kind = type(item)
        if type(key) is not str:
            return _any(i64_or_float(value) if core else value)
        if kind is str:
            parts.append(f"{_q(key)}:{_q(item)}")
        elif kind is int and (not core or _I64_MIN <= item <= _I64_MAX):
            parts.append(f"{_q(key)}:{item!r}")
        elif kind is bool:
            parts.append(f"{_q(key)}:{_JSON_FALSE_TRUE[item]}")
        elif item is None:
            parts.append(f"{_q(key)}:null")
        else:
            return _any(i64_or_float(value) if core else value)
    return "{" + ",".join(parts) + "}"


def _tier(environment: Any) -> str:
    tier = environment.get("tier") if type(environment) is dict and len(environment) == 1 else None
    return '{"tier":' + _q(tier) + "}" if type(tier) is str else _object(environment)


def _user(event: PendingExposure, environment: Any, blank_id: bool, core: bool) -> str:
    """The user object of `logged_user_dict` (and core's i64_or_float of custom) as text."""
    user_id, email, ip, agent = event.user_id, event.email, event.ip, event.user_agent
    country, locale, version, custom = event.country, event.locale, event.app_version, event.custom
    ids, raw_env = event.custom_ids, event.raw_environment
    if type(ids) is tuple:  # core's IDs, held in the exposure's dedupe key
        ids = event.user[8]
    q = _q
    text = ',"userID":""' if user_id is None and blank_id else ""
    if user_id is not None:
        text += ',"userID":' + q(user_id if type(user_id) is str else str(user_id))
    if email is not None:
        text += ',"email":' + q(email if type(email) is str else str(email))
    if ip is not None:
        text += ',"ip":' + q(ip if type(ip) is str else str(ip))
    if agent is not None:
        text += ',"userAgent":' + q(agent if type(agent) is str else str(agent))
    if country is not None:
        text += ',"country":' + q(country if type(country) is str else str(country))
    if locale is not None:
        text += ',"locale":' + q(locale if type(locale) is str else str(locale))
    if version is not None:
        text += ',"appVersion":' + q(version if type(version) is str else str(version))
    if custom is not None:
        text += ',"custom":' + _object(custom, core)
    own = user_environment(raw_env) if raw_env is not None else None
    if own is not None:  # the client's tier replaces the user's in place
        text += ',"statsigEnvironment":' + _tier(own if environment is None else environment)
    if ids is not None:
        text += ',"customIDs":' + _object(ids)
    if environment is not None and own is None:
        text += ',"statsigEnvironment":' + _tier(environment)
    return "{" + text[1:] + "}"  # every member came with a leading comma


def _exposures(items: Any) -> str:
    if items is None:
        return "null"
    if not items:
        return "[]"
    parts = []
    for item in items:
        if type(item) is not dict or tuple(item) != _EXPOSURE_KEYS:
            return _any(list(items))
        parts.append(f'{{"gate":{_text(item["gate"])},"gateValue":{_text(item["gateValue"])},'
                     f'"ruleID":{_text(item["ruleID"])}}}')
    return "[" + ",".join(parts) + "]"


class ExposureEncoder:
    """Encodes the recorded exposures of one batch, in order."""

    __slots__ = ()

    def encode(self, event: PendingExposure) -> bytes:
        """The event's JSON, or StatsigValueError saying why it cannot be sent (as `encode_event` would)."""
        try:
            return self._encode(event)
        except StatsigValueError:
            raise
        except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
            raise StatsigValueError(f"event {event.kind!r} is not JSON-serialisable: {exc}") from None

    def _encode(self, event: PendingExposure) -> bytes:
        ev = event.evaluation
        snapshot = ev.snapshot
        dialect = snapshot.dialect
        legacy = dialect.exposure_times == "sync"
        user = _user(event, ev.environment, dialect.log_missing_user_id, not legacy)
        kind = event.kind
        now = event.now_ms
        version = ev.version
        name = _text(event.name)
        if kind == GATE_EXPOSURE:
            head = f'"gate":{name},"gateValue":{_FALSE_TRUE[bool(ev.value)]},"ruleID":{_text(ev.rule_id)}'
            exposures = _exposures(list(ev.secondary_exposures))
        elif kind == CONFIG_EXPOSURE:
            head = f'"config":{name},"ruleID":{_text(ev.rule_id)},"rulePassed":{_FALSE_TRUE[bool(ev.value)]}'
            exposures = _exposures(list(ev.secondary_exposures))
        else:
            explicit = event.parameter in ev.explicit_parameters
            allocated = (ev.allocated_experiment or "") if explicit else ""
            head = (f'"config":{name},"ruleID":{_text(ev.rule_id)},"allocatedExperiment":{_text(allocated)},'
                    f'"parameterName":{_text(event.parameter)},"isExplicitParameter":{_FALSE_TRUE[explicit]}')
            items: list[dict[str, str]] | None = (
                ev.secondary_exposures if explicit else ev.undelegated_secondary_exposures
            )
            if not explicit and not items and ev.undelegated is None and snapshot.dialect.null_undelegated_exposures:
                items = None
            exposures = _exposures(None if items is None else list(items))
        if version is not None:
            head += f',"configVersion":{_q(str(version))}'
        head += f',"reason":{_text(event.reason)}'
        manual = ',"isManualExposure":"true"' if event.manual else ""
        if legacy:
            mode = snapshot.sdk_configs.get("sampling_mode") if snapshot.sdk_configs else None
            meta = _object({**event.sampling_meta, "samplingMode": mode if isinstance(mode, str) else None})
            tail = f'{manual},"configSyncTime":{_num(snapshot.time)},"initTime":{_num(event.init_time)},' \
                   f'"serverTime":{_num(now)}'
        else:
            sampling = event.sampling_meta
            meta = "{}" if type(sampling) is dict and not sampling else _any(sampling)
            tail = f',"lcut":{_q(str(snapshot.time))},"receivedAt":{_q(str(now))}{manual}'
        text = (f'{{"eventName":{_q(kind)},"user":{user},"time":{_num(now)},"metadata":{{{head}{tail}}},'
                f'"secondaryExposures":{exposures},"statsigMetadata":{meta}}}').encode()
        # the event nests at most 3 levels besides what the user and statsigMetadata objects bring: count
        # their brackets, not the whole event's (buffer.checked_event decodes it when the count is over)
        nesting = user.count("{") + user.count("[") + (meta.count("{") + meta.count("[") if meta != "{}" else 1) + 3
        return checked_event(text, kind, nesting)

