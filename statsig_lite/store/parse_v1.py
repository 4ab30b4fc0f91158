"""v1 download_config_specs: sections are lists of specs carrying their `name` and inline conditions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ..errors import SpecFormatError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

SECTIONS = ("feature_gates", "dynamic_configs", "layer_configs")


def iter_specs(payload: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any], str]]:
    """(section, name, spec, path) for every spec, conditions already inline."""
    for section in SECTIONS:
        entries = payload.get(section, [])
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise SpecFormatError(section, "expected a list of specs (v1 format)")
        for i, spec in enumerate(entries):
            if not isinstance(spec, Mapping):
                raise SpecFormatError(f"{section}[{i}]", "spec is not an object")
            name = spec.get("name")
            if not isinstance(name, str):
                raise SpecFormatError(f"{section}[{i}]", "name missing")
            yield section, name, spec, f"{section}.{name}"


def condition_map(payload: Mapping[str, Any]) -> None:
    """v1 rules carry their conditions inline."""
    return None


def experiment_to_layer(payload: Mapping[str, Any]) -> dict[str, str]:
    layers = payload.get("layers") or {}
    if not isinstance(layers, Mapping):
        raise SpecFormatError("layers", "expected an object of layer name to experiment names")
    result: dict[str, str] = {}
    for layer, experiments in layers.items():
        if not isinstance(experiments, list):
            raise SpecFormatError(f"layers.{layer}", "expected a list of experiment names")
        for experiment in experiments:
            result[str(experiment)] = str(layer)
    return result
