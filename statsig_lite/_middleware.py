"""`lambda_handler_decorator` without importing Powertools in the init phase.

Importing any ``aws_lambda_powertools`` module runs the package's ``__init__``, which loads its Logger,
Metrics and Tracer (and patches botocore's user agent): in a function that does not use Powertools itself,
that is the largest share of what `@statsig_handler` used to add to a cold start. This builds the same
middleware contract as ``aws_lambda_powertools.middleware_factory.lambda_handler_decorator`` (keyword arguments
only, ``functools.wraps`` on the handler, the middleware's exception logged and re-raised), so it stacks with
Powertools' decorators in any order. With ``POWERTOOLS_TRACE_MIDDLEWARES`` set to a true value, Powertools'
own factory is used (and imported) instead, so the middleware gets its X-Ray subsegment as before.
"""

from __future__ import annotations

import functools
import os

from ._log import get_logger

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: typing is not imported at run time (~2 ms, ~2 MB)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_TRACE_ENV = "POWERTOOLS_TRACE_MIDDLEWARES"
_TRUTHY = {"1", "y", "yes", "t", "true", "on"}  # Powertools' strtobool
logger = get_logger(__name__)


def lambda_handler_decorator(decorator: Callable[..., Any]) -> Callable[..., Any]:
    """``decorator(handler, event, context, **kwargs)`` as a handler decorator taking keyword arguments."""
    if os.environ.get(_TRACE_ENV, "false").strip().lower() in _TRUTHY:
        from aws_lambda_powertools.middleware_factory import lambda_handler_decorator as powertools_factory

        return powertools_factory(decorator)

    @functools.wraps(decorator)
    def final_decorator(func: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        if func is None:
            return functools.partial(final_decorator, **kwargs)
        if not callable(func):
            raise TypeError(f"{decorator.__qualname__} takes keyword arguments only, got {func!r}")

        @functools.wraps(func)
        def wrapper(event: Any, context: Any, **handler_kwargs: Any) -> Any:
            try:
                return decorator(func, event, context, **kwargs, **handler_kwargs)
            except Exception:
                logger.exception("Caught exception in %s", decorator.__qualname__)
                raise

        return wrapper

    return final_decorator
