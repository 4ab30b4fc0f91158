"""get_client_initialize_response: every spec evaluated for one user, in the client SDKs' format.

The shape follows the payload's reference SDK (protocol doc section 5): the legacy SDK for v1 payloads,
statsig-python-core for v2 payloads; the snapshot's dialect says which fields each one writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from ..store.model import GATE, MULTI_GATE, PUBLIC, VALUE, Snapshot, Spec
from .evaluate import RECOGNIZED, Evaluation, GateOverrides, clean_exposures, lookup_override, passes_percentage
from .hashing import djb2, sha256_b64
from .operators import core_text

Overrides = Mapping[str, Mapping[str | None, Any]]
# a settled spec's entry by what decided it (_decide): its text, value, nested-gate seed and group
Settled = dict[tuple[object, ...], tuple[str, bool, Any, tuple[bool, str | None]]]

HASHERS: dict[str, Callable[[str], str]] = {"none": lambda name: name, "djb2": djb2, "sha256": sha256_b64}
_MAX_TEXTS = 20_000  # entry texts kept per snapshot and hash: beyond that, entries are encoded every time


_MEMO_DEPTH = 32  # nested gates reused only this far from the top: far from any recursion limit


class NestedGates:
    """One response's memo of nested gate results for its user: a gate that other specs name is evaluated
    once per response, not once per reference (issue 16).

    Both official SDKs evaluate a nested gate into the parent's context; what that writes besides the gate's
    result and its secondary exposures (the sampling and analytical flags, the version) decides only how a
    check's exposure is logged, which a response never reads. So the memo is set on GCIR evaluations only,
    and replays the gate's result fields and the exposures it appended. It holds a gate only when no part of
    its result depends on the context it is entered in: no unknown or unsupported condition below it (they
    reset or end the shared result), no delegate, no cycle, a bounded depth (`_height`), and no gate below it
    that ended in an error (the parent then reads whatever the shared result held: `errors`).
    """

    __slots__ = ("dedupe", "errors", "heights", "named", "results", "snapshot")

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.dedupe = snapshot.dialect.dedupe_exposures
        heights: dict[Spec, int | None] | None = snapshot.derived.get("gcir-heights")
        if heights is None:
            heights = snapshot.derived["gcir-heights"] = {}
        self.heights = heights
        named: frozenset[Spec] | None = snapshot.derived.get("gcir-named")
        if named is None:
            named = snapshot.derived["gcir-named"] = _named_gates(snapshot)
        self.named = named  # the gates some condition names: the only ones worth seeding
        self.results: dict[Spec, tuple[Any, ...]] = {}
        self.errors = 0  # nested gates that ended in an error so far

    def evaluate(self, ev: Evaluation, spec: Spec) -> None:
        """`ev._nested(spec)`, or its memoised result."""
        hit = self.results.get(spec)
        if hit is not None and ev.depth + hit[0] < _MEMO_DEPTH and not ev.unsupported:
            (_, ev.value, ev.json_value, ev.rule_id, ev.id_type, ev.group_name, ev.is_experiment_group,
             ev.deciding_rate, appended) = hit
            if appended:
                if isinstance(ev.secondary_exposures, list):
                    ev.secondary_exposures.extend(appended)
                else:  # none yet (the shared empty tuple)
                    ev.secondary_exposures = list(appended)
            return
        height = self.heights.get(spec, -1)
        if height == -1:
            height = _height(self.snapshot, spec, self.heights, 0)
        if height is None or ev.depth + height >= _MEMO_DEPTH or ev.unsupported:
            ev._nested(spec)
            return
        before = ev.secondary_exposures
        count, errors = len(before), self.errors
        try:
            ev._nested(spec)
        except BaseException:
            self.errors += 1
            raise
        if self.errors != errors:  # a gate below failed: what it reports is what the shared result held then
            return
        after = ev.secondary_exposures
        if after is before:
            self._keep(spec, ev, tuple(after[count:]))
        elif not before:  # the first exposure made the list
            self._keep(spec, ev, tuple(after))

    def seed(self, spec: Spec, ev: Evaluation) -> None:
        """A gate's top-level evaluation, kept for its references to come. Its exposures are the ones a nested
        evaluation appends unless the dialect cleaned them (legacy): then only a gate that appended none, or
        one whose gates below can record no segment and no repeat (cleaning such a list changes nothing)."""
        if spec in self.results or ev.reason != RECOGNIZED or ev.rule_id == "error":
            return
        height = self.heights.get(spec, -1)
        if height == -1:
            height = _height(self.snapshot, spec, self.heights, 0)
        if height is None:
            return
        exposures = ev.secondary_exposures
        if not isinstance(exposures, list):
            self._keep(spec, ev, ())
        elif not self.dedupe or _recorded(self.snapshot, spec, self.snapshot.derived, 0) is not None:
            self._keep(spec, ev, tuple(exposures))

    def _keep(self, spec: Spec, ev: Evaluation, appended: tuple[dict[str, str], ...]) -> None:
        self.results[spec] = (
            self.heights[spec], ev.value, ev.json_value, ev.rule_id, ev.id_type, ev.group_name, ev.is_experiment_group,
            ev.deciding_rate, appended,
        )


def _named_gates(snapshot: Snapshot) -> frozenset[Spec]:
    names = {
        name
        for specs in (snapshot.gates, snapshot.configs, snapshot.layers)
        for spec in specs.values()
        for rule in spec.rules
        for condition in rule.conditions
        for name in ((condition.gate,) if condition.kind == GATE else condition.gates)
    }
    return frozenset(spec for name, spec in snapshot.gates.items() if name in names)


def _recorded(snapshot: Snapshot, spec: Spec, derived: dict[Any, Any], depth: int) -> frozenset[str] | None:
    """The gate names a held gate's evaluation can record, each at most once (None: a segment or a name that
    can be recorded twice). Kept per snapshot; a multi-gate condition records its own gates only."""
    table: dict[Spec, frozenset[str] | None] = derived.setdefault("gcir-recorded", {})
    if spec in table:
        return table[spec]
    names: set[str] = set()
    result: frozenset[str] | None = None
    for rule in spec.rules:
        for condition in rule.conditions:
            below: frozenset[str] | None = frozenset()
            if condition.kind == GATE:
                nested = snapshot.gates.get(condition.gate)
                below = None if depth > _MEMO_DEPTH else (
                    frozenset() if nested is None else _recorded(snapshot, nested, derived, depth + 1))
                if below is not None:
                    below = below | {condition.gate} if condition.gate not in below else None
            elif condition.kind == MULTI_GATE:
                below = frozenset(condition.gates) if len(set(condition.gates)) == len(condition.gates) else None
            if below is None or not names.isdisjoint(below) or any(n.startswith("segment:") for n in below):
                table[spec] = None
                return None
            names |= below
    result = frozenset(names)
    table[spec] = result
    return result


def _height(snapshot: Snapshot, spec: Spec, heights: dict[Spec, int | None], depth: int) -> int | None:
    """How deep `spec`'s nested gates go (0: none), or None when the memo must not hold it: a condition that
    resets or ends the shared result, a delegate, a cycle, or deeper than _MEMO_DEPTH. Kept per snapshot."""
    if spec in heights:
        return heights[spec]
    heights[spec] = None  # while its gates are worked out: a cycle back to it finds None
    height = 0
    if depth > _MEMO_DEPTH:
        return None
    for rule in spec.rules:
        if rule.config_delegate is not None:
            return None
        for condition in rule.conditions:
            kind = condition.kind
            if kind in (VALUE, PUBLIC):
                continue
            if kind not in (GATE, MULTI_GATE):
                return None
            for name in (condition.gate,) if kind == GATE else condition.gates:
                nested = snapshot.gates.get(name)
                if nested is None:  # an unknown gate (core): False, nothing evaluated
                    continue
                below = _height(snapshot, nested, heights, depth + 1)
                if below is None:
                    return None
                height = max(height, below + 1)
    heights[spec] = height
    return height


def _app_for_key(snapshot: Snapshot, client_key: str, legacy: bool) -> str | None:
    hashed = snapshot.hashed_sdk_keys_to_app_ids.get(djb2(client_key))
    plain = snapshot.sdk_keys_to_app_ids.get(client_key)
    if legacy:
        return plain if plain is not None else hashed
    return hashed if hashed is not None else plain


def _beyond_float(value: int) -> bool:
    try:
        float(value)
    except OverflowError:
        return True
    return False


def private_attributes_hash(private: Mapping[str, Any]) -> str:
    """Core's pa_hash: djb2 of "key:value" summed, the value as core reads it as text ("" for null/objects)."""
    total = 0
    for key, value in private.items():
        if isinstance(value, int) and value.bit_length() > 1000 and _beyond_float(value):
            continue  # core leaves the attribute out
        total = (total + int(djb2(f"{key}:{core_text(value) or ''}"))) & 0xFFFFFFFF
    return str(total)


