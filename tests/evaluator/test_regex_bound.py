"""str_matches is bounded in time (a bound, not a speed benchmark) and answers as `re` does within it."""

from __future__ import annotations

import json
import re
import sys
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statsig_lite import StatsigOptions, StatsigServer, StatsigUser
from statsig_lite.evaluator import regex_bound
from statsig_lite.evaluator.operators import CORE, LEGACY
from statsig_lite.evaluator.regex_bound import BOUND_S, RegexTimeout, compile_bounded, max_length

# A check may take BOUND_S per condition; the test allows generous room for a loaded CI machine.
_ALLOWED_S = 0.25

# (pattern, unit): the unit repeated makes the adversarial string, with "!" appended so no match is found
CATASTROPHIC = [
    (r"(a+)+$", "a"), (r"(a|aa)+$", "a"), (r"(a|a?)+$", "a"), (r"((a+)+)+b", "a"), (r"(x+x+)+y", "x"),
    (r"^(\d+\.)+\d+$", "1."), (r"(\w+)\1x", "ab"), (r"(.*a){12}", "a"), (r"(?:.*a){3}b", "a"), (r".*a.*b", "a"),
    (r"a*a*a*b", "a"), (r".*.*.*=.*", "a"), (r"^(([a-z])+.)+[A-Z]([a-z])+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    (r"(?=(a+)+$)b", "a"), (r"(?i)(A|a)+B", "a"),
]
ORDINARY = [
    (r".*Chrome.*", "Mozilla/5.0 "), (r"@example\.com$", "a@example.co"),
    (r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$", "a."),
    (r"[a-z]+@", "a"), (r"(?i)iphone|ipad", "iphon"), (r"^\d+$", "1"), (r"abc", "ab"), (r".*b", "a"), (r".*", "x"),
]


def _adversarial(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length] + "!"


def _timed(call: Any, *args: Any) -> tuple[float, Any]:
    """CPU time of the call: the claim is about work, and CI machines are shared (wall time is not ours)."""
    started = time.thread_time()
    try:
        result: Any = call(*args)
    except RegexTimeout as exc:
        result = exc
    return time.thread_time() - started, result


@pytest.mark.parametrize(("pattern", "unit"), CATASTROPHIC + ORDINARY)
def test_every_pattern_is_bounded_at_every_length(pattern: str, unit: str) -> None:
    bounded = compile_bounded(pattern)
    limit = bounded.max_len
    lengths = {30, 1_000, 1_000_000} | ({int(limit), int(limit) + 1} if limit < 10**6 else set())
    worst = 0.0
    for length in sorted(lengths):
        text = _adversarial(unit, length)
        elapsed, _ = _timed(bounded.search, text)
        worst = max(worst, elapsed)
        assert elapsed < _ALLOWED_S, f"{pattern!r} on {length} characters took {elapsed * 1000:.1f} ms"
    print(f"{pattern!r}: re up to {limit} characters; slowest {worst * 1000:.2f} ms (bound {BOUND_S * 1000:g} ms)")


def test_a_30_character_user_string_against_a_catastrophic_pattern_answers_within_the_bound() -> None:
    """The issue's repro: `(a+)+$` against a 30-character string ran for more than 30 s in both dialects."""
    gate = {"name": "g", "type": "feature_gate", "salt": "s", "enabled": True, "defaultValue": False,
            "idType": "userID", "entity": "feature_gate", "rules": [{
                "name": "r", "id": "r", "salt": "r", "passPercentage": 100, "returnValue": True, "idType": "userID",
                "conditions": [{"type": "user_field", "operator": "str_matches", "field": "email",
                                "targetValue": "(a+)+$"}]}]}
    v1 = {"time": 1, "feature_gates": [gate], "dynamic_configs": [], "layer_configs": []}
    cond = gate["rules"][0]["conditions"][0]  # type: ignore[index]
    v2 = {"time": 1, "response_format": "dcs-v2", "feature_gates": {"g": {**gate, "rules": [
        {**gate["rules"][0], "conditions": ["c"]}]}}, "dynamic_configs": {}, "layer_configs": {},  # type: ignore[index]
        "condition_map": {"c": cond}}
    user = StatsigUser(user_id="u", email="a" * 30 + "!")
    for payload, rule_ids in ((v1, ("error", "default")), (v2, ("default",))):
        server = StatsigServer(clock=lambda: 1_700_000_000.0)
        assert server.initialize("secret-x", StatsigOptions(bootstrap_values=json.dumps(payload),
                                                             local_mode=True)).init_success
        started = time.perf_counter()
        result = server.get_feature_gate(user, "g")
        assert time.perf_counter() - started < _ALLOWED_S
        # legacy: an evaluation error past the bound, or the true answer if the bounded engine found it in time
        assert result.value is False and result.rule_id in rule_ids
    # a string that matches is still found, in both dialects
    for table in (LEGACY, CORE):
        assert table["str_matches"]("(a+)+$")("a" * 30) is True


def test_a_timeout_is_the_dialects_failed_comparison_with_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    legacy, core = LEGACY["str_matches"](r".*a.*b"), CORE["str_matches"](r".*a.*b")
    text = _adversarial("a", 100_000)  # cubic: far beyond the bound in any engine that backtracks
    with caplog.at_level("WARNING", logger="statsig_lite"):
        for _ in range(3):
            with pytest.raises(RegexTimeout):
                legacy(text)  # the legacy evaluator turns it into rule "error"
            assert core(text) is False
    lines = [r for r in caplog.records if "str_matches pattern" in r.getMessage()]
    assert len(lines) == 2  # one per compiled pattern (one per dialect here), not one per check


def test_without_the_regex_package_a_long_string_is_a_failed_comparison(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "regex", None)  # as in the layer, which carries no compiled extension
    bounded = compile_bounded(r".*Chrome.*")
    assert bounded.search("x" * 10 + "Chrome") is True  # within the proven length: re, exactly
    with caplog.at_level("WARNING", logger="statsig_lite"), pytest.raises(RegexTimeout):
        bounded.search("x" * int(bounded.max_len + 1) + "Chrome")
    assert "not installed" in caplog.text


def test_ordinary_patterns_keep_re_for_ordinary_strings() -> None:
    """No per-check cost beyond a len(): the common patterns run in `re` for strings of ordinary length."""
    assert max_length(r".*Chrome.*") >= 300  # a user agent
    assert max_length(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$") >= 200  # an email address
    assert max_length(r"@example\.com$") >= 10_000
    assert max_length(r"^1\.2\.") == float("inf")
    assert max_length(r"(a+)+$") < 20 and max_length(r"(\w+)\1") < 20


# --- the bounded engine answers as `re` does ------------------------------------------------------

_ATOMS = st.sampled_from(["a", "b", ".", r"\d", r"\w", r"\s", "[ab]", "[^a]", "^", "$", r"\b", "(?:a|b)", "x"])


@st.composite
def patterns(draw: Any, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        atom = draw(_ATOMS) if depth > 1 or draw(st.booleans()) else f"({draw(patterns(depth + 1))})"
        parts.append(atom + draw(st.sampled_from(["", "", "*", "+", "?", "{1,2}", "*?", "+?"])))
    text = "".join(parts)
    if draw(st.booleans()):
        text += "|" + draw(_ATOMS)
    return draw(st.sampled_from(["", "(?i)", "(?s)", "(?m)"])) + text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=patterns(), text=st.text(alphabet="abAB1 _x\n.\u00e9", max_size=16))
def test_the_bounded_engine_answers_as_re(pattern: str, text: str) -> None:
    try:
        expected = re.search(pattern, text) is not None
    except re.error:
        return
    bounded = compile_bounded(pattern)
    assert bounded.search(text) == expected
    bounded.max_len = -1  # every string to the bounded engine (the `regex` package with its timeout)
    assert bounded.search(text) == expected, pattern


def test_the_budget_is_stated() -> None:
    assert BOUND_S == 0.010
    assert regex_bound.BUDGET_STEPS > 0


# --- huge user agents ---------------------------------------------------------------------------------

_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile Safari/604.1"


def test_a_huge_user_agent_is_answered_within_a_bound_in_both_dialects(caplog: pytest.LogCaptureFixture) -> None:
    """A 1 MB agent took ~3 s in the legacy parser: now it has no value (legacy, a documented divergence) or
    core's own answer for agents over 1000 bytes (no value), fast, uncached, with one log line."""
    from statsig_lite.evaluator import user_agent

    huge = _UA + " x" * 500_000
    gate = {"name": "g", "type": "feature_gate", "salt": "s", "enabled": True, "defaultValue": False,
            "idType": "userID", "entity": "feature_gate", "rules": [{
                "name": "r", "id": "r", "salt": "r", "passPercentage": 100, "returnValue": True, "idType": "userID",
                "conditions": [{"type": "ua_based", "operator": "any", "field": "os_name", "targetValue": ["iOS"]}]}]}
    cond = gate["rules"][0]["conditions"][0]  # type: ignore[index]
    v1 = {"time": 1, "feature_gates": [gate], "dynamic_configs": [], "layer_configs": []}
    v2 = {"time": 1, "response_format": "dcs-v2", "feature_gates": {"g": {**gate, "rules": [
        {**gate["rules"][0], "conditions": ["c"]}]}}, "dynamic_configs": {}, "layer_configs": {},  # type: ignore[index]
        "condition_map": {"c": cond}}
    user_agent._parse.cache_clear()
    with caplog.at_level("WARNING", logger="statsig_lite"):
        for payload in (v1, v2):
            server = StatsigServer(clock=lambda: 1_700_000_000.0)
            assert server.initialize("secret-x", StatsigOptions(bootstrap_values=json.dumps(payload),
                                                                 local_mode=True)).init_success
            assert server.check_gate(StatsigUser(user_id="u", user_agent=_UA), "g") is True  # ordinary agent
            for _ in range(3):
                started = time.perf_counter()
                assert server.check_gate(StatsigUser(user_id="u", user_agent=huge), "g") is False
                assert time.perf_counter() - started < _ALLOWED_S
    assert user_agent._parse.cache_info().currsize == 2  # the ordinary agent per dialect; never the huge one
    assert len([r for r in caplog.records if "user agent is not parsed" in r.getMessage()]) <= 1


def test_legacy_agents_up_to_the_limit_are_parsed_as_ua_parser_parses_them() -> None:
    from ua_parser import user_agent_parser

    from statsig_lite.evaluator.user_agent import MAX_LEGACY_CHARS, parse

    padded = (_UA + " " + "y" * MAX_LEGACY_CHARS)[:MAX_LEGACY_CHARS]
    expected = user_agent_parser.Parse(padded)  # type: ignore[no-untyped-call]
    assert parse(padded, True)["os_name"] == expected["os"]["family"] == "iOS"
    assert parse(padded + "y", True) == {}


# --- a leading or trailing `.*` does not decide a search: dropped, so `re` stays linear ----------------


def test_dot_star_ends_are_dropped_for_the_search_only() -> None:
    from statsig_lite.evaluator.regex_bound import search_equivalent

    assert search_equivalent(r".*Chrome.*") == "Chrome"
    assert search_equivalent(r"(?i).*?chrome.*?") == "(?i)chrome"
    assert search_equivalent(r"abc\.*") == r"abc\.*"  # an escaped dot is a literal
    assert search_equivalent(r".*+x") == r".*+x"  # possessive: never matches, must not become `x`
    assert search_equivalent(r"^.*x") == r"^.*x"  # anchored: the `.*` decides which line
    # the user agent case that was past the proven length before: now within it, answered by `re`
    assert max_length(search_equivalent(r".*Chrome.*")) >= 100_000


def test_without_the_regex_package_a_real_long_user_agent_still_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "regex", None)  # as in the layer
    agent = "Mozilla/5.0 (X11; Linux x86_64) " + "AppleWebKit/537.36 (KHTML, like Gecko) " * 20 + "Chrome/120.0"
    assert len(agent) > 800
    assert compile_bounded(r".*Chrome.*").search(agent) is True
    assert compile_bounded(r".*Firefox.*").search(agent) is False


@settings(max_examples=300, deadline=None)
@given(
    core=st.sampled_from(["a", "ab", r"\bx", "(a)\\1", "(?<=a)b", r"\Aa", "a$", "^a", "[^a]b", "a|b", "(?:a|)"]),
    lead=st.sampled_from(["", ".*", ".*?", "(?s).*", "(?i).*", "(?m).*"]),
    trail=st.sampled_from(["", ".*", ".*?"]),
    text=st.text(alphabet="abxAB\n.", max_size=10),
)
def test_dropping_dot_star_ends_never_changes_whether_re_finds_a_match(core: str, lead: str, trail: str,
                                                                       text: str) -> None:
    pattern = lead + core + trail
    try:
        expected = re.search(pattern, text) is not None
    except re.error:
        return
    assert compile_bounded(pattern).search(text) is expected


@pytest.mark.parametrize("unit", ["(?i)", "(?U)", "(?m)", "(?-m)"])
def test_rewriting_a_core_pattern_of_many_flag_groups_is_not_quadratic(unit: str) -> None:
    from statsig_lite.evaluator.rust_regex import to_python

    # 80 KB of flag groups (a payload may carry 64 MB): each group must not rescan the pattern or its output
    started = time.perf_counter()
    rewritten = to_python(unit * 20_000 + "a")
    assert time.perf_counter() - started < 2.0
    assert rewritten is not None
    if "-" not in unit:  # bare flags opening the pattern stay global: the rewrite is flat
        assert re.search(rewritten, "A" if unit == "(?i)" else "a")


def test_a_pattern_nested_deeper_than_re_can_parse_does_not_refuse_the_payload() -> None:
    from statsig_lite.store.snapshot import load_snapshot

    deep = "(" * 2000 + "a" + ")" * 2000  # re parses each group a level deeper (a recursion)
    assert CORE["str_matches"](deep)("a") is False  # no match, as a pattern core cannot compile
    with pytest.raises(RecursionError):  # the legacy SDK's re.search raises at every check
        LEGACY["str_matches"](deep)("a")

    def gate(pattern: str) -> dict[str, Any]:
        cond = {"type": "user_field", "field": "email", "operator": "str_matches", "targetValue": pattern}
        return {"type": "feature_gate", "salt": "s", "enabled": True, "defaultValue": False, "idType": "userID",
                "entity": "feature_gate", "rules": [{"id": "r", "passPercentage": 100, "returnValue": True,
                                                     "conditions": [cond]}]}

    v1 = {"time": 5, "feature_gates": [{"name": "deep", **gate(deep)}, {"name": "plain", **gate("a")}],
          "dynamic_configs": [], "layer_configs": []}
    v2_gates = {"deep": gate(deep), "plain": gate("a")}
    conditions = {}
    for name, spec in v2_gates.items():  # v2 rules name their conditions by key
        conditions[name] = spec["rules"][0]["conditions"][0]
        spec["rules"][0]["conditions"] = [name]
    v2 = {"time": 5, "response_format": "dcs-v2", "feature_gates": v2_gates, "dynamic_configs": {},
          "layer_configs": {}, "condition_map": conditions}
    for payload in (v1, v2):
        assert set(load_snapshot(json.dumps(payload)).gates) == {"deep", "plain"}


def test_a_legacy_pattern_that_cannot_compile_keeps_no_check_alive() -> None:
    import gc
    import weakref

    check = LEGACY["str_matches"]("(unclosed")

    class Held:
        pass

    def one_check() -> weakref.ref[Held]:
        held = Held()  # a local of the checking frame, as a user or an evaluation is
        try:
            check("a")
        except re.error as exc:
            assert held is not None and exc.__traceback__ is not None
        return weakref.ref(held)

    refs = [one_check() for _ in range(3)]
    gc.collect()
    # the error is raised again at every check: its traceback must not chain (and keep alive) every check's frames
    assert [r() is None for r in refs[:-1]] == [True, True]
