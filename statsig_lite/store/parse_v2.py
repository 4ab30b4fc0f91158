"""v2 download_config_specs: sections are maps keyed by name; rules reference a shared `condition_map`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ..errors import SpecFormatError
from .parse_v1 import SECTIONS

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any


def iter_specs(payload: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any], str]]:
    """(section, name, spec, path) for every spec. Rules name their conditions by key: the compiler resolves
    them through `condition_map(payload)` (copying every rule with its conditions inline cost a fifth of
    the load)."""
    for section in SECTIONS:
        entries = payload.get(section, {})
        if entries is None:
            continue
        if not isinstance(entries, Mapping):
            raise SpecFormatError(section, "expected an object of specs (v2 format)")
        for name, spec in entries.items():
            if not isinstance(spec, Mapping):
                raise SpecFormatError(f"{section}.{name}", "spec is not an object")
            yield section, name, spec, f"{section}.{name}"


def condition_map(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The shared conditions, by key."""
    conditions = payload.get("condition_map")
    if conditions is None:
        return {}
    if not isinstance(conditions, Mapping):
        raise SpecFormatError("condition_map", "expected an object")
    return conditions


def experiment_to_layer(payload: Mapping[str, Any]) -> dict[str, str]:
    mapping = payload.get("experiment_to_layer")
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise SpecFormatError("experiment_to_layer", "expected an object")
    return {str(k): str(v) for k, v in mapping.items()}