def client_initialize_response(
    snapshot: Snapshot,
    user: Any,
    logged_user: Mapping[str, Any],
    environment: Mapping[str, Any] | None,
    now_ms: int,
    hash_used: str | None = None,
    client_sdk_key: str | None = None,
    target_app_id: str | None = None,
    gate_overrides: GateOverrides | None = None,
    config_overrides: Overrides | None = None,
    layer_overrides: Overrides | None = None,
    include_local_overrides: bool = False,
    as_text: bool = False,
) -> Any:
    """The response as a dict, or (`as_text`) as its JSON text.

    The text is built from each entry's JSON, memoised per snapshot and hash by what decides the entry (the
    spec and its evaluation's outcome), so a second user with the same outcome costs a lookup, not an
    encoding; only the user-dependent rest of the response is encoded on each call. With local overrides
    listed in the response, the dict is encoded instead.
    """
    top_overrides = include_local_overrides and bool(gate_overrides or config_overrides or layer_overrides)
    if as_text and top_overrides:
        return json.dumps(client_initialize_response(
            snapshot, user, logged_user, environment, now_ms, hash_used, client_sdk_key, target_app_id,
            gate_overrides, config_overrides, layer_overrides, include_local_overrides,
        ))
    dialect = snapshot.dialect
    legacy_overrides = dialect.gcir_overrides == "legacy"
    nested_overrides = gate_overrides if (include_local_overrides or legacy_overrides) else None
    top_gates = gate_overrides if include_local_overrides else None
    top_configs = config_overrides if include_local_overrides else None
    top_layers = (config_overrides if legacy_overrides else layer_overrides) if include_local_overrides else None
    legacy = not dialect.gcir_layer_id_type
    algo = hash_used or dialect.gcir_default_hash
    hash_name = HASHERS[algo]
    app_id = target_app_id
    if client_sdk_key is not None:
        app_id = _app_for_key(snapshot, client_sdk_key, legacy)

    memo = None if nested_overrides else NestedGates(snapshot)

    def plain(spec: Spec) -> Evaluation:  # no override applies: the common case
        ev = Evaluation(snapshot, user, environment, now_ms, app_id)
        ev.nested_gates = memo
        return ev.run(spec)

    def run(spec: Spec, top: Overrides | None = None, gate: bool = False) -> Evaluation:
        if top and spec.name in top:
            value = lookup_override(top[spec.name], user)
            if value is not None:  # an overridden entry: rule "override", nothing evaluated
                ev = Evaluation(snapshot, user, environment, now_ms, app_id)
                ev.rule_id = "override"
                if gate:
                    ev.value = bool(value)
                else:
                    ev.json_value = value
                return ev
        if memo is not None:
            return plain(spec)
        return Evaluation(snapshot, user, environment, now_ms, app_id, nested_overrides).run(spec)

    def overridden(entry: dict[str, Any], ev: Evaluation) -> None:
        """Core writes an overridden entry without the spec's ID type or activity."""
        if ev.rule_id != "override" or ev.spec is not None or legacy_overrides:
            return
        if "id_type" in entry:
            entry["id_type"] = ""
        if "is_experiment_active" in entry:
            entry["is_experiment_active"] = False

    def exposures(items: list[dict[str, str]]) -> list[dict[str, str]]:
        if not items:  # most specs have no nested gate
            return []
        # legacy: the evaluation cleaned its lists already (or failed doing so: they stay as they are)
        cleaned = items if dialect.dedupe_exposures else clean_exposures(items)
        # a nested gate named by no string (legacy: a pass_gate without a target) keeps its name unhashed,
        # where the legacy SDK's whole response is None (README: where we do not copy the official SDKs)
        return [{**e, "gate": hash_name(g) if isinstance(g := e["gate"], str) else g} for e in cleaned]

    def gate_entry(spec: Spec, ev: Evaluation, hashed: str) -> dict[str, Any]:
        entry = {
            "name": hashed,
            "value": ev.value,
            "rule_id": ev.rule_id,
            "id_type": spec.id_type,
            "secondary_exposures": exposures(ev.secondary_exposures),
        }
        if ev.spec is None and not legacy_overrides:  # core: an overridden gate has no ID type
            del entry["id_type"]
        return entry

    def gate_text(spec: Spec, ev: Evaluation, hashed: str) -> str:
        """gate_entry as json.dumps writes it, written directly (a gate's entry is small and the most common:
        cheaper than memoising it by its outcome); an overridden gate goes through gate_entry."""
        value, rule_id, name = ev.value, ev.rule_id, _quote(hashed)
        items = ev.secondary_exposures
        value_text = "true" if value is True else "false" if value is False else json.dumps(value)
        return (
            f'{name}:{{"name": {name}, "value": {value_text}, '
            f'"rule_id": {_quote(rule_id) if type(rule_id) is str else json.dumps(rule_id)}, '
            f'"id_type": {_quote(spec.id_type)}, "secondary_exposures": {exposures_text(items) if items else "[]"}}}'
        )

    def exposures_text(items: list[dict[str, str]]) -> str:
        assert exposure_texts is not None
        key = _exposures_key(items)
        text = exposure_texts.get(key)
        if text is None:
            text = json.dumps(exposures(items))
            if len(exposure_texts) < _MAX_TEXTS:
                exposure_texts[key] = text
        return text

    def config_entry(spec: Spec, ev: Evaluation, hashed: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": hashed,
            "value": dict(ev.json_value),
            "rule_id": ev.rule_id,
            "group": ev.rule_id,
            "is_device_based": spec.id_type.lower() == "stableid",
            "id_type": spec.id_type,
            "secondary_exposures": exposures(ev.secondary_exposures),
        }
        if spec.entity == "dynamic_config" or dialect.gcir_passed_for_experiments:
            entry["passed"] = ev.value
        if spec.entity == "experiment":
            entry["is_user_in_experiment"] = ev.is_experiment_group
            entry["is_experiment_active"] = spec.is_active
            if ev.group_name is not None:
                entry["group_name"] = ev.group_name
            if spec.has_shared_params:
                entry["is_in_layer"] = True
                entry["explicit_parameters"] = list(spec.explicit_parameters)
                layer = snapshot.layers.get(snapshot.experiment_to_layer.get(spec.name, ""))
                if layer is not None and dialect.gcir_merge_layer_defaults:
                    entry["value"] = {**layer.default_value, **entry["value"]}
        elif spec.entity == "autotune" and ev.group_name:
            entry["group_name"] = ev.group_name
        overridden(entry, ev)
        return entry

    def cmab_entry(spec: Spec, ev: Evaluation, hashed: str) -> dict[str, Any]:
        entry = {
            "name": hashed,
            "value": dict(ev.json_value),
            "rule_id": ev.rule_id,
            "group": ev.rule_id,
            "is_device_based": spec.id_type.lower() == "stableid",
            "id_type": spec.id_type,
            "secondary_exposures": exposures(ev.secondary_exposures),
        }
        if ev.group_name is not None:
            entry["group_name"] = ev.group_name
        return entry

    def layer_entry(spec: Spec, ev: Evaluation, hashed: str) -> dict[str, Any]:
        entry = {
            "name": hashed,
            "value": dict(ev.json_value),
            "rule_id": ev.rule_id,
            "group": ev.rule_id,
            "is_device_based": spec.id_type.lower() == "stableid",
            "explicit_parameters": list(spec.explicit_parameters),
            "secondary_exposures": exposures(ev.secondary_exposures),
            "undelegated_secondary_exposures": exposures(ev.undelegated_secondary_exposures),
        }
        if legacy:
            entry["passed"] = ev.value
        else:
            entry["id_type"] = spec.id_type
        if ev.group_name is not None and not dialect.gcir_fresh_delegate:
            entry["group_name"] = ev.group_name
        delegate = snapshot.configs.get(ev.allocated_experiment or "")
        if delegate is not None:
            entry["allocated_experiment_name"] = hash_name(delegate.name)
            if dialect.gcir_fresh_delegate:  # legacy: the experiment's group from an evaluation of its own
                fresh = evaluated.get(delegate.name)
                if fresh is None:
                    again = run(delegate)
                    fresh = (again.is_experiment_group, again.group_name)
                entry["is_user_in_experiment"] = fresh[0]
                if fresh[1] is not None:
                    entry["group_name"] = fresh[1]
            else:
                entry["is_user_in_experiment"] = ev.is_experiment_group
            entry["is_experiment_active"] = delegate.is_active
            entry["explicit_parameters"] = list(delegate.explicit_parameters)
        overridden(entry, ev)
        return entry

    # as text: each section's entries as '"name":{...}' texts, memoised per snapshot and hash by what decides them
    # besides the spec: the evaluation's results, its exposures and the rules' value object (held by the snapshot,
    # so its id is stable); a bandit's or an overridden entry is not memoised
    texts: dict[object, str] | None = None
    exposure_texts: dict[object, str] | None = None
    if as_text:
        texts = snapshot.derived.get(("gcir", algo))
        if texts is None:
            texts = snapshot.derived[("gcir", algo)] = {}
        exposure_texts = snapshot.derived.get(("gcir-exposures", algo))
        if exposure_texts is None:
            exposure_texts = snapshot.derived[("gcir-exposures", algo)] = {}
    sections: dict[str, list[str]] = {"feature_gates": [], "dynamic_configs": [], "layer_configs": []}
    # legacy layers: the experiment a layer delegates to is evaluated again, as for the configs section
    evaluated: dict[str, tuple[bool, str | None]] = {}  # (is_experiment_group, group_name)
    # specs settled by what decides them (_decide): their entries memoised per snapshot and hash by it
    quick = memo is not None and texts is not None
    quick_texts: Settled = {}
    results: dict[Spec, tuple[Any, ...]] = {}
    ctx = Evaluation(snapshot, user, environment, now_ms, app_id)  # what the getters of _decide read
    decided: dict[Spec, tuple[Decided, bool] | None] = {}  # this response's
    nestable: AbstractSet[Spec] = frozenset()  # the gates and delegates _decide may settle below a spec
    if quick:
        assert memo is not None
        results = memo.results
        quick_texts = snapshot.derived.setdefault(("gcir-settled", algo), {})
        nestable = snapshot.derived.get("gcir-nestable")  # type: ignore[assignment]
        if nestable is None:
            nestable = snapshot.derived["gcir-nestable"] = frozenset(
                spec for specs in (snapshot.gates, snapshot.configs) for spec in specs.values() if _settleable(spec))
    keep = dialect.gcir_fresh_delegate and not (top_configs and include_local_overrides)

    def section(
        out: dict[str, Any], key: str, specs: Mapping[str, Spec], build: Callable[[Spec, Evaluation, str], Any],
        evaluate: Callable[[Spec], Evaluation], bandits: bool = False, quick: bool = False,
    ) -> None:
        listed = sections[key]
        replay = key == "feature_gates" and snapshot.session_replay_info is not None
        kept = evaluated if keep and not bandits and key == "dynamic_configs" else None
        gates = key == "feature_gates"
        fresh_delegate = key == "layer_configs" and dialect.gcir_fresh_delegate
        settled = quick_texts if (quick and not bandits) else None
        for name, spec, hashed, settleable in _listed(snapshot, specs, algo, hash_name):
            if app_id is not None and (spec.target_app_ids is None or app_id not in spec.target_app_ids):
                continue
            by: Decided | None = None
            if settled is not None and settleable:
                try:
                    found = _decide(ctx, spec, snapshot, nestable, decided)
                except Exception:  # what a test raises is the full evaluation's to report, as it would
                    found = None
                if found is not None:
                    by = found[0]
                    hit = settled.get(by)
                    if hit is not None:
                        listed.append(hit[0])
                        if replay:
                            out[hashed] = {"value": hit[1]}
                        if hit[2] is not None:
                            results.setdefault(spec, hit[2])
                        if kept is not None:
                            kept[name] = hit[3]
                        continue
            ev = evaluate(spec)
            if kept is not None:
                kept[name] = (ev.is_experiment_group, ev.group_name)
            if texts is None:
                out[hashed] = build(spec, ev, hashed)
                continue
            text = None
            if gates and ev.spec is not None:
                listed.append(text := gate_text(spec, ev, hashed))
                if replay:
                    out[hashed] = {"value": ev.value}
                if by is not None:
                    _settle(settled, by, text, ev, results.get(spec))
                continue
            if bandits or ev.spec is None or ev.rule_id == "override":  # not memoised
                outcome: tuple[object, ...] | None = None
            else:
                exposures, undelegated = ev.secondary_exposures, ev.undelegated
                outcome = (
                    spec, ev.value, ev.rule_id, id(ev.json_value), ev.group_name, ev.is_experiment_group,
                    ev.allocated_experiment, _exposures_key(exposures) if exposures else (),
                    None if undelegated is None else _exposures_key(undelegated),
                )
                if fresh_delegate and ev.allocated_experiment is not None:  # legacy: what layer_entry reads of it
                    group = evaluated.get(ev.allocated_experiment)
                    outcome = None if group is None else (*outcome, *group)
                text = texts.get(outcome) if outcome is not None else None
            if text is None:
                text = f"{_quote(hashed)}:{json.dumps(build(spec, ev, hashed))}"
                if outcome is not None and len(texts) < _MAX_TEXTS:
                    texts[outcome] = text
            listed.append(text)
            if replay:
                out[hashed] = {"value": ev.value}  # what the session replay fields read
            if by is not None:
                _settle(settled, by, text, ev, results.get(spec))

    def plain_gate(spec: Spec) -> Evaluation:  # kept for the gate's references to come
        assert memo is not None
        errors = memo.errors
        ev = plain(spec)
        if spec in named and memo.errors == errors:
            memo.seed(spec, ev)
        return ev

    named = memo.named if memo is not None else frozenset()
    gates: dict[str, Any] = {}
    section(gates, "feature_gates", snapshot.gates, gate_entry,
            plain_gate if memo is not None and not top_gates else lambda spec: run(spec, top_gates, gate=True),
            quick=quick and not top_gates)
    configs: dict[str, Any] = {}
    section(configs, "dynamic_configs", snapshot.configs, config_entry,
            plain if memo is not None and not top_configs else lambda spec: run(spec, top_configs),
            quick=quick and not top_configs)
    # core lists its bandits with the experiments
    section(configs, "dynamic_configs", snapshot.cmabs, cmab_entry,
            lambda spec: Evaluation(snapshot, user, environment, now_ms, app_id, nested_overrides).run_cmab(spec),
            bandits=True)
    layers: dict[str, Any] = {}
    section(layers, "layer_configs", snapshot.layers, layer_entry,
            plain if memo is not None and not top_layers else lambda spec: run(spec, top_layers),
            quick=quick and not top_layers)

    evaluated_keys: dict[str, Any] = {}
    if user.user_id is not None and (legacy or user.user_id):
        evaluated_keys["userID"] = user.user_id
    if user.custom_ids is not None and (legacy or user.custom_ids):
        evaluated_keys["customIDs"] = dict(user.custom_ids)
    response: dict[str, Any] = {
        "feature_gates": gates,
        "dynamic_configs": configs,
        "layer_configs": layers,
        "sdkParams": {},
        "has_updates": True,
        "time": snapshot.time,
        "hash_used": algo,
        "user": dict(logged_user),
        "evaluated_keys": evaluated_keys,
    }
    if dialect.gcir_generator:
        response["generator"] = "statsig-python-sdk"
    else:
        if isinstance(logged_user.get("custom"), Mapping):
            from ..exposures import i64_or_float

            response["user"]["custom"] = i64_or_float(logged_user["custom"])
        response["param_stores"] = _param_stores(snapshot.param_stores, hash_name, app_id)
        private = user.private_attributes
        if isinstance(private, Mapping) and private:
            response["pa_hash"] = private_attributes_hash(private)
    if snapshot.session_replay_info is not None:
        response.update(_session_replay(snapshot.session_replay_info, gates, hash_name, legacy))
    if texts is None:
        return response
    listed = "".join(f'"{key}":{{{",".join(sections[key])}}},' for key in sections)
    rest = json.dumps({k: v for k, v in response.items() if k not in sections})
    return f"{{{listed}{rest[1:]}" if rest != "{}" else f"{{{listed[:-1]}}}"


