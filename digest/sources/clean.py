"""What every source's listing goes through before anything is stored."""

from __future__ import annotations

import datetime as dt
import logging

from digest.errors import FetchError
from digest.ids import is_arxiv_id
from digest.models import Listing, Paper
from digest.text import normalize_paper

log = logging.getLogger("digest.pipeline")


def keep_announce_types(listing: Listing, types: list[str]) -> Listing:
    return Listing(listing.date, [p for p in listing.papers if p.announce_type in types], listing.source)


def clean_listing(listing: Listing, now: dt.datetime | None = None) -> Listing:
    """What every source's listing goes through before anything is stored: a plausible date, ids that are
    arXiv ids (an item with another id is skipped with a warning), and titles, abstracts and authors
    normalised for reading (TeX to text, no control or bidi characters)."""
    from digest.sources.calendar import ET

    today = (now or dt.datetime.now(dt.UTC)).astimezone(ET).date()
    if listing.date > today + dt.timedelta(days=1):
        raise FetchError(
            f"the {listing.source} listing is dated {listing.date}, after tomorrow (US Eastern): "
            "a wrong feed or a wrong clock; nothing built"
        )
    papers: dict[str, Paper] = {}
    for paper in listing.papers:
        if not is_arxiv_id(paper.id):
            log.warning(
                "%s listing %s: skipping an item whose id is not an arXiv id: %r",
                listing.source,
                listing.date,
                paper.id[:80],
            )
            continue
        papers.setdefault(paper.id, normalize_paper(paper))
    return Listing(listing.date, list(papers.values()), listing.source)
