"""A StatsigServer in local mode on a payload (a v1 job the differential generator or specs.py made, in the
format asked, or the payload text), at a fixed time: the GCIR tests' client."""

from __future__ import annotations

import json
from typing import Any

from statsig_lite import StatsigOptions, StatsigServer
from tests.differential.harness import payload_for

NOW = 1_700_000_100.0


def local_server(
    v1: dict[str, Any] | str | bytes, fmt: str, now: float = NOW, tier: str | None = None
) -> StatsigServer:
    text = v1 if isinstance(v1, (str, bytes)) else json.dumps(payload_for(v1, fmt))
    server = StatsigServer(clock=lambda: now)
    details = server.initialize("secret-local", StatsigOptions(bootstrap_values=text, local_mode=True, tier=tier))
    assert details.init_success, details.error
    return server
