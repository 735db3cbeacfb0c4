"""The real arXiv day bundled with the package, for `digest demo` and the one paper `digest check` sends."""

from __future__ import annotations

import datetime as dt
import functools
import gzip
from importlib import resources

from digest.models import Fetcher, Listing

DEMO_FEED = "demo-2026-06-30.xml.gz"


def demo_fetcher() -> Fetcher:
    """The real arXiv day bundled with the package (cs.AI+cs.CL+cs.CV+cs.LG, 2026-06-30), parsed like the feed."""

    def fetch(date: dt.date | None) -> Listing:
        listing = demo_listing()
        return Listing(listing.date, list(listing.papers), listing.source)

    return fetch


@functools.cache
def demo_listing() -> Listing:
    """Parsed once a process (most of a second): `digest check` takes its one paper from it too."""
    from digest.sources.rss import parse_feed

    data = resources.files("digest.data").joinpath(DEMO_FEED).read_bytes()
    return parse_feed(gzip.decompress(data), source="demo")
