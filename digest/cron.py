"""Cron expressions as crontab means them, on APScheduler's own CronTrigger: the one reader that the
config (to validate `schedule.cron`) and the scheduler (to fire) share.

APScheduler 3.x numbers weekdays from Monday = 0, unlike crontab (Sunday = 0 or 7): its own
`CronTrigger.from_crontab("0 11 * * 1-5")` fires Tuesday to Saturday. We translate the day-of-week field
to weekday names so that `schedule.cron` means what it means in crontab.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def _crontab_day(value: str) -> int:
    value = value.strip().lower()
    if value[:3] in _DAY_NAMES:
        return _DAY_NAMES.index(value[:3])
    number = int(value)
    if not 0 <= number <= 7:
        raise ValueError(f"day of week {value!r} is not 0-7")
    return number % 7


def crontab_day_of_week(field: str) -> str:
    """A crontab day-of-week field ("1-5", "0,6", "*/2", "mon-fri") as APScheduler weekday names."""
    if field.strip() == "*":
        return "*"
    days: list[int] = []
    for part in field.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step in {part!r} must be at least 1")
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            start, end = body.split("-", 1)
            first, last = _crontab_day(start), _crontab_day(end)
            if end.strip() == "7":
                last = 7  # "5-7" is Friday to Sunday
        else:
            first = last = _crontab_day(body)
            if step_text:
                last = 6
        if last < first:
            raise ValueError(f"range {part!r} runs backwards")
        days.extend(d % 7 for d in range(first, last + 1, step))
    ordered = sorted(set(days), key=lambda d: (d - 1) % 7)  # Monday first, for readable output
    return ",".join(_DAY_NAMES[d] for d in ordered)


def cron_trigger(expr: str, timezone: str) -> CronTrigger:
    """A CronTrigger from a standard 5-field crontab expression, in the given time zone."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_day_of_week(weekday),
        timezone=ZoneInfo(timezone),
    )


def next_fire_times(expr: str, timezone: str, count: int, now: dt.datetime | None = None) -> list[dt.datetime]:
    trigger = cron_trigger(expr, timezone)
    now = now or dt.datetime.now(ZoneInfo(timezone))
    times: list[dt.datetime] = []
    previous = None
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        times.append(fire)
        previous, now = fire, fire + dt.timedelta(microseconds=1)
    return times
