"""`digest feedback`, and the read of pending taps every run and the scheduler do (deliver/feedback.py).

Reading taps does not take the state lock (a cron `digest feedback` must not wait out a morning's run); a
lock of its own keeps two readers of one bot apart, and the one that finds it held simply leaves the taps to
the other. What it records is the feedback tables only: reports, ledger and runs are untouched.
"""

from __future__ import annotations

import logging
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from digest.config import Config
from digest.deliver.channels import ChannelError
from digest.errors import BusyError
from digest.lock import exclusive
from digest.progress import Reporter
from digest.store import Store, open_store

if TYPE_CHECKING:
    from digest.deliver.feedback import TapsRead

log = logging.getLogger("digest")

POLL_SECONDS = 10  # the scheduler's long poll between fires: taps are answered within a moment, no busy loop


def _taps_lock(config: Config) -> Path:
    return Path(f"{config.state_path}.feedback.lock")


def read_pending(config: Config, store: Store | None, *, wait_seconds: float = 0) -> TapsRead | None:
    """Record and answer the pending taps, if any reader may (None: feedback is off, or another process is
    reading them now). Raises ChannelError when the Bot API cannot be read."""
    if not config.delivery.telegram.reads_taps:
        return None
    from digest.deliver.feedback import read_taps  # the Bot API client: only for a config with buttons

    try:
        with exclusive(_taps_lock(config), 0, "another digest process is reading the taps"):
            if store is not None:
                return read_taps(config, store, wait_seconds=wait_seconds)
            with closing(open_store(config)) as opened:
                return read_taps(config, opened, wait_seconds=wait_seconds)
    except BusyError:
        return None


def read_before_building(config: Config, store: Store, reporter: Reporter) -> None:
    """A run's first step: what readers tapped since the last read counts for today's ranking. A failure is
    one warning line; the run goes on with what was learned before."""
    try:
        found = read_pending(config, store)
    except ChannelError as exc:
        log.warning("%s (the digest is ranked with the taps read before)", exc)
        return
    if found is not None and (found.recorded or found.ignored):
        reporter.note(found.line())


class TapPoller:
    """The scheduler's idle step: long-poll the taps for POLL_SECONDS between fires. Never raises: a failure is
    logged once (until it changes or clears) and the scheduler rests a while before trying again."""

    RETRY_SECONDS = 60.0

    def __init__(self, config: Config) -> None:
        self.config = config
        self._last_error: str | None = None

    def __call__(self) -> float:
        """Poll once; the seconds to rest before the next poll."""
        try:
            read_pending(self.config, None, wait_seconds=POLL_SECONDS)
        except Exception as exc:  # noqa: BLE001 - the scheduler outlives any failure to read taps
            if str(exc) != self._last_error:
                log.warning("%s (trying again every %gs)", exc, self.RETRY_SECONDS)
            self._last_error = str(exc)
            return self.RETRY_SECONDS
        if self._last_error:
            log.info("feedback: reading taps again")
        self._last_error = None
        return 0.0  # the poll itself waited


FEEDBACK_OFF = "feedback: off, nothing to read (it needs delivery.telegram.enabled, chat_ids and feedback: true)"


def feedback(config: Config) -> TapsRead | None:
    """`digest feedback`: read the taps now (for cron or GitHub Actions; at least twice a day, as Telegram
    keeps updates for 24 hours). None when feedback is off (FEEDBACK_OFF says so); raises ChannelError when
    Telegram cannot be read, BusyError when another process is reading them."""
    if not config.delivery.telegram.reads_taps:
        return None
    found = read_pending(config, None)
    if found is None:
        raise BusyError("another digest process is reading the taps now (the scheduler?); nothing was changed")
    return found
