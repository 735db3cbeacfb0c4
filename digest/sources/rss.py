"""The latest announcement from arXiv's RSS feed (rss.arxiv.org), parsed with feedparser."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import logging
import re

import feedparser
import httpx
from feedparser.exceptions import CharacterEncodingOverride, NonXMLContentType

from digest.errors import FetchError, describe_error, short_url
from digest.ids import strip_version
from digest.models import Listing, Paper
from digest.net import http_client, server_wait, transient_http_error
from digest.retry import SYSTEM_CLOCK, Clock, retrying
from digest.sources.calendar import ET

log = logging.getLogger(__name__)

_DESCRIPTION_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:\s*)?", re.IGNORECASE)
_LEGACY_TITLE = re.compile(
    r"^(?P<title>.*)\s*\(arXiv:(?P<id>\S+?)(?:v\d+)?\s+\[(?P<cat>[^\]]+)\](?P<flag>[^)]*)\)\s*$", re.DOTALL
)
_TAGS = re.compile(r"<[^>]+>")


def feed_url(template: str, categories: list[str]) -> str:
    return template.replace("{categories}", "+".join(categories))


def _retryable(exc: BaseException) -> bool:
    return transient_http_error(exc) or isinstance(exc, _MalformedFeed)


# feedparser's notes that do not mean lost items: a charset declared differently from the one used.
_HARMLESS = (CharacterEncodingOverride, NonXMLContentType)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return describe_error(exc)  # the root cause first, never cut


class _MalformedFeed(Exception):
    pass


def fetch_listing(
    url: str, *, timeout: float = 60.0, max_retries: int = 4, backoff: float = 2.0, clock: Clock = SYSTEM_CLOCK
) -> Listing:
    """Download and parse the feed; retries transient failures, then raises FetchError naming the URL."""

    def attempt() -> Listing:
        with http_client(timeout) as client:
            response = client.get(url)
            response.raise_for_status()
        try:
            return parse_feed(response.content, source="rss")
        except FetchError as exc:
            raise _MalformedFeed(str(exc)) from exc

    policy = retrying(
        retries=max_retries,
        backoff=backoff,
        retryable=_retryable,
        server_wait=server_wait,
        clock=clock,
        what=f"arXiv RSS feed {url}",
        describe=_describe,
        log_level=logging.DEBUG,  # the failure, if it stays, is the one error line; retries go to the log file
    )
    try:
        return policy(attempt)
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        hint = " (is every arxiv.categories entry a real arXiv category?)" if status == 400 else ""
        raise FetchError(f"arXiv RSS feed {url}: HTTP {status}{hint}") from None
    except httpx.TransportError as exc:
        raise FetchError(f"arXiv RSS feed {short_url(url)}: {describe_error(exc)}") from None
    except _MalformedFeed as exc:
        raise FetchError(f"arXiv RSS feed {url}: {exc}") from None


def parse_feed(content: bytes | str, *, source: str = "rss") -> Listing:
    """Parse an arXiv RSS 2.0 / Atom (2024+) or legacy RDF feed into the listing it announces."""
    parsed = feedparser.parse(content)
    if not parsed.get("version") or "title" not in parsed.feed:
        reason = parsed.get("bozo_exception") or "no RSS or Atom channel"
        raise FetchError(f"malformed feed: {reason}")
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and not isinstance(problem, _HARMLESS):
        # feedparser reads on after a parse error and returns the items before it: a feed cut mid-item
        # (a dropped connection with HTTP 200, a proxy) would become a smaller day. It is a failed fetch.
        raise FetchError(f"malformed or truncated feed ({len(parsed.entries)} items before the error): {problem}")
    title = parsed.feed.get("title", "")
    if title.startswith("Feed error"):
        raise FetchError(f"arXiv answered with an error feed: {title}")
    date = _listing_date(parsed)
    papers: dict[str, Paper] = {}
    for entry in parsed.entries:
        paper = _entry_to_paper(entry, legacy=parsed.version == "rss10")
        if paper and paper.id not in papers:
            papers[paper.id] = paper
    return Listing(date=date, papers=list(papers.values()), source=source)


def _listing_date(parsed: feedparser.FeedParserDict) -> dt.date:
    """The announcement date the feed carries: channel pubDate, in its own (US Eastern) offset."""
    for key in ("published", "updated"):
        value = parsed.feed.get(key)
        if value:
            when = _parse_date(value)
            if when:
                # pubDate is "<date> 00:00:00 -0400": the date itself; an updated/lastBuildDate in
                # UTC is converted to ET first.
                return when.astimezone(ET).date() if key == "updated" else when.date()
    for entry in parsed.entries:
        when = _parse_date(entry.get("published", ""))
        if when:
            return when.date()
    raise FetchError("malformed feed: no publication date on the channel")


def _parse_date(value: str) -> dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ET)
    return when


def split_authors(creator: str) -> list[str]:
    """Split `A, B (Aff1, Aff2), C` on commas outside parentheses."""
    authors, depth, current = [], 0, []
    for ch in creator:
        if ch in "([":
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
        if ch == "," and depth == 0:
            authors.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    authors.append("".join(current).strip())
    return [a for a in authors if a]


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def _entry_to_paper(entry: feedparser.FeedParserDict, *, legacy: bool) -> Paper | None:
    raw_id = entry.get("id", "") or entry.get("link", "")
    raw_id = raw_id.removeprefix("oai:arXiv.org:")
    raw_id = re.sub(r"^https?://arxiv\.org/abs/", "", raw_id)
    title = entry.get("title", "")
    announce_type = entry.get("arxiv_announce_type", "")
    categories = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
    creator = entry.get("author", "")
    abstract = entry.get("summary", "")
    if legacy:
        m = _LEGACY_TITLE.match(title)
        if m:
            title, categories = m["title"].rstrip(". "), [m["cat"]]
            flag = m["flag"]
            announce_type = "replace" if "UPDATED" in flag else "cross" if "CROSS" in flag else "new"
        creator = _TAGS.sub("", creator)
        abstract = _TAGS.sub("", abstract)
    paper_id = strip_version(raw_id)
    if not paper_id or not title:
        log.warning("skipping a feed item without id or title: %r", raw_id or title)
        return None
    return Paper(
        id=paper_id,
        title=_clean(title),
        # feedparser hands the description over as HTML: "Q&A" arrives as "Q&amp;A".
        abstract=html.unescape(_DESCRIPTION_PREFIX.sub("", abstract)).strip(),
        authors=split_authors(_clean(creator)),
        categories=categories,
        announce_type=announce_type or "new",
    )
