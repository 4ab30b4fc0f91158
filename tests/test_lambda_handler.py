"""@statsig_handler in-process: stacking with Powertools decorators, exceptions, flush budget, secrets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser, statsig_handler
from statsig_lite.errors import ConfigurationError
from statsig_lite.lambda_handler import resolve_secret
from tests.servers.statsig_api import FakeStatsigAPI


@dataclass
class Context:
    function_name: str = "fn"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    aws_request_id: str = "req-1"
    remaining_ms: int = 3000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _server(api: FakeStatsigAPI) -> tuple[StatsigServer, StatsigOptions]:
    return StatsigServer(), StatsigOptions(spec_source="example", api=api.url)


@pytest.mark.parametrize("order", ["statsig_outermost", "statsig_innermost"])
def test_stacks_with_powertools_logger_and_metrics(order: str, statsig_api: FakeStatsigAPI,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "test")
    server, options = _server(statsig_api)
    logger, metrics = Logger(service="svc"), Metrics(namespace="test")

    def body(event: dict[str, Any], context: Context) -> dict[str, Any]:
        return {"on": server.check_gate(StatsigUser(user_id=event["user"], email="a@example.com"), "new_checkout")}

    with_statsig = statsig_handler(server=server, options=options, secret_key="secret-k")
    if order == "statsig_outermost":
        handler = with_statsig(logger.inject_lambda_context(metrics.log_metrics(body)))
    else:
        handler = logger.inject_lambda_context(metrics.log_metrics(with_statsig(body)))
    assert handler({"user": "u1"}, Context()) == {"on": True}
    assert "u1" in json.dumps(statsig_api.accepted_events())  # flushed before returning


def test_handler_exception_propagates_unchanged_and_events_still_flush(statsig_api: FakeStatsigAPI) -> None:
    server, options = _server(statsig_api)

    class Boom(Exception):
        pass

    @statsig_handler(server=server, options=options, secret_key="secret-k")
    def handler(event: dict[str, Any], context: Context) -> None:
        server.check_gate(StatsigUser(user_id="u-err"), "new_checkout")
        raise Boom("handler failed")

    with pytest.raises(Boom, match="handler failed"):
        handler({}, Context())
    assert "u-err" in json.dumps(statsig_api.accepted_events())


def test_no_time_left_means_no_send_attempt(statsig_api: FakeStatsigAPI, tmp_path: Any) -> None:
    server = StatsigServer()
    options = StatsigOptions(spec_source="example", api=statsig_api.url, spill_target=f"file://{tmp_path}")

    @statsig_handler(server=server, options=options, secret_key="secret-k")
    def handler(event: dict[str, Any], context: Context) -> bool:
        return server.check_gate(StatsigUser(user_id="u-late"), "new_checkout")

    handler({}, Context(remaining_ms=100))  # less than the flush margin
    assert statsig_api.log_event_requests() == []
    assert len(server._pipeline or []) == 1, "no time even to spill: the exposure stays in memory, not lost"
    handler({}, Context(remaining_ms=3000))
    assert "u-late" in json.dumps(statsig_api.accepted_events())


def test_secret_from_environment_and_bad_secret_name(monkeypatch: pytest.MonkeyPatch,
                                                    ssm_client: Any, aws_endpoint_url: str) -> None:
    assert resolve_secret({"STATSIG_SERVER_SECRET": "secret-env"}) == "secret-env"
    assert resolve_secret({}) == ""
    ssm_client.put_parameter(Name="/statsig/secret", Value="secret-ssm", Type="SecureString")
    for name, value in {"AWS_ENDPOINT_URL": aws_endpoint_url, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    assert resolve_secret({"STATSIG_SECRET_NAME": "/statsig/secret"}) == "secret-ssm"
    with pytest.raises(ConfigurationError, match="STATSIG_SECRET_NAME"):
        resolve_secret({"STATSIG_SECRET_NAME": "/statsig/missing"})


class _BrokenFlush(StatsigServer):
    def _flush_for_invocation(self, timeout: float) -> Any:
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON object")


def test_an_error_inside_the_flush_never_replaces_the_handlers_result_or_exception(
    statsig_api: FakeStatsigAPI, caplog: pytest.LogCaptureFixture
) -> None:
    server = _BrokenFlush()
    options = StatsigOptions(spec_source="example", api=statsig_api.url, metrics_enabled=True)

    @statsig_handler(server=server, options=options, secret_key="secret-k")
    def handler(event: dict[str, Any], context: Context) -> Any:
        if event.get("raise"):
            raise KeyError("the handler's own error")
        return {"ok": event["n"]}

    for n in range(3):
        assert handler({"n": n}, Context()) == {"ok": n}
    with pytest.raises(KeyError, match="the handler's own error"):
        handler({"raise": True}, Context())
    logged = [r for r in caplog.records if "unexpected error while flushing" in r.getMessage()]
    assert len(logged) == 1 and "RecursionError" in logged[0].getMessage()  # once, with its cause


def test_missing_secret_is_an_error_at_initialize_checks_answer_and_events_are_kept(
    statsig_api: FakeStatsigAPI, caplog: pytest.LogCaptureFixture, tmp_path: Any
) -> None:
    server = StatsigServer()  # no STATSIG_SERVER_SECRET / STATSIG_SECRET_NAME in the environment
    options = StatsigOptions(spec_source="example", api=statsig_api.url, spill_target=tmp_path.as_uri())

    @statsig_handler(server=server, options=options)
    def handler(event: dict[str, Any], context: Context) -> bool:
        return server.check_gate(StatsigUser(user_id="u", email="a@example.com"), "new_checkout")

    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("STATSIG_SERVER_SECRET" in m and "STATSIG_SECRET_NAME" in m for m in errors)
    assert handler({}, Context()) is True  # checks answer from the rules
    assert statsig_api.log_event_requests() == []  # never sent with an empty key
    assert server.flush(1.0).dropped == 0 and list(tmp_path.iterdir())  # kept (spilled), not lost
    # an explicit initialize("") is refused as officially, with the same clear message
    caplog.clear()
    assert StatsigServer().initialize("", options).init_success is False
    assert any("STATSIG_SERVER_SECRET" in r.getMessage() for r in caplog.records)
