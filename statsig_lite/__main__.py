"""Command line: `python -m statsig_lite demo | validate FILE`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _validate(path: str) -> int:
    from .errors import SpecFormatError
    from .store.snapshot import load_snapshot

    try:
        snapshot = load_snapshot(Path(path).read_bytes())
    except (OSError, SpecFormatError) as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    print(
        f"ok: {snapshot.format} payload, time {snapshot.time}: {len(snapshot.gates)} gates, "
        f"{len(snapshot.configs)} configs/experiments, {len(snapshot.layers)} layers"
        + (f", {len(snapshot.unsupported)} unsupported: {sorted(snapshot.unsupported)}" if snapshot.unsupported else "")
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m statsig_lite")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="evaluate the bundled example snapshot and deliver events to a local sink")
    validate = sub.add_parser("validate", help="load a download_config_specs payload and report what it holds")
    validate.add_argument("file")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run

        return run()
    return _validate(args.file)


if __name__ == "__main__":
    sys.exit(main())
