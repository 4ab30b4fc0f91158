r"""`str_matches` in bounded time: at most `BOUND_S` per condition, whatever the pattern and the user's string.

The legacy SDK calls Python's `re.search` (exponential on `(a+)+$`); core uses Rust's linear-time `regex`
crate, but our core dialect keeps `re`'s syntax (the store's choice). We keep `re` (exact, compiled once at
load) wherever it provably stays within the bound, and send everything else to the `regex` package (the
optional extra `statsig-lite[regex]`: the same semantics as `re` in its VERSION0 mode, tested against `re`
in tests/evaluator/test_regex_bound.py) whose matcher takes a `timeout`. `regex` is a compiled extension,
so it is not in the architecture-free layer; without it, a string beyond the proven length gets the
dialect's failed-comparison answer (the documented divergence):

- At load, `compile_bounded` parses the pattern with `re`'s own parser and bounds the backtracking it can
  do: a variable repeat nested in another, alternatives or backreferences under a repeat make it
  "unbounded"; otherwise each variable repeat whose end is ambiguous (its body can also start what
  follows) multiplies the work by the string's length, and so do an unanchored search and a repeat whose
  end the text decides (a linear scan per attempt). That gives a
  polynomial degree D and a length `max_len` = (BUDGET_STEPS / pattern size) ** (1 / D) up to which
  `re` cannot exceed the bound.
- Exponential patterns (a choice inside a repeat, backreferences) get the length at which the exponential
  (base: the pattern's number of choices) reaches the budget: `^(\d+\.)+\d+$` runs in `re` up to 7 characters.
- At check time a string no longer than `max_len` goes to `re` (one `len()` more than before); a longer one
  to `regex` with `timeout=BOUND_S`. A timeout is the dialect's answer for a failed comparison (legacy:
  evaluation error; core: false) and one log line per pattern.
"""

from __future__ import annotations

import math
import re

from .._log import get_logger

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any, Final

__all__ = ["BOUND_S", "BUDGET_STEPS", "BoundedPattern", "RegexTimeout", "compile_bounded", "max_length"]

BOUND_S: Final = 0.010
"""The most one `str_matches` condition may take, in seconds."""
BUDGET_STEPS: Final = 1_000_000
"""Matching steps (string positions x pattern nodes) `re` may take within BOUND_S: measured 0.2-6 ns a
backtracking step and 20-50 ns a character for a Unicode class or case-insensitive scan on a loaded 2-core
machine; at the limit the slowest catalogued pattern measured a few ms
(tests/evaluator/test_regex_bound.py prints the figures)."""

_UNBOUNDED = -1
_MAX_DEGREE = 8
_PREPARE_BELOW = 64  # characters: patterns proven only for strings shorter than this (exponential or high-degree)
# compile their bounded engine at load; others load it (~35 ms, once) on their first longer string
_MAX_FIXED_REPEAT = 10_000
logger = get_logger(__name__)


class RegexTimeout(ValueError):
    """The match did not finish within BOUND_S (legacy: an evaluation error, like the SDK's own failures)."""


class BoundedPattern:
    """A compiled pattern whose `search(text)` finishes within BOUND_S or raises RegexTimeout."""

    __slots__ = ("_slow", "compiled", "max_len", "pattern", "timed_out")

    def __init__(self, pattern: str, compiled: re.Pattern[str], max_len: float) -> None:
        self.pattern = pattern
        self.compiled = compiled
        self.max_len = max_len  # strings up to this length go to `re`
        self._slow: Any = None
        self.timed_out = False

    def search(self, text: str) -> bool:
        if len(text) <= self.max_len:
            return self.compiled.search(text) is not None
        return self._bounded_search(text)

    def prepare(self) -> None:
        """Load and compile the bounded engine now (at load), so that no check pays for it (~35 ms import)."""
        if self._slow is None:
            try:
                self._slow = _compile_slow(self.pattern, self.compiled.flags)
            except Exception:  # not installed, or a pattern it does not take: reported at the first long string
                self._slow = None

    def _bounded_search(self, text: str) -> bool:
        slow = self._slow
        if slow is None:
            try:
                import regex  # only patterns and strings that need the bound pay for loading it
            except ImportError:  # the optional extra (statsig-lite[regex]) is not installed
                self._report(f"is not proven to finish on a {len(text)}-character string and the regex package"
                             " (statsig-lite[regex]) is not installed")
                raise RegexTimeout(self.pattern) from None
            try:
                slow = self._slow = _compile_slow(self.pattern, self.compiled.flags, regex)
            except Exception as exc:  # `re` took it but `regex` does not: no bounded engine for it
                self._report(f"cannot be bounded ({type(exc).__name__})")
                raise RegexTimeout(self.pattern) from exc
        try:
            return slow.search(text, timeout=BOUND_S) is not None
        except TimeoutError as exc:
            self._report(f"took longer than {BOUND_S * 1000:g} ms on a {len(text)}-character string")
            raise RegexTimeout(self.pattern) from exc

    def _report(self, what: str) -> None:
        if not self.timed_out:  # one line per pattern, not per check
            self.timed_out = True
            logger.warning("statsig_lite: str_matches pattern %r %s; the condition fails", self.pattern[:200], what)


