"""Statsig's own download_config_specs API, for projects without AWS storage (protocol doc 1.1-1.4).

``GET {endpoint}/{secret}.json`` where the endpoint is ``{api_base}download_config_specs`` for a base like
``https://api.statsigcdn.com/v1/`` (the legacy SDK's ``api`` option) or ``.../v2/``, or the API base itself
when it already ends in ``download_config_specs`` (server core's ``specs_url`` form). The version is the
payload's ``time`` (the lcut); a freshness check sends ``sinceTime=<lcut>`` and an answer of
``{"has_updates": false}`` means unchanged. We ask for plain JSON only (gzip/deflate transfer encoding):
never ``supports_proto``, ``statsig-br`` or ``accept_deltas``, whose answers only server core can decode.

urllib3 loads on the first fetch. One PoolManager per source, made then (or injected). Each fetch is one
attempt with an explicit ``urllib3.Timeout`` from the caller's budget, and follows no redirect: the request
carries the key, so a 3xx is an error. The secret is never part of `name`, `Fetched.source`, errors, repr
or log records (``_secrets.protect``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from http.client import IncompleteRead  # the standard library's (absolute import)
from typing import TYPE_CHECKING
from urllib.parse import quote

from .. import constants as c
from .._secrets import protect
from ..errors import ConfigurationError, SpecSourceError
from ..store.validate import MAX_SNAPSHOT_BYTES
from .base import Fetched

if TYPE_CHECKING:
    import urllib3

__all__ = ["BadResponse", "HttpSource"]

_ENDPOINT = "download_config_specs"


class BadResponse(SpecSourceError):
    """Statsig answered, but with a body that cannot be a payload (not JSON, too large or deep, no ``time``)."""


class HttpSource:
    """download_config_specs over HTTP(S), conditional on ``sinceTime`` for freshness checks."""

    def __init__(
        self,
        api_base: str | None,
        secret_key: str,
        *,
        pool_manager: urllib3.PoolManager | None = None,
        session_id: str | None = None,
        wall_clock: Callable[[], float] = time.time,
        connect_timeout_s: float = c.CONNECT_TIMEOUT_S,
    ) -> None:
        if not secret_key:
            raise ConfigurationError("the Statsig API spec source needs the server secret key")
        endpoint = (api_base or c.DEFAULT_CDN_V1).rstrip("/")
        if not endpoint.endswith("/" + _ENDPOINT):
            endpoint = f"{endpoint}/{_ENDPOINT}"
        self.name = endpoint
        self._url = f"{endpoint}/{quote(secret_key, safe='')}.json"
        self._secret_key = secret_key
        self._pool = pool_manager
        self._session_id = session_id
        self._wall_clock = wall_clock
        self._connect_timeout_s = connect_timeout_s

    def __repr__(self) -> str:  # never show the key
        return f"HttpSource({self.name!r})"

    def fetch(self, timeout_s: float) -> Fetched:
        fetched = self._get(None, timeout_s)
        assert fetched is not None  # without sinceTime the answer is always a payload (or an error)
        return fetched

    def fetch_if_changed(self, version: str | None, timeout_s: float) -> Fetched | None:
        since = int(version) if version is not None and version.isdigit() and int(version) > 0 else None
        fetched = self._get(since, timeout_s)
        if fetched is not None and version is not None and fetched.version == version:
            return None
        return fetched

    def _pool_manager(self) -> urllib3.PoolManager:
        if self._pool is None:
            from .._http import pool_manager  # HTTPS_PROXY / NO_PROXY

            self._pool = pool_manager(self._url, num_pools=2, maxsize=1)
        return self._pool

    def _headers(self) -> dict[str, str]:
        headers = {
            "STATSIG-API-KEY": self._secret_key,
            "STATSIG-CLIENT-TIME": str(int(self._wall_clock() * 1000)),
            "STATSIG-SDK-TYPE": c.SDK_TYPE,
            "STATSIG-SDK-VERSION": c.SDK_VERSION,
            "Accept-Encoding": "gzip, deflate",
        }
        if self._session_id:
            headers["STATSIG-SERVER-SESSION-ID"] = self._session_id
        return headers

    def _get(self, since: int | None, timeout_s: float) -> Fetched | None:
        import urllib3

        budget = max(timeout_s, 0.001)
        timeout = urllib3.Timeout(total=budget, connect=min(self._connect_timeout_s, budget))
        protect(self._secret_key)  # urllib3 logs the request path, which holds the key
        try:
            response = self._pool_manager().request(
                "GET",
                self._url,
                fields={"sinceTime": str(since)} if since is not None else None,
                headers=self._headers(),
                timeout=timeout,
                retries=False,
                redirect=False,  # never carry the key to another host
            )
        except urllib3.exceptions.HTTPError as exc:
            raise SpecSourceError(self.name, self._reason(exc)) from exc
        if 300 <= response.status < 400:
            raise SpecSourceError(self.name, f"HTTP {response.status}: redirect not followed (it would carry the key)")
        if not 200 <= response.status < 300:
            raise SpecSourceError(self.name, f"HTTP {response.status}")
        data = response.data
        if len(data) > MAX_SNAPSHOT_BYTES:
            raise BadResponse(self.name, f"response is {len(data)} bytes, more than {MAX_SNAPSHOT_BYTES}")
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise BadResponse(self.name, f"response is not JSON: {exc}") from exc
        except RecursionError as exc:
            raise BadResponse(self.name, "response is nested too deep") from exc
        if not isinstance(document, dict):
            raise BadResponse(self.name, "response is not a JSON object")
        if document.get("has_updates") is False:
            if since is not None:
                return None
            raise SpecSourceError(self.name, "answered has_updates=false to a request without sinceTime")
        lcut = document.get("time")
        if isinstance(lcut, bool) or not isinstance(lcut, (int, float)) or not math.isfinite(lcut):
            raise BadResponse(self.name, "response has no finite numeric 'time'")
        return Fetched(payload=bytes(data), version=str(int(lcut)), source=self.name)

    def _reason(self, exc: Exception) -> str:
        """What went wrong, without the URL's key (urllib3 messages can quote the request path)."""
        import urllib3

        cause: BaseException = exc
        if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
            cause = exc.reason
        if isinstance(cause, urllib3.exceptions.NewConnectionError):  # before TimeoutError: it subclasses it
            kind = "cannot connect"
        elif isinstance(cause, urllib3.exceptions.TimeoutError):
            kind = "timed out"
        elif isinstance(cause, urllib3.exceptions.ProtocolError):
            truncated = any(isinstance(arg, IncompleteRead) for arg in cause.args)
            kind = "truncated response" if truncated else "connection broken"
        elif isinstance(cause, urllib3.exceptions.DecodeError):
            kind = "response could not be decoded (truncated?)"
        else:
            kind = "request failed"
        text = f"{kind}: {type(cause).__name__}: {cause}"
        return text.replace(self._secret_key, "***").replace(quote(self._secret_key, safe=""), "***")
