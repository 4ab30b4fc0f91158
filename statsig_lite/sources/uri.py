"""``STATSIG_SPEC_SOURCE`` (option ``spec_source``): which spec source to build.

======================================  =================================================================
value                                   source
======================================  =================================================================
``bundled``                             `BundledSource` (the function's own statsig_snapshot.json)
``example``                             `ExampleSource` (the package's example project: demo and tests)
``file:///abs/path``                    `FileSource`
``s3://bucket/key``                     `S3Source`
``dynamodb://table/key``                `DynamoDBSource` (item layout in `dynamodb`)
``statsig``                             `HttpSource` on ``api_base`` (default: Statsig's v1 CDN); the
                                        default when nothing is configured, as in the official SDK
``https://host/v1/`` or ``http://..``   `HttpSource` on that base (or a full .../download_config_specs)
``a,b,...``                             `ChainSource`: ``a``, falling back to ``b``, ...
======================================  =================================================================

Building a source does no I/O. A value we cannot use raises ConfigurationError naming the variable and
the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from ..constants import ENV_SPEC_SOURCE
from ..errors import ConfigurationError
from .base import Fetched, SpecSource

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

# Each source module is imported when a spec names it: a cold start pays only for the sources it uses.

__all__ = ["parse_spec_source"]

# S3's characters; short names allowed (README examples say s3://b/k, S3-compatible stores take them).
_BUCKET = r"[a-z0-9](?:[a-z0-9.\-]{0,61}[a-z0-9])?"  # compiled (and cached by re) on first use
_TABLE = r"[A-Za-z0-9_.\-]{3,255}"
_FORMS = "bundled, example, file:///abs/path, s3://bucket/key, dynamodb://table/key, statsig or https://..."


def parse_spec_source(
    spec: str,
    *,
    secret_key: str = "",
    api_base: str | None = None,
    boto3_session: Any = None,
    validate: Callable[[Fetched], object] | None = None,
) -> SpecSource:
    """The source (or fallback chain) ``spec`` names. Raises ConfigurationError for a bad value.

    ``validate`` lets a chain fall back when a source answers with a payload the client cannot use."""
    entries = [entry.strip() for entry in spec.split(",")]
    if not any(entries):
        raise _bad(spec, f"empty; use one of {_FORMS}, comma-separated for fallback")
    if not all(entries):
        raise _bad(spec, "empty entry in the comma-separated list")
    sources = [_one(entry, spec, secret_key, api_base, boto3_session) for entry in entries]
    if len(sources) == 1:
        return sources[0]
    from .chain import ChainSource

    return ChainSource(sources, validate=validate)


def _one(entry: str, spec: str, secret_key: str, api_base: str | None, boto3_session: Any) -> SpecSource:
    word = entry.lower()
    if word == "bundled":
        from .bundled import BundledSource

        return BundledSource()
    if word == "example":
        from .bundled import ExampleSource

        return ExampleSource()
    if word == "statsig":
        return _http(api_base, secret_key, spec, entry)
    split = urlsplit(entry)
    scheme = split.scheme.lower()
    if split.query or split.fragment:
        raise _bad(spec, f"{entry!r}: no query or fragment allowed")
    if scheme == "file":
        path = unquote(split.path)
        if split.netloc not in ("", "localhost") or not path.startswith("/") or path == "/":
            raise _bad(spec, f"{entry!r}: use file:///absolute/path/to/snapshot.json")
        from .file import FileSource

        return FileSource(path)
    if scheme == "s3":
        bucket, key = split.netloc, split.path[1:]
        if not re.fullmatch(_BUCKET, bucket):
            raise _bad(spec, f"{entry!r}: {bucket!r} is not an S3 bucket name")
        if not key or key.endswith("/"):
            raise _bad(spec, f"{entry!r}: use s3://bucket/key (the key of the snapshot object)")
        from .s3 import S3Source

        return S3Source(bucket, key, boto3_session=boto3_session)
    if scheme == "dynamodb":
        table, key = split.netloc, split.path[1:]
        if not re.fullmatch(_TABLE, table):
            raise _bad(spec, f"{entry!r}: {table!r} is not a DynamoDB table name")
        if not key:
            raise _bad(spec, f"{entry!r}: use dynamodb://table/key (the item's pk)")
        from .dynamodb import DynamoDBSource

        return DynamoDBSource(table, key, boto3_session=boto3_session)
    if scheme in ("http", "https"):
        if not split.netloc:
            raise _bad(spec, f"{entry!r}: the URL has no host")
        return _http(entry, secret_key, spec, entry)
    hint = f" (a path? use file://{entry})" if entry.startswith("/") else ""
    raise _bad(spec, f"{entry!r} is not a spec source{hint}; use one of {_FORMS}")


def _http(api_base: str | None, secret_key: str, spec: str, entry: str) -> SpecSource:
    if not secret_key:
        raise _bad(spec, f"{entry!r} needs the server secret key (initialize(secret_key, ...))")
    from .http import HttpSource

    return HttpSource(api_base, secret_key)


def _bad(spec: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"{ENV_SPEC_SOURCE}={spec!r}: {problem}")
