"""`digest schedule`: APScheduler 3.x in the foreground, firing the `digest run` code path on a cron.

APScheduler 3.x numbers weekdays from Monday = 0, unlike crontab (Sunday = 0 or 7): its own
`CronTrigger.from_crontab("0 11 * * 1-5")` fires Tuesday to Saturday. We translate the day-of-week field
to weekday names so that `schedule.cron` means what it means in crontab.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from digest.clock import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler
    from apscheduler.triggers.base import BaseTrigger
    from apscheduler.triggers.cron import CronTrigger

    from digest.config import Config

log = logging.getLogger("digest.schedule")

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


def fire_lines(config: Config, count: int, *, clock: Clock = SYSTEM_CLOCK) -> list[str]:
    """`--print-next`: each of the next fires, and which listing date it builds (the calendar's rule:
    the listing pages switch at 20:00 ET; with `arxiv.listing_url: null`, the RSS feed at midnight ET)."""
    from digest.sources.calendar import ArxivCalendar, rss_feed_date

    sched = config.schedule
    zone = ZoneInfo(sched.timezone)
    calendar = ArxivCalendar.from_config(config)
    lines, previous = [], None
    for fire in next_fire_times(sched.cron, sched.timezone, count, now=clock.now().astimezone(zone)):
        head = f"{fire.isoformat()} {fire.strftime('%a')} {sched.timezone}"
        if config.arxiv.listing_url is None:
            day = rss_feed_date(fire)
            reason = calendar.no_listing_reason(day)
            lines.append(f"{head}: {f'listing {day} (RSS feed)' if reason is None else f'nothing new ({reason})'}")
            continue
        day = calendar.latest_listing_date(fire)
        upcoming = calendar.next_listing_date(day)
        when = calendar.announced_at(upcoming).astimezone(zone)
        if day == previous:
            lines.append(
                f"{head}: listing {day} again, nothing new to send "
                f"(arXiv announces {upcoming} at {when:%Y-%m-%d %H:%M %Z})"
            )
        else:
            since = calendar.announced_at(day).astimezone(zone)
            line = f"{head}: listing {day} (on arXiv since {since:%Y-%m-%d %H:%M %Z})"
            if when.date() == fire.date():  # a cron set before the announcement gets the previous listing
                line += f", before arXiv announces {upcoming} at {when:%H:%M %Z}"
            lines.append(line)
        previous = day
    return lines


def build_scheduler(
    job: Callable[[], object],
    *,
    cron: str,
    timezone: str,
    misfire_grace_seconds: int,
    trigger: BaseTrigger | None = None,
) -> BaseScheduler:
    """One job, never two at once; missed fires within the grace period run once on wake-up.

    The scheduler runs in its own thread once started; `run_forever` keeps the process on it."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=ZoneInfo(timezone))
    scheduler.add_job(
        _guarded(job),
        trigger or cron_trigger(cron, timezone),
        id="digest-run",
        name="digest run",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=misfire_grace_seconds,
        replace_existing=True,
    )
    return scheduler


def _guarded(job: Callable[[], object]) -> Callable[[], None]:
    """A failed run is logged in one line and the scheduler goes on to the next fire time."""

    def run() -> None:
        log.info("scheduled run: starting")
        try:
            result = job()
        except SystemExit as exc:  # a command path that ends with an exit code
            log.error("scheduled run: ended with exit code %s", exc.code)
        except Exception as exc:  # noqa: BLE001 - the scheduler must survive any failure of one run
            log.error("scheduled run failed: %s", exc or type(exc).__name__)
        else:
            log.info("scheduled run: %s", getattr(result, "message", "done"))

    return run


def run_forever(scheduler: BaseScheduler, started: Callable[[], object] = lambda: None) -> None:
    """Start the scheduler and wait; SIGINT/SIGTERM stop it after the run in progress, if any, finishes.

    The handlers are in place before the scheduler starts and only set an event the main thread waits on,
    so a signal at any moment (even during start-up) stops the process. `started` says so once it runs."""
    received: list[int] = []
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    scheduler.start()
    started()
    stopping.wait()
    log.info("received %s: stopping after the current run", signal.Signals(received[0]).name)
    scheduler.shutdown(wait=True)
