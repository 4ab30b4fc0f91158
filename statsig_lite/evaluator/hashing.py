"""Statsig's hashes: salted sha256 buckets, ID-list ids, djb2 and name hashing for GCIR."""

from __future__ import annotations

from base64 import b64encode
from functools import lru_cache
from hashlib import sha256

_TWO_TO_THE_63 = 1 << 63
_TWO_TO_THE_64 = 1 << 64


@lru_cache(maxsize=65536)
def eval_hash(text: str) -> int:
    """First 8 bytes of sha256(text), big-endian, as an unsigned 64-bit integer.

    Memoised (bounded): the same unit meets the same rule salt on every check it repeats, and a cache hit
    costs a fraction of a sha256 (statsig-python-core memoises these hashes too)."""
    return int.from_bytes(sha256(text.encode("utf-8")).digest()[:8], "big")


def id_list_hash(unit_id: str) -> str:
    """The 8-character id under which a unit appears in an ID-list file."""
    return b64encode(sha256(unit_id.encode("utf-8")).digest()).decode("ascii")[:8]


@lru_cache(maxsize=16384)  # GCIR hashes every spec and gate name on every call
def djb2(text: str) -> str:
    h = 0
    for ch in text:
        h = (h * 31 + ord(ch)) & 0xFFFFFFFF
    return str(h)


@lru_cache(maxsize=16384)
def sha256_b64(text: str) -> str:
    return b64encode(sha256(text.encode("utf-8")).digest()).decode("ascii")


def signed_hash(text: str) -> int:
    """eval_hash read as a two's-complement signed 64-bit integer (exposure sampling)."""
    n = eval_hash(text)
    return n - _TWO_TO_THE_64 if n >= _TWO_TO_THE_63 else n
