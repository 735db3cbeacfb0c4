"""`digest schedule`: APScheduler 3.x in the foreground, firing the `digest run` code path on a cron
(the cron expressions themselves are read in digest/cron.py)."""

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
from digest.cron import cron_trigger, next_fire_times

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler
    from apscheduler.triggers.base import BaseTrigger

    from digest.config import Config
    from digest.progress import Reporter

log = logging.getLogger("digest.schedule")


def fire_lines(config: Config, count: int, *, clock: Clock = SYSTEM_CLOCK) -> list[str]:
    """`--print-next`: each of the next fires, and which listing date it builds (the calendar's rule:
    the listing pages switch at 20:00 ET; with `arxiv.listing_url: null`, the RSS feed at midnight ET)."""
    from digest.sources.calendar import ArxivCalendar, rss_feed_date

    sched = config.schedule
    zone = ZoneInfo(sched.timezone)
    calendar = ArxivCalendar.from_config(config)
    lines: list[tuple[dt.datetime, str]] = []
    if sched.weekly_cron:
        from digest.weekly import last_complete_week

        for fire in next_fire_times(sched.weekly_cron, sched.timezone, count, now=clock.now().astimezone(zone)):
            week = last_complete_week(config, fire)
            head = f"{fire.isoformat()} {fire.strftime('%a')} {sched.timezone}"
            lines.append((fire, f"{head}: weekly edition {week.period} (schedule.weekly_cron)"))
    previous = None
    for fire in next_fire_times(sched.cron, sched.timezone, count, now=clock.now().astimezone(zone)):
        head = f"{fire.isoformat()} {fire.strftime('%a')} {sched.timezone}"
        if config.arxiv.listing_url is None:
            day = rss_feed_date(fire)
            reason = calendar.no_listing_reason(day)
            said = f"listing {day} (RSS feed)" if reason is None else f"nothing new ({reason})"
            lines.append((fire, f"{head}: {said}"))
            continue
        day = calendar.latest_listing_date(fire)
        upcoming = calendar.next_listing_date(day)
        when = calendar.announced_at(upcoming).astimezone(zone)
        if day == previous:
            lines.append(
                (
                    fire,
                    f"{head}: listing {day} again, nothing new to send "
                    f"(arXiv announces {upcoming} at {when:%Y-%m-%d %H:%M %Z})",
                )
            )
        else:
            since = calendar.announced_at(day).astimezone(zone)
            line = f"{head}: listing {day} (on arXiv since {since:%Y-%m-%d %H:%M %Z})"
            if when.date() == fire.date():  # a cron set before the announcement gets the previous listing
                line += f", before arXiv announces {upcoming} at {when:%H:%M %Z}"
            lines.append((fire, line))
        previous = day
    return [line for _, line in sorted(lines, key=lambda fired: fired[0])[:count]]


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
    add_job(scheduler, job, "digest-run", trigger or cron_trigger(cron, timezone), misfire_grace_seconds)
    return scheduler


def add_job(
    scheduler: BaseScheduler, job: Callable[[], object], name: str, trigger: BaseTrigger, misfire_grace_seconds: int
) -> None:
    """A job that never runs twice at once; missed fires within the grace period run once on wake-up. Jobs of
    one scheduler also wait for each other on the state lock."""
    scheduler.add_job(
        _guarded(job),
        trigger,
        id=name,
        name=name.replace("-", " "),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=misfire_grace_seconds,
        replace_existing=True,
    )


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
            problem = result.problem() if hasattr(result, "problem") else None
            if problem:
                log.error("scheduled run: %s", problem)

    return run


def run_forever(
    scheduler: BaseScheduler, started: Callable[[], object] = lambda: None, idle: Callable[[], float] | None = None
) -> None:
    """Start the scheduler and wait; SIGINT/SIGTERM stop it after the run in progress, if any, finishes.

    The handlers are in place before the scheduler starts and only set an event the main thread waits on,
    so a signal at any moment (even during start-up) stops the process. `started` says so once it runs.
    `idle`, if given, is what the main thread does meanwhile (reading the readers' taps): it returns how
    many seconds to rest before it is called again."""
    received: list[int] = []
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    scheduler.start()
    started()
    if idle is None:
        stopping.wait()
    else:
        while not stopping.is_set():
            rest = idle()
            if rest > 0:
                stopping.wait(rest)
    log.info("received %s: stopping after the current run", signal.Signals(received[0]).name)
    scheduler.shutdown(wait=True)


def schedule(config: Config, reporter: Reporter, say: Callable[[str], None]) -> None:
    """`digest schedule`: fire `digest run` on schedule.cron in schedule.timezone until SIGINT/SIGTERM."""
    from digest.commands.run import run

    sched = config.schedule
    scheduler = build_scheduler(
        lambda: run(config, scheduled=True, reporter=reporter),
        cron=sched.cron,
        timezone=sched.timezone,
        misfire_grace_seconds=sched.misfire_grace_seconds,
    )
    if sched.weekly_cron:
        from digest.commands.week import week

        add_job(
            scheduler,
            lambda: week(config, reporter=reporter),
            "digest-week",
            cron_trigger(sched.weekly_cron, sched.timezone),
            sched.misfire_grace_seconds,
        )
    upcoming = next_fire_times(sched.cron, sched.timezone, 1)
    first = upcoming[0].isoformat() if upcoming else "never"

    def started() -> None:
        log.info("scheduler started: cron %r in %s, next run %s", sched.cron, sched.timezone, first)
        weekly = f", weekly edition '{sched.weekly_cron}'" if sched.weekly_cron else ""
        say(f"scheduler running: cron '{sched.cron}'{weekly} in {sched.timezone}; next run {first}. Ctrl+C stops.")

    from digest.commands.feedback import TapPoller

    # Between fires the main thread reads the readers' taps (long polling), so their toasts show at once.
    run_forever(scheduler, started, TapPoller(config) if config.delivery.telegram.reads_taps else None)
    say("scheduler stopped")
