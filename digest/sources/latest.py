"""The latest announcement, as a run asks for it: arXiv's /list pages (which switch at the announcement), the
RSS feed when they fail (which switches at midnight ET), the export API for a date neither carries.

A fetcher answers "the listing for this date" (None = the latest announcement): see models.Fetcher.
"""

from __future__ import annotations

import datetime as dt
import logging

from digest.clock import SYSTEM_CLOCK, Clock
from digest.config import Config
from digest.errors import FetchError
from digest.models import Fetcher, Listing

log = logging.getLogger("digest.pipeline")


def latest_date(config: Config, now: dt.datetime) -> dt.date:
    """The listing date a run for the latest listing gets at `now`: the listing pages switch at the
    announcement (20:00 ET), the RSS feed only at midnight ET (then its date may have no listing)."""
    from digest.sources.calendar import ArxivCalendar, rss_feed_date

    if config.arxiv.listing_url is None:
        return rss_feed_date(now)
    return ArxivCalendar.from_config(config).latest_listing_date(now)


def latest_fetcher(config: Config, clock: Clock = SYSTEM_CLOCK, *, wait: bool = False) -> Fetcher:
    """The latest listing from arXiv's listing pages; the RSS feed (then the API) when they fail.

    With `wait` (a scheduled fire), pages that still show an older listing than the calendar says is
    out (arXiv is late) are asked again every `schedule.retry_seconds`, for at most
    `schedule.misfire_grace_seconds`, rather than sending the previous listing as the new one.
    """
    from digest.sources.calendar import ArxivCalendar

    fallback = rss_fetcher(config, clock)
    if config.arxiv.listing_url is None:
        return fallback
    listing_url = config.arxiv.listing_url
    now, pause = clock.now, clock.sleep
    arxiv_calendar = ArxivCalendar.from_config(config)

    def pages() -> Listing:
        from digest.sources.listing import fetch_pages

        return fetch_pages(
            listing_url,
            config.arxiv.categories,
            delay=config.arxiv.api_delay_seconds,
            timeout=config.arxiv.timeout_seconds,
            max_retries=config.arxiv.max_retries,
            backoff=config.arxiv.backoff_seconds,
            clock=clock,
            calendar=arxiv_calendar,
        )

    def fetch(date: dt.date | None) -> Listing:
        from digest.sources.listing import ListingMismatch

        expected = arxiv_calendar.latest_listing_date(now())
        if date is not None and date != expected:
            return fallback(date)
        deadline = now() + dt.timedelta(seconds=config.schedule.misfire_grace_seconds) if wait else now()

        def wait_a_little() -> None:
            pause(min(config.schedule.retry_seconds, (deadline - now()).total_seconds()))

        while True:
            try:
                listing = pages()
            except FetchError as exc:
                if isinstance(exc, ListingMismatch) and now() < deadline:
                    log.info("%s; asking again in %d s", exc, config.schedule.retry_seconds)
                    wait_a_little()
                    continue
                log.warning("%s; using the RSS feed instead", exc)
                return fallback(date)
            if listing.date >= expected:
                return listing
            if now() >= deadline:
                break
            log.info(
                "the listing pages still show %s: arXiv has not announced %s yet; asking again in %d s (until %s)",
                listing.date,
                expected,
                config.schedule.retry_seconds,
                _utc(deadline),
            )
            wait_a_little()
        if wait:
            log.warning(
                "arXiv has not announced %s by %s; the listing pages still show %s",
                expected,
                _utc(deadline),
                listing.date,
            )
        else:
            log.info("the listing pages still show %s: arXiv has not announced %s yet", listing.date, expected)
        return listing if date is None else fallback(date)

    return fetch


def rss_fetcher(config: Config, clock: Clock = SYSTEM_CLOCK) -> Fetcher:
    """The latest listing from the RSS feed; a date the feed no longer (or not yet) carries from the export API."""
    from digest.sources.calendar import rss_feed_date

    api: list[Fetcher] = []

    def past(date: dt.date) -> Listing:
        # Made on first use: most runs never need the export API.
        if not api:
            from digest.sources.api import api_fetcher

            api.append(api_fetcher(config, clock=clock))
        return api[0](date)

    def fetch(date: dt.date | None) -> Listing:
        from digest.sources.rss import feed_url, fetch_listing

        # The feed switches at midnight ET, so it can only carry today's (ET) date.
        if date is not None and date != rss_feed_date(clock.now()):
            return past(date)
        listing = fetch_listing(
            feed_url(config.arxiv.rss_url, config.arxiv.categories),
            timeout=config.arxiv.timeout_seconds,
            max_retries=config.arxiv.max_retries,
            backoff=config.arxiv.backoff_seconds,
            clock=clock,
        )
        if date is not None and listing.date != date:
            return past(date)  # a stale feed
        return listing

    return fetch


def _utc(when: dt.datetime) -> str:
    return f"{when.astimezone(dt.UTC):%H:%M} UTC"
