"""A local fake of arXiv's export API (export.arxiv.org/api/query), serving Atom in the 2026 layout of
tests/fixtures/api-*.xml, built from the real fixture days.

It understands the queries digest makes, `(cat:A OR cat:B …) AND submittedDate:[YYYYMMDDHHMM TO …]`,
with start/max_results paging, sortBy/sortOrder and opensearch totalResults; anything else gets the
API's 400 error feed. Faults are scriptable: an HTTP status or an empty 200 page, for a number of
requests, optionally only at one `start` offset or only for one listing's window.

The fixture days (jsonl) carry the listing date, not the submission time, so each paper gets a plausible
one: inside its listing's submission window, in id order. Ids that are older than the day's block of new
ids (cross-lists of earlier papers, such as 2512.x on 2026-06-30) get their real-world kind of time,
before the window, so the fake shows the same gap between a window query and a listing as arXiv does.

Run it on its own for a command-line backfill:  python -m tests.fakes.arxiv_api --port 8765
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from digest.sources.calendar import ArxivCalendar
from tests.fakes.http import Request, Response

FIXTURES = Path(__file__).parent.parent / "fixtures"
FIXTURE_DAYS = {dt.date(2026, 6, 30): "day-2026-06-30.jsonl", dt.date(2026, 7, 1): "day-2026-07-01.jsonl"}
# Consecutive new ids of one announcement sit close together; a jump larger than this at the low end
# marks an id announced on an earlier day.
ID_BLOCK_GAP = 200
MAX_PAGE = 2000
MAX_RESULTS = 30000
ATOM = "application/atom+xml; charset=utf-8"

_QUERY = re.compile(
    r"^\s*(?:\((?P<cats>[^()]+)\)|(?P<cat>cat:\S+))\s+AND\s+"
    r"submittedDate:\[(?P<start>\d{12})\s+TO\s+(?P<end>\d{12})\]\s*$"
)
_CAT = re.compile(r"^cat:([A-Za-z\-]+(?:\.[A-Za-z\-]+)?)$")


@dataclass
class FakePaper:
    id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]  # primary first
    submitted: dt.datetime  # aware UTC: the v1 submission time (`published`)


@dataclass
class Fault:
    status: int  # an HTTP status, or 200 for an empty page
    times: int | None  # None: every matching request
    start: int | None = None  # only requests for this offset
    window_start: str | None = None  # only queries whose window starts here (YYYYMMDDHHMM)

    def matches(self, start: int, window_start: str | None) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.start is not None and self.start != start:
            return False
        return self.window_start is None or self.window_start == window_start


class BadQuery(Exception):
    pass


def load_day(name: str) -> list[dict]:
    """A fixture day, deduplicated by id (the source repeats a paper once per category page)."""
    rows, seen = [], set()
    for line in (FIXTURES / name).read_text().splitlines():
        row = json.loads(line)
        if row["id"] not in seen:
            seen.add(row["id"])
            rows.append(row)
    return rows


def _id_number(paper_id: str) -> tuple[int, int]:
    yymm, _, number = paper_id.partition(".")
    return int(yymm), int(number)


def older_ids(ids: list[str]) -> set[str]:
    """Ids announced before this day: other months than the newest, or below the newest block of ids."""
    modern = sorted((_id_number(i), i) for i in ids if re.fullmatch(r"\d{4}\.\d{4,5}", i))
    old = {i for i in ids if not re.fullmatch(r"\d{4}\.\d{4,5}", i)}
    if not modern:
        return old
    newest_month = modern[-1][0][0]
    block = [(n, i) for (m, n), i in modern if m == newest_month]
    old |= {i for (m, _), i in modern if m != newest_month}
    low_end = block[: max(2, len(block) // 10)]
    for (lower, _), (upper, _) in zip(low_end, low_end[1:]):
        if upper - lower > ID_BLOCK_GAP:
            old |= {i for n, i in block if n <= lower}
    return old


class FakeArxivApi:
    """Install with `server.route("/api/query", fake)`; it answers like export.arxiv.org/api/query."""

    def __init__(self, calendar: ArxivCalendar | None = None):
        self.calendar = calendar or ArxivCalendar()
        self.papers: list[FakePaper] = []
        self.faults: list[Fault] = []
        self.queries: list[dict[str, str]] = []
        self._lock = threading.Lock()

    # ----- content -----

    def add_day(self, day: dt.date, rows: list[dict], *, old: set[str] | None = None) -> list[FakePaper]:
        """Papers of the listing dated `day`, submitted inside its window (ids in `old` before it)."""
        window = self.calendar.submitted_window(day)
        old = older_ids([r["id"] for r in rows]) if old is None else old
        fresh = sorted((r for r in rows if r["id"] not in old), key=lambda r: _id_number(r["id"]))
        step = (window.end - window.start) / (len(fresh) or 1)
        added = []
        for index, row in enumerate(fresh):
            added.append(self._paper(row, window.start + step * (index + 0.5)))
        for row in rows:
            if row["id"] in old:
                added.append(self._paper(row, _earlier_submission(row["id"], window.start)))
        self.papers.extend(added)
        return added

    @staticmethod
    def _paper(row: dict, submitted: dt.datetime) -> FakePaper:
        return FakePaper(
            row["id"],
            row["title"],
            row["abstract"],
            list(row["authors"]),
            list(row["categories"]),
            submitted.replace(microsecond=0),
        )

    @classmethod
    def from_fixtures(cls, calendar: ArxivCalendar | None = None, *, limit: int | None = None) -> FakeArxivApi:
        """The two real days: Tue 2026-06-30 (532 papers) and Wed 2026-07-01 (301); with `limit`, the first
        `limit` papers of each (small real days, for tests of behaviour rather than scale)."""
        fake = cls(calendar)
        for day, name in FIXTURE_DAYS.items():
            fake.add_day(day, load_day(name)[:limit])
        return fake

    @classmethod
    def week(cls, calendar: ArxivCalendar | None = None, *, limit: int | None = None) -> FakeArxivApi:
        """Mon 2026-06-29 to Tue 2026-07-07: the real 06-30 and 07-01 days, plus stand-ins for the other
        listing dates (06-29, 07-02, 07-03, 07-07: consecutive slices of the real 07-01 papers). Sat 07-04,
        Sun 07-05 and Mon 07-06 (holiday Fri 07-03) have no listing."""
        fake = cls.from_fixtures(calendar, limit=limit)
        rows = sorted(load_day(FIXTURE_DAYS[dt.date(2026, 7, 1)])[:limit], key=lambda r: r["id"])
        stand_ins = [dt.date(2026, 6, 29), dt.date(2026, 7, 2), dt.date(2026, 7, 3), dt.date(2026, 7, 7)]
        size = len(rows) // len(stand_ins)
        for n, day in enumerate(stand_ins):
            fake.add_day(day, rows[n * size : (n + 1) * size], old=set())
        return fake

    # ----- faults -----

    def fail(
        self, status: int = 500, *, times: int | None = 1, start: int | None = None, listing: dt.date | None = None
    ) -> None:
        """Answer matching requests with `status` (200 = a valid page without entries)."""
        window_start = f"{self.calendar.submitted_window(listing).start:%Y%m%d%H%M}" if listing else None
        with self._lock:
            self.faults.append(Fault(status, times, start, window_start))

    def empty_page(self, *, start: int, times: int = 1) -> None:
        self.fail(200, times=times, start=start)

    # ----- the endpoint -----

    def __call__(self, request: Request) -> Response:
        params = {k: v[-1] for k, v in request.query.items()}
        with self._lock:
            self.queries.append(params)
        if params.get("id_list") and not params.get("search_query"):
            return self._by_ids(params)
        try:
            cats, low, high = self._parse_query(params.get("search_query", ""))
            start = _int(params.get("start", "0"), "start", 0, None)
            size = _int(params.get("max_results", "10"), "max_results", 0, MAX_RESULTS)
        except BadQuery as exc:
            return Response(400, _error_feed(str(exc)), {"Content-Type": ATOM})
        with self._lock:
            fault = next((f for f in self.faults if f.matches(start, f"{low:%Y%m%d%H%M}")), None)
            if fault and fault.times is not None:
                fault.times -= 1
        matches = [p for p in self.papers if low <= p.submitted < high and set(cats) & set(p.categories)]
        descending = params.get("sortOrder", "descending") == "descending"
        matches.sort(key=lambda p: (p.submitted, p.id), reverse=descending)
        if fault and fault.status != 200:
            return Response(
                fault.status, b"<html><body>Service unavailable</body></html>", {"Content-Type": "text/html"}
            )
        page = [] if fault else matches[start : start + min(size, MAX_PAGE)]
        return Response(200, _feed(params, page, len(matches), start, min(size, MAX_PAGE)), {"Content-Type": ATOM})

    def _by_ids(self, params: dict[str, str]) -> Response:
        """id_list: the papers with these ids (versions ignored), in the order asked; unknown ids are left out."""
        known = {p.id: p for p in self.papers}
        wanted = [i.strip().split("v")[0] if "/" not in i else i.strip() for i in params["id_list"].split(",")]
        page = [known[i] for i in wanted if i in known]
        return Response(200, _feed(params, page, len(page), 0, len(page)), {"Content-Type": ATOM})

    @staticmethod
    def _parse_query(query: str) -> tuple[list[str], dt.datetime, dt.datetime]:
        m = _QUERY.match(query)
        if not m:
            raise BadQuery(f"unsupported query: {query!r}")
        terms = [t.strip() for t in (m["cats"] or m["cat"]).split(" OR ")]
        cats = []
        for term in terms:
            cm = _CAT.match(term)
            if not cm:
                raise BadQuery(f"malformed category term {term!r}")
            cats.append(cm.group(1))
        low, high = (dt.datetime.strptime(m[k], "%Y%m%d%H%M").replace(tzinfo=dt.UTC) for k in ("start", "end"))
        # Both ends are inclusive to the minute, as in Lucene ranges.
        return cats, low, high + dt.timedelta(minutes=1)


def _earlier_submission(paper_id: str, window_start: dt.datetime) -> dt.datetime:
    m = re.fullmatch(r"(\d{2})(\d{2})\.\d{4,5}", paper_id)
    if m:
        month_start = dt.datetime(2000 + int(m[1]), int(m[2]), 15, 12, tzinfo=dt.UTC)
        if month_start < window_start - dt.timedelta(days=20):
            return month_start
    return window_start - dt.timedelta(days=6)


def _int(value: str, name: str, low: int, high: int | None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise BadQuery(f"{name} must be an integer") from None
    if number < low or (high is not None and number > high):
        raise BadQuery(f"{name} must be between {low} and {high}" if high else f"{name} must be >= {low}")
    return number


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _feed(params: dict[str, str], papers: list[FakePaper], total: int, start: int, size: int) -> bytes:
    query = urlencode(
        {"search_query": params.get("search_query", ""), "id_list": "", "start": start, "max_results": size}
    )
    feed_id = hashlib.sha1(query.encode()).hexdigest()[:27]
    now = _stamp(dt.datetime.now(dt.UTC))
    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns="http://www.w3.org/2005/Atom">\n',
        f"  <id>https://arxiv.org/api/{feed_id}</id>\n",
        f"  <title>arXiv Query: {escape(query)}</title>\n",
        f"  <updated>{now}</updated>\n",
        f'  <link href={quoteattr("https://arxiv.org/api/query?" + query)} type="application/atom+xml"/>\n',
        f"  <opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>\n",
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n",
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n",
    ]
    parts += [_entry(p) for p in papers]
    parts.append("</feed>\n")
    return "".join(parts).encode()


def _entry(p: FakePaper) -> str:
    stamp = _stamp(p.submitted)
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{p.id}v1</id>",
        f"    <title>{escape(p.title)}</title>",
        f"    <updated>{stamp}</updated>",
        f'    <link href="https://arxiv.org/abs/{p.id}v1" rel="alternate" type="text/html"/>',
        f'    <link href="https://arxiv.org/pdf/{p.id}v1" rel="related" type="application/pdf" title="pdf"/>',
        f"    <summary>{escape(p.abstract)}</summary>",
        *(f'    <category term={quoteattr(c)} scheme="http://arxiv.org/schemas/atom"/>' for c in p.categories),
        f"    <published>{stamp}</published>",
        f"    <arxiv:primary_category term={quoteattr(p.categories[0])}/>",
        *(f"    <author>\n      <name>{escape(a)}</name>\n    </author>" for a in p.authors),
        "  </entry>\n",
    ]
    return "\n".join(lines)


def _error_feed(message: str) -> bytes:
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:60]
    now = _stamp(dt.datetime.now(dt.UTC))
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns="http://www.w3.org/2005/Atom">\n'
        "  <id>https://arxiv.org/</id>\n  <title>arXiv Search Results</title>\n"
        f"  <updated>{now}</updated>\n"
        "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>\n"
        "  <opensearch:totalResults>1</opensearch:totalResults>\n"
        "  <opensearch:startIndex>0</opensearch:startIndex>\n"
        "  <entry>\n"
        f"    <id>https://arxiv.org/api/errors#{slug}</id>\n    <title>Error</title>\n"
        f"    <updated>{now}</updated>\n"
        f'    <link href="https://arxiv.org/api/errors#{slug}" rel="alternate" type="text/html"/>\n'
        f"    <summary>{escape(message)}</summary>\n"
        "    <author>\n      <name>arXiv api core</name>\n    </author>\n"
        "  </entry>\n</feed>\n"
    ).encode()


def main() -> None:
    import argparse
    import time

    from tests.fakes.http import FakeServer

    parser = argparse.ArgumentParser(description="Serve the fake arXiv export API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--fail-date",
        type=dt.date.fromisoformat,
        action="append",
        default=[],
        help="answer every query for this listing date with HTTP 503",
    )
    args = parser.parse_args()
    fake = FakeArxivApi.week()
    for day in args.fail_date:
        fake.fail(503, times=None, listing=day)
    server = FakeServer(port=args.port)
    server.route("/api/query", fake)
    with server:
        print(f"fake arXiv export API at {server.url}/api/query ({len(fake.papers)} papers)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
