"""`RedisDataStore` (legacy `statsig` name): an `IDataStore` on Redis. Needs the `redis` package, which
statsig_lite does not depend on: install it beside the function if you use this."""

from __future__ import annotations

from .interface_data_store import IDataStore

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any


class RedisDataStore(IDataStore):
    def __init__(self, host: str, port: int, password: str) -> None:
        try:
            import redis  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise ImportError("RedisDataStore needs the redis package (pip install redis)") from None
        self._connection: Any = redis.Redis(host=host, port=port, password=password)

    def get(self, key: str) -> str | None:
        value = self._connection.get(key)
        return value.decode("utf-8") if isinstance(value, bytes) else value

    def set(self, key: str, value: str) -> None:
        self._connection.set(key, value)

    def shutdown(self) -> None:
        self._connection.close()
