"""The latest announcement from arXiv's `/list/<category>/new` pages: they switch at the announcement
(20:00 US Eastern), hours before the RSS feed (midnight ET).

The page as arXiv serves it (arXiv/arxiv-browse `browse/templates/list/`, and real saved pages in
tests/fixtures/, see SOURCES.md there):

    <div id='dlpage'> <h1>Information Theory</h1>
      <ul> <li><a href="#item0">New submissions</a></li> <li><a href="#item11">Cross-lists</a></li> … </ul>
      <h3>Showing new listings for Monday, 28 September 2026</h3>
      <div class='paging'>Total of 31 entries </div>                      (again below the list)
      <dl id='articles'> <h3>New submissions (showing 10 of 10 entries)</h3>
        <dt> <a name='item1'>[1]</a> <a href ="/abs/2609.30653" title="Abstract" id="2609.30653">…</a>
             [(cross-list from math.ST) | (replaced)] [pdf, html, other] </dt>
        <dd><div class='meta'>
          <div class='list-title mathjax'><span class='descriptor'>Title:</span> …</div>
          <div class='list-authors'><a href="…searchtype=author…">Name</a> (Affiliation), <a …>Name</a></div>
          [<div class='list-comments mathjax'>…</div>] [<div class='list-journal-ref'>…</div>]
          <div class='list-subjects'>… <span class="primary-subject">Information Theory (cs.IT)</span>; …</div>
          <p class='mathjax'> paragraph <br>paragraph, <a class="link-external …">links</a>, &#39; </p>
        </div></dd>
      </dl>
      <dl id='articles'> <h3>Cross submissions (…)</h3> … </dl>
      <dl id='articles'> <h3>Replacement submissions (…)</h3> … </dl>

A section with no entries is left out; a category with nothing that day says `<p>No updates today.</p>`.
At most 2000 entries a page (`show`): a bigger category is read in pages (`skip=0`, `skip=2000`, …), whose
headings read "(showing first 2000 of 2013 entries)", "(continued, showing last 13 of 2013 entries)".

Nothing is dropped quietly: the page's own counts ("Total of N entries", each section's "showing X of Y",
the [N] numbers) must agree with the entries read, every entry needs an id, a title and an abstract, and an
unknown heading, an entry outside a section or a page dated off arXiv's calendar fails the fetch, so the
caller falls back to the RSS feed.
"""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from digest.clock import SYSTEM_CLOCK, Clock
from digest.errors import FetchError, describe_error
from digest.ids import id_order, is_arxiv_id, strip_version
from digest.models import Listing, Paper, in_categories
from digest.net import http_client, server_wait, transient_http_error
from digest.retry import retrying
from digest.sources.rss import split_authors

if TYPE_CHECKING:
    from digest.sources.calendar import ArxivCalendar

log = logging.getLogger(__name__)

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("january", "february", "march", "april", "may", "june", "july")
        + ("august", "september", "october", "november", "december"),
        1,
    )
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DATE_HEADING = re.compile(
    r"Showing new listings for\s+(?:(?P<weekday>[A-Za-z]+),\s*)?"
    r"(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]+)\s+(?P<year>\d{4})",
    re.IGNORECASE,
)
_SECTION_HEADING = re.compile(
    r"^(?P<name>New submissions|Cross submissions|Cross-lists|Replacement submissions|Replacements)"
    r"(?:\s*\((?P<continued>continued,\s*)?showing\s+(?:first\s+|last\s+)?(?P<shown>\d+)\s+of\s+(?P<total>\d+)"
    r"\s+entries\s*\))?$",
    re.IGNORECASE,
)
_TOTAL = re.compile(r"Total of (\d+) entries", re.IGNORECASE)
_NO_UPDATES = "no updates today."
_ITEM = re.compile(r"item(\d+)$")
_SUBJECT_CODE = re.compile(r"\(([A-Za-z\-]+(?:\.[A-Za-z\-]+)?)\)\s*$")
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:\-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:\-]+)", re.IGNORECASE)
_SECTION_NAMES = {"new": "New submissions", "cross": "Cross submissions", "replace": "Replacement submissions"}
# Section -> the announce type of a paper whose primary category is configured, and of one whose is not.
_SECTION_TYPES = {"new": ("new", "cross"), "cross": ("new", "cross"), "replace": ("replace", "replace-cross")}
_TYPE_ORDER = {"new": 0, "cross": 1, "replace": 2, "replace-cross": 3}
# Elements without an end tag, however written (`<br>`, `<br/>`, `<br />`): they never open or close a part.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
# Elements that cannot sit inside a title, author list or abstract: meeting one ends a part left open.
_OUTSIDE_PARTS = frozenset({"dt", "dd", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "table", "body"})
_PARTS = {("div", "list-title"): "title", ("div", "list-authors"): "authors", ("div", "list-subjects"): "subjects"}
# The pages only ever show the latest announcement: one this much older than the listing the calendar
# expects is a stale copy or a wrong address, not arXiv running late.
_STALE_DAYS = 7
_MAX_PAGES = 50  # of one category (100,000 entries at show=2000): beyond that the page counts are wrong