def compile_bounded(pattern: str) -> BoundedPattern:
    """Compile `pattern` with `re` (raises re.error as `re` does) and work out its safe length. A pattern that
    ordinary strings may outgrow gets its bounded engine now; others load it on the first long string."""
    compiled = re.compile(pattern)
    bounded = BoundedPattern(pattern, compiled, max_length(pattern, compiled.flags))
    if bounded.max_len < _PREPARE_BELOW:
        bounded.prepare()
    return bounded


def _compile_slow(pattern: str, flags: int, module: Any = None) -> Any:
    if module is None:
        import regex

        module = regex
    return module.compile(pattern, flags & ~re.UNICODE | module.V0)


def max_length(pattern: str, flags: int = 0) -> float:
    """The longest string `re` searches with `pattern` within BUDGET_STEPS (0: none; inf: any)."""
    try:
        parsed = _sre_module("_parser").parse(pattern, flags)
        flags = parsed.state.flags
        items = list(parsed)
        analysis = _Analysis(bool(flags & re.IGNORECASE) or "(?i" in pattern, bool(flags & re.DOTALL))
        degree, linear = analysis.sequence(items, _END)
        size = max(1, analysis.size) * (2 if analysis.ignorecase else 1)  # case folding per compare
    except Exception:  # anything the analysis does not understand is treated as unbounded
        return 0
    if analysis.fixed > _MAX_FIXED_REPEAT:
        return 0
    budget = BUDGET_STEPS / (size * analysis.fixed)
    if degree == _UNBOUNDED:  # exponential: each character may multiply the work by the choices it has
        return int(math.log(budget) / math.log(2 + analysis.choices))
    anchored = bool(items) and items[0][0] is _op("AT") and str(items[0][1]) in ("AT_BEGINNING", "AT_BEGINNING_STRING")
    if anchored and str(items[0][1]) == "AT_BEGINNING" and flags & re.MULTILINE:
        anchored = False  # ^ in MULTILINE mode anchors at every line
    # each ambiguous repeat multiplies by n, and so does the scan for a start; linear scans add one more n
    total = max((0 if anchored else 1) + degree + (1 if linear else 0), 1 if analysis.tail else 0)
    if total > _MAX_DEGREE:
        return 0
    return float("inf") if total == 0 else int(budget ** (1 / total))


# --- the analysis -------------------------------------------------------------------------------------

_END = "end"  # what follows: the end of the pattern (a repeat there never backtracks for what follows)
_UNKNOWN = "unknown"


def _sre_module(name: str) -> Any:
    """`re`'s own parser and constants: re._parser / re._constants (3.11+), sre_parse / sre_constants (3.10)."""
    import importlib

    try:
        return importlib.import_module(f"re.{name}")
    except ImportError:
        return importlib.import_module(f"sre{name}")


def _op(name: str) -> object:
    return getattr(_sre_module("_constants"), name, None)


