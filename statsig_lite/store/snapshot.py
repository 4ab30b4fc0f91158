"""Build a `Snapshot` from a download_config_specs payload (v1 or v2), all or nothing.

A payload given as text is read spec by spec (`stream_snapshot`): each spec is decoded, checked and compiled
before the next one is decoded, so the whole decoded tree (about four times the text) never exists at once.
pymalloc returns an arena only when all of it is free, and what the compiled rules keep of a tree is spread
through all of its arenas: decoded whole, the tree's size stayed resident after the load (large benchmark
spec: 11.9 MiB over the interpreter, 6.7 MiB read spec by spec). Whatever that path cannot answer exactly
as the whole tree would (a repeated key, a legacy payload with a spec it drops, any error) is loaded again
from the whole tree, which also words every error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

from .._gc import PausedCollector
from ..errors import SpecFormatError
from . import parse_v1, parse_v2
from .compile import CORE, LEGACY, Compiler
from .model import Dialect, IdList, IdListHolder, Snapshot, Spec
from .validate import MAX_NESTING, MAX_SNAPSHOT_BYTES, SnapshotRefused, check_nesting, check_payload, check_size

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

_SECTION_KIND = {"feature_gates": "gates", "dynamic_configs": "configs", "layer_configs": "layers"}
# json's own parts (C), to read one value at an offset of the text: what json.loads runs, and its whitespace
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_space: Callable[[str, int], re.Match[str]] = re.compile(r"[ \t\n\r]*").match  # type: ignore[assignment]  # never None


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
    if not isinstance(payload, Mapping):
        streamed = stream_snapshot(payload, id_lists=id_lists, global_custom=global_custom)
        if streamed is not None:
            return streamed
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


def stream_snapshot(
    payload: bytes | str,
    *,
    id_lists: Mapping[str, IdList] | None = None,
    global_custom: Mapping[str, Any] | None = None,
    refuse_key: str | None = None,
) -> Snapshot | None:
    """`load_snapshot` of a payload's text, read spec by spec (see the module docstring), or None where the
    whole tree must decide: any error (the whole tree words it), a top-level ``refuse_key`` (our envelope),
    a repeated key, a legacy spec the SDK drops, a target_app condition before the payload's app_id."""
    read = stream_document(payload, id_lists=id_lists, global_custom=global_custom, refuse_key=refuse_key)
    return None if read is None else read[0]


def stream_document(
    payload: bytes | str,
    *,
    id_lists: Mapping[str, IdList] | None = None,
    global_custom: Mapping[str, Any] | None = None,
    refuse_key: str | None = None,
    nested: str | None = None,
) -> tuple[Snapshot, dict[str, Any]] | None:
    """`stream_snapshot`, also of a payload nested in a document under the top-level key ``nested`` (our
    envelope's "dcs"): (snapshot, the document's other top-level values decoded), or None as there. Without
    ``nested`` the values are empty."""
    if len(payload) > MAX_SNAPSHOT_BYTES:
        return None
    try:
        with PausedCollector():
            # bytes as json.loads decodes them
            text = payload if isinstance(payload, str) else payload.decode(json.detect_encoding(payload),
                                                                           "surrogatepass")
            holder = IdListHolder(id_lists)
            i = _space(text, 0).end()
            if nested is None:
                snapshot, i = _stream(text, i, holder, global_custom, refuse_key)
                outer: dict[str, Any] = {}
            else:
                snapshot, outer, i = _stream_nested(text, i, nested, holder, global_custom)
            if _space(text, i).end() != len(text):
                raise _NotStreamed  # trailing text
            return snapshot, outer
    except Exception:  # not an answer: the caller loads the whole tree, which answers or raises as it always did
        return None


class _NotStreamed(Exception):
    """The text has a shape only the whole tree answers exactly."""


def _object_start(text: str, i: int) -> tuple[bool, int]:
    """The object opening at ``text[i:]``: whether it has members, and the index of the first one (or the
    index after it, when it is empty)."""
    if text[i : i + 1] != "{":
        raise _NotStreamed
    i = _space(text, i + 1).end()
    more = text[i : i + 1] != "}"
    return more, i if more else i + 1


