"""User-agent fields for `ua_based` conditions, parsed with ua-parser (loaded on first use)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_FIELDS = {
    "os_name": "os_name",
    "osname": "os_name",
    "os_version": "os_version",
    "osversion": "os_version",
    "browser_name": "browser_name",
    "browsername": "browser_name",
    "browser_version": "browser_version",
    "browserversion": "browser_version",
}
# uap-core has no iPadOS pattern; the official SDK reads the version from the agent text itself.
_IPADOS = re.compile(r"\biPadOS (\d+)(?:\.(\d+))?(?:\.(\d+))?")
_MAX_CORE_LENGTH = 1000


def part_for_field(field: str) -> str | None:
    return _FIELDS.get(field.lower())


def _version(parts: dict[str, Any] | None, legacy: bool) -> str | None:
    if parts is None:
        return None
    numbers = []
    for key in ("major", "minor", "patch"):
        raw = parts.get(key, "0")
        if raw is None:
            numbers.append(0)
            continue
        try:
            numbers.append(int(raw))
        except ValueError:
            if legacy:
                return None
            numbers.append(0)
    return "{}.{}.{}".format(*numbers)


@lru_cache(maxsize=2048)
def parse(agent: str, legacy: bool) -> dict[str, str | None]:
    """os/browser name and version of a user agent (empty when it cannot be parsed)."""
    if not legacy and len(agent) > _MAX_CORE_LENGTH:
        return {}
    from ua_parser import user_agent_parser  # loaded only when a ua_based condition needs it

    try:
        parsed: dict[str, Any] = user_agent_parser.Parse(agent)
    except Exception:  # ua-parser raises on odd input; the official SDK treats that as "no value"
        return {}
    os_info = parsed.get("os")
    if os_info is not None and os_info.get("major") is None and (m := _IPADOS.search(agent)):
        os_info = {**os_info, "major": m.group(1), "minor": m.group(2), "patch": m.group(3)}
    browser = parsed.get("user_agent")
    return {
        "os_name": (os_info or {}).get("family"),
        "os_version": _version(os_info, legacy),
        "browser_name": (browser or {}).get("family"),
        "browser_version": _version(browser, legacy),
    }
