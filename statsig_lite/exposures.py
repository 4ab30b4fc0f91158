"""Exposure events in Statsig's wire format, with dedupe and the legacy SDK's sampling.

A check that logs records what it saw (`check_record`, or a `NotedExposure`) and nothing more: the event
pipeline builds the wire-format dict when it flushes, and only then is it decided whether the exposure repeats
one already logged (`ExposureDeduper.wire_record`; the buffer builds in recording order, so the decisions are
those of deciding on each check). A check pays for a copy of the user's fields, not for the dedupe key, the
event or its JSON. Under server-driven sampling, which and the dedupe depend on each other (core dedupes
first, the legacy SDK samples first), both are decided on the check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum

from .constants import EXPOSURE_DEDUPE_MAX_KEYS, EXPOSURE_DEDUPE_TTL_MS
from .evaluator.evaluate import Evaluation
from .evaluator.hashing import signed_hash
from .user import copied_map, logged_user_dict

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

    from .user import LogFields

GATE_EXPOSURE = "statsig::gate_exposure"
CONFIG_EXPOSURE = "statsig::config_exposure"
LAYER_EXPOSURE = "statsig::layer_exposure"
_SPECIAL_CASE_RULES = frozenset({"default", "disabled", ""})
_NO_SAMPLING_META: dict[str, object] = {}  # shared by every unsampled exposure: never written to


class ExposureDeduper:
    """Remembers recent exposures so a repeated check does not log again (bounded, cleared by age)."""

    __slots__ = ("_ends_ms", "_keys", "_max_keys", "_started_ms", "_ttl_ms")

    def __init__(self, ttl_ms: int = EXPOSURE_DEDUPE_TTL_MS, max_keys: int = EXPOSURE_DEDUPE_MAX_KEYS) -> None:
        self._keys: set[int] = set()
        self._ttl_ms = ttl_ms
        self._max_keys = max_keys
        self._started_ms = self._ends_ms = 0  # the first exposure starts a window

    def first_record(self, record: tuple[Any, ...]) -> bool:
        """Whether the exposure a check record (`check_record`) holds is the first of its kind in the window:
        keyed by the check, its result and the user's IDs, as each dialect's SDK keys them. Asked when the
        record's event is built (`wire_record`: the buffer builds in recording order, so the decisions are
        those of deciding on each check; issue 16: a check that logs pays for neither), or on the check's
        time under server-driven sampling, which decides on it."""
        ids = record[CUSTOM_IDS]
        head = (record[KIND], record[NAME], record[RULE_ID], record[VALUE], record[ALLOCATED])
        key: tuple[object, ...]
        if record[SNAPSHOT].dialect.dedupe_id_values:
            # the legacy SDK's key: the user ID's text and the ID values joined by "," (no IDs and one empty ID
            # are the same key), one string for the collector; the version counts (it is in the legacy key's
            # metadata): after an error in a nested gate, one config answers with another spec's version or none
            if not ids:
                joined = ""
            elif type(ids) is dict:
                try:
                    joined = ",".join(ids.values())  # the common case: the user's IDs are strings
                except TypeError:
                    joined = ",".join(map(str, ids.values()))
            else:
                joined = ",".join(map(str, ids.values())) if isinstance(ids, Mapping) else ""
            key = (*head, str(record[USER_ID]), joined, record[VERSION])
        # core's key: the user ID (no user ID keys as ""), the stable ID ("stableID", else "stableid") and the
        # ID values as a multiset (under which ID type and in which order does not count; a null ID is no ID)
        elif not ids or (type(ids) is not dict and not isinstance(ids, Mapping)):
            key = (*head, record[USER_ID] or "", None)
        else:
            stable = ids.get("stableID")
            if stable is None:
                stable = ids.get("stableid")
            values = sorted((v for v in ids.values() if v is not None), key=str)
            key = (*head, record[USER_ID] or "", stable, *values)
        return self.first_time(key, record[NOW_NS] // 1_000_000)

    def wire_record(self, record: tuple[Any, ...]) -> dict[str, Any] | None:
        """Item 0 of the check records a client logs: the event, or None when it repeats one."""
        return PendingExposure.of(record).event() if self.first_record(record) else None

    def first_time(self, key: object, now_ms: int) -> bool:
        """Whether `key` is new in the window at `now_ms`."""
        keys = self._keys
        if not self._started_ms <= now_ms < self._ends_ms or len(keys) >= self._max_keys:
            self._restart(now_ms)
        try:
            # the key's 64-bit hash is kept, not the key: an int the cyclic collector never tracks, freeing the
            # tuple at once (issue 16: p99 is the collector's). Core keeps hashes too; two keys that collide
            # (about 1 in 2**64 a pair) would log once.
            hashed = hash(key)
        except TypeError:  # an unhashable ID value (a list, say): log it each time rather than fail the check
            return True
        held = len(keys)
        keys.add(hashed)  # one lookup, not two (`in`, then add)
        return len(keys) != held

    def _restart(self, now_ms: int) -> None:
        # a window ends after ttl, when full, or when the wall clock stepped back past its start (it would
        # otherwise last for the step as well)
        self._keys.clear()
        self._started_ms = now_ms
        self._ends_ms = now_ms + self._ttl_ms

    def reset(self) -> None:
        self._keys.clear()


# a check's exposure record: a plain tuple, built on the check's time, that the pipeline keeps until a flush
# builds its event. Item 0 is what builds it (`buffer.wire_deferred`); the rest is `_RECORD_FIELDS`. It holds the
# evaluation's fields, not the evaluation: one more object per record kept for the cyclic collector until the
# flush made its young collections ~2x longer and 1 in 150 logged checks paid one (issue 16, session 8: p99).
# The user's own statsigEnvironment is not held: the evaluation's environment is what it gave the check. The
# time is held in ns, whole ms (the clock's time_ns, divided when the event is built: a division less a check).
_RECORD_FIELDS = ("snapshot", "kind", "name", "value", "rule_id", "version", "secondary_exposures", "environment",
                  "reason", "now_ns", "init_time", "user_id", "email", "ip", "user_agent", "country", "locale",
                  "app_version", "custom", "custom_ids", "allocated_experiment")
# where a record's fields are, for what reads them by name (item 0 is its builder)
(SNAPSHOT, KIND, NAME, VALUE, RULE_ID, VERSION, NOW_NS, USER_ID, CUSTOM_IDS, ALLOCATED) = (
    1 + _RECORD_FIELDS.index(field) for field in ("snapshot", "kind", "name", "value", "rule_id", "version", "now_ns",
                                                  "user_id", "custom_ids", "allocated_experiment")
)


def check_record(
    build: Callable[[tuple[Any, ...]], dict[str, Any] | None], kind: str, name: str, evaluation: Evaluation,
    value: object, user: Any, reason: str, now_ns: int, init_time: int = 0,
) -> tuple[Any, ...]:
    """What an exposure logs, read now: of its evaluation (not changed once its check returned, then freed
    with it) and of the user, copied (see StatsigUser.log_fields: a later change to the user must not reach
    the event). `build`: what builds its event at flush (the client's `ExposureDeduper.wire_record`); `value`:
    the check's value, or the parameter a layer's exposure is for (its dedupe key holds it); `now_ns`: its time
    in ns, whole ms. A tuple rather than an object: ~30% cheaper to build on every check that logs, and one
    object for the cyclic collector (issue 16). `StatsigServer._log_check` builds the same tuple inline."""
    custom, ids = user.custom, user.custom_ids
    return (
        build, evaluation.snapshot, kind, name, value, evaluation.rule_id, evaluation.version,
        evaluation.secondary_exposures, evaluation.environment, reason, now_ns, init_time, user.user_id,
        user.email, user.ip, user.user_agent, user.country, user.locale, user.app_version,
        # a dict's copy is ~4x cheaper than flattening it, and, of plain values, invisible to the collector
        custom.copy() if type(custom) is dict else None if custom is None else copied_map(custom),
        ids.copy() if type(ids) is dict else None if ids is None else copied_map(ids),
        evaluation.allocated_experiment,
    )


def _wire_record(record: tuple[Any, ...]) -> dict[str, Any]:
    """Builds a check record's event, deciding nothing (a record built by `PendingExposure`)."""
    return PendingExposure.of(record).event()


class PendingExposure:
    """One logged exposure, as its check saw it (`check_record`'s fields): `wire()` builds the event (at flush).

    What only some exposures carry (a layer's evaluation and parameter, a manual flag, sampling metadata) is in
    `NotedExposure`, built on the check's time; a plain check's exposure is built from its record at flush.
    """

    __slots__ = ("allocated_experiment", "app_version", "country", "custom", "custom_ids", "email", "environment",
                 "init_time", "ip", "kind", "locale", "name", "now_ms", "reason", "rule_id", "secondary_exposures",
                 "snapshot", "user_agent", "user_id", "value", "version")

    # what NotedExposure sets: the same for every plain gate or config exposure
    evaluation: Evaluation | None = None
    parameter = ""
    manual = False
    sampling_meta: dict[str, object] = _NO_SAMPLING_META

    def __init__(
        self, kind: str, name: str, evaluation: Evaluation, user: Any, reason: str, now_ms: int, init_time: int = 0
    ) -> None:
        self._fill(check_record(_wire_record, kind, name, evaluation, evaluation.value, user, reason,
                                now_ms * 1_000_000, init_time))

    @classmethod
    def of(cls, record: tuple[Any, ...]) -> PendingExposure:
        made = cls.__new__(cls)
        made._fill(record)
        return made

    def _fill(self, record: tuple[Any, ...]) -> None:
        (_, self.snapshot, self.kind, self.name, self.value, self.rule_id, self.version, self.secondary_exposures,
         self.environment, self.reason, now_ns, self.init_time, self.user_id, self.email, self.ip,
         self.user_agent, self.country, self.locale, self.app_version, self.custom, self.custom_ids,
         self.allocated_experiment) = record
        self.now_ms = now_ns // 1_000_000

    @property
    def user(self) -> LogFields:
        """The user's logged fields, as `StatsigUser.log_fields` gives them."""
        # the user's own statsigEnvironment is left out: the evaluation's environment holds what it gave the check
        # (server._evaluate), and a later change to the user's object must not reach the event
        return (self.user_id, self.email, self.ip, self.user_agent, self.country, self.locale, self.app_version,
                self.custom, self.custom_ids, None)

    def wire(self) -> dict[str, Any] | None:
        """The event (see buffer.DeferredObject)."""
        return self.event()

    def event(self) -> dict[str, Any]:
        snapshot = self.snapshot
        # core logs a missing userID as ""
        logged = logged_user_dict(self.user, self.environment, snapshot.dialect.log_missing_user_id)
        if self.evaluation is not None:
            event = layer_exposure(self.name, self.parameter, self.evaluation, logged, self.reason, self.now_ms)
        elif self.kind == GATE_EXPOSURE:
            event = gate_exposure(self.name, self, logged, self.reason, self.now_ms)
        else:
            event = config_exposure(self.name, self, logged, self.reason, self.now_ms)
        if self.manual:
            event["metadata"]["isManualExposure"] = "true"
        if snapshot.dialect.exposure_times == "sync":
            _legacy_times(event["metadata"], snapshot.time, self.init_time, self.now_ms)
            # the legacy SDK always names the sampling mode (null when the payload sets none)
            mode = snapshot.sdk_configs.get("sampling_mode") if snapshot.sdk_configs else None
            event["statsigMetadata"] = {**self.sampling_meta, "samplingMode": mode if isinstance(mode, str) else None}
        else:
            event["statsigMetadata"] = self.sampling_meta
            custom = event["user"].get("custom")
            if custom:  # core reads an integer beyond 64 bits as a float, and logs it so
                event["user"]["custom"] = i64_or_float(custom)
        return event


class NotedExposure(PendingExposure):
    """An exposure that carries more than a check's: a layer's (its evaluation, read at flush, and the
    parameter), a manual one, or one with sampling metadata."""

    __slots__ = ("deduper", "evaluation", "manual", "parameter", "record", "sampling_meta")

    def __init__(
        self,
        record: tuple[Any, ...],
        evaluation: Evaluation,
        parameter: str = "",
        manual: bool = False,
        sampling_meta: dict[str, object] | None = None,
        deduper: ExposureDeduper | None = None,
    ) -> None:
        """`record`: the exposure's `check_record`; `deduper`: decides whether it repeats one when its event is
        built (None: decided already, or never deduped)."""
        self._fill(record)
        self.record = record
        self.deduper = deduper
        # a layer's exposure keeps its evaluation (the layer's parameter callback holds it anyway)
        self.evaluation = evaluation if self.kind == LAYER_EXPOSURE else None
        self.parameter = parameter
        self.manual = manual
        self.sampling_meta = _NO_SAMPLING_META if sampling_meta is None else sampling_meta

    def wire(self) -> dict[str, Any] | None:
        deduper = self.deduper
        if deduper is not None and not deduper.first_record(self.record):
            return None
        return self.event()


DROPPED = object()  # what core makes of an integer beyond a float: nothing (its key or element is left out)
_PLAIN = frozenset({str, bool, float})


def i64_or_float(value: Any) -> Any:
    """`value` with every integer beyond 64 bits as a float, as core logs a user's custom values; one beyond
    a float is left out (DROPPED when `value` itself is one)."""
    if type(value) is dict:  # the common custom object: flat, nothing to change (a copy, as below)
        for v in value.values():
            if not (type(v) in _PLAIN or v is None or (type(v) is int and -(1 << 63) <= v < (1 << 63))):
                break
        else:
            return dict(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if -(1 << 63) <= value < (1 << 63):
            return value
        try:
            return float(value)
        except OverflowError:
            return DROPPED
    if isinstance(value, list):
        return [x for x in map(i64_or_float, value) if x is not DROPPED]
    if isinstance(value, Mapping):
        return {k: x for k, v in value.items() if (x := i64_or_float(v)) is not DROPPED}
    if isinstance(value, Enum) and not isinstance(value, (str, float)):  # core cannot read it: left out
        return DROPPED
    return value


def _legacy_times(metadata: dict[str, Any], lcut: int, init_time: int, now_ms: int) -> None:
    """The legacy SDK's evaluation times instead of core's lcut/receivedAt (numbers, not strings)."""
    metadata.pop("lcut", None)
    metadata.pop("receivedAt", None)
    metadata["configSyncTime"] = lcut
    metadata["initTime"] = init_time
    metadata["serverTime"] = now_ms


def _sampling_key_user(user_id: object, custom_ids: object) -> str:
    key = f"u:{user_id};"
    if isinstance(custom_ids, Mapping):
        key += "".join(f"{k}:{v};" for k, v in custom_ids.items())
    return key


def sampling_applies(sdk_configs: Mapping[str, Any], tier: str | None, production_only: bool) -> bool:
    """Whether server-driven sampling is on at all: when it is not, every exposure is logged as built and
    neither the sampling key nor the first-of-rule bookkeeping is needed (a check's common case)."""
    if not sdk_configs:
        return False
    # legacy: no tier set is production (get_sdk_environment_tier)
    return sdk_configs.get("sampling_mode") in ("on", "shadow") and not (
        production_only and tier is not None and tier != "production")


def sampling_decision(
    evaluation: Evaluation,
    sdk_configs: Mapping[str, Any],
    tier: str | None,
    first_of_rule: Callable[[], bool],
    key: str,
) -> tuple[bool, dict[str, object]]:
    """(log it?, statsigMetadata) per server-driven sampling (protocol doc 4.6). `first_of_rule()` marks the
    rule as seen and says whether it was new: core asks only for exposures not already forced (analytical
    gates), the legacy SDK before it looks at them."""
    dialect = evaluation.snapshot.dialect
    mode = sdk_configs.get("sampling_mode")
    if mode not in ("on", "shadow") or (dialect.sampling_production_only and tier not in (None, "production")):
        return True, {}
    special: Any = sdk_configs.get("special_case_sampling_rate")
    if dialect.sampling_any_rate:
        # legacy reads it first, as an int (a float truncated): one that is no int (inf, nan) ends sampling
        if isinstance(special, float):
            try:
                special = int(special)
            except (OverflowError, ValueError):
                return True, {}
        elif not isinstance(special, int):
            special = None
    elif isinstance(special, bool) or not isinstance(special, int):
        special = None
    if evaluation.forward_all_exposures:
        return True, {}
    if dialect.sampling_analytical_first:
        if evaluation.seen_analytical_gates or first_of_rule():
            return True, {}
    elif first_of_rule() or evaluation.seen_analytical_gates:
        return True, {}
    rate: Any = evaluation.sampling_rate
    if rate is None and evaluation.rule_id in _SPECIAL_CASE_RULES:
        rate = special
    if dialect.sampling_any_rate:
        if rate is None:
            return True, {}
        try:  # the rate as the payload gives it, Python's modulo: 0, a text or a list raises
            sampled_in = signed_hash(key) % rate == 0
        except (TypeError, ZeroDivisionError):  # the legacy SDK logs it unsampled
            return True, {}
    else:
        if rate is None or rate <= 0:
            if rate is None and dialect.sampling_unrated_metadata:
                return True, {"samplingMode": mode, "shadowLogged": "logged"}
            return True, {}
        sampled_in = signed_hash(key) % rate == 0
    meta: dict[str, object] = {
        "samplingRate": rate,
        "shadowLogged": "logged" if sampled_in else "dropped",
        "samplingMode": mode,
    }
    return (sampled_in if mode == "on" else True), meta


def gate_exposure(
    name: str, evaluation: Evaluation | PendingExposure, logged_user: Mapping[str, Any], reason: str, now_ms: int
) -> dict[str, Any]:
    received = str(now_ms)
    version = evaluation.version
    metadata = (
        {
            "gate": name,
            "gateValue": "true" if evaluation.value else "false",
            "ruleID": evaluation.rule_id,
            "reason": reason,
            "lcut": str(evaluation.snapshot.time),
            "receivedAt": received,
        }
        if version is None
        else {
            "gate": name,
            "gateValue": "true" if evaluation.value else "false",
            "ruleID": evaluation.rule_id,
            "configVersion": str(version),
            "reason": reason,
            "lcut": str(evaluation.snapshot.time),
            "receivedAt": received,
        }
    )
    return {
        "eventName": GATE_EXPOSURE,
        "user": logged_user,
        "time": now_ms,
        "metadata": metadata,
        "secondaryExposures": list(evaluation.secondary_exposures),
    }


def config_exposure(
    name: str, evaluation: Evaluation | PendingExposure, logged_user: Mapping[str, Any], reason: str, now_ms: int
) -> dict[str, Any]:
    metadata = {
        "config": name,
        "ruleID": evaluation.rule_id,
        "rulePassed": "true" if evaluation.value else "false",
    }
    if evaluation.version is not None:
        metadata["configVersion"] = str(evaluation.version)
    metadata["reason"] = reason
    metadata["lcut"] = str(evaluation.snapshot.time)
    metadata["receivedAt"] = str(now_ms)
    return {
        "eventName": CONFIG_EXPOSURE,
        "user": logged_user,
        "time": now_ms,
        "metadata": metadata,
        "secondaryExposures": list(evaluation.secondary_exposures),
    }


def layer_exposure(
    name: str,
    parameter: str,
    evaluation: Evaluation,
    logged_user: Mapping[str, Any],
    reason: str,
    now_ms: int,
) -> dict[str, Any]:
    explicit = parameter in evaluation.explicit_parameters
    metadata = {
        "config": name,
        "ruleID": evaluation.rule_id,
        "allocatedExperiment": (evaluation.allocated_experiment or "") if explicit else "",
        "parameterName": parameter,
        "isExplicitParameter": "true" if explicit else "false",
    }
    if evaluation.version is not None:
        metadata["configVersion"] = str(evaluation.version)
    metadata["reason"] = reason
    metadata["lcut"] = str(evaluation.snapshot.time)
    metadata["receivedAt"] = str(now_ms)
    exposures: list[dict[str, str]] | None = (
        evaluation.secondary_exposures if explicit else evaluation.undelegated_secondary_exposures
    )
    if (
        not explicit
        and not exposures
        and evaluation.undelegated is None
        and evaluation.snapshot.dialect.null_undelegated_exposures
    ):
        exposures = None
    return {
        "eventName": LAYER_EXPOSURE,
        "user": logged_user,
        "time": now_ms,
        "metadata": metadata,
        "secondaryExposures": None if exposures is None else list(exposures),
    }


def sampling_key(kind: str, name: str, evaluation: Evaluation, record: tuple[Any, ...], parameter: str = "") -> str:
    """The legacy SDK's sampling key of an exposure, of the user's IDs as its `check_record` holds them."""
    ukey = _sampling_key_user(record[USER_ID], record[CUSTOM_IDS])
    if kind == GATE_EXPOSURE:
        return f"n:{name};u:{ukey}r:{evaluation.rule_id};v:{evaluation.value}"
    if kind == CONFIG_EXPOSURE:
        return f"n:{name};u:{ukey}r:{evaluation.rule_id}"
    experiment = evaluation.allocated_experiment
    if experiment is None and not evaluation.snapshot.dialect.sampling_production_only:
        experiment = ""  # core (v2); the legacy SDK formats a layer with no experiment as "e:None;"
    return f"n:{name};e:{experiment};p:{parameter};u:{ukey}r:{evaluation.rule_id}"


def sampling_set_key(kind: str, name: str, evaluation: Evaluation, api: str) -> tuple[str, ...]:
    """Key of the "first exposure of this rule is always logged" set.

    The legacy SDK keys it by name and rule. The core SDK keeps one set per check kind (gate, config,
    experiment, layer), keyed by name and rule: the first exposure of each unknown name is logged too.
    """
    if evaluation.snapshot.dialect.sampling_production_only:
        return (name, evaluation.rule_id)
    return (api or kind, name, evaluation.rule_id)
