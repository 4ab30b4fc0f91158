"""v2 download_config_specs: sections are maps keyed by name; rules reference a shared `condition_map`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import SpecFormatError
from .parse_v1 import SECTIONS

# A rule that names a key missing from condition_map is unsupported in the core SDK: keep it visible.
MISSING_CONDITION: Mapping[str, Any] = {"type": "__missing_condition__"}


def iter_specs(payload: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any], str]]:
    """(section, name, spec, path) for every spec, with condition keys replaced by the conditions."""
    condition_map = payload.get("condition_map")
    if condition_map is None:
        condition_map = {}
    if not isinstance(condition_map, Mapping):
        raise SpecFormatError("condition_map", "expected an object")
    for section in SECTIONS:
        entries = payload.get(section, {})
        if entries is None:
            continue
        if not isinstance(entries, Mapping):
            raise SpecFormatError(section, "expected an object of specs (v2 format)")
        for name, spec in entries.items():
            path = f"{section}.{name}"
            if not isinstance(spec, Mapping):
                raise SpecFormatError(path, "spec is not an object")
            yield section, name, _inline(spec, condition_map, path), path


def _inline(spec: Mapping[str, Any], condition_map: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    rules = spec.get("rules")
    if not isinstance(rules, list):
        return spec
    inlined = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            raise SpecFormatError(f"{path}.rules[{i}]", "rule is not an object")
        keys = rule.get("conditions", [])
        if not isinstance(keys, list):
            raise SpecFormatError(f"{path}.rules[{i}].conditions", "not a list")
        conditions = []
        for j, key in enumerate(keys):
            if isinstance(key, Mapping):  # tolerate an inline condition
                conditions.append(key)
            elif isinstance(key, str):
                conditions.append(condition_map.get(key, MISSING_CONDITION))
            else:
                raise SpecFormatError(f"{path}.rules[{i}].conditions[{j}]", "condition key is not a string")
        inlined.append({**rule, "conditions": conditions})
    return {**spec, "rules": inlined}


def experiment_to_layer(payload: Mapping[str, Any]) -> dict[str, str]:
    mapping = payload.get("experiment_to_layer")
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise SpecFormatError("experiment_to_layer", "expected an object")
    return {str(k): str(v) for k, v in mapping.items()}
