"""DynamoDB snapshots are atomic for readers (moto in server mode, real sockets, a real SIGKILL).

- reader vs writer: readers fetch continuously while a writer replaces a chunked snapshot again and again,
  with a grace period short enough that old versions are deleted during the run: no read fails, and every
  read returns exactly one of the snapshots written (sha256).
- killed writer: a refresher process is killed with SIGKILL between its chunks: readers keep reading the
  previous snapshot without a single failure, and the next write succeeds and collects the dead writer's chunks.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from statsig_lite.refresher.targets import DynamoDBTarget
from statsig_lite.sources.dynamodb import DynamoDBSource
from tests.refresher.helpers import DDB_KEY, TABLE
from tests.servers.moto_server import MotoServer
from tests.sources.aws import create_snapshot_table
from tests.sources.payloads import envelope_bytes, payload_bytes

REPO = Path(__file__).resolve().parents[2]


def _snapshot(n: int, noise_kb: int) -> bytes:
    return payload_bytes(1_700_000_000_000 + n, noise_kb=noise_kb)


def _versions(client: Any) -> set[str]:
    items = client.query(TableName=TABLE, KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
                         ExpressionAttributeValues={":pk": {"S": DDB_KEY}, ":v": {"S": "v#"}}, ConsistentRead=True)
    return {item["sk"]["S"].split("#")[1] for item in items["Items"]}


def test_readers_never_fail_while_a_writer_replaces_the_snapshot(
    moto_server: MotoServer, aws_endpoint_url: str
) -> None:
    writer_client = moto_server.dynamodb_client()
    create_snapshot_table(writer_client, TABLE)
    target = DynamoDBTarget(TABLE, DDB_KEY, writer_client, chunk_bytes=2048, grace_s=0.15)
    first = _snapshot(0, 24)
    target.write(first, target.read(5.0), 10.0)
    written = {hashlib.sha256(first).hexdigest()}
    done = threading.Event()
    reads: list[int] = []
    failures: list[str] = []

    def read_forever() -> None:
        source = DynamoDBSource(TABLE, DDB_KEY, boto3_client=moto_server.dynamodb_client())
        count = 0
        while not done.is_set():
            try:
                fetched = source.fetch(10.0)
            except Exception as exc:  # the point of the test: any failure is recorded
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            digest = hashlib.sha256(fetched.payload).hexdigest()
            if digest not in written:
                failures.append(f"a payload nobody wrote ({digest[:12]})")
            count += 1
        reads.append(count)

    readers = [threading.Thread(target=read_forever) for _ in range(2)]
    for reader in readers:
        reader.start()
    deleted_during_run = 0
    try:
        for n in range(1, 16):
            snapshot = _snapshot(n, 24)
            written.add(hashlib.sha256(snapshot).hexdigest())  # before the switch: a reader may see it at once
            before = _versions(writer_client)
            target.write(snapshot, target.read(5.0), 10.0)
            deleted_during_run += len(before - _versions(writer_client))
            time.sleep(0.1)
    finally:
        done.set()
        for reader in readers:
            reader.join(30)
    chunks = writer_client.get_item(TableName=TABLE, Key={"pk": {"S": DDB_KEY}, "sk": {"S": "current"}})["Item"]
    print(f"\nDynamoDB reader vs writer: 15 chunked writes of {chunks['chunks']['N']} chunks each, "
          f"{sum(reads)} reads by 2 readers, {len(failures)} failed, {deleted_during_run} old versions deleted "
          "during the run")
    assert not failures, failures[:5]
    assert sum(reads) >= 30 and deleted_during_run > 0


WRITER = """
import sys
from statsig_lite.refresher.targets import DynamoDBTarget
from tests.servers.moto_server import make_client

endpoint, table, key, path = sys.argv[1:5]
target = DynamoDBTarget(table, key, make_client("dynamodb", endpoint), chunk_bytes=512, grace_s=0.0)
stored = target.read(10.0)
print("ready", flush=True)
target.write(open(path, "rb").read(), stored, 120.0)
print("finished", flush=True)
"""


def test_a_writer_killed_between_chunks_leaves_readers_on_the_previous_snapshot(
    moto_server: MotoServer, aws_endpoint_url: str, tmp_path: Path
) -> None:
    client = moto_server.dynamodb_client()
    create_snapshot_table(client, TABLE)
    target = DynamoDBTarget(TABLE, DDB_KEY, client, chunk_bytes=2048, grace_s=0.0)
    previous = envelope_bytes(1_700_000_000_000)
    target.write(previous, target.read(5.0), 10.0)
    good_versions = _versions(client)
    big = tmp_path / "big.json"
    big.write_bytes(_snapshot(2, 400))  # ~800 chunks of 512 bytes: seconds of writing
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STATSIG_"))}
    env["PYTHONPATH"] = str(REPO)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, aws_endpoint_url, TABLE, DDB_KEY, str(big)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        source = DynamoDBSource(TABLE, DDB_KEY, boto3_client=moto_server.dynamodb_client())
        reads_during_write = 0
        deadline = time.monotonic() + 30
        while len(_versions(client) - good_versions) == 0 or _chunks_of_new(client, good_versions) < 20:
            assert source.fetch(5.0).payload == previous  # while it writes, readers read the previous one
            reads_during_write += 1
            assert time.monotonic() < deadline, "the writer never got going"
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(10)
    orphans = _chunks_of_new(client, good_versions)
    assert writer.returncode == -signal.SIGKILL and orphans >= 20
    after = [source.fetch(5.0).payload for _ in range(5)]
    assert after == [previous] * 5
    stored = target.read(5.0)
    assert stored.payload == previous and stored.problem is None

    replacement = envelope_bytes(1_700_000_060_000)
    target.write(replacement, stored, 10.0)
    assert source.fetch(5.0).payload == replacement
    dead = _versions(client) - good_versions - {str(target.read(5.0).token)}
    print(f"\nkilled writer: {orphans} chunks written before SIGKILL, {reads_during_write} reads during the write "
          f"and 5 after it, all of the previous snapshot; the next write left {len(dead)} dead versions")
    assert dead == set()


def _chunks_of_new(client: Any, known: set[str]) -> int:
    items = client.query(TableName=TABLE, KeyConditionExpression="pk = :pk AND begins_with(sk, :v)",
                         ExpressionAttributeValues={":pk": {"S": DDB_KEY}, ":v": {"S": "v#"}},
                         ProjectionExpression="sk", ConsistentRead=True)["Items"]
    return sum(1 for item in items if item["sk"]["S"].split("#")[1] not in known)
