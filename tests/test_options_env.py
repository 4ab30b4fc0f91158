"""Safe configuration: a bad optional STATSIG_* variable is a warning naming it and the value used instead, never
a client without its rules (options.resolve_options)."""

from __future__ import annotations

import logging
from importlib import resources

import pytest

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
from statsig_lite import constants as c
from statsig_lite.options import resolve_options

EXAMPLE = resources.files("statsig_lite").joinpath("data/example_snapshot.json").read_text(encoding="utf-8")

# variable, bad value, option, value used instead, words the warning must carry
BAD_OPTIONAL = [
    (c.ENV_METRICS_ENABLED, "maybe", "metrics_enabled", False, "false"),
    (c.ENV_FLUSH_MARGIN_MS, "-5", "flush_margin_ms", c.DEFAULT_FLUSH_MARGIN_MS, "500 ms"),
    (c.ENV_FLUSH_MARGIN_MS, "soon", "flush_margin_ms", c.DEFAULT_FLUSH_MARGIN_MS, "500 ms"),
    (c.ENV_SPEC_MAX_AGE_SECONDS, "abc", "spec_max_age_seconds", c.DEFAULT_SPEC_MAX_AGE_SECONDS, "60 s"),
    (c.ENV_SPEC_MAX_AGE_SECONDS, "nan", "spec_max_age_seconds", c.DEFAULT_SPEC_MAX_AGE_SECONDS, "60 s"),
    (c.ENV_SPEC_MAX_AGE_SECONDS, "inf", "spec_max_age_seconds", c.DEFAULT_SPEC_MAX_AGE_SECONDS, "60 s"),
    (c.ENV_LOCAL_MODE, "perhaps", "local_mode", False, "false"),
    (c.ENV_SPILL_RETENTION_DAYS, "0", "spill_retention_seconds", c.DEFAULT_SPILL_RETENTION_SECONDS, "7 days"),
    (c.ENV_SPILL_RETENTION_DAYS, "a week", "spill_retention_seconds", c.DEFAULT_SPILL_RETENTION_SECONDS, "7 days"),
]


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("statsig_lite") and r.levelno == logging.WARNING]


@pytest.mark.parametrize(("var", "raw", "option", "used", "words"), BAD_OPTIONAL)
def test_a_bad_optional_variable_warns_and_uses_the_default(
    var: str, raw: str, option: str, used: object, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="statsig_lite")
    resolved = resolve_options(None, {var: raw})
    assert getattr(resolved, option) == used
    (record,) = warnings_of(caplog)
    message = record.getMessage()
    assert var in message and repr(raw) in message and words in message, message
    assert record.variable == var and record.value == raw  # type: ignore[attr-defined]


@pytest.mark.parametrize(("var", "raw", "option", "used", "words"), BAD_OPTIONAL)
def test_initialize_keeps_its_rules_whatever_optional_variable_is_bad(
    var: str, raw: str, option: str, used: object, words: str, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setenv(var, raw)
    server = StatsigServer()
    details = server.initialize("secret-test", StatsigOptions(disable_all_logging=True, bootstrap_values=EXAMPLE))
    try:
        assert details.init_success, details
        assert getattr(server._options, option) == used
        # the rules are there: a gate whose rule passes for this user answers True, not the default
        alice = StatsigUser(user_id="alice", email="alice@example.com", country="US", app_version="2.3.0")
        assert server.get_feature_gate(alice, "new_checkout").rule_id not in ("", "default")
    finally:
        server.shutdown()
    assert any(var in r.getMessage() for r in warnings_of(caplog))


def test_good_values_are_used_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="statsig_lite")
    resolved = resolve_options(None, {
        c.ENV_METRICS_ENABLED: "TRUE", c.ENV_FLUSH_MARGIN_MS: "250", c.ENV_SPEC_MAX_AGE_SECONDS: "0.5",
        c.ENV_LOCAL_MODE: "off", c.ENV_SPILL_RETENTION_DAYS: "14",
    })  # fmt: skip
    assert resolved.metrics_enabled is True and resolved.local_mode is False
    assert resolved.flush_margin_ms == 250 and resolved.spec_max_age_seconds == 0.5
    assert resolved.spill_retention_seconds == 14 * 86400
    assert warnings_of(caplog) == []


def test_explicit_options_beat_the_environment_and_are_not_checked_against_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="statsig_lite")
    explicit = StatsigOptions(
        metrics_enabled=True, flush_margin_ms=10, spec_max_age_seconds=5, spill_retention_seconds=3600
    )
    resolved = resolve_options(
        explicit,
        {
            c.ENV_METRICS_ENABLED: "maybe",
            c.ENV_FLUSH_MARGIN_MS: "-5",
            c.ENV_SPEC_MAX_AGE_SECONDS: "abc",
            c.ENV_SPILL_RETENTION_DAYS: "2",
        },
    )
    assert (resolved.metrics_enabled, resolved.flush_margin_ms, resolved.spec_max_age_seconds) == (True, 10, 5)
    assert resolved.spill_retention_seconds == 3600
    assert warnings_of(caplog) == []
