"""Snapshot bytes for the source tests: the package's example payload, with a chosen lcut or padding."""

from __future__ import annotations

import json
import os
from importlib import resources
from typing import Any

from statsig_lite.store.envelope import encode_snapshot


def example_bytes() -> bytes:
    """The package's example download_config_specs payload, byte for byte."""
    return resources.files("statsig_lite").joinpath("data/example_snapshot.json").read_bytes()


def example_payload(lcut: int = 1_700_000_000_000, *, noise_kb: int = 0) -> dict[str, Any]:
    """The example payload with ``time`` = ``lcut``; ``noise_kb`` adds incompressible bytes (random hex)."""
    payload: dict[str, Any] = json.loads(example_bytes())
    payload["time"] = lcut
    if noise_kb:
        payload["padding"] = os.urandom(noise_kb * 512).hex()
    return payload


def payload_bytes(lcut: int = 1_700_000_000_000, *, noise_kb: int = 0) -> bytes:
    return json.dumps(example_payload(lcut, noise_kb=noise_kb), separators=(",", ":")).encode()


def envelope_bytes(lcut: int = 1_700_000_000_000) -> bytes:
    """Our snapshot document (the refresher's format) around the example payload."""
    return encode_snapshot(example_payload(lcut), {}, created_at=lcut)
