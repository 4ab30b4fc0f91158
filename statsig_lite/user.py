"""StatsigUser and StatsigEvent, with the legacy `statsig` SDK's keyword names."""

from __future__ import annotations

import time as _time_module
from collections.abc import Mapping

from ._record import Record
from .errors import StatsigValueError
from .options import StatsigEnvironmentTier

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

    # user_id, email, ip, user_agent, country, locale, app_version, custom, custom_ids, statsig_environment
    LogFields = tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any]

_USER_KEYS = {
    "userID": "user_id",
    "email": "email",
    "ip": "ip",
    "userAgent": "user_agent",
    "country": "country",
    "locale": "locale",
    "appVersion": "app_version",
    "custom": "custom",
    "privateAttributes": "private_attributes",
    "customIDs": "custom_ids",
    "statsigEnvironment": "_statsig_environment",
}


class StatsigUser(Record):
    """A user to evaluate for.

    As in the legacy SDK, `user_id` and custom ID values are turned into strings when the user is built;
    other fields are kept as given and compared by the rules' operators. Unlike the legacy SDK (and like
    statsig-python-core) a user without any ID is accepted: its unit ID hashes as the empty string.
    """

    __slots__ = (
        "_statsig_environment",
        "app_version",
        "country",
        "custom",
        "custom_ids",
        "email",
        "ip",
        "locale",
        "private_attributes",
        "user_agent",
        "user_id",
    )

    def __init__(
        self,
        user_id: str | None = None,
        email: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        country: str | None = None,
        locale: str | None = None,
        app_version: str | None = None,
        custom: Mapping[str, Any] | None = None,
        private_attributes: Mapping[str, Any] | None = None,
        custom_ids: dict[str, str] | None = None,
        _statsig_environment: Mapping[str, Any] | None = None,
    ) -> None:
        self.user_id = user_id
        self.email = email
        self.ip = ip
        self.user_agent = user_agent
        self.country = country
        self.locale = locale
        self.app_version = app_version
        self.custom = custom
        self.private_attributes = private_attributes
        self.custom_ids = custom_ids
        self._statsig_environment = _statsig_environment
        try:
            if self.user_id is not None:
                self.user_id = str(self.user_id)
            if self.custom_ids is not None:
                if not isinstance(self.custom_ids, Mapping):
                    raise StatsigValueError("custom_ids must be a mapping of ID type to ID")
                self.custom_ids = {str(k): str(v) for k, v in self.custom_ids.items()}
        except StatsigValueError:
            raise
        except Exception as exc:  # an ID whose str() fails: bad input, reported as such
            raise StatsigValueError(f"user IDs must be convertible to str: {type(exc).__name__}") from exc

    def __repr__(self) -> str:
        # private attributes are for evaluation only: never shown, not even their keys
        shown = {n: getattr(self, n) for n in self.__slots__ if not n.startswith("_")}
        parts = ", ".join(
            f"{n}=<redacted>" if n == "private_attributes" and v is not None else f"{n}={v!r}" for n, v in shown.items()
        )
        return f"StatsigUser({parts})"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatsigUser:
        """Build a user from Statsig's user JSON (`userID`, `customIDs`, `statsigEnvironment`, ...)."""
        if not isinstance(data, Mapping):
            raise StatsigValueError("a user must be a JSON object")
        kwargs = {attr: data[key] for key, attr in _USER_KEYS.items() if key in data}
        return cls(**kwargs)

    def environment(self) -> dict[str, str] | None:
        return _environment(self._statsig_environment)

    def to_hash_without_stable_id(self) -> str:
        """djb2 of the user's JSON (private attributes included, stableID left out), as the legacy SDK."""
        import json

        from .evaluator.hashing import djb2

        data = self.to_dict(True)
        ids = dict(data.pop("customIDs", None) or {})
        ids.pop("stableID", None)
        data["customIDs"] = ids
        return djb2(json.dumps(data, sort_keys=True, separators=(",", ":")))

    def to_dict(self, for_evaluation: bool = False) -> dict[str, Any]:
        """The user as logged: private attributes only when `for_evaluation` is true."""
        out = logged_user_dict(self.log_fields())
        if for_evaluation and self.private_attributes is not None:
            out["privateAttributes"] = dict(self.private_attributes)
        return out

    def log_fields(self) -> LogFields:
        """What an exposure logs of this user, copied now: the official SDKs serialise the user when they
        log, so a later change to the user (or to its custom dict) must not reach an event already logged.
        Cheaper than the JSON object, which `logged_user_dict` builds when the event is sent."""
        custom, ids = self.custom, self.custom_ids
        return (
            self.user_id,
            self.email,
            self.ip,
            self.user_agent,
            self.country,
            self.locale,
            self.app_version,
            copied_map(custom),
            None if ids is None else dict(ids),
            self._statsig_environment,
        )