class IncompleteListing(FetchError):
    """A page that parsed but does not hold the whole listing (cut short, or fewer entries than it says)."""


class ListingMismatch(FetchError):
    """The category pages show different listing dates: the announcement is still rolling out."""


def listing_url(template: str, category: str) -> str:
    return template.replace("{category}", category)


def page_url(url: str, skip: int) -> str:
    """`url` asking for the entries from `skip` on (the other query parameters, `show` among them, kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "skip"]
    return urlunsplit(parts._replace(query=urlencode([("skip", str(skip)), *query])))


@dataclass
class _Entry:
    id: str = ""
    number: int | None = None  # arXiv's [N] on the page
    title: str = ""
    authors: list[str] = field(default_factory=list)
    subjects: str = ""
    abstract: str | None = None  # None: the entry has no abstract paragraph


@dataclass
class _Section:
    kind: str  # new | cross | replace
    heading: str
    shown: int | None
    total: int | None
    entries: list[_Entry] = field(default_factory=list)

    @property
    def name(self) -> str:
        return _SECTION_NAMES[self.kind]


@dataclass
class CategoryPage:
    """One category's `/list/<category>/new` listing: its date, its sections (every page of it when it took
    several) and the page's "Total of N entries" (0 on a "No updates today." page)."""

    category: str
    date: dt.date
    sections: list[_Section]
    total: int = 0


class _Part:
    """The title, author list, subjects or abstract being read: its text in paragraphs (a `<br>` starts a
    new one) and the elements open inside it, so an end tag closes what it matches and anything left
    open within (an unclosed `<i>`), and the part ends with its own element."""

    def __init__(self, name: str, tag: str) -> None:
        self.name = name
        self.open = [tag]
        self.paragraphs: list[list[str]] = [[]]
        self.descriptor: int | None = None  # depth of the "Title:" label being skipped
        self.names: list[str] = []  # authors: the linked names, each with the text after it attached
        self.name_text: list[str] | None = None  # the name link being read
        self.after: list[str] = []  # text since the last name: ", " or " (Affiliation), "

    def joined(self, sep: str) -> str:
        """The text, each paragraph on one line, paragraphs joined by `sep`."""
        return sep.join(p for p in (" ".join("".join(chunk).split()) for chunk in self.paragraphs) if p)

    def add(self, data: str) -> None:
        if self.descriptor is not None:
            return
        self.paragraphs[-1].append(data)
        if self.name_text is not None:
            self.name_text.append(data)
        elif self.name == "authors":
            self.after.append(data)

    def line_break(self) -> None:
        if self.descriptor is None:
            self.paragraphs.append([])
            (self.name_text if self.name_text is not None else self.after).append(" ")

    def start(self, tag: str, classes: list[str]) -> None:
        self.open.append(tag)
        if tag == "span" and "descriptor" in classes and self.descriptor is None:
            self.descriptor = len(self.open)
        # An author's name links to an author search; a link arXiv made of a URL in the text has class link-*.
        if self.name == "authors" and tag == "a" and not any(c.startswith("link-") for c in classes):
            self._attach_after()
            self.name_text = []

    def end(self, tag: str) -> bool:
        """Close `tag` (and whatever is open inside it); True when that closes the part itself."""
        if tag not in self.open:
            return False  # a stray end tag
        while self.open:
            closed = self.open.pop()
            if self.descriptor is not None and len(self.open) < self.descriptor:
                self.descriptor = None
            if closed == "a" and self.name_text is not None:
                self.names.append(" ".join("".join(self.name_text).split()))
                self.name_text = None
            if closed == tag:
                break
        return not self.open

    def _attach_after(self) -> None:
        """The text between two names: separators, and an affiliation that belongs to the name before."""
        rest = " ".join("".join(self.after).split()).strip(" ,")
        rest = re.sub(r"^and\s+|\s+and$", "", rest).strip(" ,")
        self.after = []
        if not rest:
            return
        if self.names:
            self.names[-1] = f"{self.names[-1]} {rest}"
        else:
            self.names.append(rest)

    def authors(self) -> list[str]:
        if self.name_text is not None:
            self.end("a")
        self._attach_after()
        names = [n for n in self.names if n]
        return names or split_authors(self.joined(" "))


