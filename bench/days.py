"""The days the benchmark runs, as arXiv RSS 2.0 feeds (bytes): the two real fixture days and synthetic
days of any size made from their papers.

A synthetic day is the union of the real days' papers (titles, abstracts, authors, categories and
announce types unchanged) under fresh ids, repeated until it has the asked number of papers: its
prompts and token counts are those of real papers, and no id repeats.
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

from digest.models import Paper
from digest.sources.demo import DEMO_FEED
from digest.sources.rss import parse_feed

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_0701 = ROOT / "tests/fixtures/rss-cs.AI+cs.CL+cs.CV+cs.LG-2026-07-01-rebuilt.xml"
CATEGORIES = "cs.AI+cs.CL+cs.CV+cs.LG"
# A Thursday with an announcement (and not a holiday), so `digest run --date` accepts it on a re-run.
SYNTHETIC_DATE = dt.date(2026, 7, 2)


@dataclass
class Day:
    name: str
    date: dt.date
    feed: bytes  # an RSS 2.0 document as rss.arxiv.org serves it


def bundled_day() -> Day:
    """The real 2026-06-30 announcement bundled with the package (532 papers), as `digest demo` reads it."""
    feed = gzip.decompress(resources.files("digest.data").joinpath(DEMO_FEED).read_bytes())
    return Day("2026-06-30 (bundled)", dt.date(2026, 6, 30), feed)


def fixture_day() -> Day:
    """The real 2026-07-01 announcement, rebuilt as RSS from the export API (301 papers)."""
    return Day("2026-07-01 (fixture)", dt.date(2026, 7, 1), FIXTURE_0701.read_bytes())


def synthetic_day(papers: int, date: dt.date = SYNTHETIC_DATE) -> Day:
    real = [p for day in (bundled_day(), fixture_day()) for p in parse_feed(day.feed).papers]
    made = [_renamed(real[n % len(real)], f"{date:%y%m}.{n + 1:05d}") for n in range(papers)]
    return Day(f"synthetic {papers}", date, rss_feed(made, date))


def _renamed(paper: Paper, new_id: str) -> Paper:
    return Paper(
        id=new_id,
        title=paper.title,
        abstract=paper.abstract,
        authors=paper.authors,
        categories=paper.categories,
        announce_type=paper.announce_type,
    )


def rss_feed(papers: list[Paper], date: dt.date) -> bytes:
    """The papers as arXiv's RSS 2.0 feed for one announcement date (the shape rss.arxiv.org serves)."""
    pub = f"{date:%a, %d %b %Y} 00:00:00 -0400"
    items = []
    for p in papers:
        cats = "".join(f"\n      <category>{escape(c)}</category>" for c in p.categories)
        items.append(f"""    <item>
      <title>{escape(p.title)}</title>
      <link>https://arxiv.org/abs/{p.id}</link>
      <description>arXiv:{p.id}v1 Announce Type: {p.announce_type}
Abstract: {escape(p.abstract)}</description>
      <guid isPermaLink="false">oai:arXiv.org:{p.id}v1</guid>{cats}
      <pubDate>{pub}</pubDate>
      <arxiv:announce_type>{p.announce_type}</arxiv:announce_type>
      <dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
      <dc:creator>{escape(", ".join(p.authors))}</dc:creator>
    </item>""")
    head = f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" \
xmlns:atom="http://www.w3.org/2005/Atom" version="2.0">
  <channel>
    <title>cs.AI, cs.CL, cs.CV, cs.LG updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/{CATEGORIES}</link>
    <description>cs.AI, cs.CL, cs.CV, cs.LG updates on the arXiv.org e-print archive.</description>
    <language>en-us</language>
    <pubDate>{pub}</pubDate>
"""
    return (head + "\n".join(items) + "\n  </channel>\n</rss>\n").encode()
