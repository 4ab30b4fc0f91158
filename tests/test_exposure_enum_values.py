"""A user's custom value that is an Enum: the exposure is sent (never dropped for it), with the value as each
dialect's SDK logs it: the legacy SDK its `.value` (statsig.utils.to_raw_value), statsig-python-core what its
StatsigUser keeps of it (an Enum it cannot read is left out). Both oracles are asked, not assumed."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
from tests.differential.harness import payload_for
from tests.differential.specs import cond, gate, payload, rule
from tests.servers.statsig_api import FakeStatsigAPI


class Plan(enum.Enum):
    PRO = "pro"


class Level(enum.IntEnum):
    THREE = 3


class Tier(str, enum.Enum):
    GOLD = "gold"


CUSTOM = {"plan": Plan.PRO, "level": Level.THREE, "tier": Tier.GOLD, "plain": "x"}
P = payload([gate("g", [rule("r", [cond("user_field", "any", ["pro"], "plan")])])])


def _expected(fmt: str) -> Any:
    if fmt == "v1":
        from statsig.utils import to_raw_dict_or_none

        return json.loads(json.dumps(to_raw_dict_or_none(CUSTOM)))
    from statsig_python_core import StatsigUser as CoreUser

    return json.loads(json.dumps(CoreUser("u", custom=dict(CUSTOM)).custom))


@pytest.mark.parametrize("fmt", ["v1", "v2"])
def test_an_enum_custom_value_is_logged_as_the_official_sdk_logs_it(fmt: str) -> None:
    with FakeStatsigAPI() as api:
        server = StatsigServer()
        server.initialize("secret-enum", StatsigOptions(bootstrap_values=json.dumps(payload_for(P, fmt)),
                                                         api=api.url, id_lists=False, lambda_mode=True))
        server.check_gate(StatsigUser(user_id="u", custom=dict(CUSTOM)), "g")
        result = server.flush(5.0)
        events = [e for e in api.accepted_events() if e["eventName"] == "statsig::gate_exposure"]
        server.shutdown()
    assert result.dropped == 0
    assert len(events) == 1
    assert events[0]["user"]["custom"] == _expected(fmt)
