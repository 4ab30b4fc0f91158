"""Statsig's side of a refresh: download_config_specs (conditional on ``sinceTime``) and the ID lists.

Both go through the SDK's own sources (`sources.http.HttpSource`, `sources.id_lists.fetch_id_lists`) on
one urllib3 PoolManager: the refresher asks Statsig exactly what the SDK would.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import constants as c
from ..sources.http import HttpSource
from ..sources.id_lists import fetch_id_lists
from ..store.model import IdList
from ..store.snapshot import decode_payload

if TYPE_CHECKING:
    import urllib3

__all__ = ["Downloaded", "StatsigFetcher"]


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A download_config_specs payload as Statsig sent it (parsed) and its size on the wire, decoded."""

    dcs: Mapping[str, Any]
    size: int


class StatsigFetcher:
    def __init__(
        self,
        secret_key: str,
        *,
        dcs_base: str,
        id_lists_base: str,
        pool: urllib3.PoolManager | None = None,
        session_id: str | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if pool is None:
            import urllib3

            pool = urllib3.PoolManager(num_pools=4, maxsize=2)
        self._pool = pool
        self._secret_key = secret_key
        self._session_id = session_id or str(uuid.uuid4())
        self._wall_clock = wall_clock
        self._id_lists_base = id_lists_base
        self._dcs = HttpSource(
            dcs_base, secret_key, pool_manager=pool, session_id=self._session_id, wall_clock=wall_clock
        )

    def dcs(self, since_time: int | None, timeout_s: float) -> Downloaded | None:
        """The current payload; None when Statsig says nothing changed since ``since_time``.

        Raises SpecSourceError (unreachable, non-2xx, not JSON, no ``time``)."""
        version = str(since_time) if since_time else None
        fetched = self._dcs.fetch_if_changed(version, timeout_s)
        if fetched is None:
            return None
        return Downloaded(decode_payload(fetched.payload), len(fetched.payload))

    def id_lists(self, current: Mapping[str, IdList], timeout_s: float) -> dict[str, IdList]:
        """Sync from ``current``: files are read from the bytes already held on (``Range``).

        Raises SpecSourceError when the manifest cannot be had; a file that fails keeps what was held."""
        headers = {
            "STATSIG-SDK-TYPE": c.SDK_TYPE,
            "STATSIG-SDK-VERSION": c.SDK_VERSION,
            "STATSIG-CLIENT-TIME": str(int(self._wall_clock() * 1000)),
            "STATSIG-SERVER-SESSION-ID": self._session_id,
        }
        return fetch_id_lists(
            self._id_lists_base, self._secret_key, headers, current, timeout_s=timeout_s, pool=self._pool
        )
