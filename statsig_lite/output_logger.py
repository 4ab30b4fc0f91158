"""`LogLevel` and `OutputLogger` (legacy `statsig` names), on the standard `logging` module.

statsig_lite itself logs to the ``statsig_lite`` logger. An `OutputLogger` given as
``StatsigOptions(custom_logger=...)`` receives those records (see `server`), so a subclass written for the
legacy SDK keeps working. `logging` is imported when an `OutputLogger` is built, not with this module.
"""

from __future__ import annotations

from enum import Enum

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any


class LogLevel(Enum):
    """The `logging` levels by name; EXCEPTION is ERROR (as in the legacy SDK)."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    EXCEPTION = 40


def sanitize(string: str) -> str:
    """`string` with every server secret masked."""
    import re  # not at import: this module is on `import statsig_lite`'s path

    return re.sub(r"secret-[a-zA-Z0-9]+", "secret-****", string)


class OutputLogger:
    """A named logger whose messages never carry a server secret and whose calls never raise."""

    def __init__(self, name: str) -> None:
        import logging

        self._logger = logging.getLogger(name)
        self._logger.setLevel(logging.WARNING)

    def _emit(self, method: str, msg: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            clean_args = tuple(sanitize(str(a)) for a in args)
            clean_kwargs = {k: sanitize(str(v)) for k, v in kwargs.items()}
            getattr(self._logger, method)(sanitize(str(msg)), *clean_args, **clean_kwargs)
        except Exception:  # a logger must never break the caller
            pass

    def log_process(self, process: str, msg: str) -> None:
        self.debug(f"{process}: {msg}")

    def set_log_level(self, log_level: LogLevel) -> None:
        self._logger.setLevel(log_level.value)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("debug", msg, args, kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("info", msg, args, kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("warning", msg, args, kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("error", msg, args, kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit("exception", msg, args, kwargs)
