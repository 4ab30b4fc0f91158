"""The suite-wide fixtures in tests/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

from tests import conftest


def _visible() -> list[str]:
    return [k for k in os.environ if k.startswith(("STATSIG_", "AWS_")) and k not in conftest.KEPT_VARIABLES]


def test_no_statsig_or_aws_variable_is_visible() -> None:
    assert _visible() == []


def test_variables_set_by_a_test_are_removed_1() -> None:
    os.environ["STATSIG_SERVER_SECRET_KEY"] = "secret-leak"
    os.environ["AWS_REGION"] = "eu-west-1"


def test_variables_set_by_a_test_are_removed_2() -> None:
    assert _visible() == []


def test_conformance_dir_defaults_next_to_the_repo(conformance_root: Path) -> None:
    assert conformance_root == conftest.conformance_dir()
    if "STATSIG_CONFORMANCE_DIR" not in os.environ:
        assert conformance_root == (conftest.REPO_ROOT.parent / "shared" / "conformance").resolve()
