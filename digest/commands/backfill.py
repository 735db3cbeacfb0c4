"""`digest backfill`: which dates a run or a backfill may build, and the loop over a range of dates.

A backfill is pipeline.run_date() once per listing date, through the export API; pipeline.py stays the one
place that knows the order of the stages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from digest.clock import SYSTEM_CLOCK, Clock
from digest.commands.state import locked_store, require_writable
from digest.config import Config
from digest.errors import ConfigError, DigestError
from digest.models import Fetcher
from digest.pipeline import RunOptions, is_built, run_date
from digest.progress import Reporter
from digest.sources.calendar import ET, ArxivCalendar, days
from digest.store import Store

# Outcome kinds, in the order the summary line lists them.
BUILT, SKIPPED, NO_LISTING, EMPTY, NOT_YET, FAILED = (
    "built",
    "already built",
    "without announcement",
    "without papers",
    "not announced yet",
    "failed",
)


@dataclass
class DateOutcome:
    date: dt.date
    kind: str
    message: str
    papers: int = 0


def not_yet_message(calendar: ArxivCalendar, day: dt.date, latest: dt.date) -> str:
    when = calendar.announced_at(day).astimezone(ET)
    return (
        f"{day}: not announced yet (it appears {when:%Y-%m-%d %H:%M} ET at the earliest; "
        f"the latest listing is {latest})"
    )


def check_run_date(config: Config, day: dt.date, clock: Clock = SYSTEM_CLOCK) -> str | None:
    """For `digest run --date`: a line saying why there is nothing to build, or None to go ahead.

    A date after the latest announcement is bad usage (ConfigError, exit 2).
    """
    calendar = ArxivCalendar.from_config(config)
    reason = calendar.no_listing_reason(day)
    if reason:
        return reason
    latest = calendar.latest_listing_date(clock.now())
    if day > latest:
        raise ConfigError(f"--date {not_yet_message(calendar, day, latest)}")
    return None


def date_range(
    one: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    config: Config | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[dt.date, dt.date]:
    """The range a backfill covers: `--date D`, or `--from D1 --to D2` (`--to` defaults to the latest listing)."""
    if one is not None:
        if start is not None or end is not None:
            raise ConfigError("backfill: give either --date D or --from D1 --to D2, not both")
        return one, one
    if start is None:
        raise ConfigError("backfill: give --date D or --from D1 [--to D2]")
    if end is None:
        calendar = ArxivCalendar.from_config(config) if config else ArxivCalendar()
        end = calendar.latest_listing_date(clock.now())
    if start > end:
        raise ConfigError(f"backfill: --from {start} is after --to {end}")
    return start, end


def backfill(
    config: Config,
    store: Store,
    start: dt.date,
    end: dt.date,
    *,
    force: bool = False,
    deliver: bool = False,
    reporter: Reporter | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Iterator[tuple[int, int, DateOutcome]]:
    """Build every listing date in [start, end], yielding (position, total, outcome) per calendar day.

    Dates already built are skipped without a request; days without an announcement are said and
    skipped; a failing date is reported and the loop goes on. ConfigError stops it, since it would
    fail every date the same way.
    """
    from digest.sources.api import api_fetcher

    calendar = ArxivCalendar.from_config(config)
    latest = calendar.latest_listing_date(clock.now())
    fetch = api_fetcher(config, clock=clock)
    every_day = list(days(start, end))
    for position, day in enumerate(every_day, start=1):
        outcome = _one(config, store, calendar, latest, day, fetch, force, deliver, reporter, clock)
        yield position, len(every_day), outcome


def _one(
    config: Config,
    store: Store,
    calendar: ArxivCalendar,
    latest: dt.date,
    day: dt.date,
    fetch: Fetcher,
    force: bool,
    deliver: bool,
    reporter: Reporter | None,
    clock: Clock,
) -> DateOutcome:
    reason = calendar.no_listing_reason(day)
    if reason:
        return DateOutcome(day, NO_LISTING, reason)
    if day > latest:
        return DateOutcome(day, NOT_YET, not_yet_message(calendar, day, latest))
    if not force and is_built(config, store, day):
        papers = store.listing_size(day)
        return DateOutcome(
            day, SKIPPED, f"{day}: already built ({papers} papers), skipped; --force rebuilds it", papers
        )
    options = RunOptions(date=day, force=force, deliver=deliver, command="backfill", clock=clock)
    try:
        result = run_date(config, store, options, fetch, reporter)
    except ConfigError:
        raise
    except DigestError as exc:
        return DateOutcome(day, FAILED, f"{day}: failed: {exc}")
    if result.status == "empty":
        window = calendar.submitted_window(day)
        return DateOutcome(
            day,
            EMPTY,
            f"{day}: the export API has no papers submitted {window} "
            "(not indexed yet, or an arXiv closure missing from arxiv.holidays)",
        )
    return DateOutcome(
        day, BUILT, f"{day}: {result.papers} papers, report written to {result.report_dir}", result.papers
    )


def catch_up_range(config: Config, store: Store, clock: Clock = SYSTEM_CLOCK) -> tuple[dt.date, dt.date] | None:
    """Listing dates the latest-run path missed: after the newest built date, before the one this run gets.

    A run gets one listing: the listing pages' (which switch at the announcement) or, with
    `arxiv.listing_url: null`, the RSS feed's (which switches at midnight ET, so a morning fire in Seoul
    never sees Friday's listing: on Monday morning the feed is empty). Listings a failed or missing fire
    left out are built through the export API instead, oldest first. Nothing is caught up on a fresh
    install (no date built yet) or beyond `arxiv.catch_up_days`.
    """
    from digest.sources.latest import latest_date

    if config.arxiv.catch_up_days == 0:
        return None
    newest = next((day for day in store.built_days() if is_built(config, store, day)), None)
    if newest is None:
        return None
    today = latest_date(config, clock.now())
    start = max(newest + dt.timedelta(days=1), today - dt.timedelta(days=config.arxiv.catch_up_days))
    end = today - dt.timedelta(days=1)
    calendar = ArxivCalendar.from_config(config)
    if start > end or not calendar.listing_dates(start, end):
        return None
    return start, end


def summary_line(start: dt.date, end: dt.date, outcomes: list[DateOutcome]) -> str:
    span = f"{start}" if start == end else f"{start} to {end}"
    counts = {
        kind: [o for o in outcomes if o.kind == kind] for kind in (BUILT, SKIPPED, NO_LISTING, EMPTY, NOT_YET, FAILED)
    }
    parts = [
        f"{len(counts[BUILT])} built ({sum(o.papers for o in counts[BUILT])} papers)",
        f"{len(counts[SKIPPED])} already built",
        f"{len(counts[NO_LISTING])} without announcement",
    ]
    parts += [f"{len(counts[kind])} {kind}" for kind in (EMPTY, NOT_YET) if counts[kind]]
    failed = counts[FAILED]
    parts.append(f"{len(failed)} failed" + (f" ({', '.join(str(o.date) for o in failed)})" if failed else ""))
    return f"backfill {span}: " + ", ".join(parts)


def backfill_command(
    config: Config,
    start: dt.date,
    end: dt.date,
    *,
    force: bool,
    deliver: bool,
    reporter: Reporter,
    say: Callable[[str], None],
) -> bool:
    """`digest backfill`: every date of the range under the state lock, one line each, then a summary line.
    True when every date went through (no date failed)."""
    outcomes = []
    require_writable(config)
    with locked_store(config, reporter) as store:
        for position, total, outcome in backfill(
            config, store, start, end, force=force, deliver=deliver, reporter=reporter
        ):
            say(f"[{position}/{total}] {outcome.message}")
            outcomes.append(outcome)
    say(summary_line(start, end, outcomes))
    return not any(o.kind == FAILED for o in outcomes)
