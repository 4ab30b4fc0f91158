"""Command line: `python -m statsig_lite demo | validate FILE | pull [--out FILE] | refresh`.

- ``demo``: evaluate the bundled example snapshot and deliver its events to a local sink.
- ``validate FILE [--against STORED] [--allow-shrink]``: load a download_config_specs payload or our
  snapshot document with the checks the refresher and the SDK apply (`store.validate`), and say what it
  holds; exit status 1 with the reason when it would be refused.
- ``pull``: download a snapshot document from Statsig (rules and ID lists) into a file, e.g. the
  ``statsig_snapshot.json`` a deployment package bundles. Secret and API as for the refresher.
- ``refresh``: run the refresher once (environment as for its Lambda function; see
  `statsig_lite.refresher.config`) and print its report as JSON. Exit status 1 if anything was skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .sources.bundled import BUNDLED_FILE_NAME


def _validate(path: str, against: str | None, allow_shrink: bool) -> int:
    """Exit 0: sane; 1: refused or invalid (the reason on stderr, ``invalid [code]: ...``)."""
    import time

    from .errors import SpecFormatError
    from .store.envelope import is_envelope, split_snapshot
    from .store.snapshot import decode_payload, load_snapshot
    from .store.validate import Summary, check_replacement

    try:
        held = None
        if against is not None:
            held_dcs, held_lists = split_snapshot(Path(against).read_bytes())
            held = Summary.of(load_snapshot(held_dcs, id_lists=held_lists))
        document = decode_payload(Path(path).read_bytes())
        dcs, id_lists = split_snapshot(document)
        snapshot = load_snapshot(dcs, id_lists=id_lists)
        shrink = allow_shrink or (is_envelope(document) and document.get("allow_shrink") is True)
        check_replacement(Summary.of(snapshot), held, int(time.time() * 1000), allow_shrink=shrink)
    except (OSError, SpecFormatError) as exc:
        code = getattr(exc, "code", "invalid" if isinstance(exc, SpecFormatError) else "unreadable")
        print(f"invalid [{code}]: {exc}", file=sys.stderr)
        return 1
    kind = "snapshot document" if is_envelope(document) else "payload"
    print(
        f"ok: {snapshot.format} {kind}, time {snapshot.time}: {len(snapshot.gates)} gates, "
        f"{len(snapshot.configs)} configs/experiments, {len(snapshot.layers)} layers"
        + (f", {len(snapshot.unsupported)} unsupported: {sorted(snapshot.unsupported)}" if snapshot.unsupported else "")
    )
    if is_envelope(document):
        counts = ", ".join(f"{name} ({len(entry.ids)} ids)" for name, entry in sorted(id_lists.items()))
        print(f"id lists: {len(id_lists)}" + (f": {counts}" if counts else ""))
    return 0


def _pull(out: str, fmt: str | None) -> int:
    from .errors import StatsigLiteError
    from .refresher.function import pull_once

    try:
        payload, snapshot = pull_once(os.environ, dcs_format=fmt)
    except StatsigLiteError as exc:
        print(f"pull failed: {exc}", file=sys.stderr)
        return 1
    target = Path(out)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_bytes(payload)
        os.replace(tmp, target)
    except OSError as exc:
        print(f"pull failed: cannot write {out}: {exc}", file=sys.stderr)
        return 1
    lists = snapshot.id_lists.lists
    print(
        f"wrote {out}: {snapshot.format} payload, time {snapshot.time}, {len(payload)} bytes: "
        f"{len(snapshot.gates)} gates, {len(snapshot.configs)} configs/experiments, {len(snapshot.layers)} layers, "
        f"{len(lists)} id lists ({sum(len(e.ids) for e in lists.values())} ids)"
    )
    return 0


def _refresh() -> int:
    from .errors import ConfigurationError
    from .refresher.function import run_once

    try:
        report = run_once(os.environ)
    except ConfigurationError as exc:
        print(f"refresh not configured: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), sort_keys=True))
    return 1 if report.failed else 0


def _variables(title: str, *rows: tuple[str, str]) -> str:
    return title + "\n" + "\n".join(f"  {name:<26}{meaning}" for name, meaning in rows)


_SECRET = (
    ("STATSIG_SERVER_SECRET", "the server secret (local runs), or"),
    ("STATSIG_SECRET_NAME", "SSM parameter or secretsmanager:<name> holding it (AWS credentials)"),
    ("STATSIG_API_URL", "API base (https://host/v1/) instead of Statsig's (optional)"),
)
_HELP_VARS = {
    "demo": "environment: none (STATSIG_* variables in your shell are set aside; the demo sets its own)",
    "validate": "environment: none (reads only FILE)",
    "pull": _variables("environment:", *_SECRET, ("STATSIG_DCS_FORMAT", "v2 (default) or v1, unless --format")),
    "refresh": _variables(
        "environment (as for the refresher's Lambda function):",
        ("STATSIG_SNAPSHOT_TARGETS", "where to write: s3://bucket/key and/or dynamodb://table/key (required)"),
        *_SECRET,
        ("STATSIG_DCS_FORMAT", "v2 (default) or v1"),
        ("STATSIG_SPILL_TARGET", "spill store whose events are replayed (optional)"),
        ("AWS_REGION", "and AWS credentials, for the S3 / DynamoDB targets"),
    ),
}


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="python -m statsig_lite", formatter_class=raw,
        epilog="Each command's variables: python -m statsig_lite COMMAND --help",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, epilog=_HELP_VARS[name], formatter_class=raw)

    command("demo", "evaluate the bundled example snapshot and deliver events to a local sink")
    validate = command("validate", "load a download_config_specs payload or snapshot document and report what it holds")
    validate.add_argument("file")
    validate.add_argument("--against", metavar="STORED",
                          help="the snapshot it would replace: refuse an older one or a collapse")
    validate.add_argument("--allow-shrink", action="store_true",
                          help="accept a collapse against --against (as STATSIG_ALLOW_SNAPSHOT_SHRINK=true does)")
    pull = command("pull", "download a snapshot document (rules and ID lists) from Statsig")
    pull.add_argument("--out", default=BUNDLED_FILE_NAME, help=f"file to write (default: {BUNDLED_FILE_NAME})")
    pull.add_argument("--format", choices=("v1", "v2"), default=None,
                      help="payload format (default: $STATSIG_DCS_FORMAT, else v2)")
    command("refresh", "run the snapshot refresher once, configured by the environment")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run

        return run()
    if args.command == "pull":
        return _pull(args.out, args.format)
    if args.command == "refresh":
        return _refresh()
    return _validate(args.file, args.against, args.allow_shrink)


if __name__ == "__main__":
    sys.exit(main())