def _listed(
    snapshot: Snapshot, specs: Mapping[str, Spec], algo: str, hash_name: Callable[[str], str]
) -> list[tuple[str, Spec, str, bool]]:
    """A section's specs the response lists (not segments or holdouts) with their hashed names and whether
    _decide may settle them: worked out at the first response for a snapshot and hash, then reused (djb2 in
    Python is ~1 us a character)."""
    key = ("gcir-names", id(specs), algo)
    listed: list[tuple[str, Spec, str, bool]] | None = snapshot.derived.get(key)
    if listed is None:
        listed = snapshot.derived[key] = [
            (name, spec, hash_name(name), _settleable(spec))
            for name, spec in specs.items() if spec.entity not in ("segment", "holdout")
        ]
    return listed


def _settleable(spec: Spec) -> bool:
    """Every condition is a value test, a public one or a nested gate: which rule decides, whether the unit
    passes it, and what decided the gates it meets and the config it delegates to, are all that differs
    between two users' evaluations (see _decide)."""
    for rule in spec.rules:  # loops, not generators: asked of every gate and config at a snapshot's first response
        for condition in rule.conditions:
            if condition.kind not in _SETTLEABLE_KINDS:
                return False
    return spec.cmab is None


_SETTLEABLE_KINDS = frozenset((VALUE, PUBLIC, GATE))