class _Analysis:
    def __init__(self, ignorecase: bool, dotall: bool) -> None:
        self.ignorecase = ignorecase
        self.dotall = dotall
        self.size = 0
        self.fixed = 1  # product of fixed repeat counts (a{1000} costs 1000 steps)
        self.tail = False  # a repeat at the very end: scanned once
        self.choices = 0  # variable repeats and alternatives: the base of an exponential
        names = ("LITERAL", "NOT_LITERAL", "ANY", "IN", "CATEGORY", "AT", "BRANCH", "SUBPATTERN", "MAX_REPEAT",
                 "MIN_REPEAT", "POSSESSIVE_REPEAT", "ATOMIC_GROUP", "ASSERT", "ASSERT_NOT", "RANGE", "NEGATE",
                 "MAXREPEAT", "GROUPREF", "GROUPREF_EXISTS")
        self.ops = {name: _op(name) for name in names}

    def sequence(self, items: list[Any], follow: object) -> tuple[int, bool]:
        """(degree, has a linear scan) of `items` followed by `follow` (a first-character set, END or UNKNOWN).

        Goes on counting size and choices after finding the pattern unbounded (the exponential's base)."""
        ops = self.ops
        degree, linear = 0, False
        for index, (op, av) in enumerate(items):
            self.size += 1
            if op is ops["BRANCH"]:
                self.choices += len(av[1])
            elif op in (ops["MAX_REPEAT"], ops["MIN_REPEAT"]) and av[0] != av[1]:
                self.choices += 1
            after = self._first(items[index + 1:], follow)
            if op in (ops["LITERAL"], ops["NOT_LITERAL"], ops["ANY"], ops["AT"]):
                continue
            if op is ops["CATEGORY"]:
                self.size += 3  # a Unicode class test (\d, \w, \s) costs several literal compares
                continue
            if op is ops["IN"]:
                self.size += 1 + sum(3 if item_op is ops["CATEGORY"] else 1 for item_op, _ in av)
                continue
            if op is ops["SUBPATTERN"] or op is ops["ATOMIC_GROUP"]:
                body = av[-1] if op is ops["SUBPATTERN"] else av
                d, lin = self.sequence(list(body), after)
            elif op is ops["BRANCH"]:
                results = [self.sequence(list(alt), after) for alt in av[1]]
                if any(d == _UNBOUNDED for d, _ in results):
                    d, lin = _UNBOUNDED, True
                else:
                    d, lin = max(d for d, _ in results), any(lin for _, lin in results)
                self.size += len(av[1])
            elif op in (ops["ASSERT"], ops["ASSERT_NOT"]):
                d, lin = self.sequence(list(av[1]), _UNKNOWN)
                if d != _UNBOUNDED and lin:
                    d, lin = d + 1, False  # a lookaround scans on its own at every position it is tried
            elif op in (ops["MAX_REPEAT"], ops["MIN_REPEAT"], ops["POSSESSIVE_REPEAT"]):
                d, lin = self._repeat(op, av, after)
            elif op in (ops["GROUPREF"], ops["GROUPREF_EXISTS"]):
                d, lin = _UNBOUNDED, True  # backreferences: as costly as the groups they repeat
            else:  # anything the analysis does not know
                raise ValueError(f"unknown node {op}")
            if d == _UNBOUNDED or degree == _UNBOUNDED:
                degree, linear = _UNBOUNDED, True
            else:
                degree, linear = degree + d, linear or lin
        return degree, linear

    def _repeat(self, op: object, av: Any, after: object) -> tuple[int, bool]:
        low, high, body = av
        body = list(body)
        if high == low:  # a fixed count: each copy of the body backtracks on its own
            count = max(1, int(low))
            d, lin = self.sequence(body, _UNKNOWN if count > 1 else after)
            if d == 0:
                self.fixed *= count
                return d, lin
            return (d * count, lin) if d * count <= _MAX_DEGREE else (_UNBOUNDED, True)
        d, lin = self.sequence(body, _UNKNOWN)
        if d != 0 or lin or self._has_choice(body):
            return _UNBOUNDED, True  # a choice inside a repeat: exponential (`(a+)+`, `(a|aa)*`)
        if after is _END:
            self.tail = True  # once reached, the match has succeeded: one scan per search, not per attempt
            return 0, False
        if op is self.ops["POSSESSIVE_REPEAT"] or self._disjoint(self._first(body, _UNKNOWN), after):
            return 0, True  # where the repeat stops is decided by the text: one linear scan, no backtracking
        return 1, False  # every length is tried: what follows runs once per length

    def _has_choice(self, items: list[Any]) -> bool:
        ops = self.ops
        for op, av in items:
            if op is ops["BRANCH"]:
                return True
            if op in (ops["MAX_REPEAT"], ops["MIN_REPEAT"], ops["POSSESSIVE_REPEAT"]) and av[0] != av[1]:
                return True
            if op is ops["SUBPATTERN"] and self._has_choice(list(av[-1])):
                return True
            if op is ops["ATOMIC_GROUP"] and self._has_choice(list(av)):
                return True
            if op in (ops["ASSERT"], ops["ASSERT_NOT"]) and self._has_choice(list(av[1])):
                return True
        return False

    def _first(self, items: list[Any], follow: object) -> object:
        """What can start `items` then `follow`: one single-character node, END or UNKNOWN."""
        ops = self.ops
        for op, av in items:
            if op in (ops["LITERAL"], ops["NOT_LITERAL"], ops["ANY"], ops["IN"], ops["CATEGORY"]):
                return (op, av)
            if op is ops["AT"]:
                if str(av) in ("AT_END", "AT_END_STRING") and len(items) == 1 and follow is _END:
                    return _END
                return _UNKNOWN
            if op is ops["SUBPATTERN"]:
                return self._first(list(av[-1]), _UNKNOWN)
            if op in (ops["MAX_REPEAT"], ops["MIN_REPEAT"]) and av[0] >= 1:
                return self._first(list(av[2]), _UNKNOWN)
            return _UNKNOWN
        return follow

    def _disjoint(self, body_first: object, after: object) -> bool:
        """Whether no character can both continue the repeat and start what follows."""
        if after is _END:
            return True
        if not isinstance(after, tuple) or not isinstance(body_first, tuple):
            return False
        if after[0] is self.ops["LITERAL"]:
            chars = _variants(chr(after[1]), self.ignorecase)
            return not any(self._matches(body_first, ch) for ch in chars)
        if body_first[0] is self.ops["LITERAL"]:
            chars = _variants(chr(body_first[1]), self.ignorecase)
            return not any(self._matches(after, ch) for ch in chars)
        return False

    def _matches(self, node: tuple[Any, Any], ch: str) -> bool:
        """Whether the single-character node `node` can match `ch` (or a case variant of it)."""
        ops = self.ops
        op, av = node
        if op is ops["LITERAL"]:
            return any(chr(av) == c for c in _variants(ch, self.ignorecase))
        if op is ops["NOT_LITERAL"]:
            return True  # almost everything: treat as overlapping
        if op is ops["ANY"]:
            return ch != "\n" or self.dotall
        if op is ops["CATEGORY"]:
            return _in_category(str(av), ch, self.ignorecase)
        if op is ops["IN"]:
            negate = bool(av) and av[0][0] is ops["NEGATE"]
            found = False
            for item_op, item in av:
                if item_op is ops["NEGATE"]:
                    continue
                if item_op is ops["LITERAL"]:
                    found = any(chr(item) == c for c in _variants(ch, self.ignorecase))
                elif item_op is ops["RANGE"]:
                    found = any(item[0] <= ord(c) <= item[1] for c in _variants(ch, self.ignorecase))
                elif item_op is ops["CATEGORY"]:
                    found = _in_category(str(item), ch, self.ignorecase)
                else:
                    return True  # unknown item: overlapping
                if found:
                    break
            return found != negate
        return True


def _variants(ch: str, ignorecase: bool) -> set[str]:
    if not ignorecase:
        return {ch}
    out = {ch, ch.lower(), ch.upper(), ch.casefold(), ch.swapcase()}
    return {c for c in out if len(c) == 1} | {ch}


def _in_category(name: str, ch: str, ignorecase: bool) -> bool:
    probe = {
        "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s", "CATEGORY_NOT_SPACE": r"\S",
        "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W",
    }.get(name)
    if probe is None:
        return True
    return any(re.fullmatch(probe, c) is not None for c in _variants(ch, ignorecase))
