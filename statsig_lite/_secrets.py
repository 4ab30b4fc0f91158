"""Keep the server secret out of log records: ours, urllib3's, botocore's and Powertools'.

The CDN form of download_config_specs carries the key in the URL path, and urllib3 logs request paths
(DEBUG on every request, INFO/WARNING on redirects and retries); botocore logs whole response bodies at
DEBUG, which include the secret when it is read from SSM or Secrets Manager. A filter on each of those
loggers replaces every registered secret with ``***`` in the record before any handler sees it.

A filter on a logger is consulted only for records logged on that very logger (not on its children), so
`protect` attaches it to every existing logger of those packages (re-scanning when new loggers appeared),
and wraps the log record factory so that records of loggers made later are redacted when they are built.
It is called on the HTTP paths that carry the key (cheap when nothing changed), never at import: the
cold path does not load `logging`. `hold_library_debug` blanks the libraries' records below WARNING while
the secret itself is being fetched (its value is not known yet, so it cannot be redacted).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable
    from typing import Any

__all__ = ["hold_library_debug", "protect", "redact"]

_PREFIXES = ("urllib3", "botocore", "boto3", "s3transfer", "aws_lambda_powertools", "statsig_lite")
_LIBRARIES = ("urllib3", "botocore", "boto3", "s3transfer", "aws_lambda_powertools")
_MASK = "***"

_secrets: set[str] = set()  # the forms of each secret to look for (as given, and URL-quoted)
_state = {"scanned": -1, "hold": 0}
_filter: logging.Filter | None = None
_factory: list[Callable[..., logging.LogRecord]] = []  # the record factory we wrapped
_HELD = "(record of an AWS/HTTP library withheld while the Statsig secret is fetched)"


def redact(text: str) -> str:
    """`text` with every registered secret replaced."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


def protect(secret: str | None = None) -> None:
    """Register `secret` (if any) and make sure every library logger we know of carries the filter."""
    if secret and isinstance(secret, str) and secret not in _secrets:
        from urllib.parse import quote  # at the first send, not at init: it loads ipaddress (~0.3 MiB)

        _secrets.add(secret)
        quoted = quote(secret, safe="")
        if quoted != secret:
            _secrets.add(quoted)
    _install()


def _install() -> None:
    import logging

    if logging.getLogRecordFactory() is not _make_record:
        _factory[:] = [logging.getLogRecordFactory()]
        logging.setLogRecordFactory(_make_record)
    manager = logging.Logger.manager
    count = len(manager.loggerDict)
    if count == _state["scanned"]:
        return
    global _filter
    if _filter is None:
        _filter = _RedactingFilter()
    for name in [n for n in list(manager.loggerDict) if n.startswith(_PREFIXES)] + list(_PREFIXES):
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
    _state["scanned"] = len(manager.loggerDict)


class _HoldLibraryDebug:
    def __enter__(self) -> None:
        _state["hold"] += 1
        _install()

    def __exit__(self, *exc: object) -> None:
        _state["hold"] -= 1
        _install()  # loggers the fetch created (boto3's, botocore's) keep the filter


def hold_library_debug() -> _HoldLibraryDebug:
    """While a secret is fetched: drop the AWS/HTTP libraries' records below WARNING."""
    return _HoldLibraryDebug()


def _make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _factory[0](*args, **kwargs)
    if record.name.startswith(_PREFIXES) and (_secrets or _state["hold"]):
        if _held(record):
            record.msg, record.args, record.exc_info = _HELD, None, None
        else:
            _filter_record(record)
    return record


def _held(record: logging.LogRecord) -> bool:
    return bool(_state["hold"]) and record.levelno < 30 and record.name.startswith(_LIBRARIES)


def _filter_record(record: logging.LogRecord) -> bool:
    if _held(record):
        return False
    if not _secrets:
        return True
    try:
        message = record.getMessage()
    except Exception:  # a record that cannot be formatted is the handler's problem, not ours
        message = str(record.msg)
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        import traceback

        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if redact(text) != text:
            record.exc_info, record.exc_text = None, redact(text)
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return True


def _make_filter_class() -> type[logging.Filter]:
    import logging

    class RedactingFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return _filter_record(record)

    return RedactingFilter


def _RedactingFilter() -> logging.Filter:  # built on first use: `logging` is not imported early
    return _make_filter_class()()
