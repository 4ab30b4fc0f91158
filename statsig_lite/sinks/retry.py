"""Retrying one batch against a deadline: the backoff policy as a value, the loop as one function.

Connection errors, timeouts, 408, 429 and 5xx (``SendError.retryable``) are retried with exponential backoff
and equal jitter, waiting at least the server's Retry-After, but only while the next attempt can still start
before the deadline. A final 4xx ends at once; a 413 on a batch of more than one event asks for a split.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from .. import constants as c
from .._log import get_logger
from .._record import Record
from ..buffer import Batch
from .base import EventSink, SendError

__all__ = ["Outcome", "RetryPolicy", "SendResult", "send_with_retries"]

logger = get_logger(__name__)


class RetryPolicy(Record):
    """Backoff between attempts, and the least time worth starting an attempt with (seconds)."""

    __slots__ = ("backoff_base_s", "backoff_max_s", "min_attempt_s")

    def __init__(
        self,
        backoff_base_s: float = c.BACKOFF_BASE_S,
        backoff_max_s: float = c.BACKOFF_MAX_S,
        min_attempt_s: float = c.MIN_ATTEMPT_S,
    ) -> None:
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.min_attempt_s = min_attempt_s

    def backoff_s(self, retry: int, jitter: float) -> float:
        """Wait before retry number ``retry`` (0-based): half of the ceiling fixed, half scaled by ``jitter``."""
        ceiling: float = min(self.backoff_max_s, self.backoff_base_s * float(2 ** min(retry, 30)))
        return ceiling / 2 + ceiling / 2 * jitter


class Outcome(Enum):
    SENT = "sent"
    TOO_LARGE = "too_large"  # 413 on a batch that can be split
    REJECTED = "rejected"  # a final 4xx
    UNSENT = "unsent"  # out of time or retries: Statsig unavailable for now


class SendResult(Record):
    """What sending one batch came to."""

    __slots__ = ("attempts", "error", "outcome")

    def __init__(
        self,
        outcome: Outcome,
        attempts: int,
        error: SendError | None = None,
    ) -> None:
        self.outcome = outcome
        self.attempts = attempts
        self.error = error


def send_with_retries(
    sink: EventSink,
    batch: Batch,
    deadline: float,
    *,
    policy: RetryPolicy,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    jitter: Callable[[], float],
    max_attempts: int | None = None,
) -> SendResult:
    """Send ``batch`` until it is accepted, refused for good, ``max_attempts`` failed, or the deadline (a
    ``clock()`` value) is near."""
    attempt = 0
    error: SendError | None = None
    while True:
        remaining = deadline - clock()
        if remaining < policy.min_attempt_s or (max_attempts is not None and attempt >= max_attempts):
            return SendResult(Outcome.UNSENT, attempt, error)
        try:
            sink.send(batch, attempt=attempt, timeout_s=remaining)
            return SendResult(Outcome.SENT, attempt + 1)
        except SendError as err:
            error = err
        if error.too_large and len(batch) > 1:
            return SendResult(Outcome.TOO_LARGE, attempt + 1, error)
        if not error.retryable:
            return SendResult(Outcome.REJECTED, attempt + 1, error)
        wait = policy.backoff_s(attempt, jitter())
        if error.retry_after_s is not None:
            wait = max(wait, error.retry_after_s)
        logger.debug("statsig_lite: attempt %d of batch %s failed: %s", attempt, batch.batch_id, error.reason)
        attempt += 1
        if max_attempts is not None and attempt >= max_attempts:
            return SendResult(Outcome.UNSENT, attempt, error)
        if clock() + wait + policy.min_attempt_s > deadline:
            return SendResult(Outcome.UNSENT, attempt, error)
        sleep(wait)
