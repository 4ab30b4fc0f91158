"""Build a `Snapshot` from a download_config_specs payload (v1 or v2), all or nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from .._gc import PausedCollector
from ..errors import SpecFormatError
from . import parse_v1, parse_v2
from .compile import CORE, LEGACY, Compiler
from .model import IdList, IdListHolder, Snapshot, Spec
from .validate import MAX_NESTING, SnapshotRefused, check_payload, check_size

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

_SECTION_KIND = {"feature_gates": "gates", "dynamic_configs": "configs", "layer_configs": "layers"}


def decode_payload(payload: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(payload, Mapping):
        return payload
    check_size(len(payload))
    try:
        decoded = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SpecFormatError("", f"payload is not valid JSON: {exc}") from None
    except RecursionError:  # the decoder's own bound (~1000 levels); check_payload's is lower
        raise SnapshotRefused("too_deep", "", f"nested more than {MAX_NESTING} levels deep") from None
    if not isinstance(decoded, Mapping):
        raise SpecFormatError("", "payload is not a JSON object")
    return decoded


def detect_format(payload: Mapping[str, Any]) -> str:
    if payload.get("response_format") == "dcs-v2":
        return "v2"
    for section in parse_v1.SECTIONS:
        value = payload.get(section)
        if isinstance(value, Mapping):
            return "v2"
        if isinstance(value, list):
            return "v1"
    return "v2" if "condition_map" in payload or "experiment_to_layer" in payload else "v1"


def load_snapshot(
    payload: bytes | str | Mapping[str, Any],
    *,
    id_lists: Mapping[str, IdList] | None = None,
    global_custom: Mapping[str, Any] | None = None,
    decode_again: Callable[[], Mapping[str, Any]] | None = None,
) -> Snapshot:
    """Parse and precompile a payload. Raises SpecFormatError naming the problem and its JSON path
    (`validate.SnapshotRefused` for a payload that is not sane: see `validate.check_payload`).
    `decode_again`: `payload` was decoded for this call only (its specs may be emptied, see `_load`)."""
    if decode_again is None and not isinstance(payload, Mapping):
        text = payload
        decode_again = lambda: decode_payload(text)  # noqa: E731
    with PausedCollector():
        try:
            try:
                return _load(payload, id_lists, global_custom, release=decode_again is not None)
            except _Recompile:  # rare (a legacy payload with a spec it drops): again, the tree kept whole
                assert decode_again is not None
                return _load(decode_again(), id_lists, global_custom, release=False)
        except SpecFormatError:
            raise
        except Exception as exc:  # a shape no check foresaw: refused like any bad payload, never a crash
            raise SpecFormatError("", f"payload cannot be compiled: {type(exc).__name__}: {exc}") from None


class _Recompile(Exception):
    """The legacy second pass needs the specs that were released: load again without releasing."""


def _load(
    payload: bytes | str | Mapping[str, Any],
    id_lists: Mapping[str, IdList] | None,
    global_custom: Mapping[str, Any] | None,
    release: bool,
) -> Snapshot:
    """`release`: the tree is ours alone, so each spec's part is emptied once compiled and the next spec's rules
    take its memory (pymalloc frees an arena only when all of it is free: the kept values are spread over all)."""
    data = decode_payload(payload)
    if data.get("has_updates") is False and not any(s in data for s in parse_v1.SECTIONS):
        raise SpecFormatError("has_updates", "payload has no updates (nothing to load)")
    fmt = detect_format(data)
    lcut = check_payload(data, fmt)
    parser = parse_v2 if fmt == "v2" else parse_v1
    dialect = CORE if fmt == "v2" else LEGACY
    entries = list(parser.iter_specs(data))
    gate_names = frozenset(name for section, name, _, _ in entries if section == "feature_gates")
    holder = IdListHolder(id_lists)
    app_id = data.get("app_id")
    compiler = Compiler(
        dialect,
        gate_names,
        holder.ids,
        app_id if isinstance(app_id, str) else None,
        global_custom,
        parser.condition_map(data),
    )

    sections: dict[str, dict[str, Spec]] = {"gates": {}, "configs": {}, "layers": {}}
    unsupported: set[str] = set()
    compiler.release = release
    for i, (section, name, raw, path) in enumerate(entries):
        spec = compiler.spec(name, raw, path)
        if release:  # no compiled object holds a spec's dict; raw conditions are all decoded before any is freed
            entries[i] = None
            raw.clear()
        if spec.unsupported and dialect is LEGACY:
            unsupported.add(name)  # the legacy SDK drops such specs when it loads the payload
            continue
        sections[_SECTION_KIND[section]][name] = spec
    if dialect is LEGACY and unsupported:
        if release:
            raise _Recompile
        # a nested gate that was dropped is unknown to the specs that reference it
        compiler.forget_gates_except(frozenset(sections["gates"]))
        for section, name, raw, path in entries:
            if name not in unsupported:
                sections[_SECTION_KIND[section]][name] = compiler.spec(name, raw, path)

    cmabs: dict[str, Spec] = {}
    raw_cmabs = data.get("cmab_configs") if dialect is CORE else None  # the legacy SDK knows no bandits
    if isinstance(raw_cmabs, Mapping):
        for name, raw in raw_cmabs.items():
            cmab = compiler.cmab(str(name), raw) if isinstance(raw, Mapping) else None
            if cmab is not None:
                cmabs[str(name)] = cmab

    return Snapshot(
        dialect=dialect,
        cmabs=cmabs,
        time=lcut,
        gates=sections["gates"],
        configs=sections["configs"],
        layers=sections["layers"],
        unsupported=frozenset(unsupported),
        experiment_to_layer=parser.experiment_to_layer(data),
        default_environment=_opt_str(data.get("default_environment")),
        app_id=compiler.app_id,
        sdk_configs=_mapping(data.get("sdk_configs")),
        session_replay_info=_mapping(data.get("session_replay_info")) or None,
        sdk_keys_to_app_ids=_str_map(data.get("sdk_keys_to_app_ids")),
        hashed_sdk_keys_to_app_ids=_str_map(data.get("hashed_sdk_keys_to_app_ids")),
        param_stores=_mapping(data.get("param_stores")),
        id_lists=holder,
    )


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str_map(value: object) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}