def _member_key(text: str, i: int) -> tuple[str, int]:
    """A member's key at ``text[i:]`` and the index of its value."""
    if text[i : i + 1] != '"':
        raise _NotStreamed
    key, i = _scanstring(text, i + 1)
    i = _space(text, i).end()
    if text[i : i + 1] != ":":
        raise _NotStreamed
    return key, _space(text, i + 1).end()


def _member_end(text: str, i: int) -> tuple[bool, int]:
    """After a member's value: whether another member follows, and the index of it (or after the object)."""
    i = _space(text, i).end()
    more = text[i : i + 1] == ","
    if not more and text[i : i + 1] != "}":
        raise _NotStreamed
    return more, _space(text, i + 1).end()


def _stream_nested(
    text: str, i: int, nested: str, holder: IdListHolder, global_custom: Mapping[str, Any] | None
) -> tuple[Snapshot, dict[str, Any], int]:
    """The object at ``text[i:]`` with the payload under its key ``nested`` read by `_stream`: (snapshot, its
    other values, the index after it)."""
    outer: dict[str, Any] = {}
    snapshot: Snapshot | None = None
    more, i = _object_start(text, i)
    while more:
        key, i = _member_key(text, i)
        if key in outer or (key == nested and snapshot is not None):
            raise _NotStreamed  # json.loads keeps a repeated key's last value
        if key == nested:
            snapshot, i = _stream(text, i, holder, global_custom, None)
        else:
            outer[key], i = _scan(text, i)
        more, i = _member_end(text, i)
    if snapshot is None:
        raise _NotStreamed
    return snapshot, outer, i


def _stream(
    text: str, i: int, holder: IdListHolder, global_custom: Mapping[str, Any] | None, refuse_key: str | None
) -> tuple[Snapshot, int]:
    """One pass over the payload object at ``text[i:]``: sections entry by entry (each compiled, then dropped), every
    other value decoded whole. What a spec cannot know yet (the gate names, v2's condition_map) is settled
    at the end (`Compiler.settle_gates`, `settle_conditions`); the payload checks run on the other values
    with each section standing in as an empty one. Returns the snapshot and the index after the object."""
    space = _space
    data: dict[str, Any] = {}
    sections: dict[str, dict[str, Spec]] = {"gates": {}, "configs": {}, "layers": {}}
    gate_names: list[str] = []
    fmt = ""
    compiler: Compiler | None = None
    more, i = _object_start(text, i)
    while more:
        key, i = _member_key(text, i)
        if key in data or key == refuse_key:
            raise _NotStreamed  # json.loads keeps a repeated key's last value
        opener = text[i : i + 1]
        if (key in _SECTION_KIND and opener in ("[", "{")) or (key == "condition_map" and opener == "{"):
            if fmt != ("v1" if opener == "[" else "v2"):
                if fmt:
                    raise _NotStreamed  # parts of both formats: the checks refuse it
                fmt = "v1" if opener == "[" else "v2"
                compiler = Compiler(LEGACY if fmt == "v1" else CORE, None, holder.ids, None, global_custom)
                if fmt == "v2":
                    compiler.defer_conditions()
            assert compiler is not None
            data[key] = [] if fmt == "v1" else {}
            i = space(text, i + 1).end()
            if key == "condition_map":
                i = _read_condition_map(text, i, compiler)
            else:
                i = _read_section(text, i, key, fmt, compiler, sections, gate_names)
        else:
            data[key], i = _scan(text, i)
        more, i = _member_end(text, i)
    if compiler is None or (fmt == "v2" and "condition_map" not in data):
        raise _NotStreamed  # no section to read spec by spec
    if data.get("has_updates") is False and not any(s in data for s in parse_v1.SECTIONS):
        raise _NotStreamed
    if detect_format(data) != fmt:
        raise _NotStreamed
    lcut = check_payload(data, fmt)
    parser = parse_v2 if fmt == "v2" else parse_v1
    if fmt == "v2":
        compiler.settle_conditions()
    compiler.settle_gates(frozenset(gate_names), [spec for kind in sections.values() for spec in kind.values()])
    app_id = data.get("app_id")
    if isinstance(app_id, str):
        if compiler.reads_app_id:
            raise _NotStreamed  # its target_app getters were made before the app_id was read
        compiler.app_id = app_id
    return _snapshot(data, compiler.dialect, lcut, parser, compiler, sections, frozenset(), holder), i


