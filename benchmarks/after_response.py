"""Response time and billed time of the delivery modes, under the real awslambdaric on loopback.

Each variant runs in its own sandbox (a real ``python -m awslambdaric`` process driven through the loopback
Runtime + Extensions API of tests/servers/lambda_runtime.py); the loopback Statsig API answers log_event
after ``--delay`` seconds (default 0.3, a slow day at Statsig). Per invocation:

  response  from handing the event to the runtime until it posted the response (what the caller waits for)
  billed    from handing the event to the runtime until the runtime and every extension called next again,
            i.e. until Lambda could freeze the sandbox: the invoke phase Lambda bills

Variants: ``no SDK`` (the same handler without statsig_lite), ``synchronous`` (the default: flush before the
handler returns) and ``after_response`` (STATSIG_DELIVERY=after_response: the internal extension flushes
after the response). Each invocation checks a gate and logs one event. Medians and p90 over the invocations.

Usage: .venv/bin/python benchmarks/after_response.py [--invocations 20] [--delay 0.3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.servers.lambda_runtime import LambdaProcess  # noqa: E402
from tests.servers.statsig_api import FakeStatsigAPI, delay  # noqa: E402

EXAMPLE = REPO / "statsig_lite" / "data" / "example_snapshot.json"

APP = textwrap.dedent(
    """
    from statsig_lite import StatsigEvent, StatsigUser, statsig, statsig_handler


    @statsig_handler
    def handler(event, context):
        user = StatsigUser(user_id=event["user"])
        statsig.log_event(StatsigEvent(user, "bench", value=1))
        return {"on": statsig.check_gate(user, "new_checkout")}
    """
)
PLAIN = textwrap.dedent(
    """
    def handler(event, context):
        return {"on": False}
    """
)


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _run(module: str, root: Path, env: dict[str, str | None], invocations: int) -> tuple[list[float], list[float]]:
    response, billed = [], []
    with LambdaProcess(module, root, env=env) as fn:
        fn.freeze_ready_at(fn.invoke({"user": "warm-up"}, timeout_ms=10_000))  # connections, first imports
        for n in range(invocations):
            result = fn.invoke({"user": f"user-{n}"}, timeout_ms=10_000)
            if not result.ok:
                raise RuntimeError(f"{module}: {result.body}")
            ready = fn.freeze_ready_at(result)
            response.append((result.received_at - result.delivered_at) * 1000)
            billed.append((ready - result.delivered_at) * 1000)
            fn.freeze()
            fn.thaw()
    return response, billed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds the loopback log_event takes to answer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="after-response-") as tmp, FakeStatsigAPI() as api:
        root = Path(tmp)
        (root / "app.py").write_text(APP)
        (root / "plain.py").write_text(PLAIN)
        api.inject("log_event", delay(args.delay), times=None)
        base: dict[str, str | None] = {
            "STATSIG_SERVER_SECRET": "secret-bench",
            "STATSIG_API_URL": api.url,
            "STATSIG_SPEC_SOURCE": f"file://{EXAMPLE}",
            "STATSIG_SPILL_TARGET": f"file://{root / 'spill'}",
            "PYTHONPATH": str(REPO),
        }
        variants = [
            ("no SDK", "plain.handler", base),
            ("synchronous", "app.handler", {**base, "STATSIG_DELIVERY": "synchronous"}),
            ("after_response", "app.handler", {**base, "STATSIG_DELIVERY": "after_response"}),
        ]
        rows = []
        for name, module, env in variants:
            response, billed = _run(module, root, env, args.invocations)
            rows.append((name, response, billed))
        events = sum(1 for e in api.accepted_events() if e.get("eventName") == "bench")
    print(f"log_event answers after {args.delay * 1000:.0f} ms; {args.invocations} invocations per variant "
          f"(+1 warm-up); {events} custom events accepted by the loopback Statsig API\n")
    print("| variant | response median (ms) | response p90 (ms) | billed median (ms) | billed p90 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for name, response, billed in rows:
        print(f"| {name} | {statistics.median(response):.1f} | {_p90(response):.1f} "
              f"| {statistics.median(billed):.1f} | {_p90(billed):.1f} |")


if __name__ == "__main__":
    main()
