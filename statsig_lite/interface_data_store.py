"""`IDataStore` (legacy `statsig` name): a key-value store the SDK reads rules from.

Subclass it to give `StatsigOptions(data_store=...)` a store a team already runs (Redis, DynamoDB, ...).
The rules are read under the key ``statsig.cache`` (a download_config_specs JSON payload), the same key
and format the legacy SDK reads and writes, so a store filled for it works unchanged.
"""

from __future__ import annotations

STORAGE_ADAPTER_KEY = "statsig.cache"


class IDataStore:
    def get(self, key: str) -> str | None:
        """The value stored under `key`, or None."""
        return None

    def set(self, key: str, value: str) -> None:
        """Store `value` under `key` (after rules were downloaded from Statsig)."""

    def shutdown(self) -> None:
        """Release connections; called by `shutdown()`."""

    def should_be_used_for_querying_updates(self, key: str) -> bool:
        """True: freshness checks read the store instead of downloading from Statsig."""
        return False
