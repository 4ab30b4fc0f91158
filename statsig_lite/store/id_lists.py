"""ID lists: the file format (`+id` adds, `-id` removes, one change a line) and a compact set of IDs.

An ID-list entry is the first 8 characters of base64(sha256(unit id)): 48 bits. Held as a `frozenset` of
8-character strings that costs ~110 bytes an ID (a 57-byte str, plus the set's slots and spare room); a list
of 3 million IDs took ~330 MB, and building it from a file peaked near 480 MB. Lists of at least
`COMPACT_FROM` IDs are therefore kept as `IdSet`: the 48-bit values sorted in one `array('Q')` (8 bytes an
ID: 24 MB for 3 million) searched with `bisect`, plus a small frozenset for entries that are not such
8-character base64 text (hand-made lists). Smaller lists stay frozensets: their lookups are the fastest.
"""

from __future__ import annotations

import operator
import re
import sys
from array import array
from binascii import Error as _Base64Error
from binascii import a2b_base64, b2a_base64
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from itertools import islice

from .model import IdList

__all__ = ["COMPACT_FROM", "IdSet", "apply_file", "compact_ids"]

COMPACT_FROM = 20_000
"""Lists with at least this many IDs are held as an IdSet."""

# one change: its sign and the ID, surrounding blanks trimmed (the format allows \r\n and stray spaces)
_LINE = re.compile(rb"(?m)^[ \t]*([+-])([^\r\n]*?)[ \t]*(?:\r?\n|\r|$)")


def _packed(text: str | bytes) -> int | None:
    """The 48-bit value of a canonical 8-character base64 entry, else None."""
    if len(text) != 8:
        return None
    try:
        raw = a2b_base64(text)
    except (_Base64Error, ValueError):
        return None
    # a2b_base64 skips characters outside the alphabet, so 6 bytes from 8 characters means all 8 were
    # base64 (no padding); 8 characters carry exactly 48 bits, so the text is the value's only spelling
    return int.from_bytes(raw, "big") if len(raw) == 6 else None


def _text(value: int) -> str:
    return b2a_base64(value.to_bytes(6, "big"), newline=False).decode("ascii")


class IdSet(AbstractSet[str]):
    """An immutable set of ID-list entries: sorted 48-bit values plus the odd entries as strings."""

    __slots__ = ("_others", "_values")

    def __init__(self, values: array[int], others: frozenset[str] = frozenset()) -> None:
        self._values = values  # sorted, unique
        self._others = others

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, str):
            return False  # entries are text: nothing else is a member (and nothing else is hashed)
        value = _packed(item)
        if value is None:
            return item in self._others
        values = self._values
        i = bisect_left(values, value)
        return i < len(values) and values[i] == value

    def __len__(self) -> int:
        return len(self._values) + len(self._others)

    def __iter__(self) -> Iterator[str]:
        for value in self._values:
            yield _text(value)
        yield from self._others

    def __repr__(self) -> str:
        return f"IdSet({len(self)} ids)"

    def __hash__(self) -> int:
        return self._hash()

    def values(self) -> array[int]:
        return self._values


def compact_ids(ids: Iterable[str]) -> AbstractSet[str]:
    """The set of `ids` in the cheaper form for its size."""
    values: array[int] = array("Q")
    others: set[str] = set()
    _current_into(ids, values, others)
    return _build(values, others)


def _build(values: array[int], others: set[str]) -> AbstractSet[str]:
    unique = _sorted_unique(values)
    if len(unique) + len(others) < COMPACT_FROM:
        return frozenset(_text(v) for v in unique) | frozenset(others)
    return IdSet(unique, frozenset(others))


def _sorted_unique(values: array[int]) -> array[int]:
    ordered = sorted(values)  # a transient list of ints: ~40 bytes an ID, freed on return
    if not any(map(operator.eq, ordered, islice(ordered, 1, None))):  # the usual case: no repeats
        return array("Q", ordered)
    out: array[int] = array("Q")
    previous = -1
    for value in ordered:
        if value != previous:
            out.append(value)
            previous = value
    return out


