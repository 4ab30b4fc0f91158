"""Every public call, with arguments of any type (hostile ones included), raises nothing undocumented.

Checks, `manually_log_*`, `get_client_initialize_response` and reading values never raise at all; `log_event`,
the override calls, `StatsigUser`/`StatsigEvent` and the `users_from_events` helpers raise only
`StatsigValueError` for bad input. "Hostile" objects raise from `__hash__`, `__eq__`, `__str__`, `__repr__`,
`__bool__`, `__len__`, `__iter__`, `__getitem__` and attribute access, or are str subclasses that do.
The budget is small (CI): a few dozen examples per call family.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statsig_lite import StatsigEvent, StatsigOptions, StatsigServer, StatsigUser
from statsig_lite import users_from_events as ufe
from statsig_lite.errors import StatsigValueError

_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


class Boom(Exception):
    """What hostile objects raise: not one of ours, so it must never escape."""


class Hostile:
    def __hash__(self) -> int:
        raise Boom("hash")

    def __eq__(self, other: object) -> bool:
        raise Boom("eq")

    def __str__(self) -> str:
        raise Boom("str")

    def __repr__(self) -> str:
        raise Boom("repr")

    def __bool__(self) -> bool:
        raise Boom("bool")

    def __len__(self) -> int:
        raise Boom("len")

    def __iter__(self) -> Iterator[object]:
        raise Boom("iter")

    def __getitem__(self, key: object) -> object:
        raise Boom("getitem")

    def __getattr__(self, name: str) -> object:
        raise Boom(f"getattr {name}")


class HostileStr(str):
    __slots__ = ()

    def __hash__(self) -> int:
        raise Boom("hash")

    def __eq__(self, other: object) -> bool:
        raise Boom("eq")

    def __str__(self) -> str:
        raise Boom("str")

    def lower(self) -> str:  # type: ignore[override]
        raise Boom("lower")


class HostileMapping(Mapping[str, object]):
    """A Mapping whose every read raises."""

    def __getitem__(self, key: str) -> object:
        raise Boom("getitem")

    def __iter__(self) -> Iterator[str]:
        raise Boom("iter")

    def __len__(self) -> int:
        raise Boom("len")

    def get(self, key: str, default: object = None) -> object:
        raise Boom("get")


class HostileUser(StatsigUser):
    """A StatsigUser subclass whose fields raise when read."""

    __slots__ = ()

    def __getattribute__(self, name: str) -> object:
        if name.startswith("__"):
            return object.__getattribute__(self, name)
        raise Boom(f"attribute {name}")


def _hostile_user() -> StatsigUser:
    user = object.__new__(HostileUser)
    return user


plain = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.sets(st.integers(), max_size=2),
    st.builds(object),
    st.just(float("nan")),
    st.just(10**400 // 10**399),
)
hostile = st.one_of(
    st.builds(Hostile),
    st.builds(HostileStr, st.sampled_from(["g0", "c0", "x"])),
    st.builds(HostileMapping),
    st.builds(_hostile_user),
    st.builds(lambda: {"k": Hostile()}),
    st.builds(lambda: [Hostile()]),
    st.builds(lambda: {"k": HostileStr("x")}),
)
names = st.one_of(st.sampled_from(["g0", "c0", "l0", "missing", ""]), plain, hostile)
anything = st.one_of(plain, hostile, names)
odd_users = st.one_of(
    st.builds(StatsigUser, user_id=st.one_of(st.none(), st.text(max_size=4), st.integers())),
    st.builds(
        lambda h: StatsigUser(user_id="u", custom={"k": h}, private_attributes={"p": h}, custom_ids={"stableID": "s"}),
        anything,
    ),
    st.builds(lambda h: StatsigUser(user_id="u", email=h, ip=h, user_agent=h, country=h, app_version=h), anything),
    anything,
)

_GATE = {
    "name": "g0",
    "type": "feature_gate",
    "salt": "s",
    "enabled": True,
    "defaultValue": False,
    "idType": "userID",
    "entity": "feature_gate",
    "rules": [
        {
            "name": "r",
            "id": "r",
            "salt": "r",
            "passPercentage": 100,
            "returnValue": True,
            "idType": "userID",
            "conditions": [
                {"type": "user_field", "operator": "str_matches", "field": "email", "targetValue": "@x\\.com$"},
                {"type": "user_field", "operator": "any", "field": "country", "targetValue": ["US", 1]},
                {"type": "ua_based", "operator": "any", "field": "os_name", "targetValue": ["iOS"]},
                {"type": "ip_based", "operator": "any", "field": "country", "targetValue": ["US"]},
                {"type": "user_field", "operator": "gt", "field": "age", "targetValue": 3},
            ],
        }
    ],
}
_CONFIG = {
    "name": "c0",
    "type": "dynamic_config",
    "salt": "s",
    "enabled": True,
    "defaultValue": {"a": 1},
    "idType": "userID",
    "entity": "dynamic_config",
    "rules": [],
}
_LAYER = {**_CONFIG, "name": "l0", "entity": "layer"}
PAYLOAD = json.dumps(
    {
        "time": 1_700_000_000_000,
        "feature_gates": [_GATE],
        "dynamic_configs": [_CONFIG],
        "layer_configs": [_LAYER],
        "has_updates": True,
    }
)


def _server() -> StatsigServer:
    server = StatsigServer(clock=lambda: 1_700_000_000.0)
    assert server.initialize("secret-fuzz", StatsigOptions(bootstrap_values=PAYLOAD, local_mode=True)).init_success
    return server


_SERVER = _server()
_NEVER_RAISE = [
    "check_gate",
    "get_feature_gate",
    "get_config",
    "get_experiment",
    "get_layer",
    "check_gate_with_exposure_logging_disabled",
    "get_config_with_exposure_logging_disabled",
    "get_experiment_with_exposure_logging_disabled",
    "get_layer_with_exposure_logging_disabled",
    "manually_log_gate_exposure",
    "manually_log_config_exposure",
    "manually_log_experiment_exposure",
]


@pytest.mark.parametrize("method", _NEVER_RAISE)
@_SETTINGS
@given(user=odd_users, name=names, extra=st.lists(anything, max_size=1))
def test_checks_never_raise_for_any_argument(method: str, user: Any, name: Any, extra: list[Any]) -> None:
    call = getattr(_SERVER, method)
    result = call(*_fit(call, [user, name, *extra]))
    if method.startswith("check_gate"):
        assert isinstance(result, bool)
    elif method.startswith("get_feature_gate"):
        assert isinstance(result.value, bool)
    elif method.startswith("get_"):
        assert result.get("a", 7) in (1, 7)  # reading a value never raises either
        assert result.get_typed(Hostile(), 5) == 5


@_SETTINGS
@given(user=odd_users, layer=names, parameter=anything, key=anything)
def test_layers_and_parameter_exposures_never_raise(user: Any, layer: Any, parameter: Any, key: Any) -> None:
    _SERVER.manually_log_layer_parameter_exposure(user, layer, parameter)
    got = _SERVER.get_layer(user, layer)
    got.get(key, 1)
    got.get_typed(key, 1)


@_SETTINGS
@given(user=odd_users, args=st.lists(anything, max_size=4))
def test_client_initialize_response_never_raises(user: Any, args: list[Any]) -> None:
    response = _SERVER.get_client_initialize_response(user, *args)
    assert response is None or isinstance(response, dict)


def _arity(call: Any) -> tuple[int, int]:
    """How many positional arguments `call` takes: (required, all)."""
    import inspect

    params = [p for p in inspect.signature(call).parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    return sum(p.default is p.empty for p in params), len(params)


def _fit(call: Any, args: list[Any]) -> list[Any]:
    low, high = _arity(call)
    return (args + [None] * low)[: max(low, min(len(args), high))]


def _documented(call: Any, *args: Any, **kwargs: Any) -> object:
    try:
        return call(*args, **kwargs)
    except StatsigValueError:
        return None


@_SETTINGS
@given(
    args=st.lists(anything, min_size=1, max_size=5),
    event=st.one_of(
        anything,
        st.builds(
            lambda u, n, v, m: StatsigEvent(u, "e", value=v if type(v) in (str, int, float) else None),
            odd_users,
            names,
            anything,
            anything,
        ),
    ),
)
def test_log_event_and_events_raise_only_statsig_value_error(args: list[Any], event: Any) -> None:
    server = StatsigServer(clock=lambda: 1_700_000_000.0)
    server.initialize("secret-fuzz", StatsigOptions(bootstrap_values=PAYLOAD, disable_all_logging=False))
    built = _documented(StatsigEvent, *_fit(StatsigEvent, args))
    for candidate in (event, built):
        _documented(server.log_event, candidate)
        if isinstance(candidate, StatsigEvent):
            candidate.user = args[0]  # a field changed after construction
            _documented(server.log_event, candidate)
    server.shutdown(0.01)


@_SETTINGS
@given(
    args=st.lists(anything, max_size=3),
    kwargs=st.dictionaries(
        st.sampled_from(["custom", "custom_ids", "private_attributes", "app_version", "locale"]), anything, max_size=3
    ),
)
def test_statsig_user_raises_only_statsig_value_error(args: list[Any], kwargs: dict[str, Any]) -> None:
    user = _documented(StatsigUser, *args, **kwargs)
    if isinstance(user, StatsigUser):
        assert _SERVER.check_gate(user, "g0") in (True, False)


_OVERRIDES = [
    "override_gate",
    "override_config",
    "override_experiment",
    "override_layer",
    "remove_gate_override",
    "remove_config_override",
    "remove_experiment_override",
    "remove_layer_override",
]


@pytest.mark.parametrize("method", _OVERRIDES)
@_SETTINGS
@given(args=st.lists(anything, min_size=1, max_size=3), user=odd_users)
def test_overrides_raise_only_statsig_value_error(method: str, args: list[Any], user: Any) -> None:
    server = _server()
    call = getattr(server, method)
    _documented(call, *_fit(call, args))
    assert server.check_gate(user, "g0") in (True, False)
    server.get_config(user, "c0").get("a")
    server.remove_all_overrides()


_HELPERS = [
    "event_kind",
    "user_from_api_gateway",
    "user_from_alb",
    "user_from_function_url",
    "user_from_event",
    "user_from_sqs_record",
    "user_from_kinesis_record",
]
_REST = {"requestContext": {"identity": {"sourceIp": "1.2.3.4"}}, "headers": {"User-Agent": "x"}}
_HTTP = {"requestContext": {"http": {"sourceIp": "1.2.3.4"}, "domainName": "a.lambda-url.x.on.aws"}}


def _mutated(base: dict[str, Any], value: Any, where: int) -> dict[str, Any]:
    event = json.loads(json.dumps(base))
    if where == 0:
        event["headers"] = value
    elif where == 1:
        event["requestContext"]["identity" if "identity" in event["requestContext"] else "http"] = value
    elif where == 2:
        event["requestContext"]["authorizer"] = value
    else:
        event["requestContext"]["identity" if "identity" in event["requestContext"] else "http"]["sourceIp"] = value
    return event


@pytest.mark.parametrize("helper", _HELPERS)
@_SETTINGS
@given(
    event=st.one_of(anything, st.builds(_mutated, st.sampled_from([_REST, _HTTP]), anything, st.integers(0, 3))),
    kwargs=st.dictionaries(
        st.sampled_from(
            [
                "user_id",
                "id_claim",
                "claims_to_custom",
                "stable_id_header",
                "custom_ids",
                "custom",
                "attribute",
                "field",
            ]
        ),
        anything,
        max_size=2,
    ),
)
def test_users_from_events_raise_only_statsig_value_error(helper: str, event: Any, kwargs: dict[str, Any]) -> None:
    call = getattr(ufe, helper)
    try:
        call(event, **kwargs)
    except StatsigValueError:
        pass
    except TypeError as exc:  # an argument the helper does not take at all: Python's own call check
        assert "unexpected keyword argument" in str(exc)


def test_log_event_named_by_a_str_whose_eq_raises_is_a_statsig_value_error() -> None:
    """Found by this file's fuzz in CI: the decode-back check compared a hostile str subclass."""

    class EqRaises(str):
        def __eq__(self, other: object) -> bool:
            raise Boom("eq")

        __hash__ = str.__hash__

    server = StatsigServer()
    server.initialize("secret-x", StatsigOptions(local_mode=True, spec_source="example"))
    with pytest.raises(StatsigValueError):
        server.log_event(StatsigEvent(None, EqRaises("g0")))


