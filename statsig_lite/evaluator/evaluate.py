"""Evaluate gates, configs, experiments and layers against a compiled snapshot. Pure: no I/O, no clock.

An `Evaluation` is the accumulator one top-level check shares with every nested gate and delegate it
reaches, as both official SDKs do: nested gates append their secondary exposures to the same list, and the
outer spec's result overwrites the inner one's when it finishes. Behaviour that differs between the
official SDKs has been compiled into the snapshot (see ``store/compile.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import MappingProxyType

from ..constants import MAX_RECURSION_DEPTH
from ..store.model import (
    ANALYTICAL_RESULT,
    ANALYTICAL_SEGMENT,
    ERROR,
    GATE,
    MULTI_GATE,
    PUBLIC,
    UNKNOWN_GATE,
    UNSUPPORTED,
    VALUE,
    Cmab,
    CmabGroup,
    Condition,
    Rule,
    Snapshot,
    Spec,
)
from .hashing import eval_hash, salted_hash, unit_text
from .operators import OperatorError, core_number, core_text
from .user_fields import unit_id

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

Exposure = dict[str, str]
_NO_CONDITION = object()  # no condition ended yet: not analytical
_UNTOUCHED = object()
_EMPTY: Mapping[str, Any] = MappingProxyType({})
# no secondary exposure yet: most evaluations never get one, and each list is one more object for the cyclic
# collector to track (issue 16: p99). A tuple, so that appending to it fails loudly: see _expose.
_NO_EXPOSURES: list[Exposure] = ()  # type: ignore[assignment]
GateOverrides = Mapping[str, Mapping[str | None, bool]]

# reasons
RECOGNIZED = ""
UNRECOGNIZED = "Unrecognized"
UNSUPPORTED_REASON = "Unsupported"
ERROR_REASON = "error"


class RecursionLimitError(Exception):
    """Nested gates went deeper than the official SDKs allow (a cycle)."""


class Evaluation:
    """Result of one check, and the context it was computed in."""

    # Result fields start as class-level defaults: a check writes only what its rules touch.
    value: bool = False
    json_value: Mapping[str, Any] = _EMPTY
    rule_id: str = ""
    id_type: str = ""
    version: int | None = None
    undelegated: list[Exposure] | None = None  # None: the same list as secondary_exposures
    allocated_experiment: str | None = None
    explicit_parameters: tuple[str, ...] = ()
    is_experiment_group: bool = False
    group_name: str | None = None
    sampling_rate: object = None  # the deciding rule's samplingRate (Rule.sampling_rate: any JSON value in legacy)
    deciding_rate: object = None  # core: sampling rate of the rule that decided the last spec evaluated
    ctx_rate: object = _NO_CONDITION  # legacy: sampling rate of the rule started last (its shared context)
    prev_rate: object = _NO_CONDITION  # legacy: the same before the current rule with nested gates started
    entry_flag: object = _NO_CONDITION  # legacy: the flag where the innermost nested gate was entered
    failed_before: tuple[int, object] | None = None  # legacy: (depth, ctx_rate before) of a rule failing at once
    forward_all_exposures: bool = False
    seen_analytical_gates: bool = False
    spec: Spec | None = None
    reason: str = RECOGNIZED
    unsupported: bool = False
    depth: int = 0
    lookups_off: int = 0  # user_fields.LOOKUP_UA | LOOKUP_COUNTRY (client options)
    lookup_missed: str = ""
    environment: Mapping[str, Any] | None = None
    target_app_id: str | None = None
    gate_overrides: GateOverrides | None = None
    secondary_exposures: list[Exposure] = _NO_EXPOSURES
    nested_gates: Any = None  # GCIR only: the response's memo of nested gate results (gcir.NestedGates)

    _now: int | None = None
    _clock_ms: Callable[[], int] | None = None

    def __init__(
        self,
        snapshot: Snapshot,
        user: Any,
        environment: Mapping[str, Any] | None,
        now_ms: int | Callable[[], int],
        target_app_id: str | None = None,
        gate_overrides: GateOverrides | None = None,
    ) -> None:
        # server._evaluate builds its evaluations without calling this (object.__new__, then the same fields):
        # keep the two alike
        self.snapshot = snapshot
        self.user = user
        # the time, or the caller's clock to read it from when first needed: a check that logs nothing and has
        # no time condition never reads it (~0.1 us a check)
        if type(now_ms) is int:
            self._now = now_ms
        else:
            self._clock_ms = now_ms  # type: ignore[assignment]
        # the rest stay class defaults unless given: a check pays only for what it sets
        if environment is not None:
            self.environment = environment
        if target_app_id is not None:
            self.target_app_id = target_app_id
        if gate_overrides is not None:
            self.gate_overrides = gate_overrides

    @property
    def now_ms(self) -> int:
        """When the check ran (epoch ms): read from the clock once, when first asked. Once read, `_clock_ms` is
        None: what an exposure tests to know whether the check has its time already (StatsigServer._log_check:
        a field the evaluation sets is a cheaper read than `_now`, a class default until read)."""
        now = self._now
        if now is None:
            clock = self._clock_ms
            now = self._now = 0 if clock is None else clock()
            self._clock_ms = None
        return now

    def _reset(self) -> None:
        """What the legacy SDK does to its shared result when a nested gate is unknown."""
        self.value = False
        self.json_value = _EMPTY
        self.rule_id = ""
        self.id_type = ""
        self.version = None
        self.secondary_exposures = []
        self.undelegated = None
        self.allocated_experiment = None
        self.explicit_parameters = ()
        self.is_experiment_group = False
        self.group_name = None
        self.sampling_rate = None
        self.deciding_rate = None
        self.forward_all_exposures = False
        self.seen_analytical_gates = False

    @property
    def undelegated_secondary_exposures(self) -> list[Exposure]:
        return self.secondary_exposures if self.undelegated is None else self.undelegated

    # --- top level ----------------------------------------------------------------------------------

    def run(self, spec: Spec | None, unsupported_name: bool = False) -> Evaluation:
        """Evaluate `spec` (None: the name is unknown) as a top-level check."""
        if spec is None:
            self.reason = UNSUPPORTED_REASON if unsupported_name else UNRECOGNIZED
            return self
        self.spec = spec
        try:
            self._evaluate(spec)
        except Exception as exc:
            return self.failed(exc)
        if spec.reports_own_version:
            self.version = spec.version
        if self.needs_finish():
            self.finish()
        return self

    # server._evaluate runs a top-level check without run()'s frame, by the same parts: keep the two alike

    def failed(self, exc: Exception) -> Evaluation:
        """The top-level check's answer to an exception its evaluation raised: the official SDKs' error result
        for what they report as one, and `exc` raised again for anything else."""
        if isinstance(exc, (self.snapshot.dialect.evaluation_errors, RecursionLimitError, RecursionError)):
            # (a gate cycle: both official SDKs end it with an error, core at depth 300, legacy at Python's
            # recursion limit, never with a value)
            self.reason = ERROR_REASON
            self.rule_id = "error"
            return self
        raise exc

    def needs_finish(self) -> bool:
        """Whether finish() changes anything (most checks: no): the condition server._evaluate tests inline."""
        return bool(
            self.unsupported
            or ((self.secondary_exposures or self.undelegated) and self.snapshot.dialect.dedupe_exposures)
        )

    def finish(self) -> None:
        """The end of a top-level evaluation that raised nothing: an unsupported condition's reset, the legacy
        SDK's cleaned secondary exposures."""
        if self.unsupported:
            self._reset()
            self.reason = UNSUPPORTED_REASON
            return
        if not self.snapshot.dialect.dedupe_exposures:
            return
        try:
            if self.secondary_exposures:
                self.secondary_exposures = clean_exposures(self.secondary_exposures)
            if self.undelegated:
                self.undelegated = clean_exposures(self.undelegated)
        except AttributeError:  # a legacy nested gate named by a non-string: the value stays, the rule fails
            self.reason = ERROR_REASON
            self.rule_id = "error"

    def run_cmab(self, spec: Spec) -> Evaluation:
        """A contextual bandit (`spec.cmab`, core's get_experiment): the arm core gives this unit."""
        self.spec = spec
        cmab = spec.cmab
        assert cmab is not None
        if not spec.enabled or not cmab.groups:
            return self._cmab_default(spec, "prestart")
        if cmab.targeting_gate is not None:
            try:
                value, rule_id = self._gate_value(cmab.targeting_gate, self)
            except (RecursionLimitError, RecursionError):
                value, rule_id = False, self.rule_id
            self._expose(_exposure(cmab.targeting_gate, value, rule_id))
            if not value:
                return self._cmab_default(spec, "inlineTargetingRules")
        self.id_type = spec.id_type
        self.version = spec.version
        unit = unit_id(self.user, spec.id_type)
        bucket = eval_hash(f"{cmab.salt}.{'' if unit is None else unit}") % 10000
        groups = cmab.groups
        if cmab.weights is None:
            group, suffix = groups[int(bucket // (10000.0 / len(groups)))], ":explore"
        else:
            # core explores a sampled unit with a random arm: we give it the best one (README divergences)
            group, suffix = self._best_arm(cmab), ""
        self.value = True
        self.rule_id = group.id + suffix
        self.group_name = group.name
        self.json_value = group.value
        return self

    def _cmab_default(self, spec: Spec, rule_id: str) -> Evaluation:
        self.id_type = spec.id_type
        self.version = spec.version
        self.value = False
        self.rule_id = rule_id
        self.json_value = spec.default_value
        return self

    def _best_arm(self, cmab: Cmab) -> CmabGroup:
        weights = cmab.weights or {}
        best, best_score = cmab.groups[0], None
        for group in cmab.groups:
            w = weights.get(group.id)
            if w is None or (not w.numerical and not w.categorical):
                continue
            score = w.intercept + w.alpha
            for field, table in w.categorical.items():
                value = cmab.field_getter(field)(self)
                if value is None:
                    continue
                text = core_text(value)
                weight = table.get(text if text is not None else json.dumps(value, separators=(",", ":")))
                if weight is not None:
                    score += weight
            for field, weight in w.numerical.items():
                number = core_number(cmab.field_getter(field)(self))
                if number is not None:
                    score += number * weight
            if best_score is None or (score > best_score if cmab.higher_is_better else score < best_score):
                best, best_score = group, score
        return best

    # --- specs and rules ----------------------------------------------------------------------------

    def _evaluate(self, spec: Spec) -> None:
        rule: Rule | None = None
        try:
            for rule in spec.rules:
                test = rule.single_test
                if test is not None:  # one value test, the most common rule: no loop over pairs
                    passed = test(rule.single_get(self))  # type: ignore[misc]
                    self.ctx_rate = rule.sampling_rate
                    self.value = passed
                elif (checks := rule.checks) is None:  # nested gates or other kinds (_rule_matches, inline)
                    self.prev_rate = self.ctx_rate
                    self.ctx_rate = rule.sampling_rate
                    passed = True
                    for condition in rule.conditions:
                        kind = condition.kind
                        if kind == VALUE:
                            ok = condition.test(condition.get(self))  # type: ignore[misc]
                        elif kind == GATE:
                            ok = self._gate_condition(condition, rule)
                        else:
                            ok = self._condition(condition, rule)
                        if not ok:
                            passed = False  # keep going unless it may stop: later nested gates still add
                            if rule.short_circuit:  # their exposures
                                break
                    self.value = passed  # the official SDKs keep the last rule's match in the shared result
                    if self.unsupported:  # only a condition outside `checks` can set it
                        return
                else:  # value tests only, the common case: inline, one call per getter and predicate
                    passed = True
                    steps = rule.steps
                    if steps is None:  # rule.short_circuit
                        for get, test in checks:
                            if not test(get(self)):
                                passed = False
                                break
                    else:
                        for get, test, rest in steps:
                            if not test(get(self)):
                                passed = False
                                for get, test in rest:  # what may still raise (legacy): the rest cannot
                                    test(get(self))
                                break
                    self.ctx_rate = rule.sampling_rate  # after the tests: none reads it, and see _note_error
                    self.value = passed
                if not passed:
                    continue
                if rule.config_delegate is not None and self._delegate(spec, rule):
                    return
                # the rule decides
                threshold = rule.pass_threshold
                if threshold == 10000.0:
                    passes = True
                elif threshold == 0.0:
                    passes = False
                else:  # the unit's hash against a pass percentage strictly between 0 and 100
                    if rule.by_user_id:
                        unit = self.user.user_id
                    elif type(ids := self.user.custom_ids) is dict:  # unit_id(), inline: the common case
                        unit = ids.get(rule.id_type)
                        if unit is None:
                            unit = ids.get(rule.id_type.lower())  # type: ignore[union-attr]
                    else:
                        unit = unit_id(self.user, rule.id_type)
                    if type(unit) is not str:
                        unit = unit_text(unit)
                    passes = salted_hash(rule.hash_prefix, unit) % 10000 < threshold
                if passes:
                    value, json_value = rule.gate_on_pass, rule.return_value
                else:
                    value, json_value = spec.default_gate, spec.default_value
                self.id_type = spec.id_type
                if spec.writes_version:
                    self.version = spec.version
                if spec.sets_forward_all:
                    self.forward_all_exposures = spec.forward_all_exposures
                self.value = value
                self.json_value = json_value
                self.rule_id = rule.id
                self.group_name = rule.group_name
                self.is_experiment_group = rule.is_experiment_group
                self.sampling_rate = self.deciding_rate = rule.sampling_rate
                return
            # no rule matched: the spec's default (_no_match's fields, inline: a frame fewer a check)
            self.id_type = spec.id_type
            if spec.writes_version:
                self.version = spec.version
            if spec.sets_forward_all:
                self.forward_all_exposures = spec.forward_all_exposures
            self.deciding_rate = None
            self.value = spec.default_gate
            self.json_value = spec.default_value
            self.rule_id = spec.no_match_rule_id
            self.group_name = None
            self.is_experiment_group = False
        except self.snapshot.dialect.evaluation_errors:
            if rule is not None:
                self._note_error(rule)
            raise

    def _note_error(self, rule: Rule) -> None:
        """Legacy's analytical flag (see _gate_condition) is set once a condition has read its value: a rule
        whose first value cannot be read ends its gate with the flag as it was before the rule started. Only
        on the error path; getters and value tests are pure, so they can be asked again."""
        checks = rule.checks
        if checks is None:
            first = rule.conditions[0] if rule.conditions else None
            if first is None or first.kind != VALUE:
                return
            get, before = first.get, self.prev_rate
        else:
            try:
                for get, test in checks:
                    test(get(self))
            except Exception:
                pass
            else:
                return  # the tests passed: the error came from the rule's delegate
            get, before = checks[0][0], self.ctx_rate
            self.ctx_rate = rule.sampling_rate  # the rule did start (its tests set this when they pass)
            if rule.conditions[0].kind == PUBLIC:  # not in `checks`: it set the flag before any value was read
                return
        try:
            get(self)  # type: ignore[misc]
        except Exception:
            self.failed_before = (self.depth, before)

    def _delegate(self, spec: Spec, rule: Rule) -> bool:
        """A matched rule's config delegate, when the payload has it: evaluated into this result."""
        delegate = self.snapshot.configs.get(rule.config_delegate)  # type: ignore[arg-type]
        if delegate is None:
            return False
        self.undelegated = list(self.secondary_exposures)
        self.depth += 1  # self._nested(delegate), inline: a frame fewer a layer
        if self.depth > MAX_RECURSION_DEPTH:
            raise RecursionLimitError(delegate.name)
        try:
            self._evaluate(delegate)
        finally:
            self.depth -= 1
        self.explicit_parameters = delegate.explicit_parameters
        self.allocated_experiment = delegate.name
        if rule.finalizes_after_delegate:
            self.sampling_rate = rule.sampling_rate
            self.forward_all_exposures = spec.forward_all_exposures
        return True

    # --- conditions ---------------------------------------------------------------------------------

    def _condition(self, condition: Condition, rule: Rule) -> bool:
        kind = condition.kind
        if kind == VALUE:
            return condition.test(condition.get(self))  # type: ignore[misc]
        if kind == PUBLIC:
            return True
        if kind == GATE:
            return self._gate_condition(condition, rule)
        if kind == UNKNOWN_GATE:
            return self._unknown_gate_condition(condition)
        if kind == MULTI_GATE:
            return self._multi_gate_condition(condition)
        if kind == UNSUPPORTED:
            self.unsupported = True
            return False
        if kind == ERROR:
            raise OperatorError("condition cannot be evaluated")
        raise AssertionError(f"unknown condition kind {kind}")

    def _expose(self, exposure: Exposure) -> None:
        if self.secondary_exposures is _NO_EXPOSURES:
            self.secondary_exposures = [exposure]
        else:
            self.secondary_exposures.append(exposure)

    def _override(self, gate: str) -> bool | None:
        overrides = self.gate_overrides.get(gate) if self.gate_overrides else None
        if not overrides:
            return None
        value = lookup_override(overrides, self.user)
        return None if value is None else bool(value)

    def _gate_value(self, name: str, into: Evaluation) -> tuple[bool, str]:
        """A nested gate's value and rule id: a local override, else the gate evaluated into `into`."""
        if self.gate_overrides:
            override = self._override(name)
            if override is not None:
                return override, "override"
        spec = self.snapshot.gates.get(name)
        if spec is None:  # (core: legacy payloads compile unknown gates to UNKNOWN_GATE) no rule, no rate
            into.deciding_rate = None
            return False, ""
        try:
            if into.nested_gates is None:  # into._nested(spec), inline: a frame fewer a nested gate
                into.depth += 1
                if into.depth > MAX_RECURSION_DEPTH:
                    raise RecursionLimitError(spec.name)
                try:
                    into._evaluate(spec)
                finally:
                    into.depth -= 1
            else:
                into.nested_gates.evaluate(into, spec)
        except self.snapshot.dialect.evaluation_errors:  # the gate reports an error, the parent goes on
            into.rule_id = "error"
        return into.value, into.rule_id

    def _gate_condition(self, condition: Condition, rule: Rule) -> bool:
        name = condition.gate
        kind = condition.analytical
        flag = kind and kind != ANALYTICAL_RESULT  # ANALYTICAL_CONTEXT or _SEGMENT (ints: `in` a tuple is slower)
        if flag:
            # legacy: the flag is "the rule started last has no sampling rate", read when the condition
            # ends; a nested gate that starts no rule leaves it as the previous condition set it
            current = self.ctx_rate
            before = self.prev_rate if condition.first_in_rule else current
            if before is _UNTOUCHED:  # first in the first rule of a gate itself first in its rule: no condition
                before = self.entry_flag  # has ended since the gate was entered
            self.entry_flag = before
            self.ctx_rate = _UNTOUCHED
            self.failed_before = None
        # the gate shares this result, as both official SDKs do
        if self.gate_overrides or self.nested_gates is not None:
            value, rule_id = self._gate_value(name, self)
        elif (spec := self.snapshot.gates.get(name)) is None:  # _gate_value(name, self), inline: a frame fewer
            self.deciding_rate = None
            value, rule_id = False, ""
        else:
            self.depth += 1
            if self.depth > MAX_RECURSION_DEPTH:
                raise RecursionLimitError(spec.name)
            try:
                try:
                    self._evaluate(spec)
                finally:
                    self.depth -= 1
            except self.snapshot.dialect.evaluation_errors:  # the gate reports an error, the parent goes on
                self.rule_id = "error"
            value, rule_id = self.value, self.rule_id
        if flag:
            failed = self.failed_before
            if self.ctx_rate is _UNTOUCHED:
                self.ctx_rate = current
                analytical = before is None
            elif failed is not None and failed[0] == self.depth + 1:
                # the gate failed reading its rule's first value: the flag is as that rule found it
                self.failed_before = None
                analytical = before is None if failed[1] is _UNTOUCHED else failed[1] is None
            else:
                analytical = self.ctx_rate is None
            if kind == ANALYTICAL_SEGMENT:
                analytical = False  # the flag moved as for any gate, but a segment marks nothing
        else:
            # core: the nested gate's deciding rule has no sampling rate
            analytical = kind == ANALYTICAL_RESULT and self.deciding_rate is None
        if condition.record:  # self._expose(_exposure(...)), inline: two frames fewer a nested gate
            exposure = {"gate": name, "gateValue": "true" if value else "false", "ruleID": rule_id}
            if self.secondary_exposures is _NO_EXPOSURES:
                self.secondary_exposures = [exposure]
            else:
                self.secondary_exposures.append(exposure)
        if analytical:  # its exposure is analytical: the parent's is logged
            self.seen_analytical_gates = True
        return value != condition.negate

    def _unknown_gate_condition(self, condition: Condition) -> bool:
        name = condition.gate
        override = self._override(name)
        if override is not None:
            value, rule_id = override, "override"
        else:
            self._reset()
            self.undelegated = []  # the reset gave the undelegated exposures a list of their own
            value, rule_id = False, ""
        self._expose(_exposure(name, value, rule_id))
        return value != condition.negate

    def _multi_gate_condition(self, condition: Condition) -> bool:
        if not condition.gates:
            return False
        if self.depth >= MAX_RECURSION_DEPTH:
            raise RecursionLimitError(condition.gates[0])
        passed = False
        for name in condition.gates:
            # a fresh result for each listed gate, as the legacy SDK uses for these
            inner = Evaluation(
                self.snapshot, self.user, self.environment, self.now_ms, self.target_app_id, self.gate_overrides
            )
            inner.depth = self.depth
            value, rule_id = self._gate_value(name, inner)
            self._expose(_exposure(name, value, rule_id))
            passed = passed or (value if not condition.negate else not value)
            if passed:
                break
        return passed

    def _nested(self, spec: Spec) -> None:
        self.depth += 1
        if self.depth > MAX_RECURSION_DEPTH:
            raise RecursionLimitError(spec.name)
        try:
            self._evaluate(spec)
        finally:
            self.depth -= 1



def _share_attribute_keys() -> None:
    """CPython (3.11, 3.12) keeps an instance's attributes in a compact array indexed by keys its class shares, but
    only for the names its first few instances set: each new instance shrinks the room left, and a later name
    gives that instance a dict of its own (slower to read and write, and an allocation). Left to chance, the first
    checks after import picked 25 names, and every GCIR evaluation (`nested_gates`) and most layer checks
    (`allocated_experiment`, `explicit_parameters`) built that dict. One instance, first, sets the names in this
    order: the room of one instance holds 29 (the last four are set only with client options or a target app)."""
    first = object.__new__(Evaluation)
    for name in _ATTRIBUTE_KEYS:
        setattr(first, name, None)


# what Evaluation instances set, most used first (see _share_attribute_keys)
_ATTRIBUTE_KEYS = (
    "snapshot", "user", "_clock_ms", "reason", "unsupported", "secondary_exposures", "undelegated", "spec",
    "ctx_rate", "value", "id_type", "version", "json_value", "rule_id", "group_name", "is_experiment_group",
    "sampling_rate", "deciding_rate", "_now", "prev_rate", "entry_flag", "failed_before", "depth",
    "seen_analytical_gates", "environment", "nested_gates", "allocated_experiment", "explicit_parameters",
    "forward_all_exposures", "gate_overrides", "lookups_off", "lookup_missed", "target_app_id",
)
_share_attribute_keys()

def passes_percentage(rule: Rule, user: Any) -> bool:
    """Whether `user`'s unit passes a matched rule's pass percentage: what Evaluation._evaluate decides inline
    (keep the two in step), for GCIR's settled specs (gcir._decide)."""
    threshold = rule.pass_threshold
    if threshold == 10000.0 or threshold == 0.0:
        return threshold != 0.0
    unit = user.user_id if rule.by_user_id else unit_id(user, rule.id_type)
    if type(unit) is not str:
        unit = unit_text(unit)
    return salted_hash(rule.hash_prefix, unit) % 10000 < threshold


def _exposure(gate: str, value: bool, rule_id: str) -> Exposure:
    """A secondary exposure: the gate value is the string "true"/"false" on the wire."""
    return {"gate": gate, "gateValue": "true" if value else "false", "ruleID": rule_id}


def lookup_override(overrides: Mapping[str | None, Any], user: Any) -> Any:
    """A per-user override (userID, then any custom ID value), else the all-users one (key None)."""
    value = overrides.get(user.user_id)
    if value is None and isinstance(user.custom_ids, Mapping):
        for custom in user.custom_ids.values():
            value = overrides.get(custom)
            if value is not None:
                break
    if value is None:
        value = overrides.get(None)
    return value


def clean_exposures(exposures: list[Exposure]) -> list[Exposure]:
    """Drop segment gates and repeats (same gate, value and rule), keeping the first."""
    if len(exposures) == 1:  # the common case: no repeat possible, no new list
        return [] if exposures[0]["gate"].startswith("segment:") else exposures
    seen: set[tuple[str, str, str]] = set()
    result = []
    for exposure in exposures:
        gate = exposure["gate"]
        if gate.startswith("segment:"):
            continue
        key = (gate, exposure["gateValue"], exposure["ruleID"])
        if key not in seen:
            seen.add(key)
            result.append(exposure)
    return result


def evaluate(
    snapshot: Snapshot,
    section: str,
    name: str,
    user: Any,
    environment: Mapping[str, Any] | None,
    now_ms: int,
    *,
    target_app_id: str | None = None,
    gate_overrides: GateOverrides | None = None,
) -> Evaluation:
    """Evaluate `name` in `section` ("gates", "configs" or "layers") for `user` at `now_ms`."""
    specs: Mapping[str, Spec] = snapshot.gates if section == "gates" else getattr(snapshot, section)
    spec = specs.get(name)
    evaluation = Evaluation(snapshot, user, environment, now_ms, target_app_id, gate_overrides)
    return evaluation.run(spec, spec is None and name in snapshot.unsupported)
