"""The latest announcement from arXiv's `/list/<category>/new` pages: they switch at the announcement
(20:00 US Eastern), hours before the RSS feed (midnight ET).

Page structure (as read by public parsers of these pages, see tests/fixtures/SOURCES.md):

    <h3>Showing new listings for Tuesday, 30 June 2026</h3>
    <dl id='articles'>
      <h3>New submissions (showing 190 of 190 entries)</h3>
      <dt> <a href ="/abs/2606.30639" title="Abstract" id="2606.30639">arXiv:2606.30639</a> [pdf, html] </dt>
      <dd><div class='meta'>
        <div class='list-title mathjax'><span class='descriptor'>Title:</span> ...</div>
        <div class='list-authors'><a href="...">Name</a>, <a href="...">Name</a></div>
        <div class='list-subjects'><span class='descriptor'>Subjects:</span>
          <span class="primary-subject">Computation and Language (cs.CL)</span>; Artificial Intelligence (cs.AI)</div>
        <p class='mathjax'>abstract</p>
      </div></dd>
    </dl>
    <dl id='articles'> <h3>Cross submissions (showing …)</h3> … (cross-list from cs.LG) … </dl>
    <dl id='articles'> <h3>Replacement submissions (showing …)</h3> … </dl>

Older pages name the sections "Cross-lists" and "Replacements". The "showing N of M" counts are the
completeness check: a page showing fewer entries than it says, or cut before its end, is a failed fetch.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

from digest.clock import SYSTEM_CLOCK, Clock
from digest.errors import FetchError, describe_error
from digest.ids import id_order, is_arxiv_id, strip_version
from digest.models import Listing, Paper
from digest.net import http_client, server_wait, transient_http_error
from digest.retry import retrying
from digest.sources.rss import split_authors

log = logging.getLogger(__name__)

_DATE_HEADING = re.compile(r"Showing new listings for\s+(?:\w+,\s*)?(\d{1,2}\s+\w+\s+\d{4})", re.IGNORECASE)
_SECTION_HEADING = re.compile(
    r"^(?P<name>New submissions|Cross submissions|Cross-lists|Replacement submissions|Replacements)\b"
    r"(?:.*?\(showing\s+(?:first\s+)?(?P<shown>\d+)\s+of\s+(?P<total>\d+)\s+entr)?",
    re.IGNORECASE,
)
_SUBJECT_CODE = re.compile(r"\(([A-Za-z\-]+(?:\.[A-Za-z\-]+)?)\)\s*$")
# Section -> the announce type of a paper whose primary category is configured, and of one whose is not.
_SECTION_TYPES = {"new": ("new", "cross"), "cross": ("new", "cross"), "replace": ("replace", "replace-cross")}
_TYPE_ORDER = {"new": 0, "cross": 1, "replace": 2, "replace-cross": 3}
_VOID = {"br", "img", "hr", "wbr", "input", "meta", "link", "source"}


class IncompleteListing(FetchError):
    """A page that parsed but does not hold the whole listing (cut short, or fewer entries than it says)."""


class ListingMismatch(FetchError):
    """The category pages show different listing dates: the announcement is still rolling out."""


def listing_url(template: str, category: str) -> str:
    return template.replace("{category}", category)


@dataclass
class _Entry:
    id: str = ""
    title: str = ""
    authors: list[str] = field(default_factory=list)
    author_text: str = ""
    subjects: str = ""
    abstract: str = ""


@dataclass
class _Section:
    kind: str  # new | cross | replace
    heading: str
    shown: int | None
    total: int | None
    entries: list[_Entry] = field(default_factory=list)


@dataclass
class CategoryPage:
    """One parsed `/list/<category>/new` page."""

    category: str
    date: dt.date
    sections: list[_Section]


class _PageParser(HTMLParser):
    """Collects the date heading, the section headings and each dt/dd pair's fields."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[str] = []
        self.sections: list[_Section] = []
        self.ended = False  # saw </html>: the page was not cut short
        self._h3: list[str] | None = None
        self._field: str | None = None  # the dd part being read: title | authors | subjects | abstract
        self._depth = 0  # nesting inside that part, to know where it ends
        self._descriptor = False
        self._author: list[str] | None = None
        self._text: list[str] = []

    # ----- helpers -----

    def _entry(self) -> _Entry | None:
        if self.sections and self.sections[-1].entries:
            return self.sections[-1].entries[-1]
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        classes = attr.get("class", "").split()
        if tag == "h3":
            self._h3 = []
        elif tag == "dt" and self.sections:
            self.sections[-1].entries.append(_Entry())
        elif tag == "a" and self._field is None and self.sections:
            entry = self._entry()
            href = attr.get("href", "").strip()
            if entry is not None and not entry.id and href.startswith("/abs/"):
                entry.id = strip_version(href.removeprefix("/abs/"))
        if self._field is not None:
            self._depth += tag not in _VOID
            if tag == "span" and "descriptor" in classes:
                self._descriptor = True
            if tag == "a" and self._field == "authors":
                self._author = []
            return
        part = None
        if tag == "div" and "list-title" in classes:
            part = "title"
        elif tag == "div" and "list-authors" in classes:
            part = "authors"
        elif tag == "div" and "list-subjects" in classes:
            part = "subjects"
        elif tag == "p" and "mathjax" in classes:
            part = "abstract"
        if part and self._entry() is not None:
            self._field, self._depth, self._text = part, 0, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "html":
            self.ended = True
        if tag == "h3" and self._h3 is not None:
            self._heading(" ".join("".join(self._h3).split()))
            self._h3 = None
        if self._field is None:
            return
        if tag == "span" and self._descriptor:
            self._descriptor = False
        elif tag == "a" and self._author is not None:
            name = " ".join("".join(self._author).split())
            entry = self._entry()
            if name and entry is not None:
                entry.authors.append(name)
            self._author = None
        if self._depth > 0:
            self._depth -= 1
            return
        entry = self._entry()
        text = " ".join("".join(self._text).split())
        if entry is not None:
            if self._field == "title":
                entry.title = text
            elif self._field == "authors":
                entry.author_text = text
            elif self._field == "subjects":
                entry.subjects = text
            else:
                entry.abstract = text
        self._field = None

    def handle_data(self, data: str) -> None:
        if self._h3 is not None:
            self._h3.append(data)
        if self._field is not None and not self._descriptor:
            self._text.append(data)
            if self._author is not None:
                self._author.append(data)

    def _heading(self, text: str) -> None:
        self.headings.append(text)
        m = _SECTION_HEADING.match(text)
        if not m:
            return
        name = m["name"].lower()
        kind = "new" if name.startswith("new") else "cross" if name.startswith("cross") else "replace"
        shown = int(m["shown"]) if m["shown"] else None
        total = int(m["total"]) if m["total"] else None
        self.sections.append(_Section(kind, text, shown, total))


