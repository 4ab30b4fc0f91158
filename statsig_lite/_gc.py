"""`PausedCollector`: the cyclic garbage collector paused for a block that allocates much and frees little.

Decoding and compiling a payload allocate hundreds of thousands of objects and no cycles: with the collector
running, it rescans the growing tree every few hundred allocations (a large payload loads in about 60% of the
time without it). A cold start is the same story on a smaller scale: importing the package, initializing and
importing urllib3 at the first send allocate tens of thousands of long-lived objects and no garbage (pausing
it there took about 1 ms off a decorated function's cold start: benchmarks/COLD_START.md). The collector's
next run scans them once.
"""

from __future__ import annotations

import gc


class PausedCollector:
    """`with PausedCollector():` runs its block with the collector paused, and restores it. Nests: an inner
    pause leaves the collector as the outer one wants it."""

    __slots__ = ("_collecting",)

    def __enter__(self) -> None:
        self._collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._collecting:
            gc.enable()
