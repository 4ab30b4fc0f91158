"""The local journal: batches written to local disk (``/tmp`` on Lambda, no fsync) before a flush sends them,
removed or rewritten after it, taken over at the next init when their process died (claims belong to a
process: pid and token), bounded by ``JOURNAL_MAX_BYTES``. Also where a full buffer puts its oldest events.
"""

from __future__ import annotations

import os

from . import constants as c
from ._ids import new_id
from ._log import get_logger
from .sinks.spill_dir import DirSpillStore

__all__ = ["Journal", "process_owner"]

logger = get_logger(__name__)

_PROCESS_TOKEN = ""
_LIVE: set[str] = set()  # owners (pipelines) alive in this process


def process_owner(sandbox: str = "x") -> str:
    """A new owner name for one pipeline in this process: ``<sandbox>.<pid>.<process token>.<own token>``.

    ``sandbox`` names the machine (a Lambda sandbox, kept in the journal directory): only there can the
    pid say whether the owner still runs."""
    global _PROCESS_TOKEN
    if not _PROCESS_TOKEN:
        _PROCESS_TOKEN = new_id()[:8]
    owner = f"{sandbox}.{os.getpid()}.{_PROCESS_TOKEN}.{new_id()[:8]}"
    _LIVE.add(owner)
    return owner


def _sandbox_id(directory: str | os.PathLike[str]) -> str:
    """This sandbox's id, kept in the journal directory (made by the first process that needs it)."""
    path = os.path.join(directory, ".sandbox")  # os.path, not pathlib: see sinks.spill_dir
    try:
        return _read_text(path).strip() or "x"
    except FileNotFoundError:
        pass
    except OSError:
        return "x"
    token = new_id()[:8]
    try:
        os.makedirs(directory, exist_ok=True)
        with open(path, "x") as out:  # of two processes creating it, one wins; the other reads it
            out.write(token)
        return token
    except FileExistsError:
        return _read_text(path).strip() or "x"
    except OSError:
        return "x"


def _read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def _owner_dead(until_ms: int, owner: str, now_ms: int) -> bool:
    """A journal claim lasts as long as the process (and the pipeline) that made it."""
    try:
        pid = int(owner.split(".")[1])
    except (ValueError, IndexError):
        return True
    if pid == os.getpid():
        return owner not in _LIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


class Journal:
    """A local directory of records this process has not delivered yet (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike[str], *, max_bytes: int = c.JOURNAL_MAX_BYTES) -> None:
        self.store = DirSpillStore(directory, fsync=False, gzip_level=1, claim_expired=_owner_dead)
        self.sandbox = _sandbox_id(directory)
        self.owner = process_owner(self.sandbox)
        self.max_bytes = max_bytes

    @property
    def description(self) -> str:
        return self.store.description

    def dead(self, owner: str) -> bool:
        """Whether ``owner`` (of a claim anywhere) was a process of this sandbox that has ended: its claims on
        spill records can be taken over at once instead of waiting for them to expire."""
        return owner.split(".", 1)[0] == self.sandbox and owner != self.owner and _owner_dead(0, owner, 0)

    def close(self) -> None:
        _LIVE.discard(self.owner)

    def has_room(self, raw_bytes: int) -> bool:
        return self.store.size() + raw_bytes // 2 <= self.max_bytes  # gzip level 1 halves event JSON at least

    def adopt_orphans(self) -> int:
        """Release the files of dead processes, so the next flush replays them. Returns how many."""
        taken = 0
        for ref in self.store.list():
            if ref.owner and ref.owner != self.owner and _owner_dead(0, ref.owner, 0):
                self.store.release(ref, ref.owner)  # a rename: of two processes doing it, one does
                taken += 1
        if taken:
            logger.warning(
                "statsig_lite: %d journal file(s) of a process that ended before delivering them: "
                "the next flush sends them",
                taken,
            )
        return taken
