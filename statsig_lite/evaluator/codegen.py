"""Compile a spec's rules into generated Python: the check path's fast form (issue 16).

`Evaluation._interpret` is the reference: it walks `spec.rules` and, per condition, unpacks a (getter,
predicate) pair and calls both. Here each rule becomes one generated function doing the same steps in the
same order, with the common getters and predicates fused and inlined: a user attribute, the userID bucket
hash, ID and value membership, numeric comparison (`_families`; any other pair is called as it is, and an
inlined one falls back to its function for values off the common path). Conditions other than value
tests (nested gates, ...) go through `Evaluation._rule_matches`. A spec is a generated chain of its rules.

The source depends only on a rule's *shape* (which conditions are fused, short-circuit or not), never on
its values, which are closure cells: one `compile()` (~0.1-0.3 ms) per shape, cached (a large project has
25-50), then ~12 us to build one spec's functions, ~3 kB held per spec. Measured, it is within a few
percent of the interpreter: `evaluate.COMPILE_AFTER` keeps it to specs checked often (README, "The check
path").
"""

from __future__ import annotations

import operator
from functools import lru_cache

from ..store.model import Rule, Spec
from . import operators as ops
from . import user_fields as uf
from .hashing import eval_hash

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Kind = tuple[Any, ...]  # a getter's or predicate's family: ("call",), ("attr", "country"), ...
    Found = tuple[Kind, tuple[object, ...]]  # (family, the values its inline form reads)
    Fn = Callable[..., Any]

CALL: Kind = ("call",)  # not inlined: called as it is
_CMP = {operator.gt: ">", operator.ge: ">=", operator.lt: "<", operator.le: "<="}


def _cells(fn: Fn) -> dict[str, Any]:
    return {name: cell.cell_contents for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True)}


# --- families: how to read a getter's or predicate's values from its closure ---------------------------------


def _attr_getter(get: Fn, family: str) -> Found | None:
    attr = _cells(get).get("attr")
    return ((family, attr), ()) if isinstance(attr, str) and attr.isidentifier() else None


def _member(test: Fn, family: str) -> Found | None:
    test("")  # builds its key set (lazy in the predicate), nothing else
    c = _cells(test)
    return (family, bool(c["case_sensitive"]), bool(c["negate"])), (c["keys"],)


def _numeric(test: Fn, family: str) -> Found | None:
    c = _cells(test)
    op = _CMP.get(c["cmp"])
    return ((family, op), (c["t"],)) if op else None


@lru_cache(maxsize=1)
def _families() -> dict[object, Callable[[Fn], Found | None]]:
    """Code object of each inlinable getter / predicate -> how to read its values (samples of each kind)."""
    return {
        uf.field_getter("country", False, None).__code__: lambda g: _attr_getter(g, "attr"),
        uf.field_getter("country", True, None).__code__: lambda g: _attr_getter(g, "lattr"),
        uf.bucket_getter("s", None).__code__: lambda g: (("bucket",), (_cells(g)["prefix"],)),
        ops.CORE["any"](["x"]).__code__: lambda t: _member(t, "cmember"),
        ops.LEGACY["any"](["x"]).__code__: lambda t: _member(t, "lmember"),
        ops.CORE["gt"](1).__code__: lambda t: _numeric(t, "cnum"),
        ops.LEGACY["gt"](1).__code__: lambda t: _numeric(t, "lnum"),
    }


def _family(fn: Fn) -> Found:
    reader = _families().get(getattr(fn, "__code__", None))
    if reader is not None:
        try:
            found = reader(fn)
        except Exception:  # a closure not shaped as the sample: call it as it is
            found = None
        if found is not None:
            return found
    return CALL, ()


@lru_cache(maxsize=256)
def condition_source(get_kind: Kind, test_kind: Kind) -> str:
    """Source of one condition with its getter and predicate fused: `cond(ev) -> bool`. Each inline form
    computes what the functions compute, and calls the function for any value off its common path."""
    family = get_kind[0]
    if family == "call":
        lines = ["v = g(ev)"]
    elif family == "bucket":
        lines = ["u = ev.user.user_id",
                 "v = _hash(gv + (u if type(u) is str else ('' if u is None else str(u)))) % 1000"]
    elif family == "attr":
        lines = [f"v = ev.user.{get_kind[1]}", "if not v or type(v) is not str:", "    v = g(ev)"]
    else:  # lattr, legacy: "" and None look further
        lines = [f"v = ev.user.{get_kind[1]}", "if v is None or v == '':", "    v = g(ev)"]
    family = test_kind[0]
    if family == "call":
        lines.append("return t(v)")
    elif family in ("cmember", "lmember"):
        case_sensitive, negate = test_kind[1], test_kind[2]
        text = "v" if case_sensitive else "v.lower()" if family == "cmember" else "v.casefold()"
        lines += ["if type(v) is str:", f"    return {text} {'not in' if negate else 'in'} tv", "return t(v)"]
    elif family == "cnum":
        lines += ["if type(v) is float or (type(v) is int and -_F64 < v < _F64):",
                  f"    return float(v) {test_kind[1]} tv", "return t(v)"]
    else:  # lnum: all the predicate does
        lines.append(f"return v is not None and float(v) {test_kind[1]} tv")
    return _factory("cond", ["g", "t", "gv", "tv"], lines)


