"""Statsig's hashes: salted sha256 buckets, ID-list ids, djb2 and name hashing for GCIR."""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Callable
from functools import lru_cache
from itertools import count

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from hashlib import _Hash
    from typing import Final


def _builtin_sha256() -> Callable[[bytes], _Hash]:
    # CPython's own sha256 (`_sha2` from 3.12, `_sha256` before): hashlib would load OpenSSL for the same
    # digest, about 4 MB resident and 2 ms of import, and is no faster on the short strings hashed here.
    for module in ("_sha2", "_sha256"):
        try:
            return __import__(module).sha256  # type: ignore[no-any-return]
        except (ImportError, AttributeError):
            continue
    from hashlib import sha256

    return sha256


sha256: Final = _builtin_sha256()

_TWO_TO_THE_63 = 1 << 63
_TWO_TO_THE_64 = 1 << 64


@lru_cache(maxsize=65536)
def eval_hash(text: str) -> int:
    """First 8 bytes of sha256(text), big-endian, as an unsigned 64-bit integer.

    Memoised (bounded): the same unit meets the same rule salt on every check it repeats, and a cache hit
    costs a fraction of a sha256 (statsig-python-core memoises these hashes too)."""
    return int.from_bytes(sha256(text.encode("utf-8")).digest()[:8], "big")


# sha256 after each salt prefix ("{spec salt}.{rule salt}." or "{salt}."), made on the prefix's first hash: a
# hash then copies it and feeds only the unit. Two UUID salts are 74 bytes, a whole block more than the
# unit's: half the work of hashing the joined text (~0.4 us). ~150 bytes a prefix, bounded.
_STATES: dict[str, _Hash] = {}
_STATES_MAX = 16384


# the memo of salted_hash: {prefix: {unit: hash}}. Dicts of str -> int hold nothing the cyclic collector
# tracks (an lru_cache keeps a key tuple and a link per pair: two tracked objects per new pair, which set how
# often checks pay a collection); cleared whole past _HASHES_MAX, as _STATES is. A pair weighs 1 per 64
# characters of its unit, begun: the memo keeps its units alive, so a long ID must not hold 65,536 of them
# (~8 MB at most: ~110 bytes a short pair).
_HASHES: dict[str, dict[str, int]] = {}
_HASHES_MAX = 65536
# the weight held: a pair's first 1 is counted by next() (one C call: a miss is most of a large spec's check
# and an int kept in a global or a list costs it ~2x that); a unit of 64+ characters adds the rest (_weigh)
_tick = count(1)
_from_bytes: Final = int.from_bytes  # read from the type at each call, a bound method is made each time


# the memo's {unit: hash} of a prefix, None before its first hash: a caller that hashes one prefix over and over
# (a bucket getter) reads a hit without salted_hash's frame, and gives a miss to salted_hash_into
memo_of: Final = _HASHES.get


def salted_hash(prefix: str, unit: str) -> int:
    """eval_hash(prefix + unit), memoised by the pair: no joined text is built or hashed to find it (both
    strings' hashes are cached by Python). `unit` must be an exact str (`unit_text`): the memo compares its
    keys, and a str subclass may compare equal to another text."""
    units = _HASHES.get(prefix)
    if units is None:
        units = _HASHES[prefix] = {}
    else:
        found = units.get(unit)
        if found is not None:
            return found
    # salted_hash_into's body, inline: a miss costs no second frame (keep the two alike)
    state = _STATES.get(prefix)
    if state is None:
        state = _prefix_state(prefix)
    state = state.copy()
    state.update(unit.encode())
    value = units[unit] = _from_bytes(state.digest()[:8], "big")
    if next(_tick) >= _HASHES_MAX or len(unit) > 63:
        _weigh(unit)
    return value


def salted_hash_into(units: dict[str, int] | None, prefix: str, unit: str) -> int:
    """salted_hash(prefix, unit) after a miss in `units`, its memo_of(prefix) (None: none yet)."""
    if units is None:
        units = _HASHES[prefix] = {}
    state = _STATES.get(prefix)
    if state is None:
        state = _prefix_state(prefix)
    state = state.copy()
    state.update(unit.encode())
    value = units[unit] = _from_bytes(state.digest()[:8], "big")
    if next(_tick) >= _HASHES_MAX or len(unit) > 63:
        _weigh(unit)
    return value


def _prefix_state(prefix: str) -> _Hash:
    """A prefix's first hash: its sha256 state, kept (the table is emptied whole past its bound)."""
    if len(_STATES) >= _STATES_MAX:
        _STATES.clear()
    state = _STATES[prefix] = sha256(prefix.encode())
    return state


def _weigh(unit: str) -> None:
    """A pair was memoised and counted 1: its unit's length adds the rest of its weight (1 per 64 characters,
    begun); the memo is emptied once what it holds reaches _HASHES_MAX."""
    global _tick
    extra = len(unit) // 64
    held = next(_tick) - 1 + extra  # next() counted this call: not held
    if held >= _HASHES_MAX:
        _tick = count(1)
        _HASHES.clear()
    elif extra:
        _tick = count(held + 1)


def forget_salted_hashes() -> None:
    """Empty salted_hash's memo and prefix states (benchmarks of a cold hash, tests)."""
    global _tick
    _HASHES.clear()
    _STATES.clear()
    _tick = count(1)


def unit_text(unit: object) -> str:
    """The text a unit that is not an exact str hashes as: its str(), as an exact str ("" for none). str() of a
    str subclass may be the object itself, whose equality (say, case-insensitive) would meet another unit's
    entry in salted_hash's memo; the joined text the official SDKs hash has no such equality."""
    if unit is None:
        return ""
    text = str(unit)
    return text if type(text) is str else str.__str__(text)


def id_list_hash(unit_id: str) -> str:
    """The 8-character id under which a unit appears in an ID-list file."""
    return b2a_base64(sha256(unit_id.encode("utf-8")).digest(), newline=False).decode("ascii")[:8]


@lru_cache(maxsize=16384)  # GCIR hashes every spec and gate name on every call
def djb2(text: str) -> str:
    h = 0
    for ch in text:
        h = (h * 31 + ord(ch)) & 0xFFFFFFFF
    return str(h)


@lru_cache(maxsize=16384)
def sha256_b64(text: str) -> str:
    return b2a_base64(sha256(text.encode("utf-8")).digest(), newline=False).decode("ascii")


def signed_hash(text: str) -> int:
    """eval_hash read as a two's-complement signed 64-bit integer (exposure sampling)."""
    n = eval_hash(text)
    return n - _TWO_TO_THE_64 if n >= _TWO_TO_THE_63 else n
