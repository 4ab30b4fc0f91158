"""Initialization details and the GCIR hashing choice (legacy `statsig` names)."""

from __future__ import annotations

from enum import Enum

from ._record import Record


class HashingAlgorithm(Enum):
    SHA256 = "sha256"
    DJB2 = "djb2"
    NONE = "none"


class InitializeDetails(Record):
    """What `initialize` did: how long it took, which source served the rules, and any error."""

    __slots__ = (
        "duration",
        "error",
        "id_list_count",
        "init_success",
        "source",
        "source_detail",
        "store_populated",
        "timed_out",
    )

    def __init__(
        self,
        duration: int,
        source: str,
        init_success: bool,
        store_populated: bool,
        error: Exception | None = None,
        timed_out: bool = False,
        id_list_count: int = 0,
        source_detail: str = "",
    ) -> None:
        self.duration = duration
        self.source = source
        self.init_success = init_success
        self.store_populated = store_populated
        self.error = error
        self.timed_out = timed_out
        self.id_list_count = id_list_count
        self.source_detail = source_detail
