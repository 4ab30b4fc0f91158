"""A check's exposure is recorded cheaply and built at flush (exposures.check_record, buffer.wire_deferred):
whatever the application does to the user between the check and the flush (attributes reassigned, the custom
or custom-ID object changed in place or replaced, a Mapping that is not a dict changed behind its view), and
however the flush goes (a first request refused and retried, events cut into several requests), the events
sent are those of a client that flushed right after each check. Both payload formats."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from statsig_lite import StatsigEnvironmentTier, StatsigOptions, StatsigServer, StatsigUser
from tests.differential.harness import payload_for
from tests.differential.specs import cond, config, gate, payload, rule
from tests.servers.statsig_api import FakeStatsigAPI

V1 = payload(
    [gate("on", [rule("r_on", [cond("public")])]),
     gate("half", [rule("r_half", [cond("user_field", "any", ["pro", "Pro"], "plan")], pct=50)])],
    [config("cfg", [rule("r_cfg", [cond("public")], value={"a": 1})]),
     config("exp", [rule("r_exp", [cond("public")], value={"color": "red"}, groupName="g",
                         isExperimentGroup=True)], entity="experiment", isActive=True, hasSharedParams=True,
            explicitParameters=["color"])],
    [config("lay", [rule("r_lay", [cond("public")], value={}, configDelegate="exp")], entity="layer",
            default={"color": "grey"}, explicitParameters=[])],
    {"lay": ["exp"]},
)


class OnlyItems(Mapping[str, Any]):
    """A Mapping that is not a dict, over a dict the application keeps changing."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def _plain() -> StatsigUser:
    return StatsigUser(user_id="u1", email="a@b.c", ip="1.2.3.4", user_agent="ua", country="US", locale="en",
                       app_version="1.0", custom={"plan": "pro", "n": 1, "tags": ["x"]},
                       custom_ids={"stableID": "s1", "companyID": "c1"})


def _reassign(user: StatsigUser) -> None:
    user.user_id, user.email, user.ip, user.user_agent = "u2", "z@z.z", "9.9.9.9", "other"
    user.country, user.locale, user.app_version = "DE", "de", "2.0"


def _custom_in_place(user: StatsigUser) -> None:
    user.custom["plan"] = "free"  # type: ignore[index]
    del user.custom["n"]  # type: ignore[attr-defined]
    user.custom["new"] = True  # type: ignore[index]


def _custom_replaced(user: StatsigUser) -> None:
    user.custom = None


def _ids_in_place(user: StatsigUser) -> None:
    user.custom_ids["companyID"] = "c2"  # type: ignore[index]
    del user.custom_ids["stableID"]  # type: ignore[attr-defined]


def _ids_emptied(user: StatsigUser) -> None:
    user.custom_ids.clear()  # type: ignore[union-attr]


def _ids_none(user: StatsigUser) -> None:
    user.custom_ids = None


def _environment(user: StatsigUser) -> None:
    user._statsig_environment["tier"] = "staging"  # type: ignore[index]


MUTATIONS: dict[str, tuple[Callable[[], StatsigUser], Callable[[StatsigUser], None]]] = {
    "attributes reassigned": (_plain, _reassign),
    "custom changed in place": (_plain, _custom_in_place),
    "custom replaced by None": (_plain, _custom_replaced),
    "custom IDs changed in place": (_plain, _ids_in_place),
    "custom IDs emptied": (_plain, _ids_emptied),
    "custom IDs replaced by None": (_plain, _ids_none),
    "environment changed in place": (
        lambda: StatsigUser(user_id="u1", custom={"plan": "pro"}, _statsig_environment={"tier": "production"}),
        _environment,
    ),
}


def _mapping_user() -> StatsigUser:
    user = _plain()
    user.custom = OnlyItems({"plan": "pro", "n": 1})
    return user


def _mapping_changed(user: StatsigUser) -> None:
    user.custom.data["plan"] = "free"  # type: ignore[union-attr]
    user.custom.data["more"] = 2  # type: ignore[union-attr]


MUTATIONS["a Mapping (not a dict) changed behind it"] = (_mapping_user, _mapping_changed)
_BACKING: dict[str, Any] = {}