_READS = [
    "evaluate_all",
    "get_client_initialize_response_json",
    "get_experiment_groups",
    "log_exposure_for_config",
    "safe_eval_callback",
    "get_id_list_count",
    "get_init_source",
    "is_initialized",
    "is_store_populated",
]
# no arguments to fuzz but their own (timeouts, budgets): fuzzed below
_LIFECYCLE_NO_TARGET = [
    "flush",
    "refresh_if_stale",
    "refresh_id_lists",
    "pause_polling_dcs",
    "start_polling_dcs",
    "reset_after_restore",
    "shutdown",
]
_LIFECYCLE = [*_LIFECYCLE_NO_TARGET, "initialize", "remove_all_overrides", "log_event"]


def test_every_public_method_is_fuzzed_here() -> None:
    """A public method added later must join one of the lists of this file (and so its fuzz) to pass."""
    covered = {
        *_NEVER_RAISE,
        *_READS,
        *_LIFECYCLE,
        *_OVERRIDES,
        "check_gate",
        "get_feature_gate",
        "get_client_initialize_response",
        "manually_log_layer_parameter_exposure",
        "get_layer",
    }
    public = {n for n in dir(StatsigServer) if not n.startswith("_") and callable(getattr(StatsigServer, n))}
    assert public <= covered, f"not fuzzed: {sorted(public - covered)}"


