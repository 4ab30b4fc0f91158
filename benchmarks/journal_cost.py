"""What the local journal (issue 11, "survive a kill") costs a warm invocation (medians, µs).

One process. Each "invocation" enqueues N custom events and flushes them the way the decorator does
(write-ahead to the journal, send, remove the journal file), with and without a journal, interleaved so
machine noise hits both alike. The sink accepts every batch at once (no network): what is left is the SDK's
own work, so the difference is the journal's cost. Also shown: a local directory spill store (fsync'd), where
the write-ahead goes to the store instead of the journal (S3/DynamoDB add a round trip there instead).
Usage: python benchmarks/journal_cost.py [invocations] [events per invocation]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))



class AcceptingSink:
    """Statsig accepting every batch at once: no network, so only the SDK's own work is timed."""

    def send(self, batch: object, *, attempt: int, timeout_s: float) -> None:
        return None

    def close(self) -> None:
        return None


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    per_invocation = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    from statsig_lite.journal import Journal
    from statsig_lite.pipeline import EventPipeline
    from statsig_lite.sinks import DirSpillStore

    with tempfile.TemporaryDirectory() as tmp:
        def pipeline(journal: bool, spill: bool = False) -> EventPipeline:
            return EventPipeline(
                100_000,
                sink=AcceptingSink(),
                journal=Journal(Path(tmp) / f"journal-{journal}-{spill}") if journal else None,
                spill=DirSpillStore(Path(tmp) / f"spill-{journal}") if spill else None,
            )

        variants = {
            "no journal": pipeline(False),
            "journal": pipeline(True),
            "journal + dir spill store (write-ahead to the store)": pipeline(True, spill=True),
        }
        event = {"eventName": "purchase", "time": 1, "user": {"userID": "u1", "email": "a@example.com"},
                 "value": 9.99, "metadata": {"sku": "abc", "seq": "0"}}
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for variant in variants.values():  # warm: connections open, modules loaded
            variant.enqueue(event)
            variant.flush(3.0)
        for _ in range(count):
            for name, variant in variants.items():
                for _ in range(per_invocation):
                    variant.enqueue(event)
                started = time.perf_counter()
                result = variant.flush(3.0, replay=False)
                samples[name].append((time.perf_counter() - started) * 1e6)
                assert result.sent == per_invocation, result
        base = statistics.median(samples["no journal"])
        print(f"flush of {per_invocation} events per invocation, median of {count} (sink accepts at once):")
        for name, values in samples.items():
            median = statistics.median(values)
            extra = "" if name == "no journal" else f"   (+{median - base:.0f} us per invocation)"
            print(f"  {name:<55} {median:8.0f} us{extra}")


if __name__ == "__main__":
    main()
