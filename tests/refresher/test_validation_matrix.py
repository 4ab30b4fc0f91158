"""The sanity matrix: real payloads, mutated as an attacker or an unlucky operator would, through the refresher
(loopback Statsig API -> S3 + DynamoDB on moto) and through the SDK's reader (freshness check and a cold start).

Per mutated payload it prints: written or refused (with the reason), whether the stored bytes stayed identical,
what a running reader did with the same bytes (kept its rules or took them) and what a cold start did. Each
refused payload must leave S3 and DynamoDB byte-identical, the reader must decide as the refresher did, and no
step may raise. The expected outcome of each mutation is the rule of `store.validate` it exercises.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from statsig_lite.options import StatsigOptions
from statsig_lite.server import StatsigServer
from statsig_lite.store.validate import MAX_SNAPSHOT_BYTES, SHRINK_TOLERANCE
from statsig_lite.user import StatsigUser
from tests.refresher.helpers import make_refresher, stored_state
from tests.servers.statsig_api import FakeStatsigAPI

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
BASES = {  # name -> (payload file, format)
    "demo_proj": (SHARED / "conformance/demo_proj/dcs.json", "v2"),
    "eval_proj": (SHARED / "payloads/eval_proj_profiling_dcs.json", "v2"),  # an earlier eval_proj payload
    "py_sdk_dcs": (SHARED / "conformance/python_sdk_testdata_dcs/dcs.json", "v1"),
}
HUGE_BASES = ("demo_proj",)  # the 64 MB payloads are built for one base only (time and memory)
SECTIONS = ("feature_gates", "dynamic_configs", "layer_configs")

Doc = dict[str, Any]
Mutation = Callable[[Doc, str, int], bytes]  # (document with a newer time, format, stored time) -> body


def _dump(doc: Doc) -> bytes:
    return json.dumps(doc).encode()


def _with(key: str, value: Any) -> Mutation:
    def mutate(doc: Doc, fmt: str, stored: int) -> bytes:
        doc[key] = value
        return _dump(doc)

    return mutate


def _without(key: str) -> Mutation:
    def mutate(doc: Doc, fmt: str, stored: int) -> bytes:
        doc.pop(key, None)
        return _dump(doc)

    return mutate


def _time_text(text: str) -> Mutation:
    """``time`` written as raw JSON text (NaN, Infinity, 1e400 are not expressible as Python values to dump)."""

    def mutate(doc: Doc, fmt: str, stored: int) -> bytes:
        doc["time"] = "@TIME@"
        return _dump(doc).replace(b'"@TIME@"', text.encode())

    return mutate


def _truncated(fraction: float) -> Mutation:
    def mutate(doc: Doc, fmt: str, stored: int) -> bytes:
        body = _dump(doc)
        return body[: int(len(body) * fraction)]

    return mutate


def _older(doc: Doc, fmt: str, stored: int) -> bytes:
    doc["time"] = stored - 60_000
    return _dump(doc)


def _wrong_section_type(doc: Doc, fmt: str, stored: int) -> bytes:
    doc["feature_gates"] = {} if fmt == "v1" else []
    return _dump(doc)


def _empty(section: str) -> Mutation:
    def mutate(doc: Doc, fmt: str, stored: int) -> bytes:
        doc[section] = [] if fmt == "v1" else {}
        return _dump(doc)

    return mutate


def _all_empty(doc: Doc, fmt: str, stored: int) -> bytes:
    for section in SECTIONS:
        doc[section] = [] if fmt == "v1" else {}
    return _dump(doc)


def _missing_format_section(doc: Doc, fmt: str, stored: int) -> bytes:
    doc.pop("condition_map" if fmt == "v2" else "layer_configs", None)
    return _dump(doc)


def _drop_configs(keep: Callable[[int], int]) -> Mutation:
    """Keep ``keep(n)`` of the n dynamic configs."""

    def mutate(doc: Doc, fmt: str, stored: int) -> bytes:
        configs = doc["dynamic_configs"]
        n = keep(len(configs))
        doc["dynamic_configs"] = configs[:n] if fmt == "v1" else dict(list(configs.items())[:n])
        return _dump(doc)

    return mutate


def _deep(levels: int) -> Mutation:
    """A config's default value nested ``levels`` deep (JSON text: the dumper would recurse)."""

    def mutate(doc: Doc, fmt: str, stored: int) -> bytes:
        doc["sdk_configs"] = "@DEEP@"
        deep = "[" * levels + "1" + "]" * levels
        return _dump(doc).replace(b'"@DEEP@"', deep.encode())

    return mutate