def _listing_date(headings: list[str]) -> dt.date:
    for text in headings:
        m = _DATE_HEADING.search(text)
        if m:
            try:
                return dt.datetime.strptime(m[1], "%d %B %Y").date()
            except ValueError:
                raise FetchError(f"unreadable date heading {text!r}") from None
    raise FetchError("no 'Showing new listings for <date>' heading (not a /list/<category>/new page?)")


def parse_page(content: bytes | str, category: str) -> CategoryPage:
    """Parse one listing page; raises IncompleteListing when it does not hold every entry it announces."""
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    parser = _PageParser()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError) as exc:  # html.parser gives up on a few malformed constructs
        raise FetchError(f"unreadable HTML: {exc}") from None
    date = _listing_date(parser.headings)
    if not parser.sections:
        raise FetchError("no 'New submissions' section on the page")
    for section in parser.sections:
        got = len(section.entries)
        if section.total is not None and section.shown is not None and section.shown < section.total:
            raise IncompleteListing(
                f"'{section.heading}' shows {section.shown} of {section.total} entries "
                "(raise show= in arxiv.listing_url)"
            )
        if section.shown is not None and got != section.shown:
            raise IncompleteListing(f"'{section.heading}' but {got} entries on the page (cut short)")
        missing = [e for e in section.entries if not e.id or not is_arxiv_id(e.id) or not e.title]
        if missing:
            raise IncompleteListing(f"{len(missing)} entries without an arXiv id or title (cut short)")
    if not parser.ended:
        raise IncompleteListing("the page ends before </html> (cut short)")
    return CategoryPage(category, date, parser.sections)


