"""arXiv's announcement calendar: every date rule lives here.

Facts (ARXIV.md section 1): submissions close at 14:00 US Eastern; announcements go out Sunday to
Thursday at 20:00 ET, and the batch announced on the evening of day X is the listing *dated* X+1
(Monday to Friday). Monday's listing covers Thu 14:00 → Fri 14:00, Tuesday's Fri 14:00 → Mon 14:00.

A holiday H cancels the first announcement on or after the evening of H, so the first weekday after H
has an empty listing and its submissions roll into the next listing: holiday Tue 2025-12-30 → the
Wed 2025-12-31 feed was empty; holiday Fri 2026-06-19 → the Mon 2026-06-22 listing did not change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from digest.config import Config

# arXiv runs on US Eastern time: cutoffs at 14:00, announcements at 20:00, listing dates in ET.
ET = ZoneInfo("America/New_York")
CUTOFF = dt.time(14, 0)
ANNOUNCEMENT = dt.time(20, 0)
# How far to walk when looking for a neighbouring listing; only a holiday list that closes arXiv for
# weeks could exhaust it, and then it is a config mistake rather than a calendar.
_MAX_GAP_DAYS = 31
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """Submission times [start, end) covered by one listing, as aware UTC datetimes."""

    start: dt.datetime
    end: dt.datetime

    def contains(self, when: dt.datetime) -> bool:
        return self.start <= when < self.end

    def query(self) -> str:
        """The export API's `submittedDate:[… TO …]` range (GMT, to the minute)."""
        return f"submittedDate:[{self.start:%Y%m%d%H%M} TO {self.end:%Y%m%d%H%M}]"

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M} UTC"


def _next_weekday(day: dt.date) -> dt.date:
    day += _DAY
    while day.weekday() >= 5:
        day += _DAY
    return day


def _previous_weekday(day: dt.date) -> dt.date:
    day -= _DAY
    while day.weekday() >= 5:
        day -= _DAY
    return day


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    # zoneinfo picks the right offset for the date, so DST weeks need no special case.
    return dt.datetime.combine(day, time, tzinfo=ET)


class ArxivCalendar:
    """Listing dates, submission windows and "the latest listing", given arXiv's holidays."""

    def __init__(self, holidays: Iterable[dt.date] | None = None) -> None:
        if holidays is None:
            from digest.config import DEFAULT_HOLIDAYS

            holidays = [dt.date.fromisoformat(d) for d in DEFAULT_HOLIDAYS]
        self.holidays = frozenset(holidays)
        # listing date -> the holiday that cancelled it
        self._cancelled = {_next_weekday(h): h for h in sorted(self.holidays, reverse=True)}

    @classmethod
    def from_config(cls, config: Config) -> ArxivCalendar:
        return cls(config.arxiv.holidays)

    def is_listing_date(self, day: dt.date) -> bool:
        """True when arXiv publishes a listing dated `day` (a weekday whose announcement was not cancelled)."""
        return day.weekday() < 5 and day not in self._cancelled

    def no_listing_reason(self, day: dt.date) -> str | None:
        """Why there is no listing dated `day`, in one line; None when there is one."""
        if day.weekday() >= 5:
            return f"{day} is a {day:%A}: arXiv announces nothing dated on weekends"
        holiday = self._cancelled.get(day)
        if holiday is not None:
            return (
                f"{day}: no arXiv announcement (holiday {holiday} {holiday:%a}, arxiv.holidays); "
                f"its papers are in the {self.next_listing_date(day)} listing"
            )
        return None

    def announced_at(self, day: dt.date) -> dt.datetime:
        """When the listing dated `day` appears: 20:00 ET the evening before (Sunday for Monday)."""
        return _at(day - _DAY, ANNOUNCEMENT)

    def cutoff(self, day: dt.date) -> dt.datetime:
        """The last submission deadline the listing dated `day` takes: 14:00 ET on the weekday before it."""
        return _at(_previous_weekday(day), CUTOFF)

    def previous_listing_date(self, day: dt.date) -> dt.date:
        return self._walk(day, -_DAY)

    def next_listing_date(self, day: dt.date) -> dt.date:
        return self._walk(day, _DAY)

    def _walk(self, day: dt.date, step: dt.timedelta) -> dt.date:
        for _ in range(_MAX_GAP_DAYS):
            day += step
            if self.is_listing_date(day):
                return day
        raise ValueError(f"no arXiv listing within {_MAX_GAP_DAYS} days of {day}: check arxiv.holidays")

    def submitted_window(self, day: dt.date) -> Window:
        """The submission times (UTC) that the listing dated `day` announces.

        It starts where the previous listing's window ended, so a cancelled announcement merges into
        the next one: holiday Mon 2026-01-19 → the Wed 2026-01-21 listing covers Fri 14:00 → Tue 14:00.
        """
        if not self.is_listing_date(day):
            raise ValueError(self.no_listing_reason(day))
        start = self.cutoff(self.previous_listing_date(day))
        return Window(start.astimezone(dt.UTC), self.cutoff(day).astimezone(dt.UTC))

    def latest_listing_date(self, now: dt.datetime) -> dt.date:
        """The newest listing announced by `now` (an aware datetime in any time zone).

        The listing dated D appears on arxiv.org at 20:00 ET the evening before; cancelled listings
        are skipped, so this is always a date with papers. (The RSS feed only switches at midnight ET.)
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("latest_listing_date needs an aware datetime")
        local = now.astimezone(ET)
        candidate = local.date() + _DAY if local.time() >= ANNOUNCEMENT else local.date()
        return candidate if self.is_listing_date(candidate) else self.previous_listing_date(candidate)

    def listing_dates(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Every listing date in [start, end]."""
        return [d for d in days(start, end) if self.is_listing_date(d)]


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every calendar day in [start, end]."""
    day = start
    while day <= end:
        yield day
        day += _DAY


def rss_feed_date(now: dt.datetime) -> dt.date:
    """The date the RSS feed carries at `now`: it switches once a day, at midnight ET."""
    return now.astimezone(ET).date()
