"""ID-list file contents: `+id` adds, `-id` removes, one change a line."""

from __future__ import annotations

from .model import IdList


def apply_file(current: IdList, chunk: bytes) -> IdList | None:
    """Apply a downloaded chunk; None when it does not look like an ID-list range (keep what we had)."""
    text = chunk.decode("utf-8", errors="replace")
    if not text or text[0] not in "+-":
        return None
    ids = set(current.ids)
    for line in text.splitlines():
        line = line.strip()
        if len(line) <= 1:
            continue
        if line[0] == "+":
            ids.add(line[1:])
        elif line[0] == "-":
            ids.discard(line[1:])
    return current.advanced(frozenset(ids), current.read_bytes + len(chunk))