def copied_map(value: Any) -> Any:
    """A user's custom (or custom-ID) object as a check saw it: a mapping as a new dict (a copy of a dict of plain
    values is untracked by the cyclic collector, like its original), any other value as given."""
    return dict(value) if isinstance(value, Mapping) else value


_LOGGED_KEYS = ("userID", "email", "ip", "userAgent", "country", "locale", "appVersion")


def logged_user_dict(
    fields: LogFields, environment: Mapping[str, Any] | None = None, blank_missing_id: bool = False
) -> dict[str, Any]:
    """A user's JSON object as exposures and events carry it (no private attributes). `environment`: the
    tier the client resolved, which wins over the user's; `blank_missing_id`: core logs "userID": ""."""
    out: dict[str, Any] = {}
    for key, value in zip(_LOGGED_KEYS, fields, strict=False):  # the first seven fields
        if value is not None:
            out[key] = value if type(value) is str else str(value)
    custom, ids, raw_env = fields[7], fields[8], fields[9]
    if custom is not None:
        out["custom"] = custom
    if raw_env is not None and (env := _environment(raw_env)) is not None:
        out["statsigEnvironment"] = env
    if ids is not None:
        out["customIDs"] = ids
    if blank_missing_id and fields[0] is None:
        out = {"userID": "", **out}
    if environment is not None:
        out["statsigEnvironment"] = environment
    return out


def _environment(env: object) -> dict[str, str] | None:
    if not isinstance(env, Mapping) or env.get("tier") is None:
        return None
    tier = env["tier"]
    if isinstance(tier, StatsigEnvironmentTier):
        return {"tier": tier.value}
    return {"tier": tier} if isinstance(tier, str) else None


class StatsigEvent(Record):
    """A custom event for `log_event`. `value` is a str, int or float; metadata a JSON object."""

    __slots__ = ("_secondary_exposures", "event_name", "metadata", "statsigMetadata", "time", "user", "value")

    def __init__(
        self,
        user: StatsigUser | None,
        event_name: str,
        value: str | int | float | None = None,
        metadata: Mapping[str, Any] | None = None,
        statsigMetadata: Mapping[str, Any] | None = None,
        _secondary_exposures: list[Any] | None = None,
        _time: int | None = None,
        time: int | None = None,
    ) -> None:
        self.user = user
        self.event_name = event_name
        self.value = value
        self.metadata = metadata
        self.statsigMetadata = statsigMetadata
        self._secondary_exposures = _secondary_exposures
        when = time if time is not None else _time
        self.time = round(_time_module.time() * 1000) if when is None else when
        if not isinstance(self.event_name, str) or not self.event_name:
            raise StatsigValueError("StatsigEvent.event_name must be a non-empty str")
        if self.value is not None and (isinstance(self.value, bool) or not isinstance(self.value, (str, int, float))):
            raise StatsigValueError("StatsigEvent.value must be a str, float, or int")
        if self.metadata is not None and not isinstance(self.metadata, Mapping):
            raise StatsigValueError("StatsigEvent.metadata must be a mapping")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"eventName": self.event_name, "time": self.time}
        if self.user is not None:
            out["user"] = self.user.to_dict()
        if self.value is not None:
            out["value"] = self.value
        if self.metadata is not None:
            out["metadata"] = dict(self.metadata)
        if self._secondary_exposures is not None:
            out["secondaryExposures"] = self._secondary_exposures
        if self.statsigMetadata is not None:
            out["statsigMetadata"] = dict(self.statsigMetadata)
        return out
