"""Installed size of each SDK with its dependency closure, as JSON on stdout.

    <bench venv>/bin/python sizes.py statsig statsig-python-core statsig-lite

Run inside the benchmark venv. The closure follows `Requires-Dist` (extras skipped, environment
markers evaluated). Sizes are the files each distribution's RECORD lists, bytecode caches
(`__pycache__`) excluded because pip writes them for some packages and not others; for an editable
install (statsig_lite) the package directory itself is measured.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import metadata
from importlib.util import find_spec

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def closure(root: str) -> list[str]:
    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(req.name)
    return sorted(seen)


def is_editable(dist: metadata.Distribution) -> bool:
    raw = dist.read_text("direct_url.json")
    return bool(raw) and bool(json.loads(raw).get("dir_info", {}).get("editable"))


def tree_size(path: str) -> int:
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def dist_size(name: str) -> int:
    dist = metadata.distribution(name)
    if is_editable(dist):
        top = (dist.read_text("top_level.txt") or name.replace("-", "_")).split()
        total = 0
        for module in top:
            spec = find_spec(module)
            for location in (spec.submodule_search_locations or []) if spec else []:
                total += tree_size(location)
        return total
    total = 0
    for file in dist.files or []:
        if "__pycache__" in file.parts:
            continue
        path = file.locate()
        if os.path.isfile(path):
            total += os.path.getsize(path)
    return total


def main() -> None:
    out = {}
    for root in sys.argv[1:]:
        names = closure(root)
        per = {n: dist_size(n) for n in names}
        out[root] = {"bytes": sum(per.values()), "own_bytes": per.get(canonicalize_name(root), 0),
                     "closure": per}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
