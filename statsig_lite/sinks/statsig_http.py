"""Statsig's log_event endpoint over one reused urllib3 PoolManager.

urllib3 is imported on the first send, not when the package loads (cold start). Each call is exactly one
HTTP attempt (urllib3's own retries are off): the pipeline owns retries, backoff and the deadline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from .. import constants as c
from .._gc import PausedCollector
from .._log import get_logger
from .._secrets import protect
from ..buffer import Batch
from .base import SendError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    import urllib3

__all__ = ["RETRYABLE_STATUSES", "StatsigHTTPSink"]

logger = get_logger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429})
"""Besides every 5xx: statuses after which the same batch may be accepted later."""


class StatsigHTTPSink:
    """POSTs gzip'd batches to ``{base}log_event`` with Statsig's headers and the batch id."""

    def __init__(
        self,
        secret_key: str,
        session_id: str,
        *,
        base_url: str | None = None,
        pool_manager: urllib3.PoolManager | None = None,
        wall_clock: Callable[[], float] = time.time,
        connect_timeout_s: float = c.CONNECT_TIMEOUT_S,
        service_name: str | None = None,
    ) -> None:
        self._service = service_name or "unknown"
        base = base_url or c.DEFAULT_API
        self._url = (base if base.endswith("/") else base + "/") + c.LOG_EVENT_ENDPOINT
        self._secret_key = secret_key
        self._session_id = session_id
        self._pool = pool_manager
        self._wall_clock = wall_clock
        self._connect_timeout_s = connect_timeout_s

    @property
    def url(self) -> str:
        return self._url

    def __repr__(self) -> str:  # never show the key
        return f"StatsigHTTPSink(url={self._url!r})"

    def _pool_manager(self) -> urllib3.PoolManager:
        if self._pool is None:
            from .._http import pool_manager  # HTTPS_PROXY / NO_PROXY

            self._pool = pool_manager(self._url, num_pools=2, maxsize=1, retries=False)
        return self._pool

    def send(self, batch: Batch, *, attempt: int, timeout_s: float) -> None:
        if not self._secret_key:  # never send events with an empty key: Statsig would drop them
            raise SendError(
                f"log_event: no server secret configured (set {c.ENV_SERVER_SECRET} or {c.ENV_SECRET_NAME})",
                retryable=False,
                auth=True,
            )
        with PausedCollector():  # the first send imports urllib3 (and http.client, ssl): no garbage to find
            import urllib3

        protect(self._secret_key)  # urllib3's and our log records never carry the key
        headers = {
            "STATSIG-API-KEY": self._secret_key,
            "STATSIG-CLIENT-TIME": str(int(self._wall_clock() * 1000)),
            "STATSIG-SDK-TYPE": c.SDK_TYPE,
            "STATSIG-SDK-VERSION": c.SDK_VERSION,
            "STATSIG-SERVER-SESSION-ID": self._session_id,
            "STATSIG-EVENT-COUNT": str(len(batch)),
            "x-request-service": self._service,
            "STATSIG-RETRY": str(attempt),
            c.HEADER_BATCH_ID: batch.batch_id,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Accept-Encoding": "gzip",
        }
        timeout = urllib3.Timeout(total=timeout_s, connect=min(self._connect_timeout_s, timeout_s), read=timeout_s)
        try:
            response = self._pool_manager().request(
                "POST",
                self._url,
                body=batch.body,
                headers=headers,
                timeout=timeout,
                retries=False,
                redirect=False,
                preload_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise SendError(f"log_event: {type(exc).__name__}: {exc}") from exc
        except OSError as exc:  # a socket error urllib3 did not wrap
            raise SendError(f"log_event: {type(exc).__name__}: {exc}") from exc
        _check_response(response.status, response.data, response.headers.get("Retry-After"), self._wall_clock())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()


def _check_response(status: int, data: bytes, retry_after: str | None, now: float) -> None:
    """Return if the answer means "accepted"; raise SendError otherwise."""
    if 200 <= status < 300:
        if not data.strip():
            return
        try:
            answer = json.loads(data)
        except ValueError as exc:
            # A 2xx we cannot read is not a confirmation; resending under the same batch id is safe.
            raise SendError(f"log_event: HTTP {status} with an unreadable body", status=status) from exc
        if isinstance(answer, dict) and answer.get("success") is False:
            raise SendError(f'log_event: HTTP {status} with {{"success": false}}', status=status)
        return
    retryable = status >= 500 or status in RETRYABLE_STATUSES
    raise SendError(
        f"log_event: HTTP {status}",
        status=status,
        retryable=retryable,
        retry_after_s=_retry_after_s(retry_after, now),
    )


def _retry_after_s(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import email.utils  # HTTP dates in Retry-After are rare: not worth loading the email package early

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)
