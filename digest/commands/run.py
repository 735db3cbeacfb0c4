"""`digest run` and each scheduled fire: catch up the listings an earlier run missed, then build (and
deliver) the latest listing, or one date."""

from __future__ import annotations

import datetime as dt

from digest.clock import SYSTEM_CLOCK, Clock
from digest.commands.backfill import FAILED, backfill, catch_up_range, check_run_date
from digest.commands.feedback import read_before_building
from digest.commands.state import locked_store, require_writable
from digest.config import Config
from digest.pipeline import RunOptions, RunResult, run_date
from digest.progress import Reporter
from digest.sources.latest import latest_fetcher
from digest.store import Store


def run(
    config: Config,
    *,
    date: dt.date | None = None,
    deliver: bool = True,
    force: bool = False,
    scheduled: bool = False,
    reporter: Reporter | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> RunResult:
    """Under the state lock: first the listing dates an earlier latest-run missed (through the export API),
    then the latest listing (or `date`). `clock` says what "now" is: which listing is the latest, which
    dates were missed. A `scheduled` fire leaves a built listing alone and waits for a late arXiv; a manual
    run rebuilds it from the store. A date without an announcement is said in the result, not an error;
    dates that catching up could not build are in `result.catch_up_failed` (see RunResult.problem)."""
    reporter = reporter or Reporter()
    if date is not None:
        reason = check_run_date(config, date, clock)
        if reason:
            return RunResult(date, "empty", reason)  # a weekend or a holiday: nothing to build
    require_writable(config)
    with locked_store(config, reporter) as store:
        read_before_building(config, store, reporter)  # today's ranking counts yesterday's taps
        missed = catch_up(config, store, deliver=deliver, reporter=reporter, clock=clock) if date is None else []
        command = "schedule" if scheduled else "run"
        options = RunOptions(
            date=date, force=force, deliver=deliver, command=command, skip_if_built=scheduled, clock=clock
        )
        result = run_date(config, store, options, latest_fetcher(config, clock, wait=scheduled), reporter)
    result.catch_up_failed = missed
    return result


def catch_up(
    config: Config, store: Store, *, deliver: bool, reporter: Reporter, clock: Clock = SYSTEM_CLOCK
) -> list[dt.date]:
    """Build the listing dates the latest-run path missed (see backfill.catch_up_range); the dates that failed."""
    window = catch_up_range(config, store, clock)
    if window is None:
        return []
    failed = []
    for _, _, outcome in backfill(config, store, *window, deliver=deliver, reporter=reporter, clock=clock):
        reporter.note(f"catch-up: {outcome.message}")
        if outcome.kind == FAILED:
            failed.append(outcome.date)
    return failed
