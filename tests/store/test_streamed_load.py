"""A payload's text is read spec by spec (`stream_snapshot`); the result must be the snapshot the whole decoded
tree gives, field by field, and whatever that path cannot answer exactly must load (or fail) as before.

`same` compares two compiled snapshots structurally: every slot of every spec, rule and condition, and each
getter or predicate by its code and the values it closes over (two loads make different function objects).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from statsig_lite.errors import SpecFormatError
from statsig_lite.store.envelope import encode_snapshot, load_envelope, read_snapshot
from statsig_lite.store.model import IdList
from statsig_lite.store.snapshot import _load, decode_payload, load_snapshot, stream_snapshot
from tests.differential.generate import random_payload
from tests.differential.harness import to_v2
from tests.differential.specs import cond, config, gate, payload, rule

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


def same(a: Any, b: Any, path: str = "snapshot", seen: set[tuple[int, int]] | None = None) -> str | None:
    """None when ``a`` and ``b`` are the same compiled structure, else the path of the first difference."""
    seen = set() if seen is None else seen
    if (id(a), id(b)) in seen or a is b:
        return None
    seen.add((id(a), id(b)))
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, (dict, list, tuple)) and not hasattr(a, "_fields"):
        if len(a) != len(b):
            return f"{path}: {len(a)} != {len(b)} items"
        if isinstance(a, dict):
            if list(a) != list(b):
                return f"{path}: keys {list(a)[:5]} != {list(b)[:5]}"
            pairs = [(f"{path}[{k!r}]", a[k], b[k]) for k in a]
        else:
            pairs = [(f"{path}[{i}]", x, y) for i, (x, y) in enumerate(zip(a, b, strict=True))]
        for where, x, y in pairs:
            found = same(x, y, where, seen)
            if found:
                return found
        return None
    if callable(a) and hasattr(a, "__code__"):
        if a.__code__ is not b.__code__:
            return f"{path}: function {a.__code__.co_name} != {b.__code__.co_name}"
        cells_a = [c.cell_contents for c in a.__closure__ or ()]
        cells_b = [c.cell_contents for c in b.__closure__ or ()]
        return same((cells_a, a.__defaults__), (cells_b, b.__defaults__), f"{path}<{a.__code__.co_name}>", seen)
    if hasattr(a, "__self__") and hasattr(a, "__func__"):  # a bound method: its function and object
        return same((a.__func__, a.__self__), (b.__func__, b.__self__), path, seen)
    slots = [s for cls in type(a).__mro__ for s in getattr(cls, "__slots__", ())]
    if slots or hasattr(a, "__dict__"):
        names = slots + sorted(getattr(a, "__dict__", {}))
        for name in names:
            found = same(getattr(a, name, None), getattr(b, name, None), f"{path}.{name}", seen)
            if found:
                return found
        return None
    return None if a == b or (a != a and b != b) else f"{path}: {a!r} != {b!r}"


def whole(text: str) -> Any:
    """The snapshot of the whole decoded tree (released as it compiles, as a load of text always was)."""
    return _load(decode_payload(text), None, None, True)


def _conformance_payloads() -> list[tuple[str, str]]:
    return [(p.parent.name, p.read_text()) for p in sorted(CONFORMANCE.glob("*/dcs.json"))]


def _random_payloads() -> list[tuple[str, str]]:
    out = []
    for seed in range(1, 41):
        v1 = random_payload(random.Random(seed))
        out.append((f"seed{seed}-v1", json.dumps(v1)))
        out.append((f"seed{seed}-v2", json.dumps(to_v2(v1))))
    return out


_LOADS = _conformance_payloads() + _random_payloads()


@pytest.mark.parametrize(("label", "text"), _LOADS, ids=[label for label, _ in _LOADS])
def test_streamed_load_is_the_whole_tree_load(label: str, text: str) -> None:
    expected = whole(text)
    streamed = stream_snapshot(text)
    if expected.unsupported and expected.format == "v1":  # the legacy SDK drops a spec: the whole tree loads it
        assert streamed is None
        return
    assert streamed is not None, label
    assert same(streamed, expected) is None
    assert same(stream_snapshot(text.encode()), expected) is None


def _spec_list(n: int) -> list[dict[str, Any]]:
    return [gate(f"gate{i}", [rule(f"r{i}", [cond("user_field", "any", ["a", "b"], field="email"),
                                             cond("pass_gate", None, f"gate{i + 1}")])]) for i in range(n)]


def _texts(bad: dict[str, Any] | str) -> list[str]:
    """A v1 and a v2 payload of 40 gates with ``bad`` in place of the 20th."""
    gates = _spec_list(40)
    v1 = payload(gates, [], [], {})
    v2 = to_v2(v1)
    v1["feature_gates"][20] = bad
    v2["feature_gates"]["gate20"] = bad
    return [json.dumps(v1), json.dumps(v2)]


@pytest.mark.parametrize("bad", [
    "not a spec",
    {"name": "gate20", "type": "feature_gate", "rules": "not a list"},
    {"name": "gate20", "type": "feature_gate", "rules": [{"id": "r", "passPercentage": "half"}]},
    {"name": "gate20", "rules": []},
])
def test_a_bad_spec_in_the_middle_fails_the_load_as_before(bad: Any) -> None:
    for text in _texts(bad):
        with pytest.raises(SpecFormatError) as from_tree:
            load_snapshot(json.loads(text))
        assert stream_snapshot(text) is None
        with pytest.raises(SpecFormatError) as from_text:
            load_snapshot(text)
        assert (from_text.value.path, from_text.value.problem) == (from_tree.value.path, from_tree.value.problem)
        with pytest.raises(SpecFormatError) as from_reader:
            read_snapshot(text.encode())
        assert str(from_reader.value) == str(from_tree.value)


def test_a_too_deep_spec_in_the_middle_is_refused_as_before() -> None:
    deep: Any = "x"
    for _ in range(99):
        deep = [deep]
    spec = gate("gate20", [rule("r", [cond("user_field", "any", ["a"], field="email")], value=True)])
    spec["rules"][0]["returnValue"] = {"deep": deep}
    for text in _texts(spec):
        assert stream_snapshot(text) is None
        with pytest.raises(SpecFormatError) as refused:
            load_snapshot(text)
        assert getattr(refused.value, "code", "") == "too_deep"


def _shapes() -> list[tuple[str, str, bool]]:
    """(what, payload text, whether it is read spec by spec)."""
    base = payload(_spec_list(5), [config("c", [rule("cr", [cond("public")], value={"a": 1})])], [], {})
    v2 = to_v2(base)
    cmap_first = {"condition_map": v2["condition_map"], **{k: v for k, v in v2.items() if k != "condition_map"}}
    app = to_v2(payload([gate("g", [rule("r", [cond("target_app", "any", ["app1"])])])], [], [], {}))
    v1_text = json.dumps(base)
    return [
        ("v1, usual order", v1_text, True),
        ("v2, condition_map after the sections", json.dumps(v2), True),
        ("v2, condition_map first", json.dumps(cmap_first), True),
        ("v2, an unknown condition key", json.dumps(
            {**v2, "feature_gates": {**v2["feature_gates"],
                                     "gate0": {**v2["feature_gates"]["gate0"],
                                               "rules": [{"id": "r", "passPercentage": 100, "returnValue": True,
                                                          "conditions": ["no-such-key"]}]}}}), True),
        ("a repeated top-level key", v1_text[:-1] + ', "feature_gates": []}', False),
        ("a repeated condition key", json.dumps(v2)[:-1] + ', "condition_map": {}}', False),
        ("target_app with the payload's app_id", json.dumps({**app, "app_id": "app1"}), False),
        ("target_app without an app_id", json.dumps(app), True),
        ("an unreferenced bad condition", json.dumps({**v2, "condition_map": {**v2["condition_map"], "x": 5}}), False),
        ("whitespace everywhere", json.dumps(base, indent=3), True),
        ("our envelope", encode_snapshot(base, {"l": IdList("l", frozenset({"a"}))}, 1).decode(), False),
    ]


@pytest.mark.parametrize(("what", "text", "streamed"), _shapes(), ids=[s[0] for s in _shapes()])
def test_shapes_the_stream_cannot_answer_exactly_load_from_the_whole_tree(what: str, text: str, streamed: bool) -> None:
    document = json.loads(text)
    expected = load_envelope(document) if "statsig_lite_snapshot" in document else load_snapshot(document)
    got = stream_snapshot(text, refuse_key="statsig_lite_snapshot")
    assert (got is not None) == streamed
    if got is not None:
        assert same(got, expected) is None
    assert same(load_envelope(text), expected) is None
    assert same(read_snapshot(text).snapshot, expected) is None


def test_a_repeated_spec_name_keeps_the_last_spec_where_json_puts_it() -> None:
    v2 = to_v2(payload([gate("g", [rule("first", [cond("public")])]), gate("h", []),
                        gate("g2", [rule("second", [cond("public")])])], [], [], {}))
    specs = v2["feature_gates"]
    repeated = ", ".join(f"{json.dumps(name)}: {json.dumps(specs[key])}" for name, key in
                         (("g", "g"), ("h", "h"), ("g", "g2")))
    text = json.dumps({**v2, "feature_gates": "@"}).replace('"@"', "{" + repeated + "}")
    expected = load_snapshot(json.loads(text))
    streamed = stream_snapshot(text)
    assert streamed is not None and list(streamed.gates) == ["g", "h"]
    assert streamed.gates["g"].rules[0].id == "second"
    assert same(streamed, expected) is None


def _nested(target: str) -> dict[str, Any]:
    return payload([gate("parent", [rule("p", [cond("pass_gate", None, target)])]),
                    gate("later", [rule("l", [cond("public")])]),
                    gate("segment:s", [rule("s", [cond("public")])], entity="segment")], [], [], {})


@pytest.mark.parametrize("fmt", ["v1", "v2"])
@pytest.mark.parametrize("target", ["later", "nope", "segment:s", "segment:nope"])
def test_a_nested_gate_is_known_only_if_the_payload_has_it_wherever_it_comes(fmt: str, target: str) -> None:
    p = _nested(target)
    text = json.dumps(p if fmt == "v1" else to_v2(p))
    streamed = stream_snapshot(text)
    assert streamed is not None
    assert same(streamed, whole(text)) is None
    # the comparison sees the difference between a gate the payload has and one it has not
    other = json.dumps(_nested("nope" if target == "later" else "later") if fmt == "v1"
                       else to_v2(_nested("nope" if target == "later" else "later")))
    assert same(streamed, whole(other)) is not None


def _envelope(allow_shrink: bool = False, version: int = 1, fmt: str = "v1") -> str:
    seg = gate("segment:vips", [rule("s", [cond("unit_id", "in_segment_list", "vips")])], entity="segment")
    uses = gate("uses_segment", [rule("u", [cond("pass_gate", None, "segment:vips")])])
    dcs = payload([seg, uses, *_spec_list(3)], [], [], {})
    text = encode_snapshot(dcs if fmt == "v1" else to_v2(dcs), {"vips": IdList("vips", frozenset({"aBcDeFgH"}))}, 7,
                           allow_shrink=allow_shrink).decode()
    return text.replace('"statsig_lite_snapshot":1', f'"statsig_lite_snapshot":{version}')


@pytest.mark.parametrize("fmt", ["v1", "v2"])
@pytest.mark.parametrize("allow_shrink", [False, True])
def test_our_envelope_is_read_spec_by_spec_with_its_id_lists(fmt: str, allow_shrink: bool) -> None:
    from statsig_lite.store.snapshot import stream_document

    text = _envelope(allow_shrink, fmt=fmt)
    assert stream_document(text, nested="dcs") is not None
    expected = read_snapshot(json.loads(text))
    for raw in (text, text.encode()):
        got = read_snapshot(raw)
        assert (got.has_id_lists, got.allow_shrink) == (True, allow_shrink) == (expected.has_id_lists,
                                                                                 expected.allow_shrink)
        assert same(got.snapshot, expected.snapshot) is None
        assert got.snapshot.id_lists.ids("vips") == frozenset({"aBcDeFgH"})
        assert same(load_envelope(raw), expected.snapshot) is None


def test_an_envelope_of_another_version_is_refused_as_before() -> None:
    text = _envelope(version=2)
    with pytest.raises(SpecFormatError) as from_tree:
        read_snapshot(json.loads(text))
    with pytest.raises(SpecFormatError) as from_text:
        read_snapshot(text)
    assert str(from_text.value) == str(from_tree.value)
