"""Compile one normalised spec into the immutable objects of ``model.py``.

This is the one place where the two official SDKs' differences are decided (protocol doc, section 9):
v1 payloads compile with the legacy ``statsig`` SDK's semantics, v2 payloads with ``statsig-python-core``'s.
Each difference becomes a field value, an operator function or a condition kind; the evaluator never asks
which dialect it runs.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping

from ..errors import SpecFormatError
from ..evaluator import operators as ops
from ..evaluator import user_fields as uf
from .model import (
    ANALYTICAL_CONTEXT,
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
    CmabWeights,
    Condition,
    Dialect,
    Getter,
    Rule,
    Spec,
)

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from collections.abc import Set as AbstractSet
    from typing import Any, Final

LEGACY: Final = Dialect(
    name="legacy",
    dedupe_exposures=True,
    gcir_default_hash="sha256",
    gcir_merge_layer_defaults=True,
    gcir_passed_for_experiments=True,
    gcir_layer_id_type=False,
    gcir_generator=True,
    evaluation_errors=ops.EVALUATION_ERRORS,
    exposure_times="sync",
    gcir_overrides="legacy",
    dedupe_id_values=True,
    gcir_fresh_delegate=True,
    sampling_any_rate=True,
)
CORE: Final = Dialect(
    name="core",
    dedupe_exposures=False,
    gcir_default_hash="djb2",
    gcir_merge_layer_defaults=False,
    gcir_passed_for_experiments=False,
    gcir_layer_id_type=True,
    gcir_generator=False,
    log_missing_user_id=True,
    null_undelegated_exposures=True,
    sampling_production_only=False,
    sampling_unrated_metadata=True,
    user_tier_first=True,
    sampling_analytical_first=True,
    evaluation_errors=(ops.OperatorError,),  # core's comparisons are total: only an uncompilable condition
)

_SUPPORTED_TYPES: Final = frozenset(
    {
        "public", "fail_gate", "pass_gate", "ip_based", "ua_based", "user_field", "environment_field",
        "current_time", "user_bucket", "unit_id", "multi_pass_gate", "multi_fail_gate", "target_app",
    }
)
_GATE_TYPES: Final = frozenset({"public", "fail_gate", "pass_gate", "multi_pass_gate", "multi_fail_gate"})
_ALWAYS_PASSES: Final = Condition(kind=PUBLIC, side_effects=False)


# A v2 rule naming a key missing from condition_map: unsupported in the core SDK.
_MISSING_CONDITION: Final = {"type": "__missing_condition__"}


class Compiler:
    """Compiles specs of one payload: knows the dialect, the gate names present and the options.

    Error paths (``feature_gates.x.rules[0].conditions[1]``) are built only when a problem is found: the
    compile methods raise with the part of the path they know and their callers prefix theirs.

    A payload read spec by spec (``snapshot.stream_snapshot``) compiles each spec before the rest is known:
    with ``gate_names`` None a nested gate compiles as present and `settle_gates` corrects the ones that are
    not; after `defer_conditions` a v2 rule holds a placeholder per condition key, filled from its
    condition_map entry (`map_condition`) whether that comes before or after the rule.
    """

    def __init__(
        self,
        dialect: Dialect,
        gate_names: frozenset[str] | None,
        id_lists: Callable[[str], AbstractSet[str] | None],
        app_id: str | None,
        global_custom: Mapping[str, Any] | None,
        condition_map: Mapping[str, Any] | None = None,
    ) -> None:
        self.dialect = dialect
        self.legacy = dialect is LEGACY
        self.gate_names = gate_names
        self.id_lists = id_lists
        self.app_id = app_id
        self.global_custom = global_custom
        self.condition_map = condition_map  # v2: rules name their conditions by key
        self._compiled: dict[int, Condition] = {}  # by id() of a condition_map entry, alive while compiling
        self.release = False  # the decoded tree is the load's alone: a condition is emptied once compiled
        self._getters: dict[tuple[str, str, str | None], Getter] = {}
        self._probes: dict[tuple[str, str, str | None], tuple[Getter, ops.Predicate]] = {}  # Condition.probe
        self._placeholders: dict[str, Condition] | None = None  # v2 condition key -> its condition, to fill
        self._filled: set[str] = set()
        self._deferred: list[Rule] = []  # rules holding placeholders
        self._deferred_specs: list[Spec] = []
        # one object per distinct text of the fields most specs and rules repeat (types, ID types, group
        # names): each decoded occurrence is its own str (~55 bytes); large benchmark spec: 0.7 MiB less kept
        self._texts: dict[str, str] = {}

    def _shared(self, text: str) -> str:
        """The one object for ``text`` among the compiled specs (see ``_texts``)."""
        return self._texts.setdefault(text, text)

    def defer_conditions(self) -> None:
        """A v2 payload read entry by entry: rules and condition_map entries come in any order."""
        self.condition_map = {}
        self._placeholders = {}

    def map_condition(self, key: str, raw: object) -> None:
        """One condition_map entry, compiled into the placeholder its key names (the entry may then be freed).
        An entry no rule names is compiled too: one that cannot be is an error here, not in `load_snapshot`."""
        _become(self._placeholder(key), self.condition(raw))
        self._filled.add(key)

    def _placeholder(self, key: str) -> Condition:
        assert self._placeholders is not None
        placeholder = self._placeholders.get(key)
        if placeholder is None:
            placeholder = self._placeholders[key] = Condition(kind=UNSUPPORTED)
        return placeholder

    def settle_conditions(self) -> None:
        """After the last entry: a key with no entry is a missing condition; the rules (and the flags of the
        specs) that hold placeholders are initialised again, as if their conditions had been there."""
        for key, placeholder in (self._placeholders or {}).items():
            if key not in self._filled:
                _become(placeholder, self.condition(_MISSING_CONDITION, shared=True))
        self._placeholders = None
        self._filled.clear()
        for rule in self._deferred:
            rule.short_circuit = _short_circuit(rule.conditions)
            rule.conditions_settled()
        for spec in self._deferred_specs:
            spec.unsupported = _any_unsupported(spec.rules)
        self._deferred.clear()
        self._deferred_specs.clear()

    def settle_gates(self, gate_names: frozenset[str], specs: Iterable[Spec]) -> None:
        """Every gate is known now: a nested gate that is not one becomes what `_gate` makes of an unknown
        gate (compiled with ``gate_names`` None, they were all taken as present)."""
        self.gate_names = gate_names
        for spec in specs:
            for rule in spec.rules:
                for c in rule.conditions:
                    if c.kind == GATE and c.gate not in gate_names:
                        _become(c, self._named_gate(c.gate, c.negate, known=False))

    @property
    def reads_app_id(self) -> bool:
        """Whether a compiled condition holds the payload's app_id (a `target_app` getter)."""
        return any(key[0] == "target_app" for key in self._getters)

    def forget_gates_except(self, gate_names: frozenset[str]) -> None:
        """Recompile against fewer gates (the legacy SDK dropped some): cached conditions no longer hold."""
        self.gate_names = gate_names
        self._compiled.clear()

    # --- specs and rules ---------------------------------------------------------------------------

    def spec(self, name: str, raw: Mapping[str, Any], path: str) -> Spec:
        kind = raw.get("type")
        if not isinstance(kind, str):
            raise SpecFormatError(path, "type missing")
        rules_raw = raw.get("rules", [])
        if type(rules_raw) is not list and not isinstance(rules_raw, list):
            raise SpecFormatError(f"{path}.rules", "not a list")
        salt = _text(raw.get("salt", ""))
        enabled = raw.get("enabled", False) is True if self.legacy else bool(raw.get("enabled", False))
        default = raw.get("defaultValue")
        is_gate = kind == "feature_gate"
        # legacy: a disabled spec skips its rules; core evaluates them and only names the miss "disabled"
        rules = []
        deferred = len(self._deferred)
        for i, rule_raw in enumerate(rules_raw):
            try:
                rules.append(self.rule(rule_raw, salt, is_gate))
            except SpecFormatError as exc:
                raise SpecFormatError(_join(f"{path}.rules[{i}]", exc.path), exc.problem) from None
        unsupported = _any_unsupported(rules)
        if self.legacy and not enabled:
            rules = []
        version = raw.get("version")
        id_type = raw.get("idType")
        target_apps = raw.get("targetAppIDs")
        explicit = raw.get("explicitParameters")
        shared = self._shared
        spec = Spec(
            name=name,
            type=shared(kind),
            entity=shared(_text(raw.get("entity", ""))),
            id_type=shared(id_type) if isinstance(id_type, str) else "",
            rules=tuple(rules),
            default_value=default if isinstance(default, Mapping) else {},
            default_gate=False if self.legacy else default is True,
            no_match_rule_id="default" if enabled else "disabled",
            enabled=enabled,
            version=version if isinstance(version, int) and not isinstance(version, bool) else None,
            writes_version=(version is not None) if self.legacy else True,
            explicit_parameters=tuple(x for x in explicit if isinstance(x, str)) if isinstance(explicit, list) else (),
            has_shared_params=raw.get("hasSharedParams") is True,
            is_active=raw.get("isActive") is True,
            target_app_ids=frozenset(str(a) for a in target_apps) if isinstance(target_apps, list) else None,
            # legacy: any truthy value forwards every exposure (core: true only)
            forward_all_exposures=bool(raw.get("forwardAllExposures")) if self.legacy
            else raw.get("forwardAllExposures") is True,
            sets_forward_all=None if self.legacy else True,
            unsupported=unsupported,
            reports_own_version=not self.legacy,
        )
        if len(self._deferred) > deferred:  # its rules hold placeholders: its flags are settled with them
            self._deferred_specs.append(spec)
        return spec

    def rule(self, raw: object, spec_salt: str, is_gate: bool) -> Rule:
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise SpecFormatError("", "rule is not an object")
        rule_id = raw.get("id")
        if type(rule_id) is not str and not isinstance(rule_id, str):
            raise SpecFormatError("", "id missing")
        conds_raw = raw.get("conditions", [])
        if type(conds_raw) is not list and not isinstance(conds_raw, list):
            raise SpecFormatError("conditions", "not a list")
        conditions = []
        cmap = self.condition_map
        pending = False
        for j, cond_raw in enumerate(conds_raw):
            shared = False
            if cmap is not None and (type(cond_raw) is str or isinstance(cond_raw, str)):
                if self._placeholders is not None:  # read entry by entry: see defer_conditions
                    conditions.append(self._placeholder(cond_raw))
                    pending = True
                    continue
                cond_raw = cmap.get(cond_raw, _MISSING_CONDITION)
                shared = True
            elif cmap is not None and not isinstance(cond_raw, Mapping):
                raise SpecFormatError(f"conditions[{j}]", "condition key is not a string")
            try:
                compiled_condition = self.condition(cond_raw, shared)
                if j == 0 and compiled_condition.analytical in (ANALYTICAL_CONTEXT, ANALYTICAL_SEGMENT):
                    compiled_condition = _first_in_rule(compiled_condition)
                conditions.append(compiled_condition)
            except SpecFormatError as exc:
                raise SpecFormatError(_join(f"conditions[{j}]", exc.path), exc.problem) from None
        pct = raw.get("passPercentage", 0)
        if isinstance(pct, bool) or not isinstance(pct, (int, float)):
            raise SpecFormatError("passPercentage", f"not a number: {pct!r}")
        rule_salt = _text(raw["salt"]) if "salt" in raw else rule_id
        return_value = raw.get("returnValue")
        delegate = raw.get("configDelegate")
        sampling = raw.get("samplingRate")
        rule_id_type = raw.get("idType", "userID")
        group_name = raw.get("groupName")
        compiled = tuple(conditions)
        rule = Rule(
            id=rule_id,
            conditions=compiled,
            short_circuit=_short_circuit(compiled),
            pass_percentage=float(pct),
            hash_prefix=f"{spec_salt}.{rule_salt}.",
            id_type=self._shared(rule_id_type) if isinstance(rule_id_type, str) else None,
            return_value=return_value if isinstance(return_value, Mapping) else {},
            # legacy: a gate is true exactly when a rule matched and passed; core reads the literal values
            gate_on_pass=True if self.legacy else return_value is not False,
            group_name=self._shared(group_name) if isinstance(group_name, str) else None,
            is_experiment_group=raw.get("isExperimentGroup") is True,
            config_delegate=delegate if isinstance(delegate, str) and delegate else None,
            sampling_rate=sampling if self.legacy or (isinstance(sampling, int) and not isinstance(sampling, bool))
            else None,
            finalizes_after_delegate=not self.legacy,
        )
        if pending:
            self._deferred.append(rule)
        return rule

    def cmab(self, name: str, raw: Mapping[str, Any]) -> Spec | None:
        """A v2 payload's contextual bandit (core only), or None when it lacks what core requires."""
        groups_raw = raw.get("groups")
        default = raw.get("defaultValue")
        id_type = raw.get("idType")
        if not isinstance(groups_raw, list) or not isinstance(id_type, str):
            return None
        groups = []
        for g in groups_raw:
            if not isinstance(g, Mapping) or not isinstance(g.get("id"), str):
                return None
            value = g.get("parameterValues")
            groups.append(CmabGroup(g["id"], _text(g.get("name")), value if isinstance(value, Mapping) else {}))
        weights: dict[str, CmabWeights] | None = None
        config = raw.get("config")
        if isinstance(config, Mapping):
            weights = {}
            for gid, w in config.items():
                if not isinstance(w, Mapping):
                    continue
                numerical = w.get("weightsNumerical")
                categorical = w.get("weightsCategorical")
                weights[str(gid)] = CmabWeights(
                    _number(w.get("alpha")), _number(w.get("intercept")), int(_number(w.get("records"))),
                    {str(k): _number(v) for k, v in numerical.items()} if isinstance(numerical, Mapping) else {},
                    {str(k): {str(c): _number(x) for c, x in v.items()} for k, v in categorical.items()
                     if isinstance(v, Mapping)} if isinstance(categorical, Mapping) else {},
                )
        target_apps = raw.get("targetAppIDs")
        gate = raw.get("targetingGateName")
        version = raw.get("version")
        legacy, gc = self.legacy, self.global_custom
        model = Cmab(
            salt=_text(raw.get("salt", "")),
            groups=tuple(groups),
            weights=weights,
            higher_is_better=raw.get("higherIsBetter") is True,
            sample_rate=_number(raw.get("sampleRate")),
            targeting_gate=gate if isinstance(gate, str) else None,
            field_getter=lambda field: uf.field_getter(field, legacy, gc),
        )
        enabled = raw.get("enabled") is True
        return Spec(
            name=name,
            type="dynamic_config",
            entity="experiment",
            id_type=id_type,
            rules=(),
            default_value=default if isinstance(default, Mapping) else {},
            default_gate=False,
            no_match_rule_id="prestart",
            enabled=enabled,
            version=version if isinstance(version, int) and not isinstance(version, bool) else None,
            writes_version=True,
            explicit_parameters=(),
            has_shared_params=False,
            is_active=enabled,
            target_app_ids=frozenset(str(a) for a in target_apps) if isinstance(target_apps, list) else None,
            forward_all_exposures=False,
            reports_own_version=True,
            cmab=model,
        )

    # --- conditions ---------------------------------------------------------------------------------

    def condition(self, raw: object, shared: bool = False) -> Condition:
        """``shared``: a condition_map entry (v2 rules share them: each compiles once). Others are the rule's
        own, and may be freed once compiled (a streamed load): their id() is no key."""
        if shared:
            cached = self._compiled.get(id(raw))
            if cached is not None:
                return cached
        compiled = self._condition(raw)
        if shared:
            self._compiled[id(raw)] = compiled
        if self.release and type(raw) is dict and raw is not _MISSING_CONDITION:
            raw.clear()
        return compiled

    def _condition(self, raw: object) -> Condition:
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise SpecFormatError("", "condition is not an object")
        ctype = raw.get("type")
        if not isinstance(ctype, str):
            raise SpecFormatError("", "type missing")
        ctype = ctype.lower()
        target = raw.get("targetValue")
        op = raw.get("operator")
        op = op.lower() if isinstance(op, str) else None

        if ctype == "public":
            return _ALWAYS_PASSES
        if ctype in ("pass_gate", "fail_gate"):
            return self._gate(target, negate=ctype == "fail_gate")
        if ctype in ("multi_pass_gate", "multi_fail_gate"):
            if not self.legacy:
                return Condition(kind=UNSUPPORTED)
            gates = tuple(str(g) for g in target) if isinstance(target, list) else ()
            return Condition(kind=MULTI_GATE, gates=gates, negate=ctype == "multi_fail_gate")
        if ctype not in _SUPPORTED_TYPES:
            return Condition(kind=UNSUPPORTED)
        return self._value_condition(raw, ctype, op, target)

    def _gate(self, target: object, negate: bool) -> Condition:
        if self.legacy and not isinstance(target, str):
            if isinstance(target, (list, dict)):
                return Condition(kind=ERROR)  # the legacy SDK looks the unhashable name up and raises
            # an unknown gate named by a non-string: its exposure keeps that name, and cleaning the
            # exposures at the end of the evaluation fails on it (the result keeps its value, rule "error")
            return Condition(kind=UNKNOWN_GATE, gate=target, negate=negate, record=True)  # type: ignore[arg-type]
        name = target if isinstance(target, str) else ("" if target is None else str(target))
        return self._named_gate(name, negate, self.gate_names is None or name in self.gate_names)

    def _named_gate(self, name: str, negate: bool, known: bool) -> Condition:
        segment = name.startswith("segment:")
        # The legacy SDK records segments too and drops them when it cleans the list at the end: an evaluation
        # that fails before that reports them. Core never records them (nor gates it does not know).
        if not known and self.legacy:
            # the legacy SDK resets its shared result for an unknown nested gate, then records it with rule ""
            return Condition(kind=UNKNOWN_GATE, gate=name, negate=negate, record=True)
        return Condition(
            kind=GATE,
            gate=name,
            negate=negate,
            record=self.legacy or (not segment and known),
            analytical=(ANALYTICAL_SEGMENT if segment else ANALYTICAL_CONTEXT) if self.legacy
            else 0 if segment else ANALYTICAL_RESULT,
        )

    def _value_condition(self, raw: Mapping[str, Any], ctype: str, op: str | None, target: object) -> Condition:
        if op is not None and op not in ops.CORE and op not in ops.SEGMENT_OPERATORS:
            return Condition(kind=UNSUPPORTED)  # the legacy SDK checks operators before anything else
        field = raw.get("field")
        id_type = raw.get("idType", "userID")
        id_type = id_type if isinstance(id_type, str) else None
        needs_field = ctype in ("user_field", "ip_based", "ua_based", "environment_field")
        if needs_field and not isinstance(field, str):
            # the legacy SDK fails the whole evaluation (it calls .lower() on the field); core has no value
            return Condition(kind=ERROR) if self.legacy else self._with_operator(op, target, _none, ctype)
        fname = field if isinstance(field, str) else ""
        legacy, gc = self.legacy, self.global_custom
        salt: object = None
        if ctype != "user_bucket":
            # a getter depends on its type, field and ID type only: share one across the payload's conditions
            key = (ctype, fname, id_type)
            getter = self._getters.get(key)
            if getter is None:
                if ctype == "user_field":
                    getter = uf.field_getter(fname, legacy, gc)
                elif ctype == "environment_field":
                    getter = uf.environment_getter(fname, legacy)
                elif ctype == "ip_based":
                    getter = uf.ip_getter(fname, legacy, gc)
                elif ctype == "ua_based":
                    getter = uf.ua_getter(fname, legacy, gc)
                elif ctype == "current_time":
                    getter = uf.now_getter
                elif ctype == "unit_id":
                    getter = uf.unit_id_getter(id_type)
                else:  # target_app
                    getter = uf.target_app_getter(self.app_id)
                self._getters[key] = getter
        else:
            additional = raw.get("additionalValues", {})
            if not isinstance(additional, Mapping):
                if self.legacy and "additionalValues" in raw:
                    return Condition(kind=ERROR)  # legacy reads .get("salt") on null
                additional = {}
            salt = additional.get("salt")
            getter = uf.bucket_getter("" if salt is None else str(salt), id_type)
            salt_text = "" if salt is None else str(salt)
            if legacy and op in ("any", "none"):
                try:
                    bits, _ = ops.legacy_bucket_bits(target)  # a bucket is an int 0..999: the others never match
                except (ValueError, TypeError):
                    return Condition(kind=ERROR)
                # getter and membership test in one closure; the hash can raise (see _PLAIN_GETTERS), the test
                # cannot
                member = uf.bucket_member(salt_text, id_type, bits, None, op == "none")
                probe = self._probe("user_bucket", salt_text, id_type)
                return Condition(kind=VALUE, get=member, test=_true, probe=probe)
            if not legacy and op in ("any", "none"):
                member = uf.bucket_member(salt_text, id_type, None, ops.core_bucket_bits(target), op == "none")
                return Condition(kind=VALUE, get=member, test=_true, side_effects=False)
        cond = self._with_operator(op, target, getter, ctype)
        if ctype == "user_bucket" and op in _NUMERIC and cond.kind == VALUE:
            cond = self._bucket_compare(cond, op, target, "" if salt is None else str(salt), id_type)
        if legacy and cond.kind == VALUE and cond.side_effects and op is not None:
            # a test that cannot raise, over a getter that can (bucket: its hash) or records a disabled lookup
            # (ua): once an earlier condition of the rule failed, only that part needs to run
            if ctype == "user_bucket" and _legacy_op_never_raises(op, target, ints=True):
                cond.probe = self._probe(ctype, str(salt) if salt is not None else "", id_type)
            elif ctype == "ua_based" and _legacy_op_never_raises(op, target):
                cond.probe = self._probe(ctype, fname, None)
        if legacy and ctype == "ip_based" and cond.kind == VALUE and cond.test is not None:
            # the legacy SDK fails an ip condition whose value is missing before it compares
            return Condition(kind=VALUE, get=cond.get, test=_unless_missing(cond.test), side_effects=cond.side_effects)
        return cond

    def _probe(self, ctype: str, key: str, id_type: str | None) -> tuple[Getter, ops.Predicate] | None:
        """The Condition.probe of a legacy bucket (key: its salt) or user agent field (key: the field): one per
        ID type (buckets) or field across the payload's conditions. None for a salt UTF-8 cannot encode: every
        hash raises, and the condition itself must run."""
        if ctype == "user_bucket":
            try:
                (key + ".").encode("utf-8")
            except UnicodeEncodeError:
                return None
            key = ""  # the probe reads the unit only
        cache_key = (ctype, key, id_type)
        probe = self._probes.get(cache_key)
        if probe is None:
            get = uf.bucket_probe(id_type) if ctype == "user_bucket" else uf.ua_probe(key, True, self.global_custom)
            probe = self._probes[cache_key] = (get, bool)  # bool: what the probe answers does not matter
        return probe

    def _bucket_compare(self, cond: Condition, op: str, target: object, salt: str, id_type: str | None) -> Condition:
        """A bucket compared with a number (`user_bucket lt`, an experiment's groups): getter and comparison in
        one closure (uf.bucket_compare), when the dialect's test is that comparison for every bucket, an int
        0..999: legacy float(target) (the test raises when that does), core its number of the target."""
        if self.legacy:
            if target is None or not _legacy_op_never_raises(op, target, ints=True):
                return cond  # legacy: no bound answers False, a bound that is no number raises
            bound = float(target)  # type: ignore[arg-type]
        else:
            number = ops.core_number(target)
            if number is None:
                return cond  # core: never
            bound = number
        compare = uf.bucket_compare(salt, id_type, _COMPARE[op], bound)
        return Condition(kind=VALUE, get=compare, test=_true, side_effects=cond.side_effects)

    def _with_operator(self, op: str | None, target: object, getter: Getter, ctype: str) -> Condition:
        if op is None:
            # core: a value condition without operator is unsupported; legacy just fails it
            return Condition(kind=VALUE, get=getter, test=_never) if self.legacy else Condition(kind=UNSUPPORTED)
        if op in ("in_segment_list", "not_in_segment_list"):
            table = ops.LEGACY_SEGMENT_OPERATORS if self.legacy else ops.SEGMENT_OPERATORS
            test = table[op](target, self.id_lists)
        else:
            factory = (ops.LEGACY if self.legacy else ops.CORE).get(op)
            if factory is None:
                return Condition(kind=UNSUPPORTED)
            test = factory(target)
        # The legacy SDK runs every condition of a rule, so one that can raise must run even after an earlier
        # one failed; a condition that cannot raise may be skipped then, which is what lets a rule stop early.
        return Condition(
            kind=VALUE, get=getter, test=test, side_effects=self.legacy and not _legacy_never_raises(ctype, op, target)
        )


