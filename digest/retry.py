"""One retry policy for remote calls, on tenacity: exponential waits capped at `max_wait`, a server's own
Retry-After (HTTP header) or retry_after (Telegram) honoured and capped too, and one injectable clock, so
a test passes a clock that does not sleep instead of patching private names.

Used by the RSS feed, the export API, the LLM client and the Telegram Bot API client (deliver/telegram.py,
which fails a 429 asking longer than its cap at once instead of waiting it out).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from digest.clock import SYSTEM_CLOCK, Clock

__all__ = ["SYSTEM_CLOCK", "Clock", "DEFAULT_MAX_WAIT", "retrying"]

log = logging.getLogger("digest")

DEFAULT_MAX_WAIT = 60.0  # seconds; no single wait is longer, whatever the server asks


def retrying(
    *,
    retries: int,
    backoff: float,
    retryable: Callable[[BaseException], bool],
    server_wait: Callable[[BaseException], float | None] = lambda exc: None,
    max_wait: float = DEFAULT_MAX_WAIT,
    max_asked: float | None = None,
    jitter: float = 0.0,
    clock: Clock = SYSTEM_CLOCK,
    describe: Callable[[BaseException], str] | None = None,
    what: str = "request",
    log_level: int = logging.INFO,
) -> Retrying:
    """A tenacity Retrying: up to `retries` more attempts after the first for exceptions `retryable` accepts,
    waiting what the server asked (`server_wait`, capped at `max_asked`, default `max_wait`) or backoff·2ⁿ
    plus up to `jitter` of it at random (so concurrent callers spread out), never more than `max_wait`; the
    last exception is re-raised as it was."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = server_wait(exc) if exc is not None else None
        if asked is not None:
            return min(max(asked, 0.0), max_wait if max_asked is None else max_asked)
        seconds = backoff * 2 ** (state.attempt_number - 1)
        return min(seconds + random.uniform(0, seconds * jitter), max_wait)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = (describe or str)(exc) if exc is not None else "failed"
        seconds = state.next_action.sleep if state.next_action else 0.0
        log.log(log_level, "%s: %s; retry %d/%d in %.1fs", what, reason, state.attempt_number, retries, seconds)

    return Retrying(
        retry=retry_if_exception(retryable),
        stop=stop_after_attempt(retries + 1),
        wait=wait,
        sleep=clock.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
