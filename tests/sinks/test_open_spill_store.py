"""spill_target parsing: each scheme opens its store; anything else names STATSIG_SPILL_TARGET."""

from __future__ import annotations

import pytest

from statsig_lite.errors import ConfigurationError
from statsig_lite.sinks import DirSpillStore, DynamoDBSpillStore, S3SpillStore, open_spill_store


@pytest.mark.parametrize(
    ("target", "kind", "description"),
    [
        ("file:///tmp/spill", DirSpillStore, "file:///tmp/spill"),
        ("file://localhost/tmp/spill%20x", DirSpillStore, "file:///tmp/spill x"),
        ("s3://bucket", S3SpillStore, "s3://bucket"),
        ("S3://bucket/a/b/", S3SpillStore, "s3://bucket/a/b"),
        ("dynamodb://table", DynamoDBSpillStore, "dynamodb://table/statsig_lite"),
        ("dynamodb://table/fn-a", DynamoDBSpillStore, "dynamodb://table/fn-a"),
    ],
)
def test_targets_open_their_store(target: str, kind: type, description: str) -> None:
    store = open_spill_store(target)
    assert isinstance(store, kind)
    assert store.description == description


@pytest.mark.parametrize("target", ["", "/tmp/spill", "file://", "file://host/dir", "s3://", "dynamodb://", "gs://b/p"])
def test_unknown_targets_raise_configuration_error_naming_the_variable(target: str) -> None:
    with pytest.raises(ConfigurationError, match="STATSIG_SPILL_TARGET"):
        open_spill_store(target)