def apply_file(current: IdList, chunk: bytes) -> IdList | None:
    """Apply a downloaded chunk; None when it does not look like an ID-list range (keep what we had).

    Lines apply in order (a later `-id` removes an earlier `+id` and the other way round). The chunk is
    walked twice with a line iterator, never split into one object per line: a 3-million-line file never
    holds 3 million str or bytes objects at once."""
    if not chunk or chunk[:1] not in (b"+", b"-"):
        return None
    values: array[int] = array("Q")
    others: set[str] = set()
    fast = _only_plain_adds(chunk)
    if fast is not None:  # the usual file: "+XXXXXXXX\n" lines only, decoded in a few C calls
        _current_into(current.ids, values, others)
        values.extend(fast)
        return current.advanced(_build(values, others), current.read_bytes + len(chunk))
    # removals are rare: remember, for each removed key, the offset of its last removal
    removed: dict[object, int] = {}
    for found in _LINE.finditer(chunk):
        if found[1] == b"-" and found[2]:
            removed[_key(found[2])] = found.start()
    if removed:
        for key in _surviving_current(current.ids, removed):
            if isinstance(key, int):
                values.append(key)
            else:
                others.add(str(key))
    else:
        _current_into(current.ids, values, others)
    for found in _LINE.finditer(chunk):
        if found[1] != b"+" or not found[2]:
            continue
        key = _key(found[2])
        if removed.get(key, -1) > found.start():
            continue  # removed again further down
        if isinstance(key, int):
            values.append(key)
        else:
            others.add(str(key))
    return current.advanced(_build(values, others), current.read_bytes + len(chunk))


_PLAIN_LINE = 10  # b"+" + 8 base64 characters + b"\n"


def _only_plain_adds(chunk: bytes) -> array[int] | None:
    """The values of a chunk made only of "+XXXXXXXX\\n" lines of canonical base64, else None."""
    count, rest = divmod(len(chunk), _PLAIN_LINE)
    if rest or chunk[0::_PLAIN_LINE] != b"+" * count or chunk[_PLAIN_LINE - 1 :: _PLAIN_LINE] != b"\n" * count:
        return None
    gathered = bytearray(8 * count)  # the 8 characters of every line, side by side
    for char in range(8):
        gathered[char::8] = chunk[1 + char :: _PLAIN_LINE]
    text = bytes(gathered)
    try:
        raw = a2b_base64(text)
    except (_Base64Error, ValueError):
        return None
    if len(raw) != 6 * count:
        return None  # a character outside the alphabet (a2b_base64 skipped it): the line-by-line path decides
    wide = bytearray(8 * count)  # each 6-byte big-endian value widened to 8 bytes, still big-endian
    for byte in range(6):
        wide[2 + byte :: 8] = raw[byte::6]
    values: array[int] = array("Q")
    values.frombytes(bytes(wide))
    if sys.byteorder == "little":
        values.byteswap()
    return values


def _current_into(ids: Iterable[str], values: array[int], others: set[str]) -> None:
    if isinstance(ids, IdSet):
        values.extend(ids.values())
        others.update(ids._others)
        return
    for entry in ids:
        packed = _packed(entry)
        if packed is None:
            others.add(entry)
        else:
            values.append(packed)


def _key(ident: bytes) -> int | str:
    value = _packed(ident)
    return value if value is not None else ident.decode("utf-8", "replace")


def _surviving_current(ids: AbstractSet[str], removed: dict[object, int]) -> Iterator[object]:
    if isinstance(ids, IdSet):
        for value in ids.values():
            if value not in removed:
                yield value
        for entry in ids._others:
            if entry not in removed:
                yield entry
        return
    for entry in ids:
        packed = _packed(entry)
        key: object = packed if packed is not None else entry
        if key not in removed:
            yield key