# (spec, deciding rule's index (-1: none), passed, the keys of the nested gates it met in order...)
Decided = tuple[object, ...]


def _decide(
    ctx: Evaluation, spec: Spec, snapshot: Snapshot, nestable: AbstractSet[Spec],
    decided: dict[Spec, tuple[Decided, bool] | None], depth: int = 0,
) -> tuple[Decided, bool] | None:
    """What decides a `_settleable` spec for ctx's user, and its value: Evaluation._evaluate's walk without its
    result fields, each nested gate met settled the same way (once per response: `decided`). _finish writes
    every result field from the spec, that rule and that pass, and each nested gate's result and exposures come
    from what decided it, so an entry built once for a key is the entry for every user that meets the key. None:
    a nested gate that is not settleable, unknown, in a cycle or too deep, left to the full evaluation; so is
    whatever a test raises (tests and getters are pure)."""
    if spec in decided:
        return decided[spec]
    decided[spec] = None  # while its gates are settled: a cycle back to it finds None
    if depth > _MEMO_DEPTH or (depth and spec not in nestable):  # the top spec's was listed with it
        return None
    met: list[Decided] = []
    for index, rule in enumerate(spec.rules):
        passed = True
        test = rule.single_test
        if test is not None:  # one value test, the most common rule
            passed = test(rule.single_get(ctx))  # type: ignore[misc]
        elif (checks := rule.checks) is not None:  # value tests only
            if rule.short_circuit:
                for get, test in checks:
                    if not test(get(ctx)):
                        passed = False
                        break
            else:
                for get, test in checks:
                    if not test(get(ctx)):
                        passed = False
        else:  # as Evaluation._evaluate: conditions of any kind
            for condition in rule.conditions:
                kind = condition.kind
                if kind == VALUE:
                    ok = condition.test(condition.get(ctx))  # type: ignore[misc]
                elif kind == GATE:
                    nested = snapshot.gates.get(condition.gate)
                    below = None if nested is None else _decide(ctx, nested, snapshot, nestable, decided, depth + 1)
                    if below is None:
                        return None
                    met.append(below[0])
                    ok = below[1] != condition.negate
                else:
                    ok = True
                if not ok:
                    passed = False
                    if rule.short_circuit:
                        break
        if passed:
            if rule.config_delegate is not None:  # as Evaluation._delegate: no percentage, the delegate decides
                delegate = snapshot.configs.get(rule.config_delegate)
                if delegate is not None:
                    below = _decide(ctx, delegate, snapshot, nestable, decided, depth + 1)
                    if below is None:
                        return None
                    result = (spec, index, None, *met, below[0]), below[1]
                    break
            threshold = rule.pass_threshold
            hit = threshold == 10000.0 or (threshold != 0.0 and passes_percentage(rule, ctx.user))
            result = (spec, index, hit, *met) if met else (spec, index, hit), (
                rule.gate_on_pass if hit else spec.default_gate)
            break
    else:
        result = (spec, -1, False, *met) if met else (spec, -1, False), spec.default_gate
    decided[spec] = result
    return result