class _PageParser(HTMLParser):
    """Collects the headings, the counts the page states and each dt/dd pair's fields."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.date_headings: list[str] = []
        self.unknown_headings: list[str] = []
        self.sections: list[_Section] = []
        self.orphans: list[_Entry] = []  # entries outside a recognised section (before one, or after another heading)
        self.totals: list[int] = []
        self.no_updates = False
        self.ended = False  # saw </html>: the page was not cut short
        self._h3: list[str] | None = None
        self._section: _Section | None = None
        self._in_dt = False
        self._in_dd = False  # an entry's details: its comments are not the page's own words
        self._in_paging = False  # the div that says "Total of N entries"
        self._entry: _Entry | None = None
        self._part: _Part | None = None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # `<br/>`: a start tag only (HTMLParser would also call handle_endtag, closing whatever holds it).
        self.handle_starttag(tag, attrs)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        classes = attr.get("class", "").split()
        part = self._part
        if part is not None and (tag in _OUTSIDE_PARTS or (part.open[0] == "p" and tag in ("p", "div"))):
            self._finish_part()  # its element was never closed: it ends where HTML would end it
            part = None
        if tag in _VOID:
            if tag == "br" and part is not None:
                part.line_break()
            return
        if part is not None:
            part.start(tag, classes)
            return
        if tag == "h3":
            self._h3 = []
        elif tag == "dt":
            self._in_dt = True
            self._entry = _Entry()
            (self._section.entries if self._section else self.orphans).append(self._entry)
        elif tag == "dd":
            self._in_dt, self._in_dd = False, True
        elif tag == "div" and "paging" in classes:
            self._in_paging = True
        elif tag == "a" and self._in_dt and self._entry is not None:
            self._entry_link(self._entry, attr)
        elif self._entry is not None and not self._in_dt:
            name = "abstract" if tag == "p" and "mathjax" in classes else None
            name = name or next((n for (t, c), n in _PARTS.items() if t == tag and c in classes), None)
            if name is not None:
                self._part = _Part(name, tag)

    @staticmethod
    def _entry_link(entry: _Entry, attr: dict[str, str]) -> None:
        number = _ITEM.match(attr.get("name", ""))
        if number and entry.number is None:
            entry.number = int(number[1])
        href = attr.get("href", "").strip()
        if not entry.id and href.startswith("/abs/"):
            entry.id = strip_version(href.removeprefix("/abs/"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "html":
            self.ended = True
        part = self._part
        if part is not None:
            if tag == "br":
                part.line_break()  # `</br>` is a line break to browsers too
                return
            if part.end(tag):
                self._finish_part()
                return
            if tag not in ("dd", "dl", "dt"):
                return
            self._finish_part()  # a part left open (an abstract's </p> is optional) ends with its entry
        if tag == "h3" and self._h3 is not None:
            self._heading(" ".join("".join(self._h3).split()))
            self._h3 = None
        elif tag == "dt":
            self._in_dt = False
        elif tag == "dd":
            self._in_dd = False
        elif tag == "div":
            self._in_paging = False

    def handle_data(self, data: str) -> None:
        if self._h3 is not None:
            self._h3.append(data)
        if self._part is not None:
            self._part.add(data)
            return
        if self._in_dd:
            return
        if data.strip().lower() == _NO_UPDATES:
            self.no_updates = True
        total = _TOTAL.search(data) if self._in_paging else None
        if total:
            self.totals.append(int(total[1]))

    def close(self) -> None:
        super().close()
        if self._part is not None:
            self._finish_part()

    def _finish_part(self) -> None:
        part, entry, self._part = self._part, self._entry, None
        if part is None or entry is None:
            return
        if part.name == "authors":
            entry.authors = part.authors()
        elif part.name == "abstract":
            entry.abstract = part.joined("\n")  # paragraphs (arXiv's <br>) kept, as in the RSS feed
        else:
            setattr(entry, part.name, part.joined(" "))

    def _heading(self, text: str) -> None:
        if text.lower().startswith("showing new listings"):
            self.date_headings.append(text)
            return
        m = _SECTION_HEADING.match(text)
        self._entry = None
        if m is None:
            if self.date_headings:  # a heading in the listing that is not one of its three sections
                self.unknown_headings.append(text)
                self._section = None
            return
        name = m["name"].lower()
        kind = "new" if name.startswith("new") else "cross" if name.startswith("cross") else "replace"
        shown = int(m["shown"]) if m["shown"] else None
        total = int(m["total"]) if m["total"] else None
        self._section = _Section(kind, text, shown, total)
        self.sections.append(self._section)


def _listing_date(headings: list[str]) -> dt.date:
    """The date of 'Showing new listings for Monday, 28 September 2026' (English names, whatever the locale)."""
    if not headings:
        raise FetchError("no 'Showing new listings for <date>' heading (not a /list/<category>/new page?)")
    if len(set(headings)) > 1:
        raise FetchError(f"two date headings: {headings[0]!r} and {headings[1]!r}")
    m = _DATE_HEADING.search(headings[0])
    month = _MONTHS.get(m["month"].lower()) if m else None
    try:
        date = dt.date(int(m["year"]), month, int(m["day"])) if m and month else None
    except ValueError:
        date = None
    if date is None:
        raise FetchError(f"unreadable date heading {headings[0]!r}")
    if m["weekday"] and m["weekday"].lower() != _WEEKDAYS[date.weekday()]:
        raise FetchError(f"the date heading {headings[0]!r} names the wrong weekday ({date} is a {date:%A})")
    return date


def decode_page(content: bytes | str, content_type: str | None = None) -> str:
    """The page's text in the character set it declares: its HTTP Content-Type, else its `<meta charset>`,
    else UTF-8. Bytes that are not valid in that set fail the page rather than turn into mojibake."""
    if isinstance(content, str):
        return content
    if content.startswith(codecs.BOM_UTF8):
        content, declared = content[len(codecs.BOM_UTF8) :], "utf-8"
    else:
        header = _HEADER_CHARSET.search(content_type or "")
        meta = None if header else _META_CHARSET.search(content[:4096])
        declared = header[1] if header else meta[1].decode("ascii") if meta else None
    try:
        codec = codecs.lookup(declared or "utf-8").name
    except LookupError:
        raise FetchError(f"the page declares an unknown character set {declared!r}") from None
    # Browsers read a page labelled Latin-1 as windows-1252 (its 0x80-0x9F are quotes and dashes, not controls).
    for name in ("cp1252", codec) if codec == "iso8859-1" else (codec,):
        try:
            return content.decode(name)
        except UnicodeDecodeError as exc:
            error = exc
    how = f"declared {declared}" if declared else "UTF-8 (no character set declared)"
    raise FetchError(f"the page is not valid {how}: byte {error.start} cannot be read") from None


def parse_page(content: bytes | str, category: str, *, content_type: str | None = None, skip: int = 0) -> CategoryPage:
    """One page of a category's listing (the entries from `skip` on); raises FetchError for a page that is
    not a listing page or changed its layout, IncompleteListing for one that does not hold what it says."""
    parser = _PageParser()
    try:
        parser.feed(decode_page(content, content_type))
        parser.close()
    except (AssertionError, ValueError) as exc:  # html.parser gives up on a few malformed constructs
        raise FetchError(f"unreadable HTML: {exc}") from None
    date = _listing_date(parser.date_headings)
    if parser.unknown_headings:
        raise FetchError(
            f"unknown section heading {parser.unknown_headings[0]!r} (expected New submissions, Cross submissions "
            "or Replacement submissions): the page layout changed"
        )
    if parser.orphans:
        raise FetchError(f"{len(parser.orphans)} entries before the first section heading")
    if not parser.ended:
        raise IncompleteListing("the page ends before </html> (cut short)")
    if len(set(parser.totals)) > 1:
        raise IncompleteListing(f"the page says 'Total of {parser.totals[0]}' and 'Total of {parser.totals[-1]}'")
    if not parser.sections:
        if parser.no_updates and not any(parser.totals):
            return CategoryPage(category, date, [], 0)
        raise FetchError("no section headings and no 'No updates today.' (not a listing page?)")
    if parser.no_updates:
        raise FetchError("the page says 'No updates today.' and lists entries")
    if not parser.totals:
        raise IncompleteListing("no 'Total of N entries' to check the page against")
    _check_sections(parser.sections, skip)
    return CategoryPage(category, date, parser.sections, parser.totals[0])


def _check_sections(sections: list[_Section], skip: int) -> None:
    kinds = [s.kind for s in sections]
    if kinds != sorted(set(kinds), key=list(_SECTION_NAMES).index):
        raise FetchError(f"sections out of arXiv's order or repeated: {', '.join(s.heading for s in sections)}")
    for section in sections:
        got = len(section.entries)
        if section.shown is not None and got != section.shown:
            raise IncompleteListing(f"'{section.heading}' but {got} entries on the page")
        if section.shown is not None and section.total is not None and section.shown > section.total:
            raise IncompleteListing(f"'{section.heading}' shows more entries than it has")
    entries = [e for s in sections for e in s.entries]
    problems = {
        "an arXiv id": [e for e in entries if not is_arxiv_id(e.id)],
        "a title": [e for e in entries if not e.title],
        "an abstract": [e for e in entries if not e.abstract],
    }
    for what, missing in problems.items():
        if missing:
            first = missing[0].id or f"[{missing[0].number}]"
            raise IncompleteListing(f"{len(missing)} of {len(entries)} entries without {what} (first: {first})")
    numbers = [e.number for e in entries]
    expected = list(range(skip + 1, skip + len(entries) + 1))
    if None not in numbers and numbers != expected:
        gap = next(n for n, want in zip(numbers, expected, strict=True) if n != want)
        raise IncompleteListing(f"entry [{gap}] where [{expected[numbers.index(gap)]}] was due (entries missing)")


def _read_category(fetch: Callable[[str], tuple[bytes, str]], url: str, category: str) -> CategoryPage:
    """A category's whole listing: its first page, then (above `show` entries) the rest with skip=; each
    page's counts, and all of them together against "Total of N entries" and each section's total."""

    def read(at: str, skip: int) -> CategoryPage:
        content, content_type = fetch(at)
        return parse_page(content, category, content_type=content_type, skip=skip)

    first = read(url, 0)
    sections = {s.kind: s for s in first.sections}
    have = sum(len(s.entries) for s in first.sections)
    pages = 1
    while have < first.total:
        next_url = page_url(url, have)
        try:
            if pages >= _MAX_PAGES:
                raise IncompleteListing(f"still {first.total - have} entries to read after {pages} pages")
            have += _add_page(sections, first, read(next_url, have))
        except FetchError as exc:
            if str(exc).startswith("arXiv listing page "):
                raise
            raise type(exc)(
                f"arXiv listing page {next_url}: {exc} (the first page says 'Total of {first.total} entries')"
            ) from None
        pages += 1
    ordered = [sections[k] for k in _SECTION_NAMES if k in sections]
    if have != first.total:
        raise IncompleteListing(f"'Total of {first.total} entries' but {have} entries on the page")
    for section in ordered:
        if section.total is not None and len(section.entries) != section.total:
            raise IncompleteListing(f"'{section.heading}' but {len(section.entries)} such entries in all")
    _report_duplicates(ordered, url)
    return CategoryPage(category, first.date, ordered, first.total)


def _add_page(sections: dict[str, _Section], first: CategoryPage, page: CategoryPage) -> int:
    """Add a later page's entries to the first page's sections; how many it added."""
    if page.date != first.date:
        raise ListingMismatch(f"shows {page.date}, the first page {first.date}: arXiv is announcing")
    if page.total != first.total:
        raise IncompleteListing(f"says 'Total of {page.total} entries'")
    added = sum(len(s.entries) for s in page.sections)
    if not added:
        raise IncompleteListing("has no entries")
    for section in page.sections:
        known = sections.setdefault(section.kind, _Section(section.kind, section.heading, None, section.total))
        if known.total != section.total:
            raise IncompleteListing(f"'{section.heading}' after '{known.heading}'")
        known.entries.extend(section.entries)
    return added


def _report_duplicates(sections: list[_Section], url: str) -> None:
    """A paper listed twice on one category's page is kept once (merge_pages keeps the first): say where."""
    seen: dict[str, str] = {}
    for section in sections:
        for entry in section.entries:
            place = f"[{entry.number}] in {section.name}" if entry.number is not None else section.name
            if entry.id in seen:
                log.warning(
                    "arXiv listing page %s: %s is listed twice, as %s and as %s; keeping the first",
                    url,
                    entry.id,
                    seen[entry.id],
                    place,
                )
            else:
                seen[entry.id] = place


