"""The refresher's configuration, resolved from the environment once per run.

===========================  =================================================================================
variable                     meaning
===========================  =================================================================================
``STATSIG_SNAPSHOT_TARGETS`` where to write: ``s3://bucket/key`` and/or ``dynamodb://table/key``,
                             comma-separated. The same strings ``STATSIG_SPEC_SOURCE`` reads (they are checked
                             with the SDK's own parser), so the SDK reads what the refresher writes.
``STATSIG_DCS_FORMAT``       ``v2`` (default: the payload ``statsig-python-core`` reads) or ``v1`` (the legacy
                             ``statsig`` SDK's payload). The SDK evaluates each as its reference SDK does.
``STATSIG_API_URL``          API base as the SDK reads it (``https://host/v1/``). download_config_specs comes
                             from the same host under ``/v1/`` or ``/v2/`` (the format picks); get_id_lists
                             and log_event from the base itself. Default: Statsig's CDN for
                             download_config_specs, ``https://statsigapi.net/v1/`` for the others.
``STATSIG_SECRET_NAME``      SSM parameter (or ``secretsmanager:<name>`` / a Secrets Manager ARN) holding the
                             server secret, read through `lambda_handler.resolve_secret`.
``STATSIG_SERVER_SECRET``    the secret itself: for local runs only, never in a deployment template.
``STATSIG_SPILL_TARGET``     spill store whose event batches each run replays (read by `resolve_options`).
``STATSIG_ALLOW_SNAPSHOT_``  ``SHRINK=true``: write a payload even if it collapses (a section emptied or more
``SHRINK``                   than halved, see `store.validate`); for one deliberate run, then unset it.
===========================  =================================================================================

A value we cannot use raises ConfigurationError naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .. import constants as c
from ..errors import ConfigurationError
from ..store.validate import allow_shrink_from

__all__ = ["DcsFormat", "RefresherConfig", "TargetSpec", "dcs_base", "parse_targets"]

DcsFormat = Literal["v1", "v2"]
_FORMATS: tuple[DcsFormat, ...] = ("v1", "v2")


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One snapshot target: ``kind`` "s3" (``location`` = bucket) or "dynamodb" (``location`` = table)."""

    kind: Literal["s3", "dynamodb"]
    location: str
    key: str

    @property
    def uri(self) -> str:
        return f"{self.kind}://{self.location}/{self.key}"


@dataclass(frozen=True, slots=True)
class RefresherConfig:
    secret_key: str = field(repr=False)
    targets: tuple[TargetSpec, ...] = ()
    dcs_format: DcsFormat = "v2"
    api_url: str | None = None
    allow_shrink: bool = False

    @property
    def dcs_base(self) -> str:
        return dcs_base(self.api_url, self.dcs_format)

    @property
    def id_lists_base(self) -> str:
        base = self.api_url or c.DEFAULT_API
        return base if base.endswith("/") else base + "/"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        *,
        secret_key: str | None = None,
        require_targets: bool = True,
        dcs_format: str | None = None,
    ) -> RefresherConfig:
        """Read the variables above; the secret is resolved last (it may cost an SSM call)."""
        raw_targets = environ.get(c.ENV_SNAPSHOT_TARGETS, "")
        targets = parse_targets(raw_targets) if raw_targets.strip() or require_targets else ()
        fmt = parse_format(dcs_format if dcs_format is not None else environ.get(c.ENV_DCS_FORMAT, ""))
        api_url = environ.get(c.ENV_API_URL) or None
        if secret_key is None:
            from ..lambda_handler import resolve_secret

            secret_key = resolve_secret(environ)
        if not secret_key:
            raise ConfigurationError(
                f"no Statsig server secret: set {c.ENV_SECRET_NAME} (SSM parameter or Secrets Manager secret), "
                f"or {c.ENV_SERVER_SECRET} for a local run"
            )
        return cls(secret_key=secret_key, targets=targets, dcs_format=fmt, api_url=api_url,
                   allow_shrink=allow_shrink_from(environ))


def parse_format(raw: str) -> DcsFormat:
    value = raw.strip().lower() or "v2"
    for fmt in _FORMATS:
        if value == fmt:
            return fmt
    raise ConfigurationError(f"{c.ENV_DCS_FORMAT}={raw!r}: use v2 (default) or v1")


def dcs_base(api_url: str | None, fmt: DcsFormat) -> str:
    """Where download_config_specs is fetched from: the CDN, or ``api_url``'s host under ``/{fmt}/``.

    A base ending in ``/v1/`` or ``/v2/`` gets the format's version segment; any other base (a proxy's own
    path, or a full ``.../download_config_specs`` endpoint) is used as given.
    """
    if not api_url:
        return c.DEFAULT_CDN_V2 if fmt == "v2" else c.DEFAULT_CDN_V1
    stripped = api_url.rstrip("/")
    head, _, last = stripped.rpartition("/")
    if last in _FORMATS:
        return f"{head}/{fmt}/"
    return api_url


def parse_targets(raw: str) -> tuple[TargetSpec, ...]:
    """``STATSIG_SNAPSHOT_TARGETS``: checked with the SDK's own STATSIG_SPEC_SOURCE parser, then kept if
    the entry is one the refresher can write (S3 or DynamoDB)."""
    from ..sources.dynamodb import DynamoDBSource
    from ..sources.s3 import S3Source
    from ..sources.uri import parse_spec_source

    entries = [entry.strip() for entry in raw.split(",")]
    if not any(entries):
        raise _bad(raw, "no target; use s3://bucket/key and/or dynamodb://table/key, comma-separated")
    targets: list[TargetSpec] = []
    for entry in entries:
        if not entry:
            raise _bad(raw, "empty entry in the comma-separated list")
        try:
            source = parse_spec_source(entry)
        except ConfigurationError as exc:
            raise _bad(raw, f"{entry!r} is not a location the SDK can read ({exc})") from exc
        if isinstance(source, S3Source):
            targets.append(TargetSpec("s3", source.bucket, source.key))
        elif isinstance(source, DynamoDBSource):
            targets.append(TargetSpec("dynamodb", source.table, source.key))
        else:
            raise _bad(raw, f"{entry!r}: the refresher writes only s3://bucket/key or dynamodb://table/key")
    if len({t.uri for t in targets}) != len(targets):
        raise _bad(raw, "the same target is listed twice")
    return tuple(targets)


def _bad(raw: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"{c.ENV_SNAPSHOT_TARGETS}={raw!r}: {problem}")