# --- rules and specs ---------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def rule_source(shape: tuple[tuple[bool, ...] | None, bool]) -> str:
    """Source of the rule function for one shape: `rule(ev) -> True` when it decided the evaluation."""
    conds, short = shape
    params = ["S", "R", "rate"]
    body: list[str] = []
    if conds is None:  # not only value tests: the interpreter's per-condition loop for this rule
        body += ["ev.prev_rate = ev.ctx_rate", "ev.ctx_rate = rate", "p = ev._rule_matches(R)", "ev.value = p",
                 "if ev.unsupported:", "    return True", "if not p:", "    return False"]
    else:
        if not short:
            body.append("p = True")
        for j, fused in enumerate(conds):
            params += [f"c{j}"] if fused else [f"g{j}", f"t{j}"]
            test = f"c{j}(ev)" if fused else f"t{j}(g{j}(ev))"
            # short: stop at the first failure; else run them all (a later one may raise, as in the SDK).
            # The rule's rate is set once its tests ran (none reads it; a failing one must see the rate before)
            body += [f"if not {test}:", "    ev.ctx_rate = rate", "    ev.value = False", "    return False"] if short \
                else [f"if not {test}:", "    p = False"]
        body += ["ev.ctx_rate = rate", "ev.value = True"] if short else [
            "ev.ctx_rate = rate", "ev.value = p", "if not p:", "    return False"]
    # once per evaluation, on the rule that matched: read from the rule, not fixed in the shape (fewer shapes)
    body += ["if R.config_delegate is not None and ev._delegate(S, R):", "    return True",
             "th = R.pass_threshold",
             "if th == 10000.0:", "    ev._finish(S, R, True)",
             "elif th == 0.0:", "    ev._finish(S, R, False)",
             "elif R.by_user_id:",  # the userID's hash against a percentage strictly between 0 and 100
             "    u = ev.user.user_id", "    if type(u) is not str:", "        u = '' if u is None else str(u)",
             "    ev._finish(S, R, _hash(R.hash_prefix + u) % 10000 < th)",
             "else:", "    ev._finish(S, R, ev._passes_percentage(R))"]
    body.append("return True")
    return _factory("rule", params, body)


@lru_cache(maxsize=64)
def spec_source(rules: int) -> str:
    """Source of a spec of `rules` rules: its rules in order, then the no-match default."""
    body = [line for i in range(rules) for line in (f"if f{i}(ev):", "    return")]
    return _factory("spec", ["S", *(f"f{i}" for i in range(rules))], [*body, "ev._finish(S, None, False)"])


def _factory(name: str, params: list[str], body: list[str]) -> str:
    """`make(values...)` returning `name(ev)`: the values are closure cells, so a call passes `ev` alone."""
    inner = "".join(f"        {line}\n" for line in body)
    return f"def make({', '.join(params)}):\n    def {name}(ev):\n{inner}    return {name}\n"


@lru_cache(maxsize=1024)
def _template(source: str) -> Fn:
    namespace: dict[str, Any] = {"_hash": eval_hash, "_F64": 1 << 1023}  # _F64: operators' int range for f64
    exec(compile(source, "<statsig_lite codegen>", "exec"), namespace)
    return namespace["make"]  # type: ignore[no-any-return]


def _bind(source: str, values: tuple[object, ...]) -> Fn:
    return _template(source)(*values)  # type: ignore[no-any-return]


def rule_shape(rule: Rule) -> tuple[tuple[tuple[bool, ...] | None, bool], tuple[object, ...]]:
    """(shape, values bound to it) of one rule: per condition, fused (a generated `cond`) or called as is."""
    values: list[object] = [rule, rule.sampling_rate]
    conds = None
    if rule.checks is not None:
        fused: list[bool] = []
        for get, test in rule.checks:
            (get_kind, gv), (test_kind, tv) = _family(get), _family(test)
            if get_kind[0] == "bucket" and test_kind[0] not in ("cnum", "lnum"):
                test_kind, tv = CALL, ()  # the bucket is an int: only the numeric inline forms fit it
            fused.append(get_kind is not CALL or test_kind is not CALL)
            if fused[-1]:
                bound = (get, test, gv[0] if gv else None, tv[0] if tv else None)
                values.append(_bind(condition_source(get_kind, test_kind), bound))
            else:
                values += (get, test)
        conds = tuple(fused)
    return (conds, rule.short_circuit), tuple(values)


def compile_spec(spec: Spec) -> Fn:
    """`spec`'s rules as generated functions chained in one spec function."""
    rules = []
    for rule in spec.rules:
        shape, values = rule_shape(rule)
        rules.append(_bind(rule_source(shape), (spec, *values)))
    return _bind(spec_source(len(rules)), (spec, *rules))