def _check_date(date: dt.date, calendar: ArxivCalendar, now: dt.datetime) -> None:
    """A page's date must be a listing date by the calendar, and near the latest listing it expects now."""
    reason = calendar.no_listing_reason(date)
    if reason:
        raise FetchError(f"the page is dated {date}, not an arXiv listing date ({reason})")
    latest = calendar.latest_listing_date(now)
    if date > calendar.next_listing_date(latest):
        raise FetchError(f"the page is dated {date}, after the latest listing arXiv can have out ({latest})")
    if (latest - date).days > _STALE_DAYS:
        raise FetchError(
            f"the page is dated {date}, {(latest - date).days} days before the latest listing ({latest}): "
            "a stale copy, not today's page"
        )


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
    the primary category is configured (or in a configured archive), `cross` when only a secondary one is."""
    dates = {p.date for p in pages}
    if len(dates) != 1:
        shown = ", ".join(f"{p.category} {p.date}" for p in pages)
        raise ListingMismatch(f"the pages show different listings ({shown}): arXiv is still announcing")
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
                    abstract=entry.abstract or "",
                    authors=entry.authors,
                    categories=cats,
                    announce_type=mine if in_categories(cats[0], categories) else theirs,
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
    calendar: ArxivCalendar | None = None,
) -> Listing:
    """Every configured category's page (and its further pages above `show` entries), one request each
    `delay` seconds apart, merged into one listing; a page's transient failures are retried on the
    shared policy (digest/retry.py). With a `calendar`, a page dated on no listing date (a weekend, a
    holiday's cancelled listing) or far from the listing it expects now is refused.

    Raises FetchError (IncompleteListing for a cut or partial page, ListingMismatch for pages of different
    dates) in one line naming the page, so the caller can fall back to the RSS feed.
    """
    pages = []
    requests = 0
    with http_client(timeout) as client:

        def get(url: str) -> tuple[bytes, str]:
            response = client.get(url)
            response.raise_for_status()
            return response.content, response.headers.get("content-type", "")

        def fetch(url: str) -> tuple[bytes, str]:
            nonlocal requests
            if requests and delay:
                clock.sleep(delay)
            requests += 1
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
                content, content_type = policy(get, url)
            except httpx.HTTPStatusError as exc:
                raise FetchError(f"arXiv listing page {url}: HTTP {exc.response.status_code}") from None
            except httpx.TransportError as exc:
                raise FetchError(f"arXiv listing page {url}: {type(exc).__name__}: {exc}") from None
            return content, content_type

        for category in categories:
            url = listing_url(template, category)
            try:
                page = _read_category(fetch, url, category)
                if calendar is not None:
                    _check_date(page.date, calendar, clock.now())
            except FetchError as exc:
                if str(exc).startswith("arXiv listing page "):
                    raise
                raise type(exc)(f"arXiv listing page {url}: {exc}") from None
            pages.append(page)
    return merge_pages(pages, categories)
