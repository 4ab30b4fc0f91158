"""urllib3 pool managers for every HTTP client of the package, honouring the standard proxy environment.

``HTTPS_PROXY`` / ``HTTP_PROXY`` (either case) and ``NO_PROXY`` are read when a pool is made, as the
official SDK's HTTP library does: a URL whose host is not excluded goes through urllib3's `ProxyManager`.
Loopback hosts are never proxied.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

    import urllib3

_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL the environment names for `url`, or None."""
    env = os.environ if environ is None else environ
    parts = urlsplit(url)
    scheme = (parts.scheme or "https").lower()
    proxy = env.get(f"{scheme}_proxy") or env.get(f"{scheme.upper()}_PROXY")
    if not proxy:
        return None
    host = (parts.hostname or "").lower()
    if host in _LOOPBACK or host.startswith("127."):
        return None
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return None
        name = entry.split(":", 1)[0].lstrip(".")
        if host == name or host.endswith("." + name):
            return None
    return proxy


def pool_manager(url: str, **kwargs: Any) -> urllib3.PoolManager:
    """A PoolManager for requests to `url`, or a ProxyManager when the environment names a proxy for it."""
    import urllib3

    proxy = proxy_for(url)
    if proxy is not None:
        return urllib3.ProxyManager(proxy, **kwargs)
    return urllib3.PoolManager(**kwargs)
