"""`python -m statsig_lite demo`: evaluate the bundled example snapshot and deliver its events locally.

No AWS account and no Statsig account: rules come from the snapshot shipped in the package, and events
go to a local stand-in for Statsig's log_event endpoint started (as a child process) by the demo.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from importlib import resources
from typing import Any

from .options import StatsigOptions
from .server import StatsigServer
from .user import StatsigEvent, StatsigUser

USERS = [
    StatsigUser(user_id="alice", email="alice@example.com", country="US", app_version="2.3.0"),
    StatsigUser(user_id="bob", country="US", app_version="1.9.4"),
    StatsigUser(user_id="carol", country="CA", custom_ids={"stableID": "device-42"}),
    StatsigUser(user_id="dmitri", country="DE", app_version="2.0.0"),
]


def example_snapshot() -> str:
    return resources.files("statsig_lite").joinpath("data/example_snapshot.json").read_text()


def run(out: Any = sys.stdout) -> int:
    sink = subprocess.Popen(
        [sys.executable, "-m", "statsig_lite.demo_sink"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert sink.stdout is not None
        api = sink.stdout.readline().strip()
        server = StatsigServer()
        details = server.initialize("secret-demo-key", StatsigOptions(bootstrap_values=example_snapshot(), api=api))
        print(f"initialized from {details.source} in {details.duration} ms; events go to {api}log_event", file=out)
        print(f"{'user':8} {'new_checkout':22} {'modern_app':10} {'checkout_copy.headline':24} layer color", file=out)
        for user in USERS:
            gate = server.get_feature_gate(user, "new_checkout")
            modern = server.check_gate(user, "modern_app")
            headline = server.get_config(user, "checkout_copy").get("headline")
            layer = server.get_layer(user, "checkout_layer")
            color = layer.get("color")
            print(f"{user.user_id:8} {gate.value!s:5} ({gate.rule_id:15}) {modern!s:10} {headline:24} "
                  f"{color} ({layer.group_name or layer.rule_id})", file=out)
            server.log_event(StatsigEvent(user, "checkout_viewed", value=1, metadata={"page": "cart"}))
        result = server.shutdown(timeout=5.0)
        print(f"flush: sent={result.sent} kept={result.kept} spilled={result.spilled}", file=out)
        with urllib.request.urlopen(api.replace("/v1/", "/events"), timeout=5) as resp:
            received = json.load(resp)["events"]
        names: dict[str, int] = {}
        for event in received:
            names[event["eventName"]] = names.get(event["eventName"], 0) + 1
        print(f"local sink received {len(received)} events: {json.dumps(names, sort_keys=True)}", file=out)
        return 0
    finally:
        sink.terminate()
        sink.wait(timeout=5)
