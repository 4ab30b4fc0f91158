"""The (prefix, unit) hash memo and the per-prefix sha256 states (issue 16) against hostile units and threads:
whatever the unit's class says about its equality, and however the prefix table is cleared while others hash,
a rule's or bucket's hash is sha256 of the joined text, as the official SDKs compute it."""

from __future__ import annotations

import hashlib
import sys
import threading
from typing import Any

import pytest

from statsig_lite import HashingAlgorithm, StatsigOptions, StatsigServer, StatsigUser
from statsig_lite.evaluator import hashing
from tests.differential.specs import cond, gate, payload, rule
from tests.evaluator.folded import Folded


def _expected(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")



def _server(spec: dict[str, Any]) -> StatsigServer:
    server = StatsigServer()
    details = server.initialize("secret-review", StatsigOptions(
        bootstrap_values=__import__("json").dumps(payload([spec], [], [])), local_mode=True))
    assert details.init_success
    return server


@pytest.mark.parametrize("id_type", ["userID", "companyID"])
def test_units_that_compare_equal_but_differ_in_text_hash_apart(id_type: str) -> None:
    # a 50% rule and a user_bucket condition: each unit must get the bucket of its own text, whatever unit of
    # equal-comparing text was hashed before it
    spec = gate("half", [rule("r", [cond("public")], pct=50, idType=id_type)])
    bucket = gate("bucket", [rule("b", [cond("user_bucket", "lt", 500, None, id_type,
                                             additionalValues={"salt": "bs"})], idType=id_type)])
    names = [f"Member-{i}" for i in range(200)]

    def user(text: str) -> StatsigUser:
        unit = Folded(text)
        return StatsigUser(user_id=unit) if id_type == "userID" else StatsigUser(custom_ids={id_type: unit})

    for g in (spec, bucket):
        server = _server(g)
        want = {t: server.check_gate(StatsigUser(user_id=t) if id_type == "userID"
                                     else StatsigUser(custom_ids={id_type: t}), g["name"])
                for t in [*names, *(n.lower() for n in names)]}
        hashing.forget_salted_hashes()
        for text in names:  # upper-case texts first: the lower-case ones then meet them in the memo
            assert server.check_gate(user(text), g["name"]) == want[text]
        for text in (n.lower() for n in names):
            assert server.check_gate(user(text), g["name"]) == want[text], text
        assert any(want[n] != want[n.lower()] for n in names)  # the grid does tell the two apart
        server.shutdown()


@pytest.mark.parametrize("as_text", [True, False], ids=["text", "dict"])
def test_units_that_compare_equal_but_differ_in_text_hash_apart_in_a_client_initialize_response(
    as_text: bool,
) -> None:
    # the same through GCIR (its settled specs decide the pass percentage on their own: gcir._decide)
    spec = gate("half", [rule("r", [cond("public")], pct=50)])
    bucket = gate("bucket", [rule("b", [cond("user_bucket", "lt", 500, None, "userID",
                                             additionalValues={"salt": "bs"})])])
    server = StatsigServer(clock=lambda: 1_765_000_000.0)
    server.initialize("secret-review", StatsigOptions(
        bootstrap_values=__import__("json").dumps(payload([spec, bucket], [], [])), local_mode=True))
    names = [f"Member-{i}" for i in range(100)]
    texts = [*names, *(n.lower() for n in names)]

    def values(user: StatsigUser) -> dict[str, bool]:
        if as_text:
            response = __import__("json").loads(
                server.get_client_initialize_response_json(user, hash=HashingAlgorithm.NONE))
        else:
            response = server.get_client_initialize_response(user, hash=HashingAlgorithm.NONE)
        return {k: v["value"] for k, v in response["feature_gates"].items()}

    want = {t: values(StatsigUser(user_id=t)) for t in texts}
    hashing.forget_salted_hashes()
    assert [values(StatsigUser(user_id=Folded(t))) for t in texts] == [want[t] for t in texts]
    assert any(want[n] != want[n.lower()] for n in names)
    server.shutdown()


def test_salted_hash_is_exact_while_other_threads_clear_the_prefix_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "_STATES_MAX", 3)  # the table is cleared every few new prefixes
    monkeypatch.setattr(sys, "getswitchinterval", sys.getswitchinterval)
    prefixes = [f"spec{i}.rule{i}." + "s" * (i % 90) for i in range(40)]
    units = [f"user-{i}" for i in range(150)]
    wrong: list[tuple[str, str, int]] = []
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    try:
        hashing.forget_salted_hashes()

        def work(offset: int) -> None:
            for n, unit in enumerate(units):
                prefix = prefixes[(n + offset) % len(prefixes)]
                got = hashing.salted_hash(prefix, unit)
                if got != _expected(prefix + unit):
                    wrong.append((prefix, unit, got))
                if n % 7 == offset:
                    hashing.forget_salted_hashes()  # a miss next time: from the (maybe cleared) table

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
        hashing.forget_salted_hashes()
    assert wrong == []
    assert len(hashing._STATES) <= 3
