"""Initialization details and the GCIR hashing choice (legacy `statsig` names)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class HashingAlgorithm(Enum):
    SHA256 = "sha256"
    DJB2 = "djb2"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class InitializeDetails:
    """What `initialize` did: how long it took, which source served the rules, and any error."""

    duration: int
    source: str
    init_success: bool
    store_populated: bool
    error: Exception | None = None
    timed_out: bool = False
    id_list_count: int = 0
    source_detail: str = ""
