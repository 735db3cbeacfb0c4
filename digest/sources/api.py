"""Any past listing from arXiv's export API, through a submittedDate window.

One query per listing date: `(cat:A OR cat:B …) AND submittedDate:[start TO end]`, the window from
calendar.py. The window reproduces a listing only approximately (README, "Backfill"): papers held in
moderation and cross-lists added later are announced on another day than their submission says.

A small client of our own (httpx for the requests, feedparser for the Atom pages, digest.retry for the
waits), in the manner of lukasschwab/arxiv.py: explicit paging, a delay between requests and a retry
policy. The `arxiv` package's public API offers neither a request timeout nor a view of an empty page
that claims results, so using it meant calling its private methods.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import feedparser
import httpx

from digest.errors import FetchError, describe_error
from digest.ids import id_order, strip_version
from digest.models import Listing, Paper, in_categories
from digest.net import http_client, retry_after, retryable_status
from digest.retry import SYSTEM_CLOCK, Clock, retrying
from digest.sources.calendar import ArxivCalendar, Window

if TYPE_CHECKING:
    from digest.config import Config
    from digest.models import Fetcher

log = logging.getLogger(__name__)

_BAD_QUERY_HINT = " (the API rejected the query: is every arxiv.categories entry a real arXiv category?)"


@dataclass(frozen=True)
class ApiEntry:
    """One result of the export API, as its Atom entry says."""

    id: str  # with its version, as served: 2606.01234v1, hep-th/9901001v2
    title: str
    summary: str
    authors: list[str]
    primary_category: str
    categories: list[str]
    published: dt.datetime


@dataclass(frozen=True)
class ApiPage:
    entries: list[ApiEntry]
    total_results: int


class _Status(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class _EmptyPage(Exception):
    def __str__(self) -> str:
        return "an empty page in the middle of the results"


class _Malformed(Exception):
    pass


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, _Status):
        return retryable_status(exc.status)
    return isinstance(exc, (_EmptyPage, _Malformed, httpx.TransportError))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.TransportError):
        return describe_error(exc)  # the root cause first ("Name or service not known"), never cut
    return str(exc)


def parse_page(content: bytes) -> ApiPage:
    """One Atom page of the export API (the 2016 and the 2026 layouts)."""
    parsed = feedparser.parse(content)
    if not parsed.get("version", "").startswith("atom"):
        raise _Malformed(f"not an Atom feed ({parsed.get('bozo_exception') or 'no feed element'})")
    entries = []
    for entry in parsed.entries:
        categories = [t["term"] for t in entry.get("tags", []) if t.get("term")]
        primary = (entry.get("arxiv_primary_category") or {}).get("term") or (categories[0] if categories else "")
        entries.append(
            ApiEntry(
                id=entry.get("id", "").rpartition("/abs/")[2],
                title=entry.get("title", ""),
                summary=entry.get("summary", ""),
                authors=[a.get("name", "") for a in entry.get("authors", [])],
                primary_category=primary,
                categories=categories,
                published=dt.datetime.fromisoformat(entry.get("published", "1970-01-01T00:00:00Z")),
            )
        )
    return ApiPage(entries, int(parsed.feed.get("opensearch_totalresults") or 0))


class ApiClient:
    """Pages of one query at `arxiv.api_url`, `page_size` results each, `delay_seconds` apart.

    What can heal is retried with exponential backoff (5xx, 429 with its Retry-After, connection errors
    and timeouts, the API's sporadic empty pages, including an empty first page that claims results);
    any other 4xx fails at once.
    """

    def __init__(
        self,
        api_url: str,
        *,
        page_size: int,
        delay_seconds: float,
        num_retries: int,
        backoff_seconds: float,
        timeout: float,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.api_url = api_url
        self.page_size = page_size
        self.delay_seconds = delay_seconds
        self.num_retries = num_retries
        self.backoff_seconds = backoff_seconds
        self.timeout = timeout
        self.clock = clock
        self._last_request: float | None = None

    def search(self, query: str) -> list[ApiEntry]:
        """Every result of the query, oldest submission first, one page at a time."""
        params = {"search_query": query, "sortBy": "submittedDate", "sortOrder": "ascending"}
        results: list[ApiEntry] = []
        with http_client(self.timeout) as http:
            first = self._page(http, params, 0, first=True)
            results += first.entries
            while first.entries and len(results) < first.total_results:
                results += self._page(http, params, len(results), first=False).entries
        return results

    def by_ids(self, ids: list[str]) -> list[ApiEntry]:
        """The entries of these arXiv ids (the API's id_list), in pages of page_size."""
        results: list[ApiEntry] = []
        with http_client(self.timeout) as http:
            for start in range(0, len(ids), self.page_size):
                chunk = ids[start : start + self.page_size]
                results += self._page(http, {"id_list": ",".join(chunk)}, 0, first=True).entries
        return results

    def _page(self, http: httpx.Client, params: dict, start: int, *, first: bool) -> ApiPage:
        attempts = 0

        def attempt() -> ApiPage:
            nonlocal attempts
            attempts += 1
            self._keep_the_delay()
            response = http.get(self.api_url, params={**params, "start": start, "max_results": self.page_size})
            self._last_request = self.clock.monotonic()
            if response.status_code != 200:
                raise _Status(response.status_code, retry_after(response.headers, self.clock.now()))
            page = parse_page(response.content)
            if not page.entries and (not first or page.total_results > 0):
                raise _EmptyPage
            return page

        policy = retrying(
            retries=self.num_retries,
            backoff=self.backoff_seconds,
            retryable=_retryable,
            server_wait=lambda exc: getattr(exc, "retry_after", None),
            clock=self.clock,
            describe=_describe,
            what="export API",
        )
        try:
            return policy(attempt)
        except (_Status, _EmptyPage, _Malformed, httpx.TransportError) as exc:
            exc.attempts = attempts  # type: ignore[attr-defined]
            raise

    def _keep_the_delay(self) -> None:
        # arXiv's terms of use ask for one request every three seconds (arxiv.api_delay_seconds).
        if self._last_request is not None:
            left = self.delay_seconds - (self.clock.monotonic() - self._last_request)
            if left > 0:
                self.clock.sleep(left)


def category_query(categories: list[str]) -> str:
    """`(cat:cs.AI OR cat:cs.CL)`; one category needs no parentheses."""
    terms = [f"cat:{c}" for c in categories]
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def window_query(categories: list[str], window: Window) -> str:
    return f"{category_query(categories)} AND {window.query()}"


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def to_paper(entry: ApiEntry, categories: list[str]) -> Paper:
    """The same fields as from the RSS feed; `new` when the primary category is configured, else `cross`."""
    primary = entry.primary_category
    cats = [primary] + [c for c in entry.categories if c != primary] if primary else list(entry.categories)
    return Paper(
        id=strip_version(entry.id),
        title=_clean(entry.title),
        abstract=(entry.summary or "").strip(),  # as the RSS path: paragraph breaks kept
        authors=[_clean(a) for a in entry.authors if _clean(a)],
        categories=cats,
        announce_type="new" if in_categories(primary, categories) else "cross",
    )


def fetch_listing(client: ApiClient, categories: list[str], day: dt.date, window: Window) -> Listing:
    """The papers submitted in `window` for `categories`, as the listing dated `day`.

    Raises FetchError with one line naming the date and the endpoint when the API fails after retries.
    """
    where = f"arXiv export API {client.api_url.split('?')[0]} for {day}"
    try:
        results = client.search(window_query(categories, window))
    except _Status as exc:
        hint = _BAD_QUERY_HINT if exc.status == 400 else ""
        raise FetchError(f"{where}: HTTP {exc.status} after {exc.attempts} attempt(s){hint}") from None
    except _EmptyPage as exc:
        raise FetchError(f"{where}: empty result pages after {exc.attempts} attempt(s)") from None
    except _Malformed as exc:
        raise FetchError(f"{where}: {exc}") from None
    except httpx.TransportError as exc:
        raise FetchError(f"{where}: {_describe(exc)}") from None

    papers: dict[str, Paper] = {}
    outside = 0
    for result in results:
        # The query's range is inclusive to the minute; the listing's window is half-open to the second.
        if not window.contains(result.published):
            outside += 1
            continue
        paper = to_paper(result, categories)
        papers.setdefault(paper.id, paper)
    if outside:
        log.info("export API %s: %d result(s) on the window's edge left to the neighbouring listing", day, outside)
    # The feed's order: new before cross, newest id first within each.
    ordered = sorted(papers.values(), key=lambda p: id_order(p.id), reverse=True)
    ordered.sort(key=lambda p: p.announce_type != "new")
    return Listing(date=day, papers=ordered, source="api")


def make_client(config: Config, clock: Clock = SYSTEM_CLOCK) -> ApiClient:
    a = config.arxiv
    return ApiClient(
        a.api_url,
        page_size=a.api_page_size,
        delay_seconds=a.api_delay_seconds,
        num_retries=a.max_retries,
        backoff_seconds=a.backoff_seconds,
        timeout=a.timeout_seconds,
        clock=clock,
    )


def api_fetcher(config: Config, *, clock: Clock = SYSTEM_CLOCK) -> Fetcher:
    """A pipeline Fetcher for past dates: one client (so `api_delay_seconds` holds across dates)."""
    calendar = ArxivCalendar.from_config(config)
    client: list[ApiClient] = []

    def fetch(day: dt.date | None) -> Listing:
        day = day or calendar.latest_listing_date(clock.now())
        if not calendar.is_listing_date(day):
            return Listing(date=day, papers=[], source="api")
        if not client:
            client.append(make_client(config, clock))
        window = calendar.submitted_window(day)
        listing = fetch_listing(client[0], config.arxiv.categories, day, window)
        if not listing.papers:
            log.warning(
                "%s: the export API has no papers submitted %s for %s (a recent listing may not be "
                "indexed yet; a closure missing from arxiv.holidays also looks like this)",
                day,
                window,
                ", ".join(config.arxiv.categories),
            )
        return listing

    return fetch
