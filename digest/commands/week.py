"""`digest week`: the weekly edition from the stored days (no arXiv request), delivered once per target."""

from __future__ import annotations

from digest.clock import SYSTEM_CLOCK, Clock
from digest.commands.feedback import read_before_building
from digest.commands.state import locked_store, require_writable
from digest.config import Config
from digest.edition import Edition
from digest.progress import Reporter
from digest.weekly import WeekOptions, WeekResult, build_week, last_complete_week


def week(
    config: Config,
    edition: Edition | None = None,
    *,
    deliver: bool = True,
    force: bool = False,
    reporter: Reporter | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> WeekResult:
    """Build (and deliver) `edition`, or the last complete week (see weekly.last_complete_week)."""
    reporter = reporter or Reporter()
    edition = edition or last_complete_week(config, clock.now())
    require_writable(config)
    with locked_store(config, reporter) as store:
        read_before_building(config, store, reporter)
        return build_week(config, store, edition, WeekOptions(deliver=deliver, force=force), reporter)
