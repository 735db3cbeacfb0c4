"""Any past listing from arXiv's export API (the `arxiv` package), through a submittedDate window.

One query per listing date: `(cat:A OR cat:B …) AND submittedDate:[start TO end]`, the window from
calendar.py. The window reproduces a listing only approximately (README, "Backfill"): papers held in
moderation and cross-lists added later are announced on another day than their submission says.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable

import arxiv
import requests

from digest.errors import FetchError, describe_error
from digest.models import Listing, Paper, strip_version
from digest.sources.calendar import ArxivCalendar, Window

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 300.0  # the longest wait between two attempts, however many retries are configured
_BAD_QUERY_HINT = " (the API rejected the query: is every arxiv.categories entry a real arXiv category?)"


class _TimeoutSession(requests.Session):
    """arxiv.Client calls `session.get(url)` without a timeout; a stalled server must not hang a run."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout
        self.last_head = b""  # the start of the last 200 answer, to tell an Atom feed from a login page

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        response = super().request(*args, **kwargs)
        self.last_head = response.content[:4096] if response.status_code == 200 else b""
        return response


class ApiClient(arxiv.Client):
    """arxiv.Client pointed at `arxiv.api_url`, with our retry policy.

    arxiv.Client retries every failure alike, with no wait beyond `delay_seconds`. We retry what can
    heal (5xx, 429, connection errors and timeouts, the API's sporadic empty pages, including an empty
    first page that claims results) with exponential backoff, and give up at once on a 4xx.
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
    ):
        super().__init__(page_size=page_size, delay_seconds=delay_seconds, num_retries=num_retries)
        # The package formats its endpoint with str.format; braces in a user URL must survive that.
        base = api_url.replace("{", "{{").replace("}", "}}")
        self.query_url_format = base + ("&" if "?" in api_url else "?") + "{}"
        self.backoff_seconds = backoff_seconds
        self._session = _TimeoutSession(timeout)
        self.requests_made = 0

    def _parse_feed(self, url: str, first_page: bool = True, _try_index: int = 0):
        for attempt in range(self.num_retries + 1):
            last = attempt == self.num_retries
            try:
                self.requests_made += 1
                # One request, with the package's own rate limit (delay_seconds) and Atom parsing.
                feed = self._Client__try_parse_feed(url, first_page=first_page, try_index=attempt)
                if feed.malformed:
                    raise _Malformed(f"not an Atom feed ({feed.error})")
                if not _ATOM_FEED.search(self._session.last_head):
                    # The package's parser recovers from anything: a captive portal's HTML would be "no papers".
                    raise _Malformed(f"not an Atom feed (the answer starts {_start(self._session.last_head)!r})")
                if first_page and not feed.results and feed.header.total_results > 0:
                    raise arxiv.UnexpectedEmptyPageError(url, attempt, feed)
                return feed
            except arxiv.HTTPError as exc:
                if last or (exc.status < 500 and exc.status != 429):
                    raise
                error: Exception = exc
            except (arxiv.UnexpectedEmptyPageError, _Malformed, requests.RequestException) as exc:
                if last:
                    raise
                error = exc
            wait = min(self.backoff_seconds * 2**attempt, MAX_WAIT_SECONDS)  # doubling, but capped
            log.info("export API: %s; retry %d/%d in %.1fs", _describe(error), attempt + 1, self.num_retries, wait)
            time.sleep(wait)
        raise AssertionError("unreachable")


class _Malformed(Exception):
    pass


_ATOM_FEED = re.compile(rb"<(?:\w+:)?feed\b")


def _start(head: bytes) -> str:
    return " ".join(head[:60].decode("utf-8", "replace").split())


def _describe(exc: BaseException) -> str:
    if isinstance(exc, arxiv.HTTPError):
        return f"HTTP {exc.status}"
    if isinstance(exc, arxiv.UnexpectedEmptyPageError):
        return "an empty page in the middle of the results"
    if isinstance(exc, requests.RequestException):
        return describe_error(exc)
    return str(exc)


def category_query(categories: list[str]) -> str:
    """`(cat:cs.AI OR cat:cs.CL)`; one category needs no parentheses."""
    terms = [f"cat:{c}" for c in categories]
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


def window_query(categories: list[str], window: Window) -> str:
    return f"{category_query(categories)} AND {window.query()}"


def _configured(category: str, configured: list[str]) -> bool:
    # A configured archive ("cs", "math") covers its classes, as it does in the RSS feed.
    return any(category == c or category.startswith(c + ".") for c in configured)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def to_paper(result: arxiv.Result, categories: list[str]) -> Paper:
    """The same fields as from the RSS feed; `new` when the primary category is configured, else `cross`."""
    primary = result.primary_category or (result.categories[0] if result.categories else "")
    cats = [primary] + [c for c in result.categories if c != primary] if primary else list(result.categories)
    return Paper(
        id=strip_version(result.get_short_id()),
        title=_clean(result.title),
        abstract=(result.summary or "").strip(),  # as the RSS path: paragraph breaks kept
        authors=[_clean(a.name) for a in result.authors if _clean(a.name)],
        categories=cats,
        announce_type="new" if _configured(primary, categories) else "cross",
    )


def fetch_listing(client: ApiClient, categories: list[str], day: dt.date, window: Window) -> Listing:
    """The papers submitted in `window` for `categories`, as the listing dated `day`.

    Raises FetchError with one line naming the date and the endpoint when the API fails after retries.
    """
    search = arxiv.Search(
        query=window_query(categories, window),
        max_results=None,
        sort_by=arxiv.SortCriterion.SubmittedDate,
        sort_order=arxiv.SortOrder.Ascending,
    )
    where = f"arXiv export API {client.query_url_format.split('?')[0]} for {day}"
    try:
        results = list(client.results(search))
    except arxiv.HTTPError as exc:
        hint = _BAD_QUERY_HINT if exc.status == 400 else ""
        raise FetchError(f"{where}: HTTP {exc.status} after {exc.retry + 1} attempt(s){hint}") from None
    except arxiv.UnexpectedEmptyPageError as exc:
        raise FetchError(f"{where}: empty result pages after {exc.retry + 1} attempt(s)") from None
    except _Malformed as exc:
        raise FetchError(f"{where}: {exc}") from None
    except requests.RequestException as exc:
        raise FetchError(f"{where}: {describe_error(exc)}") from None

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
    ordered = sorted(papers.values(), key=lambda p: _id_key(p.id), reverse=True)
    ordered.sort(key=lambda p: p.announce_type != "new")
    return Listing(date=day, papers=ordered, source="api")


def _id_key(paper_id: str) -> tuple:
    """Sort key: new-style ids (2606.01234) after old-style ones (hep-th/9901001), numerically."""
    head, _, number = paper_id.rpartition("/") if "/" in paper_id else paper_id.partition(".")
    if "/" in paper_id:
        return (0, head, int(number) if number.isdigit() else 0)
    return (1, int(head) if head.isdigit() else 0, int(number) if number.isdigit() else 0)


def make_client(config) -> ApiClient:
    a = config.arxiv
    return ApiClient(
        a.api_url,
        page_size=a.api_page_size,
        delay_seconds=a.api_delay_seconds,
        num_retries=a.max_retries,
        backoff_seconds=a.backoff_seconds,
        timeout=a.timeout_seconds,
    )


def api_fetcher(config, *, now: Callable[[], dt.datetime] | None = None):
    """A pipeline Fetcher for past dates: one client (so `api_delay_seconds` holds across dates)."""
    calendar = ArxivCalendar.from_config(config)
    client: list[ApiClient] = []
    clock = now or (lambda: dt.datetime.now(dt.UTC))

    def fetch(day: dt.date | None) -> Listing:
        day = day or calendar.latest_listing_date(clock())
        if not calendar.is_listing_date(day):
            return Listing(date=day, papers=[], source="api")
        if not client:
            client.append(make_client(config))
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
