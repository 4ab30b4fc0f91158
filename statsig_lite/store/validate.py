"""Is a snapshot sane? One set of checks for the refresher (before it writes), the SDK (before it loads)
and ``python -m statsig_lite validate``.

Two kinds of check:

- on the payload alone (`check_payload`, run by every load through `snapshot.load_snapshot`): at most
  `MAX_SNAPSHOT_BYTES` of JSON, nested at most `MAX_NESTING` deep, a finite, non-negative ``time``, and
  the sections the format requires present with the right type (``feature_gates``, ``dynamic_configs``,
  ``layer_configs``: lists in v1, objects in v2; v2 also ``condition_map``). Empty sections are fine (a
  project may have no layers); missing or ``null`` ones are not: Statsig always sends them.
- against what is held (`check_replacement`): ``time`` not after now plus `MAX_FUTURE_SKEW_MS`, not older
  than the held snapshot, and no collapse: a section that held entities may not become empty, and may not
  lose more than half of them when that is more than `SHRINK_TOLERANCE` entities, unless the operator
  allows it (``STATSIG_ALLOW_SNAPSHOT_SHRINK=true`` for the refresher and the SDK, ``--allow-shrink`` for
  the CLI; a snapshot the refresher wrote that way carries ``"allow_shrink": true`` so readers take it).

A held snapshot whose ``time`` is itself after now plus the skew is *absurd*: it is not a reference for
either check, so it never pins anything and the next sane payload replaces it.

A refusal raises `SnapshotRefused` (a `SpecFormatError`) whose ``code`` names the rule broken.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .._record import Record
from ..errors import SpecFormatError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any, Final

MAX_SNAPSHOT_BYTES: Final = 64 * 1024 * 1024  # JSON text; the largest real projects are a few tens of MB
MAX_NESTING: Final = 100  # containers inside containers; real payloads nest under 10 (values included)
MAX_FUTURE_SKEW_MS: Final = 10 * 60 * 1000  # a payload's time may be this far ahead of our clock
SHRINK_TOLERANCE: Final = 10  # a section may always lose this many entities
ENV_ALLOW_SHRINK: Final = "STATSIG_ALLOW_SNAPSHOT_SHRINK"
SECTIONS: Final = ("feature_gates", "dynamic_configs", "layer_configs")
_KINDS: Final = {"feature_gates": "gates", "dynamic_configs": "configs", "layer_configs": "layers"}


class SnapshotRefused(SpecFormatError):
    """A payload that parses, or would, but is not sane (see the module docstring); ``code`` says which rule.

    Codes: ``too_large``, ``too_deep``, ``bad_time``, ``missing_section``, ``future_time``, ``older``,
    ``collapse``."""

    def __init__(self, code: str, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.code = code


class Summary(Record):
    """What a comparison needs from a snapshot: its time and how many entities each section holds."""

    __slots__ = ("configs", "gates", "layers", "time")

    def __init__(self, time: int, gates: int, configs: int, layers: int) -> None:
        self.time = time
        self.gates = gates
        self.configs = configs
        self.layers = layers

    @classmethod
    def of(cls, snapshot: Any) -> Summary:
        return cls(snapshot.time, len(snapshot.gates), len(snapshot.configs), len(snapshot.layers))


def allow_shrink_from(environ: Mapping[str, str]) -> bool:
    return environ.get(ENV_ALLOW_SHRINK, "").strip().lower() in ("1", "true", "yes", "on")


def check_size(size: int) -> None:
    if size > MAX_SNAPSHOT_BYTES:
        raise SnapshotRefused("too_large", "", f"payload is {size} bytes, more than {MAX_SNAPSHOT_BYTES}")


def check_payload(data: Mapping[str, Any], fmt: str) -> int:
    """The checks on the payload alone (``fmt`` "v1"/"v2" as detected); returns its ``time`` as an int."""
    check_nesting(data)
    lcut = data.get("time")
    if isinstance(lcut, bool) or not isinstance(lcut, (int, float)):
        raise SnapshotRefused("bad_time", "time", "missing or not a number")
    if isinstance(lcut, float) and not math.isfinite(lcut):
        raise SnapshotRefused("bad_time", "time", f"not a finite number ({lcut})")
    if lcut < 0:
        raise SnapshotRefused("bad_time", "time", f"negative ({lcut})")
    expected = list if fmt == "v1" else Mapping
    required = SECTIONS if fmt == "v1" else (*SECTIONS, "condition_map")
    for section in required:
        value = data.get(section)
        if value is None:
            state = "null" if section in data else "missing"
            raise SnapshotRefused("missing_section", section, f"{state} (a {fmt} payload always has it)")
        if not isinstance(value, expected):
            kind = "a list" if fmt == "v1" else "an object"
            raise SnapshotRefused("missing_section", section, f"expected {kind} ({fmt} format)")
    return int(lcut)


def check_nesting(data: Mapping[str, Any] | list[Any], limit: int = MAX_NESTING) -> None:
    """Level by level (a recursive walk is what a deep payload would break); exact types, as JSON decodes
    them: about 3% of a load's time. ``limit``: the levels left for ``data`` (a part of a payload has fewer)."""
    level: list[Any] = [data if type(data) in (dict, list) else dict(data)]
    depth = 1
    while level:
        if depth > limit:
            raise SnapshotRefused("too_deep", "", f"nested more than {MAX_NESTING} levels deep")
        below: list[Any] = []
        keep = below.append
        for value in level:
            for child in value.values() if type(value) is dict else value:
                kind = type(child)
                if kind is dict or kind is list:
                    keep(child)
        level = below
        depth += 1


def is_absurd(time_ms: int, now_ms: int) -> bool:
    """A held snapshot dated after now plus the skew: no reference for anything (it must not pin)."""
    return time_ms > now_ms + MAX_FUTURE_SKEW_MS


def check_replacement(new: Summary, held: Summary | None, now_ms: int, *, allow_shrink: bool = False) -> None:
    """May ``new`` replace ``held`` (None: nothing held) at wall-clock ``now_ms``? Raises SnapshotRefused."""
    if is_absurd(new.time, now_ms):
        raise SnapshotRefused(
            "future_time", "time", f"{new.time} is after now ({now_ms}) plus {MAX_FUTURE_SKEW_MS} ms"
        )
    if held is None or is_absurd(held.time, now_ms):
        return
    if new.time < held.time:
        raise SnapshotRefused("older", "time", f"older than the held snapshot ({new.time} < {held.time})")
    if allow_shrink:
        return
    for kind in _KINDS.values():
        before, after = getattr(held, kind), getattr(new, kind)
        if before and not after:
            raise SnapshotRefused("collapse", kind, f"all {before} {kind} gone (set {ENV_ALLOW_SHRINK}=true if meant)")
        if before - after > SHRINK_TOLERANCE and after * 2 < before:
            raise SnapshotRefused(
                "collapse", kind, f"{before} {kind} down to {after} (set {ENV_ALLOW_SHRINK}=true if meant)"
            )


__all__ = [
    "ENV_ALLOW_SHRINK",
    "MAX_FUTURE_SKEW_MS",
    "MAX_NESTING",
    "MAX_SNAPSHOT_BYTES",
    "SnapshotRefused",
    "Summary",
    "allow_shrink_from",
    "check_nesting",
    "check_payload",
    "check_replacement",
    "check_size",
    "is_absurd",
]