def _spec_not_object(doc: Doc, fmt: str, stored: int) -> bytes:
    if fmt == "v1":
        doc["feature_gates"].append(7)
    else:
        doc["feature_gates"]["broken"] = 7
    return _dump(doc)


def _rule_without_id(doc: Doc, fmt: str, stored: int) -> bytes:
    specs = doc["dynamic_configs"] if fmt == "v1" else list(doc["dynamic_configs"].values())
    for spec in specs:
        if spec.get("rules"):
            del spec["rules"][0]["id"]
            break
    return _dump(doc)


def _duplicate_time_key(doc: Doc, fmt: str, stored: int) -> bytes:
    """``"time"`` twice: JSON decoders keep the last one, here the newer, sane one."""
    body = _dump(doc)
    return body[:1] + f'"time": {stored - 1_000_000}, '.encode() + body[1:]


def _duplicate_spec(doc: Doc, fmt: str, stored: int) -> bytes:
    """The first gate twice (v1: two list entries with one name; v2: a repeated key in the JSON text)."""
    if fmt == "v1":
        doc["feature_gates"].append(copy.deepcopy(doc["feature_gates"][0]))
        return _dump(doc)
    name, spec = next(iter(doc["feature_gates"].items()))
    body = _dump(doc)
    marker = b'"feature_gates": {'
    return body.replace(marker, marker + json.dumps(name).encode() + b": " + _dump(spec) + b", ", 1)


def _not_an_object(doc: Doc, fmt: str, stored: int) -> bytes:
    return _dump([doc])


def _not_utf8(doc: Doc, fmt: str, stored: int) -> bytes:
    return b"\xff\xfe" + _dump(doc)


def _newer(doc: Doc, fmt: str, stored: int) -> bytes:
    return _dump(doc)


def _huge_padding(doc: Doc, fmt: str, stored: int) -> bytes:
    doc["padding"] = "x" * (MAX_SNAPSHOT_BYTES + 1024)
    return _dump(doc)


def _many_gates(doc: Doc, fmt: str, stored: int) -> bytes:
    """20,000 more gates (about 4 MB): large but sane."""
    gate = {"type": "feature_gate", "entity": "feature_gate", "salt": "s", "enabled": True, "defaultValue": False,
            "idType": "userID", "rules": []}
    if fmt == "v1":
        doc["feature_gates"].extend({**gate, "name": f"extra_{i}"} for i in range(20_000))
    else:
        doc["feature_gates"].update({f"extra_{i}": gate for i in range(20_000)})
    return _dump(doc)


@dataclass(frozen=True)
class M:
    name: str
    mutate: Mutation
    written: bool  # what store.validate's rules say must happen


