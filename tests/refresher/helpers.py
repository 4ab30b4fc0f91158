"""Shared pieces of the refresher tests: names, payloads, a wired refresher and what the stores hold."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal

from statsig_lite.refresher.config import dcs_base
from statsig_lite.refresher.fetch import StatsigFetcher
from statsig_lite.refresher.refresh import SnapshotRefresher
from statsig_lite.refresher.targets import DynamoDBTarget, S3Target, SnapshotTarget, Stored
from tests.servers.statsig_api import FakeStatsigAPI
from tests.sources.aws import create_snapshot_table
from tests.sources.payloads import example_payload

KEY = "secret-refresher-key"
BUCKET, S3_KEY = "statsig-snapshots", "prod/snapshot.json"
TABLE, DDB_KEY = "statsig-specs", "prod"
TARGETS = f"s3://{BUCKET}/{S3_KEY},dynamodb://{TABLE}/{DDB_KEY}"
T1, T2 = 1_700_000_000_000, 1_700_000_060_000


def create_stores(s3: Any, ddb: Any) -> None:
    s3.create_bucket(Bucket=BUCKET)
    create_snapshot_table(ddb, TABLE)


def payload(lcut: int, **extra: Any) -> dict[str, Any]:
    """The package's example v2 payload with ``time`` = ``lcut`` (and extra top-level keys)."""
    document = example_payload(lcut)
    document.update(extra)
    return document


def without_rule_id(lcut: int) -> dict[str, Any]:
    """Parses as JSON, has a ``time``, but a rule has no ``id``: our store refuses it."""
    document = copy.deepcopy(payload(lcut))
    gate = next(iter(document["feature_gates"].values()))
    del gate["rules"][0]["id"]
    return document


def targets(s3: Any, ddb: Any, *, chunk_bytes: int | None = None) -> list[SnapshotTarget]:
    ddb_target = (
        DynamoDBTarget(TABLE, DDB_KEY, ddb)
        if chunk_bytes is None
        else DynamoDBTarget(TABLE, DDB_KEY, ddb, chunk_bytes=chunk_bytes)
    )
    return [S3Target(BUCKET, S3_KEY, s3), ddb_target]


def make_refresher(
    api: FakeStatsigAPI | str,
    s3: Any,
    ddb: Any,
    *,
    fmt: Literal["v1", "v2"] = "v2",
    chunk_bytes: int | None = None,
    wrap: Callable[[SnapshotTarget], SnapshotTarget] | None = None,
    secret_key: str = KEY,
    only: list[SnapshotTarget] | None = None,
    allow_shrink: bool = False,
) -> SnapshotRefresher:
    """A refresher on ``api`` (or an API base URL) writing to both stores (or to ``only``), as the handler
    would wire it."""
    base = api.url if isinstance(api, FakeStatsigAPI) else api
    fetcher = StatsigFetcher(secret_key, dcs_base=dcs_base(base, fmt), id_lists_base=base)
    chosen = only if only is not None else targets(s3, ddb, chunk_bytes=chunk_bytes)
    if wrap is not None:
        chosen = [wrap(t) for t in chosen]
    return SnapshotRefresher(fetcher, chosen, secret_key=secret_key, dcs_format=fmt, allow_shrink=allow_shrink)


def stored_state(s3: Any, ddb: Any) -> tuple[object, ...]:
    """Everything the stores hold for the snapshot, byte for byte (object + ETag, every item)."""
    obj = s3.get_object(Bucket=BUCKET, Key=S3_KEY)
    items = ddb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    snapshot_items = sorted(
        (sorted((k, repr(v)) for k, v in item.items()) for item in items),
        key=repr,
    )
    return obj["Body"].read(), obj["ETag"], repr(snapshot_items)


class RacingTarget:
    """Delegates to a real target; runs ``before_write`` once, between this refresher's read and its write."""

    def __init__(self, inner: SnapshotTarget, before_write: Callable[[], None]) -> None:
        self.inner = inner
        self.name = inner.name
        self._before_write: Callable[[], None] | None = before_write

    def read(self, timeout_s: float) -> Stored:
        return self.inner.read(timeout_s)

    def write(self, payload: bytes, expected: Stored, timeout_s: float, *, lcut: int | None = None) -> str:
        hook, self._before_write = self._before_write, None
        if hook is not None:
            hook()
        return self.inner.write(payload, expected, timeout_s, lcut=lcut)


class CountingTarget:
    """Delegates to a real target and records the name of every write attempt in ``writes``."""

    def __init__(self, inner: SnapshotTarget, writes: list[str]) -> None:
        self.inner = inner
        self.name = inner.name
        self._writes = writes

    def read(self, timeout_s: float) -> Stored:
        return self.inner.read(timeout_s)

    def write(self, payload: bytes, expected: Stored, timeout_s: float, *, lcut: int | None = None) -> str:
        self._writes.append(self.name)
        return self.inner.write(payload, expected, timeout_s, lcut=lcut)


def with_list_gate(lcut: int, list_name: str = "list_a") -> dict[str, Any]:
    """The example payload plus a gate that passes users in the ID list ``list_name``."""
    document = payload(lcut)
    document["condition_map"]["c_in_list"] = {
        "type": "unit_id",
        "targetValue": list_name,
        "operator": "in_segment_list",
        "field": None,
        "additionalValues": {},
        "idType": "userID",
    }
    document["feature_gates"]["listed_users"] = {
        "type": "feature_gate",
        "entity": "feature_gate",
        "salt": "listed",
        "enabled": True,
        "defaultValue": False,
        "idType": "userID",
        "rules": [
            {
                "name": "in_list",
                "id": "in_list",
                "salt": "in_list",
                "passPercentage": 100,
                "conditions": ["c_in_list"],
                "returnValue": True,
                "idType": "userID",
            }
        ],
    }
    document["id_lists"] = {list_name: True}
    return document


def id_list_manifest(name: str, data: bytes, *, file_id: str = "file-1", created: int = 1) -> dict[str, Any]:
    return {name: {"name": name, "size": len(data), "url": f"URL_REPLACE/{name}", "creationTime": created,
                   "fileID": file_id}}