@pytest.mark.parametrize("method", _READS)
@_SETTINGS
@given(args=st.lists(st.one_of(odd_users, anything), max_size=5))
def test_other_reads_never_raise_for_any_argument(method: str, args: list[Any]) -> None:
    call = getattr(_SERVER, method)
    call(*_fit(call, args))
    assert _SERVER.check_gate(StatsigUser(user_id="u"), "g0") in (True, False)


@pytest.mark.parametrize("method", _LIFECYCLE_NO_TARGET)
@_SETTINGS
@given(args=st.lists(anything, max_size=2))
def test_lifecycle_calls_raise_only_statsig_value_error_and_checks_still_answer(method: str, args: list[Any]) -> None:
    server = _server()
    call = getattr(server, method)
    _documented(call, *_fit(call, args))
    if method != "shutdown":
        assert server.check_gate(StatsigUser(user_id="u", email="a@x.com"), "g0") in (True, False)
    server.shutdown(0.01)


def test_experiment_groups_of_an_unhashable_or_hostile_name_answer_as_unknown() -> None:
    """Found by this file's fuzz: the name was hashed unguarded (the legacy SDK's error boundary answers so)."""
    for name in ([], {"a": 1}, HostileStr("c0"), Hostile()):
        assert _SERVER.get_experiment_groups(name) == {"is_experiment_active": None, "groups": []}


def test_log_exposure_for_config_of_something_else_logs_nothing_and_never_raises() -> None:
    """Found by this file's fuzz: None or a hostile object as `config_eval` raised AttributeError."""
    for candidate in (None, Hostile(), _hostile_user(), "c0"):
        _SERVER.log_exposure_for_config(candidate)  # type: ignore[arg-type]