MUTATIONS = [
    M("newer, unchanged otherwise", _newer, True),
    M("truncated to half", _truncated(0.5), False),
    M("truncated to 1%", _truncated(0.01), False),
    M("time NaN", _time_text("NaN"), False),
    M("time Infinity", _time_text("Infinity"), False),
    M("time 1e400", _time_text("1e400"), False),
    M("time 1e15 (year 33658)", _with("time", 10**15), False),
    M("time 1e30", _with("time", 10**30), False),
    M("time a string", _with("time", "1700000000000"), False),
    M("time null", _with("time", None), False),
    M("time missing", _without("time"), False),
    M("time negative", _with("time", -5), False),
    M("time older than stored", _older, False),
    M("feature_gates missing", _without("feature_gates"), False),
    M("feature_gates null", _with("feature_gates", None), False),
    M("dynamic_configs null", _with("dynamic_configs", None), False),
    M("feature_gates wrong type", _wrong_section_type, False),
    M("condition_map (v2) / layer_configs (v1) missing", _missing_format_section, False),
    M("feature_gates empty (all gates gone)", _empty("feature_gates"), False),
    M("every section empty", _all_empty, False),
    M(f"configs down to half minus {SHRINK_TOLERANCE + 1}", _drop_configs(lambda n: 0 if n <= 2 * SHRINK_TOLERANCE + 2
                                                                             else n // 2 - 1), False),
    M("one config removed", _drop_configs(lambda n: n - 1), True),
    M("nested 5,000 deep", _deep(5000), False),
    M("nested 150 deep", _deep(150), False),
    M("a spec that is not an object", _spec_not_object, False),
    M("a rule without id", _rule_without_id, False),
    M("duplicate time key (last wins)", _duplicate_time_key, True),
    M("duplicate gate", _duplicate_spec, True),
    M("top level is a list", _not_an_object, False),
    M("not UTF-8", _not_utf8, False),
]
HUGE = [
    M("huge: 64 MB of padding", _huge_padding, False),
    M("huge: 20,000 more gates", _many_gates, True),
]


def _cases() -> list[tuple[str, M]]:
    cases = [(base, m) for base in BASES for m in MUTATIONS]
    cases += [(base, m) for base in HUGE_BASES for m in HUGE]
    return cases


class Reader:
    """A running SDK reading a local file, freshness-checked at every invocation (max age 0)."""

    def __init__(self, path: Path, gate: str) -> None:
        self.path = path
        self.gate = gate
        self.server = StatsigServer()
        details = self.server.initialize(
            "secret-matrix", StatsigOptions(local_mode=True, spec_source=path.as_uri(), spec_max_age_seconds=0)
        )
        assert details.init_success, details.error

    def answer(self) -> object:
        return self.server.get_feature_gate(StatsigUser(user_id="u-matrix"), self.gate).rule_id


def _cold_start(path: Path) -> str:
    details = StatsigServer().initialize("secret-matrix", StatsigOptions(local_mode=True, spec_source=path.as_uri()))
    return "loaded" if details.init_success else f"refused ({str(details.error)[:48]})"


def test_mutated_real_payloads_are_written_only_when_sane(
    api: FakeStatsigAPI,
    stores: tuple[Any, Any],
    reset_stores: Callable[[], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s3, ddb = stores
    started = time.monotonic()
    rows: list[str] = []
    problems: list[str] = []
    counts = {"written": 0, "refused": 0}
    current_base: str | None = None
    dirty = True
    base_doc: Doc = {}
    stored_time = int(time.time() * 1000) - 3_600_000
    reader: Reader | None = None
    before: tuple[object, ...] = ()
    for base, mutation in _cases():
        path, fmt = BASES[base]
        if base != current_base or dirty:
            base_doc = json.loads(path.read_bytes())
            base_doc["time"] = stored_time
            reset_stores()
            api.set_specs(base_doc, fmt)
            seeded = make_refresher(api, s3, ddb, fmt=fmt).refresh(20.0)
            assert len(seeded.written) == 2, seeded
            gates = base_doc["feature_gates"]
            gate = gates[0]["name"] if fmt == "v1" else next(iter(gates))
            reader_file = tmp_path / f"{base}.json"
            reader_file.write_bytes(_dump(base_doc))
            reader = Reader(reader_file, gate)
            current_base, dirty = base, False
            before = stored_state(s3, ddb)
        assert reader is not None
        doc = copy.deepcopy(base_doc)
        doc["time"] = stored_time + 60_000
        body = mutation.mutate(doc, fmt, stored_time)

        api.set_specs(body, fmt)
        report = make_refresher(api, s3, ddb, fmt=fmt).refresh(20.0)
        after = stored_state(s3, ddb)
        written = len(report.written) == 2
        refused = not report.written and report.skipped_reason is not None
        identical = before == after

        answer_before = reader.answer()
        reader.path.write_bytes(body)
        took = reader.server.refresh_if_stale(5.0)
        kept_answer = reader.answer() == answer_before
        cold = _cold_start(reader.path)

        reason = re.sub(r"http://127\.0\.0\.1:\d+/v\d/download_config_specs: ", "", report.skipped_reason or "")
        outcome = "written" if written else f"refused: {reason}" if refused else f"?? {report}"
        reader_text = "took it" if took else f"kept its rules (same answer: {kept_answer})"
        rows.append(f"{base:13} {mutation.name:46} {outcome[:88]:88} stored identical={identical!s:5} "
                    f"reader {reader_text}; cold start {cold}")
        counts["written" if written else "refused"] += 1
        if written != mutation.written or written == identical or (written or refused) is False:
            problems.append(f"{base} / {mutation.name}: {outcome}, stored identical={identical}")
        if took != written or (not took and not kept_answer):
            problems.append(f"{base} / {mutation.name}: reader took={took}, refresher written={written}")
        if written:
            dirty = True  # the next case starts from the base again
        before = after
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\n{'payload':13} {'mutation':46} {'refresher':88} stored bytes / reader / cold start")
        print("\n".join(rows))
        print(f"{len(rows)} mutated payloads: {counts['written']} written, {counts['refused']} refused; "
              f"{len(problems)} problems; {elapsed:.1f} s")
    assert len(rows) >= 60
    assert not problems, problems
