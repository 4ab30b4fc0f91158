"""`python -m statsig_lite demo`: a Lambda-style handler on the package's example snapshot, events to a local sink.

No AWS account and no Statsig account: the handler is served through `@statsig_handler`, configured only by
environment variables as a Lambda function would be; rules come from the example snapshot shipped in the
package, asked for by name (``STATSIG_SPEC_SOURCE=example``: no other configuration ever loads it), and
each invocation's events are flushed, before it returns, to a local stand-in for Statsig's log_event
endpoint that the demo starts as a child process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from typing import Any

USERS: list[dict[str, Any]] = [
    {"user_id": "alice", "email": "alice@example.com", "country": "US", "app_version": "2.3.0"},
    {"user_id": "bob", "country": "US", "app_version": "1.9.4"},
    {"user_id": "carol", "country": "CA", "custom_ids": {"stableID": "device-42"}},
    {"user_id": "dmitri", "country": "DE", "app_version": "2.0.0"},
]


class _Context:
    """What the Lambda runtime passes as `context`, as far as the decorator reads it."""

    function_name = "statsig-lite-demo"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:statsig-lite-demo"

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return 3000


def _received(events_url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(events_url, timeout=5) as resp:
        events: list[dict[str, Any]] = json.load(resp)["events"]
    return events


def run(out: Any = sys.stdout) -> int:
    sink = subprocess.Popen([sys.executable, "-m", "statsig_lite.demo_sink"], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        api = sink.stdout.readline().strip()
        events_url = api.replace("/v1/", "/events")
        # configuration the way a function gets it: environment variables only, the demo's own (a STATSIG_*
        # variable left in the shell, e.g. a real spill target or a typo, must not change or break it)
        ignored = sorted(name for name in os.environ if name.startswith("STATSIG_"))
        for name in ignored:
            del os.environ[name]
        if ignored:
            print(f"ignoring {', '.join(ignored)} from your shell: the demo configures itself", file=out)
        os.environ.update({"STATSIG_SERVER_SECRET": "secret-demo-key", "STATSIG_SPEC_SOURCE": "example",
                           "STATSIG_API_URL": api})
        from . import statsig
        from .lambda_handler import statsig_handler
        from .user import StatsigEvent, StatsigUser

        @statsig_handler
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            user = StatsigUser(**event["user"])
            gate = statsig.get_feature_gate(user, "new_checkout")
            layer = statsig.get_layer(user, "checkout_layer")
            statsig.log_event(StatsigEvent(user, "checkout_viewed", value=1, metadata={"page": "cart"}))
            return {
                "new_checkout": gate.value,
                "rule": gate.rule_id,
                "modern_app": statsig.check_gate(user, "modern_app"),
                "headline": statsig.get_config(user, "checkout_copy").get("headline"),
                "color": layer.get("color"),
                "group": layer.group_name or layer.rule_id,
            }

        details = statsig.get_instance()
        print(f"handler initialized from the example snapshot; events go to {api}log_event", file=out)
        print(f"{'user':8} {'new_checkout':24} {'modern_app':10} {'headline':18} {'layer color':24} sent",
              file=out)
        for n, user in enumerate(USERS):
            before = len(_received(events_url))
            result = handler({"user": user}, _Context(f"demo-{n}"))
            sent = len(_received(events_url)) - before  # delivered before the handler returned
            print(f"{user['user_id']:8} {result['new_checkout']!s:5} ({result['rule']:16}) "
                  f"{result['modern_app']!s:10} {result['headline']:18} {result['color']:5} "
                  f"({result['group']:16}) {sent}", file=out)
        received = _received(events_url)
        names: dict[str, int] = {}
        for event in received:
            names[event["eventName"]] = names.get(event["eventName"], 0) + 1
        print(f"local sink received {len(received)} events: {json.dumps(names, sort_keys=True)}", file=out)
        print("What this showed: one handler under @statsig_handler answered each user from rules loaded once per "
              "sandbox, and every check's exposure and event reached the sink before the handler returned.", file=out)
        print("Next: python -m statsig_lite --help (pull your project's rules, validate, refresh), "
              "and README.md 'Deploy with SAM' to run it on AWS Lambda.", file=out)
        details.shutdown(timeout=2.0)
        return 0
    finally:
        sink.terminate()
        sink.wait(timeout=5)
