"""Module loggers that import `logging` on their first message.

`import logging` also loads traceback, threading, string and weakref: about a quarter of this package's
import time and a megabyte of memory in a process that may never log anything. Records are the same as
from `logging.getLogger(name)`: same names, levels, `extra`, and the caller's file and line.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from typing import Any


class LazyLogger:
    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: Any = None

    def _log(self, level: str, msg: object, args: tuple[object, ...], kwargs: dict[str, Any]) -> None:
        logger = self._logger
        if logger is None:
            import logging

            package = logging.getLogger(__package__)
            if not package.handlers:
                package.addHandler(logging.NullHandler())  # a library leaves output to the application
            logger = self._logger = logging.getLogger(self.name)
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2  # report our caller, not these two frames
        getattr(logger, level)(msg, *args, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._log("debug", msg, args, kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._log("info", msg, args, kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._log("warning", msg, args, kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._log("error", msg, args, kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self._log("error", msg, args, kwargs)


def get_logger(name: str) -> LazyLogger:
    return LazyLogger(name)
