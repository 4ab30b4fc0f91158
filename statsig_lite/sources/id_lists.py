"""Fetch ID lists from Statsig's API as the official SDKs do: manifest, then each file by byte range."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._log import get_logger
from .._secrets import protect
from ..errors import SpecSourceError
from ..store.id_lists import apply_file
from ..store.model import IdList

logger = get_logger(__name__)


def fetch_id_lists(
    api_base: str,
    secret_key: str,
    headers: Mapping[str, str],
    current: Mapping[str, IdList] | None = None,
    timeout_s: float = 5.0,
    pool: Any = None,
) -> dict[str, IdList]:
    """Sync ID lists from `{api_base}get_id_lists`; lists missing from the manifest are dropped."""
    import urllib3  # loaded only when ID lists are fetched over the network

    protect(secret_key)
    if pool is None:
        from .._http import pool_manager  # HTTPS_PROXY / NO_PROXY

        pool = pool_manager(api_base)
    http = pool
    timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
    base_headers = {**headers, "STATSIG-API-KEY": secret_key, "Content-Type": "application/json"}
    try:
        resp = http.request(
            "POST", f"{api_base}get_id_lists", body=b"{}", headers=base_headers, timeout=timeout, retries=False,
            redirect=False,  # never carry the key to another host
        )
    except urllib3.exceptions.HTTPError as exc:
        raise SpecSourceError("get_id_lists", str(exc)) from exc
    if resp.status >= 300:
        raise SpecSourceError("get_id_lists", f"HTTP {resp.status}")
    try:
        manifest = json.loads(resp.data)
    except ValueError as exc:
        raise SpecSourceError("get_id_lists", f"manifest is not JSON: {exc}") from exc
    if not isinstance(manifest, Mapping):
        raise SpecSourceError("get_id_lists", "manifest is not an object")

    held = dict(current or {})
    result: dict[str, IdList] = {}
    for name, entry in manifest.items():
        if not isinstance(entry, Mapping):
            continue
        url, file_id = entry.get("url"), entry.get("fileID")
        size, created = entry.get("size", 0), entry.get("creationTime", 0)
        if not isinstance(url, str) or not isinstance(file_id, str):
            continue
        old = held.get(name)
        if old is not None and isinstance(created, int) and created < old.creation_time:
            result[name] = old
            continue
        if old is None or old.file_id != file_id:
            old = IdList(name=name, ids=frozenset(), file_id=file_id, creation_time=int(created or 0), url=url)
        if isinstance(size, int) and size > old.read_bytes:
            try:
                file_resp = http.request(
                    "GET",
                    url,
                    headers={"Range": f"bytes={old.read_bytes}-", "statsig-id-list-file-size": str(size)},
                    timeout=timeout,
                    retries=False,
                )
            except urllib3.exceptions.HTTPError as exc:
                logger.warning("ID list %s could not be downloaded: %s", name, exc)
                result[name] = old
                continue
            if file_resp.status >= 300:
                logger.warning("ID list %s answered HTTP %s", name, file_resp.status)
                result[name] = old
                continue
            updated = apply_file(old, file_resp.data)
            result[name] = updated if updated is not None else old
        else:
            result[name] = old
    return result
