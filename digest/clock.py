"""One injectable clock: wall time, sleeping and a monotonic timer in one object a caller can replace.

Everything whose behaviour depends on the time (which listing is the latest, how long to wait before a
retry, how long a call took) takes a `Clock`; a test passes one with a fixed `now` or a `sleep` that only
records, instead of patching private names.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_text() -> str:
    """Now in UTC as the store records times: ISO 8601 to the second."""
    return utc_now().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Clock:
    """Wall time and sleeping, in one object a caller can replace."""

    now: Callable[[], dt.datetime] = field(default=utc_now)
    sleep: Callable[[float], None] = field(default=time.sleep)
    monotonic: Callable[[], float] = field(default=time.monotonic)


SYSTEM_CLOCK = Clock()


def fixed(when: dt.datetime) -> Clock:
    """A clock whose wall time stands at `when` (sleeping and the monotonic timer stay real)."""
    return Clock(now=lambda: when)