def _proxy_user() -> StatsigUser:
    _BACKING.clear()
    _BACKING.update({"plan": "pro", "n": 1})
    user = _plain()
    user.custom = MappingProxyType(_BACKING)
    return user


def _proxy_changed(user: StatsigUser) -> None:
    _BACKING["plan"] = "free"


MUTATIONS["a read-only view changed behind it"] = (_proxy_user, _proxy_changed)


def _calls(server: StatsigServer, user: StatsigUser) -> None:
    server.check_gate(user, "on")
    server.check_gate(user, "half")
    server.get_config(user, "cfg")
    server.get_experiment(user, "exp")
    server.get_layer(user, "lay").get("color")


def _events(api: FakeStatsigAPI) -> list[dict[str, Any]]:
    out = []
    for event in api.accepted_events():
        meta = {k: v for k, v in (event.get("metadata") or {}).items() if k not in ("serverTime", "initTime",
                                                                                     "receivedAt")}
        out.append({"eventName": event["eventName"], "user": event.get("user"), "metadata": meta,
                    "secondaryExposures": event.get("secondaryExposures")})
    return out


def _server(api: FakeStatsigAPI, fmt: str, tier: StatsigEnvironmentTier | None = StatsigEnvironmentTier.development,
            **options: Any) -> StatsigServer:
    server = StatsigServer(clock=lambda: 1_765_000_000.0)
    details = server.initialize("secret-review", StatsigOptions(
        bootstrap_values=json.dumps(payload_for(V1, fmt)), api=api.url, id_lists=False, lambda_mode=True,
        tier=tier, **options))
    assert details.init_success
    return server


def _tier_added(user: StatsigUser) -> None:
    user._statsig_environment["tier"] = "staging"  # type: ignore[index]


def _tier_replaced(user: StatsigUser) -> None:
    user._statsig_environment = {"tier": "staging"}


# the user's own statsigEnvironment is what its exposures log when the client sets no tier
USER_TIER_MUTATIONS: dict[str, tuple[Callable[[], StatsigUser], Callable[[StatsigUser], None]]] = {
    "user's tier changed in place": (
        lambda: StatsigUser(user_id="u1", _statsig_environment={"tier": "production"}), _environment),
    "user's environment given a tier": (lambda: StatsigUser(user_id="u1", _statsig_environment={"x": "y"}),
                                        _tier_added),
    "user's environment replaced": (lambda: StatsigUser(user_id="u1", _statsig_environment={"x": "y"}),
                                    _tier_replaced),
    "user's tier an enum, changed in place": (
        lambda: StatsigUser(user_id="u1", _statsig_environment={"tier": StatsigEnvironmentTier.production}),
        _environment),
}


@pytest.mark.parametrize("fmt", ["v1", "v2"])
@pytest.mark.parametrize("mutation", list(MUTATIONS) + list(USER_TIER_MUTATIONS))
def test_events_built_at_flush_are_those_of_the_checks(fmt: str, mutation: str) -> None:
    make, change = MUTATIONS.get(mutation) or USER_TIER_MUTATIONS[mutation]
    tier = None if mutation in USER_TIER_MUTATIONS else StatsigEnvironmentTier.development
    # reference: a client that flushes right after each round of checks (nothing deferred past a change)
    with FakeStatsigAPI() as api:
        server = _server(api, fmt, tier)
        user = make()
        _calls(server, user)
        assert server.flush(5.0).kept == 0
        change(user)
        _calls(server, user)
        assert server.flush(5.0).kept == 0
        server.shutdown()
        want = _events(api)
    # deferred: both rounds flushed together after the change; the first request refused once, and small
    # requests (several batches, the records built when the batches are cut)
    with FakeStatsigAPI() as api:
        server = _server(api, fmt, tier, event_batch_size=3)
        user = make()
        _calls(server, user)
        change(user)
        _calls(server, user)
        api.inject("log_event", 500, times=1)
        first = server.flush(5.0)
        second = server.flush(5.0)
        server.shutdown()
        got = _events(api)
    assert first.kept + first.sent >= 1 and second.kept == 0
    assert len(want) >= 5
    assert sorted(map(_key, got)) == sorted(map(_key, want))  # every event once, as the checks saw the user


def _key(event: dict[str, Any]) -> str:
    return json.dumps(event, sort_keys=True)
