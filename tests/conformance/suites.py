"""Reading conformance suites in place (never copied): users, cases, values, meta."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO.parent / "shared" / "conformance"


def conformance_dir() -> Path:
    return Path(os.environ.get("STATSIG_CONFORMANCE_DIR") or DEFAULT_DIR)


@dataclass
class Suite:
    name: str
    path: Path
    meta: dict[str, Any]
    users: dict[str, dict[str, Any]]
    cases: list[dict[str, Any]]
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def dcs(self) -> bytes:
        return (self.path / "dcs.json").read_bytes()

    @property
    def has_id_lists(self) -> bool:
        return (self.path / "id_lists" / "get_id_lists.json").exists()

    def expected_value(self, expected: dict[str, Any]) -> Any:
        if "value_ref" in expected:
            return self.values[expected["value_ref"]]
        return expected.get("value")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def suite_names() -> list[str]:
    root = conformance_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "dcs.json").exists() and (p / "cases.jsonl").exists())


def load_suite(name: str) -> Suite:
    path = conformance_dir() / name
    meta = json.loads((path / "meta.json").read_text()) if (path / "meta.json").exists() else {}
    users = {u["uid"]: u for u in _jsonl(path / "users.jsonl")}
    values = {v["ref"]: v["value"] for v in _jsonl(path / "values.jsonl")}
    return Suite(name, path, meta, users, _jsonl(path / "cases.jsonl"), values)