# Legacy getters that only read the user and the evaluation context. Not these: ip and ua lookups, and
# user_bucket, whose hash UTF-8-encodes the unit ID (a lone surrogate from JSON raises there).
_PLAIN_GETTERS: Final = frozenset({"user_field", "environment_field", "unit_id", "target_app"})
_TOTAL_OPERATORS: Final = frozenset({"any", "none", "any_case_sensitive", "none_case_sensitive", "eq", "neq"})
_STRING_MATCH: Final = frozenset({"str_starts_with_any", "str_ends_with_any", "str_contains_any", "str_contains_none"})
_NUMERIC: Final = frozenset({"gt", "gte", "lt", "lte"})
_COMPARE: Final = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
# the test of a condition whose getter answers it (a bucket compared with a number): a builtin, no frame
_true: Final = operator.truth


def _legacy_never_raises(ctype: str, op: str, target: object) -> bool:
    """Whether a legacy value condition can raise for no user: see operators.LEGACY for each case."""
    return ctype in _PLAIN_GETTERS and _legacy_op_never_raises(op, target)


def _legacy_op_never_raises(op: str, target: object, ints: bool = False) -> bool:
    """Whether a legacy test can raise for no value (`ints`: for no int, a bucket's value)."""
    if op in _TOTAL_OPERATORS:  # str() and == on JSON values
        return True
    if op in _STRING_MATCH:  # iterates the target: fine unless it is not iterable
        return target is None or isinstance(target, (list, str, dict))
    if ints and op in _NUMERIC:  # float() of an int 0..999 cannot fail; the target's float() can
        try:
            float(target)  # type: ignore[arg-type]
        except (ValueError, TypeError, OverflowError):
            return target is None
        return True
    return False  # numeric, version, time, array, regex and ID-list tests can raise on some value


def _short_circuit(conditions: tuple[Condition, ...]) -> bool:
    """No condition has side effects: a rule may stop at its first failed condition."""
    return not any(c.side_effects for c in conditions)


def _any_unsupported(rules: list[Rule] | tuple[Rule, ...]) -> bool:
    """A spec uses a condition type or operator this SDK does not know (a rule of plain value checks cannot)."""
    return any(rule.checks is None and any(c.kind == UNSUPPORTED for c in rule.conditions) for rule in rules)


def _become(target: Condition, source: Condition) -> None:
    """Make ``target`` (held by compiled rules) the same condition as ``source``."""
    for name in Condition.__slots__:
        setattr(target, name, getattr(source, name))


def _first_in_rule(c: Condition) -> Condition:
    return Condition(kind=c.kind, gate=c.gate, negate=c.negate, record=c.record, analytical=c.analytical,
                     first_in_rule=True)


def _unless_missing(test: ops.Predicate) -> ops.Predicate:
    return lambda value: value is not None and test(value)


def _none(ctx: object) -> object:
    return None


def _never(value: object) -> bool:
    return False


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if path and not path.startswith("[") else prefix + path


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))
