"""The one retry policy (digest/retry.py) as the RSS feed and the export API use it, with a clock that never sleeps."""

import datetime as dt

from digest.retry import Clock, retry_after_seconds
from digest.sources.rss import fetch_listing
from tests.conftest import RSS_CATEGORIES, small_day_feed
from tests.fakes.http import Response


def _clock(slept: list[float]) -> Clock:
    return Clock(sleep=slept.append)


def test_the_feed_waits_what_retry_after_asks_capped_at_a_minute(server):
    route = f"/rss/{RSS_CATEGORIES}"
    server.route(
        route,
        [
            Response(429, b"slow down", {"Retry-After": "7"}),
            Response(503, b"busy", {"Retry-After": "3600"}),
            Response(502, b"bad gateway"),
            Response(200, small_day_feed()),
        ],
    )
    slept: list[float] = []
    listing = fetch_listing(f"{server.url}{route}", max_retries=3, backoff=0.5, clock=_clock(slept))
    assert len(listing.papers) == 50
    # Asked 7 s, asked an hour (capped at 60 s), then the third attempt's own backoff: 0.5·2².
    assert slept == [7.0, 60.0, 2.0]


def test_retry_after_reads_seconds_and_http_dates():
    now = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("Tue, 30 Jun 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