def _subject_codes(subjects: str) -> list[str]:
    codes = []
    for part in subjects.split(";"):
        m = _SUBJECT_CODE.search(part.strip())
        if m and m[1] not in codes:
            codes.append(m[1])
    return codes


def merge_pages(pages: list[CategoryPage], categories: list[str], source: str = "listing") -> Listing:
    """One listing from the configured categories' pages, deduplicated by id, ordered like the RSS feed
    (new, cross, replace, replace-cross; newest id first), with the feed's announce types: `new` when
    the primary category is configured, `cross` when only a secondary one is."""
    dates = {p.date for p in pages}
    if len(dates) != 1:
        shown = ", ".join(f"{p.category} {p.date}" for p in pages)
        raise ListingMismatch(f"the pages show different listings ({shown}): arXiv is still announcing")
    configured = {c.lower() for c in categories}
    papers: dict[str, Paper] = {}
    for page in pages:
        for section in page.sections:
            mine, theirs = _SECTION_TYPES[section.kind]
            for entry in section.entries:
                if entry.id in papers:
                    continue
                cats = _subject_codes(entry.subjects) or [page.category]
                papers[entry.id] = Paper(
                    id=entry.id,
                    title=entry.title,
                    abstract=entry.abstract,
                    authors=entry.authors or split_authors(entry.author_text),
                    categories=cats,
                    announce_type=mine if cats[0].lower() in configured else theirs,
                )
    ordered = sorted(papers.values(), key=lambda p: id_order(p.id), reverse=True)  # newest id first
    ordered.sort(key=lambda p: _TYPE_ORDER[p.announce_type])
    return Listing(date=dates.pop(), papers=ordered, source=source)


def fetch_pages(
    template: str,
    categories: list[str],
    *,
    delay: float = 3.0,
    timeout: float = 60.0,
    max_retries: int = 4,
    backoff: float = 2.0,
    clock: Clock = SYSTEM_CLOCK,
) -> Listing:
    """Every configured category's page, one request each `delay` seconds apart, merged into one listing;
    a page's transient failures are retried on the shared policy (digest/retry.py).

    Raises FetchError (IncompleteListing for a cut or partial page) naming the page, so the caller
    can fall back to the RSS feed.
    """
    pages = []
    with http_client(timeout) as client:

        def get(url: str) -> bytes:
            response = client.get(url)
            response.raise_for_status()
            return response.content

        for index, category in enumerate(categories):
            if index and delay:
                clock.sleep(delay)
            url = listing_url(template, category)
            policy = retrying(
                retries=max_retries,
                backoff=backoff,
                retryable=transient_http_error,
                server_wait=server_wait,
                clock=clock,
                what=f"arXiv listing page {url}",
                describe=describe_error,
                log_level=logging.DEBUG,
            )
            try:
                content = policy(get, url)
                pages.append(parse_page(content, category))
            except httpx.HTTPStatusError as exc:
                raise FetchError(f"arXiv listing page {url}: HTTP {exc.response.status_code}") from None
            except httpx.TransportError as exc:
                raise FetchError(f"arXiv listing page {url}: {type(exc).__name__}: {exc}") from None
            except IncompleteListing as exc:
                raise IncompleteListing(f"arXiv listing page {url}: {exc}") from None
            except FetchError as exc:
                raise FetchError(f"arXiv listing page {url}: {exc}") from None
    return merge_pages(pages, categories)