def _settle(
    settled: Settled | None,
    key: Decided, text: str, ev: Evaluation, seed: tuple[Any, ...] | None,
) -> None:
    """Keep what a settled spec's full evaluation gave: its entry text, value, nested-gate seed and group (one
    that ended in an error is not kept: it is evaluated again, and reports what it does)."""
    if ev.reason != RECOGNIZED or ev.rule_id == "error" or ev.spec is None:
        return
    if settled is not None and len(settled) < _MAX_TEXTS:
        settled[key] = (text, ev.value, seed, (ev.is_experiment_group, ev.group_name))


def _exposures_key(items: list[dict[str, str]]) -> tuple[object, ...]:
    return tuple([(e["gate"], e["gateValue"], e["ruleID"]) for e in items])


def _session_replay(
    info: Mapping[str, Any], gates: Mapping[str, Any], hash_name: Callable[[str], str], legacy: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {"recording_blocked": info.get("recording_blocked", False)}
    can_record = out["recording_blocked"] is False
    targeting = info.get("targeting_gate")
    if isinstance(targeting, str) and (gate := gates.get(hash_name(targeting))) is not None:
        out["passes_session_recording_targeting"] = gate["value"]
        can_record = can_record and bool(gate["value"])
    rate = info.get("sampling_rate")
    if isinstance(rate, (int, float)):
        out["session_recording_rate"] = rate
    out["can_record_session"] = can_record
    privacy = info.get("session_recording_privacy_settings")
    if not legacy and privacy is not None:
        out["session_recording_privacy_settings"] = privacy
    return out


_REFERENCED_NAMES = ("gate_name", "experiment_name", "layer_name", "config_name")


def _param_stores(
    stores: Mapping[str, Any], hash_name: Callable[[str], str], app_id: str | None
) -> dict[str, Any]:
    """Parameter stores as the client SDKs read them: definitions with the entities they name hashed."""
    out: dict[str, Any] = {}
    for store_name, store in stores.items():
        if not isinstance(store, Mapping):
            continue
        apps = store.get("targetAppIDs")
        if app_id is not None and (not isinstance(apps, list) or app_id not in apps):
            continue
        params = store.get("parameters")
        if not isinstance(params, Mapping):
            continue
        out[hash_name(store_name)] = {
            name: {k: hash_name(v) if k in _REFERENCED_NAMES and isinstance(v, str) else v for k, v in p.items()}
            for name, p in params.items()
            if isinstance(p, Mapping)
        }
    return out