_BATCH = 16  # entries decoded, checked for nesting in one call, then compiled and dropped
_BLANK = " \t\n\r"  # json's whitespace ("" is in it too: the end of the text goes through `_space`)


def _read_batch(text: str, i: int, keyed: bool, closer: str) -> tuple[list[tuple[str, Any]], int, bool]:
    """Up to `_BATCH` entries of a section from ``text[i:]``: (key, value) for an object (``keyed``), ("", value)
    for a list; the index after them; whether the section goes on. Their nesting is checked here, under the
    payload and the section. (Whitespace is skipped only where there is some: payloads come compact.)"""
    space = _space
    batch: list[tuple[str, Any]] = []
    key = ""
    more = True
    while more and len(batch) < _BATCH:
        if keyed:
            if text[i : i + 1] != '"':
                raise _NotStreamed
            key, i = _scanstring(text, i + 1)
            if text[i : i + 1] != ":":
                i = space(text, i).end()
                if text[i : i + 1] != ":":
                    raise _NotStreamed
            i += 1
            if text[i : i + 1] in _BLANK:
                i = space(text, i).end()
        value, i = _scan(text, i)
        batch.append((key, value))
        separator = text[i : i + 1]
        if separator in _BLANK:
            i = space(text, i).end()
            separator = text[i : i + 1]
        i += 1
        more = separator == ","
        if not more and separator != closer:
            raise _NotStreamed
        if text[i : i + 1] in _BLANK:
            i = space(text, i).end()
    check_nesting([value for _, value in batch], MAX_NESTING - 1)
    return batch, i, more


def _read_condition_map(text: str, i: int, compiler: Compiler) -> int:
    """Compile v2's condition_map entry by entry from ``text[i:]`` (after its brace); the index after it."""
    seen: set[str] = set()
    more = text[i : i + 1] != "}"
    i = i if more else i + 1
    while more:
        batch, i, more = _read_batch(text, i, True, "}")
        for key, condition in batch:
            if key in seen:
                raise _NotStreamed  # a repeated key: json.loads keeps the last one
            seen.add(key)
            compiler.map_condition(key, condition)
        del batch, condition
    return i


def _read_section(
    text: str,
    i: int,
    section: str,
    fmt: str,
    compiler: Compiler,
    sections: dict[str, dict[str, Spec]],
    gate_names: list[str],
) -> int:
    """Compile the entries of one section from ``text[i:]`` (after its opening bracket); the index after it."""
    compiled = sections[_SECTION_KIND[section]]
    v1 = fmt == "v1"
    closer = "]" if v1 else "}"
    more = text[i : i + 1] != closer
    i = i if more else i + 1
    while more:
        batch, i, more = _read_batch(text, i, not v1, closer)
        for name, spec in batch:
            if type(spec) is not dict:
                raise _NotStreamed
            if v1:
                own = spec.get("name")
                if type(own) is not str:
                    raise _NotStreamed
                name = own
            result = compiler.spec(name, spec, f"{section}.{name}")
            if result.unsupported and compiler.dialect is LEGACY:
                raise _NotStreamed  # the legacy SDK drops it, and the specs naming it see an unknown gate
            if section == "feature_gates":
                gate_names.append(name)
            compiled[name] = result
        del batch, spec
    return i


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

    return _snapshot(data, dialect, lcut, parser, compiler, sections, frozenset(unsupported), holder)


def _snapshot(
    data: Mapping[str, Any],
    dialect: Dialect,
    lcut: int,
    parser: Any,
    compiler: Compiler,
    sections: dict[str, dict[str, Spec]],
    unsupported: frozenset[str],
    holder: IdListHolder,
) -> Snapshot:
    """The snapshot of compiled ``sections`` and the payload's other fields (``data``)."""
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
        unsupported=unsupported,
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
