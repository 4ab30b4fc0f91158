"""The hashes Statsig defines, computed without OpenSSL, against hashlib and known values."""

from __future__ import annotations

import base64
import hashlib

import pytest

from statsig_lite.evaluator import hashing

TEXTS = ["", "a", "user-123", "salt.rule.user-ünïcode-🙂", "x" * 1000]


@pytest.mark.parametrize("text", TEXTS)
def test_hashes_match_hashlib(text: str) -> None:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    hashing.eval_hash.cache_clear()
    assert hashing.eval_hash(text) == int.from_bytes(digest[:8], "big")
    assert hashing.sha256_b64(text) == base64.b64encode(digest).decode("ascii")
    assert hashing.id_list_hash(text) == base64.b64encode(digest).decode("ascii")[:8]


def test_known_values() -> None:
    # djb2 as the client SDKs compute it, and a signed hash that wraps past 2**63
    assert hashing.djb2("a") == "97"
    assert hashing.djb2("test_gate") == str(_djb2_reference("test_gate"))
    n = hashing.eval_hash("salt.1")
    assert hashing.signed_hash("salt.1") == (n - (1 << 64) if n >= 1 << 63 else n)


def test_import_does_not_load_openssl() -> None:
    import subprocess
    import sys

    code = "import sys, statsig_lite.evaluator.hashing; print('_hashlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _djb2_reference(text: str) -> int:
    h = 0
    for b in text.encode("utf-16-be")[1::2]:  # ASCII names: one code unit per character
        h = ((h << 5) - h + b) & 0xFFFFFFFF
    return h


PREFIXES = [
    "", "s.", "spec-salt.rule-salt.", "0123abcd-0000-4000-a000-000000000000.0123abcd-0000-4000-a000-000000000001.",
    "ü" * 40 + ".", "x" * 63, "x" * 64, "x" * 65, "x" * 200,
]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("unit", ["", "user_1", "ünïcode-🙂", "y" * 100])
def test_salted_hash_is_the_hash_of_the_joined_text(prefix: str, unit: str) -> None:
    # from the prefix's kept sha256 state, on a first call and from the memo
    hashing.forget_salted_hashes()
    expected = int.from_bytes(hashlib.sha256((prefix + unit).encode("utf-8")).digest()[:8], "big")
    assert hashing.salted_hash(prefix, unit) == expected
    assert hashing.salted_hash(prefix, unit) == expected
    assert hashing.salted_hash(prefix, unit + "z") == int.from_bytes(
        hashlib.sha256((prefix + unit + "z").encode("utf-8")).digest()[:8], "big")


def test_salted_hash_raises_as_the_joined_text_does() -> None:
    # a lone surrogate (JSON can carry one) cannot be UTF-8 encoded: the legacy SDK's evaluation fails there
    with pytest.raises(UnicodeEncodeError):
        hashing.salted_hash("x" * 80, "\ud800")
    with pytest.raises(UnicodeEncodeError):
        hashing.salted_hash("\ud800" * 70, "u")


def test_salted_hash_memo_is_bounded_and_invisible_to_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    # the memo holds str -> int only: nothing the cyclic collector tracks per pair (whose allocations set how
    # often a check pays a collection), and it is emptied whole past its bound
    import gc

    hashing.forget_salted_hashes()
    monkeypatch.setattr(hashing, "_HASHES_MAX", 50)
    prefixes = [f"salt-{i}." for i in range(3)]
    for i in range(49):
        hashing.salted_hash(prefixes[i % 3], f"unit-{i}")
    held = sum(len(units) for units in hashing._HASHES.values())
    assert held == 49
    assert not any(gc.is_tracked(units) for units in hashing._HASHES.values())
    hashing.salted_hash(prefixes[0], "unit-49")  # the 50th pair: emptied
    assert sum(len(units) for units in hashing._HASHES.values()) == 0
    expected = int.from_bytes(hashlib.sha256(b"salt-1.unit-4").digest()[:8], "big")
    assert hashing.salted_hash("salt-1.", "unit-4") == expected  # and filled again from the kept states


def test_salted_hash_memo_weighs_a_long_unit_by_its_length(monkeypatch: pytest.MonkeyPatch) -> None:
    # the memo keeps its units alive: 65,536 IDs of 10 KB would be 640 MB, so a unit weighs 1 per 64 characters
    hashing.forget_salted_hashes()
    monkeypatch.setattr(hashing, "_HASHES_MAX", 100)
    for i in range(9):
        hashing.salted_hash("salt.", f"{i}" * 640)  # 1 + 640 // 64 = 11 each: 99 held
    assert len(hashing._HASHES["salt."]) == 9
    hashing.salted_hash("salt.", "x" * 64)  # weighs 2: past the bound, emptied
    assert not hashing._HASHES
