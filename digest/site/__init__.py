"""The static archive site: every digest as pages, a feed and a search index, built from the reports.

Public surface: build_site (the `digest site` command) and refresh_after_run (the hook `digest run` and
`digest backfill` call after a report is written). The site's addresses (a day's URL for Telegram and email,
paper anchors) are digest/urls.py's, which the reports use too.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.config import Config
    from digest.progress import Reporter
    from digest.site.build import SiteResult
    from digest.store import Store

log = logging.getLogger("digest")

__all__ = ["build_site", "has_day", "refresh_after_run"]


def build_site(config: Config, store: Store | None = None) -> SiteResult:
    from digest.site.build import build_site as build

    return build(config, store)


def has_day(config: Config, date: dt.date) -> bool:
    """Whether the built site has this day's page."""
    return (config.site_dir / date.isoformat() / "index.html").is_file()


def refresh_after_run(config: Config, store: Store | None, reporter: Reporter) -> str:
    """Refresh the site after a report was written; returns what to add to the run's line.

    A site that cannot be built must not fail the run (its report is written and about to be delivered), so
    every failure becomes one line in the run's message and a warning with its cause in the log.
    """
    if not config.site.enabled:
        return ""
    from digest.errors import DigestError, root_cause

    try:
        with reporter.stage("site") as stage:
            result = build_site(config, store)
            stage.detail = result.line().removeprefix("site: ")
    except Exception as exc:  # noqa: BLE001 - any failure of the site is reported, never fatal to the run
        why = str(exc) if isinstance(exc, DigestError) else f"{type(exc).__name__}: {root_cause(exc)}"
        log.warning("site not refreshed: %s", why)
        return f"; site not refreshed ({why})"
    for line in result.skipped_lines():
        log.warning("%s", line)
    skipped = f", {len(result.skipped)} report(s) it cannot read skipped (see the log)" if result.skipped else ""
    return f"; site: {result.written} pages updated{skipped}"
