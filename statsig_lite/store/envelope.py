"""The snapshot document our refresher writes: a download_config_specs payload plus its ID lists.

    {"statsig_lite_snapshot": 1, "created_at": <ms>, "dcs": {...payload...},
     "id_lists": {"<name>": {"ids": [...], "file_id": "...", "creation_time": 0, "read_bytes": 0, "url": "..."}},
     "allow_shrink": true}   <- only when an operator forced a shrink (see `validate`): readers take it too

A raw download_config_specs payload is accepted wherever a snapshot is (it simply has no ID lists).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from .._gc import PausedCollector
from .._record import Record
from ..errors import SpecFormatError
from .model import IdList, Snapshot
from .snapshot import decode_payload, load_snapshot, stream_document, stream_snapshot

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

ENVELOPE_KEY = "statsig_lite_snapshot"
ENVELOPE_VERSION = 1
_MARK = f'"{ENVELOPE_KEY}"'
_MARK_BYTES = _MARK.encode()


def load_envelope(
    raw: bytes | str | Mapping[str, Any], *, global_custom: Mapping[str, Any] | None = None
) -> Snapshot:
    """Decode and compile a snapshot (our envelope or a raw payload), with the collector paused throughout."""
    if not isinstance(raw, Mapping):
        read = _streamed(raw, global_custom)
        if read is not None:
            return read.snapshot
    with PausedCollector():
        dcs, id_lists = split_snapshot(raw)
        return load_snapshot(dcs, id_lists=id_lists, global_custom=global_custom)


class ReadSnapshot(Record):
    """A loaded snapshot and what its document said about it."""

    __slots__ = ("allow_shrink", "has_id_lists", "snapshot")

    def __init__(self, snapshot: Snapshot, has_id_lists: bool, allow_shrink: bool) -> None:
        self.snapshot = snapshot
        self.has_id_lists = has_id_lists  # our envelope: the ID lists travel with the rules
        self.allow_shrink = allow_shrink


def read_snapshot(
    raw: bytes | str | Mapping[str, Any], *, global_custom: Mapping[str, Any] | None = None
) -> ReadSnapshot:
    """`load_envelope`, plus whether the document carried its ID lists and allows a shrink."""
    if not isinstance(raw, Mapping):
        read = _streamed(raw, global_custom)
        if read is not None:
            return read
    with PausedCollector():
        document = decode_payload(raw)
        dcs, id_lists = split_snapshot(document)
        # decoded here for this load only: its specs may be emptied as they compile (load_snapshot)
        again = None if isinstance(raw, Mapping) else (lambda: split_snapshot(raw)[0])
        snapshot = load_snapshot(dcs, id_lists=id_lists, global_custom=global_custom, decode_again=again)
        envelope = is_envelope(document)
        return ReadSnapshot(snapshot, envelope, envelope and document.get("allow_shrink") is True)


def _streamed(raw: bytes | str, global_custom: Mapping[str, Any] | None) -> ReadSnapshot | None:
    """The text read spec by spec (`snapshot.stream_document`): a raw payload, or our envelope with its payload
    under "dcs" (its other fields checked as `split_snapshot` does); None where the whole tree must decide."""
    marked = _MARK_BYTES in raw if isinstance(raw, bytes) else _MARK in raw  # else the nested read would not do
    if not marked:
        streamed = stream_snapshot(raw, global_custom=global_custom, refuse_key=ENVELOPE_KEY)
        return None if streamed is None else ReadSnapshot(streamed, False, False)
    read = stream_document(raw, global_custom=global_custom, nested="dcs")
    if read is None:
        return None
    snapshot, outer = read
    try:
        _, lists = split_snapshot({**outer, "dcs": {}})  # the envelope's own checks, and its ID lists
    except SpecFormatError:
        return None
    if not is_envelope(outer):
        return None
    snapshot.id_lists.replace(lists)  # read at evaluation time: the rules compiled before the lists came
    return ReadSnapshot(snapshot, True, outer.get("allow_shrink") is True)


def is_envelope(document: Mapping[str, Any]) -> bool:
    return ENVELOPE_KEY in document


def split_snapshot(raw: bytes | str | Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, IdList]]:
    """(download_config_specs payload, ID lists) from an envelope or a raw payload."""
    document = decode_payload(raw)
    if not is_envelope(document):
        return document, {}
    if document.get(ENVELOPE_KEY) != ENVELOPE_VERSION:
        raise SpecFormatError(ENVELOPE_KEY, f"unsupported snapshot version {document.get(ENVELOPE_KEY)!r}")
    dcs = document.get("dcs")
    if not isinstance(dcs, Mapping):
        raise SpecFormatError("dcs", "missing or not an object")
    lists_raw = document.get("id_lists") or {}
    if not isinstance(lists_raw, Mapping):
        raise SpecFormatError("id_lists", "not an object")
    lists: dict[str, IdList] = {}
    if lists_raw:
        from .id_lists import compact_ids  # only a snapshot that carries ID lists loads it
    for name, entry in lists_raw.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("ids"), list):
            raise SpecFormatError(f"id_lists.{name}", "expected an object with an ids list")
        try:
            lists[name] = IdList(
                name=name,
                ids=compact_ids(str(i) for i in entry["ids"]),  # an IdSet for large lists (id_lists.py)
                file_id=str(entry.get("file_id", "")),
                creation_time=int(entry.get("creation_time", 0)),
                read_bytes=int(entry.get("read_bytes", 0)),
                url=str(entry.get("url", "")),
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise SpecFormatError(f"id_lists.{name}", f"bad field: {exc}") from None
    return dcs, lists


def encode_snapshot(
    dcs: Mapping[str, Any], id_lists: Mapping[str, IdList], created_at: int, *, allow_shrink: bool = False
) -> bytes:
    """Deterministic bytes (sorted keys and ids), so an unchanged project gives an unchanged object."""
    document: dict[str, Any] = {
        ENVELOPE_KEY: ENVELOPE_VERSION,
        "created_at": created_at,
        "dcs": dcs,
        "id_lists": {
            name: {
                "ids": sorted(entry.ids),
                "file_id": entry.file_id,
                "creation_time": entry.creation_time,
                "read_bytes": entry.read_bytes,
                "url": entry.url,
            }
            for name, entry in sorted(id_lists.items())
        },
    }
    if allow_shrink:
        document["allow_shrink"] = True
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
