"""Initialization details and the GCIR hashing choice (legacy `statsig` names)."""

from __future__ import annotations

from enum import Enum

from ._record import Record


class HashingAlgorithm(Enum):
    SHA256 = "sha256"
    DJB2 = "djb2"
    NONE = "none"


class InitializeDetails(Record):
    """What `initialize` did: how long it took, which source served the rules, and any error. Positional
    order and fields as in the legacy SDK; `source_detail` (which of our spec sources served) is ours."""

    __slots__ = (
        "duration",
        "error",
        "fallback_id_lists_used",
        "fallback_spec_used",
        "id_list_count",
        "init_source_api",
        "init_source_api_id_lists",
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
        id_list_count: int = 0,
        error: Exception | None = None,
        init_source_api: str | None = None,
        timed_out: bool = False,
        init_source_api_id_lists: str | None = None,
        fallback_spec_used: bool = False,
        fallback_id_lists_used: bool = False,
        source_detail: str = "",
    ) -> None:
        self.duration = duration
        self.source = source
        self.init_success = init_success
        self.store_populated = store_populated
        self.id_list_count = id_list_count
        self.error = error
        self.init_source_api = init_source_api
        self.timed_out = timed_out
        self.init_source_api_id_lists = init_source_api_id_lists
        self.fallback_spec_used = fallback_spec_used
        self.fallback_id_lists_used = fallback_id_lists_used
        self.source_detail = source_detail
