"""The export API source against a local fake that serves the real fixture days in the 2026 Atom layout."""

import datetime as dt
import html
from dataclasses import replace

import pytest

from digest.errors import FetchError
from digest.sources.api import ApiClient, fetch_listing, parse_page, to_paper, window_query
from digest.sources.calendar import ArxivCalendar
from digest.sources.rss import parse_feed
from tests.conftest import day_feed_2026_06_30, fixture_bytes
from tests.fakes.arxiv_api import FakeArxivApi, load_day

CATS = ["cs.AI", "cs.CL", "cs.CV", "cs.LG"]
TUESDAY = dt.date(2026, 6, 30)
WINDOW = ArxivCalendar().submitted_window(TUESDAY)


@pytest.fixture
def fake(server):
    api = FakeArxivApi.from_fixtures()
    server.route("/api/query", api)
    return api


def client(server, page_size=2000, retries=2) -> ApiClient:
    return ApiClient(
        f"{server.url}/api/query",
        page_size=page_size,
        delay_seconds=0,
        num_retries=retries,
        backoff_seconds=0.001,
        timeout=5,
    )


def fetch(server, categories=CATS, **kwargs):
    return fetch_listing(client(server, **kwargs), categories, TUESDAY, WINDOW)


def test_one_query_per_date_with_the_category_list_and_the_window(server, fake):
    listing = fetch(server)
    assert listing.date == TUESDAY and listing.source == "api"
    assert len(server.requests) == 1
    query = server.requests[0].query
    assert query["search_query"] == [
        "(cat:cs.AI OR cat:cs.CL OR cat:cs.CV OR cat:cs.LG) AND submittedDate:[202606261800 TO 202606291800]"
    ]
    assert query["sortBy"] == ["submittedDate"] and query["max_results"] == ["2000"]
    assert window_query(["cs.LG"], WINDOW) == "cat:cs.LG AND submittedDate:[202606261800 TO 202606291800]"


def test_papers_have_the_same_fields_as_from_the_rss_feed(server, fake):
    api = {p.id: p for p in fetch(server).papers}
    rss = {p.id: p for p in parse_feed(day_feed_2026_06_30()).papers}
    assert set(api) <= set(rss)
    for paper_id, paper in api.items():
        # id without version, title, abstract, authors, categories, new/cross. (The RSS path leaves the
        # description's HTML entities in place, `Q&amp;A`, in 3 abstracts of this day.)
        assert paper == replace(rss[paper_id], abstract=html.unescape(rss[paper_id].abstract))
    assert {p.announce_type for p in api.values()} == {"new", "cross"}
    # What the window cannot return: ids announced before (a 2512 cross-list, an early-June id) and the
    # fixture's papers that carry none of the four categories.
    missing = set(rss) - set(api)
    assert {"2512.10359", "2606.27443"} <= missing
    assert all(not set(rss[i].categories) & set(CATS) for i in missing - {"2512.10359", "2606.27443"})


def test_order_is_new_then_cross_newest_id_first(server, fake):
    papers = fetch(server).papers
    kinds = [p.announce_type for p in papers]
    assert kinds == sorted(kinds, key=lambda k: k != "new")
    new_ids = [p.id for p in papers if p.announce_type == "new"]
    assert new_ids == sorted(new_ids, reverse=True)


def test_paging_fetches_every_page_once(server, fake):
    whole = fetch(server)
    server.requests.clear()
    paged = fetch(server, page_size=100)
    assert [p.id for p in paged.papers] == [p.id for p in whole.papers]
    assert [r.query["start"][0] for r in server.requests] == ["0", "100", "200", "300", "400"]


def test_empty_page_in_the_middle_is_retried(server, fake):
    fake.empty_page(start=200, times=2)
    paged = fetch(server, page_size=100)
    assert len(paged.papers) == 497
    assert [r.query["start"][0] for r in server.requests] == ["0", "100", "200", "200", "200", "300", "400"]


def test_empty_first_page_that_claims_results_is_retried(server, fake):
    fake.empty_page(start=0)
    assert len(fetch(server).papers) == 497
    assert len(server.requests) == 2


def test_empty_pages_beyond_the_retries_fail_with_one_line(server, fake):
    fake.empty_page(start=100, times=None)
    with pytest.raises(FetchError) as err:
        fetch(server, page_size=100)
    assert str(err.value) == (
        f"arXiv export API {server.url}/api/query for 2026-06-30: empty result pages after 3 attempt(s)"
    )


def test_server_errors_are_retried_then_succeed(server, fake):
    fake.fail(503, times=2)
    assert len(fetch(server).papers) == 497
    assert len(server.requests) == 3


def test_persistent_server_error_gives_one_line(server, fake):
    fake.fail(500, times=None)
    with pytest.raises(FetchError) as err:
        fetch(server)
    assert str(err.value) == f"arXiv export API {server.url}/api/query for 2026-06-30: HTTP 500 after 3 attempt(s)"
    assert "\n" not in str(err.value)


def test_a_rejected_query_is_not_retried(server, fake):
    with pytest.raises(FetchError, match=r"HTTP 400 after 1 attempt\(s\) \(the API rejected the query"):
        fetch(server, categories=["cs.AI)"])
    assert len(server.requests) == 1


def test_unreachable_api_gives_one_line():
    unreachable = ApiClient(
        "http://127.0.0.1:9/api/query", page_size=10, delay_seconds=0, num_retries=1, backoff_seconds=0.001, timeout=2
    )
    with pytest.raises(
        FetchError,
        match=r"^arXiv export API http://127.0.0.1:9/api/query for 2026-06-30: "
        r"Connection refused \(ConnectError\)$",  # the root cause first, never cut
    ):
        fetch_listing(unreachable, CATS, TUESDAY, WINDOW)


def test_duplicates_are_dropped_by_id(server):
    twice = FakeArxivApi()
    rows = load_day("day-2026-06-30.jsonl")[:40]
    twice.add_day(TUESDAY, rows, old=set())
    twice.add_day(TUESDAY, rows, old=set())
    server.route("/api/query", twice)
    ids = [p.id for p in fetch(server).papers]
    assert len(ids) == len(set(ids)) == len({r["id"] for r in rows if set(r["categories"]) & set(CATS)})


def test_results_outside_the_window_are_left_to_their_own_listing(server):
    edge = FakeArxivApi()
    rows = [r for r in load_day("day-2026-06-30.jsonl") if r["categories"][0] in CATS][:10]
    edge.add_day(TUESDAY, rows, old=set())
    late = edge.papers[0]
    late.submitted = WINDOW.end + dt.timedelta(seconds=30)  # inside the query's inclusive minute, after the cutoff
    server.route("/api/query", edge)
    ids = {p.id for p in fetch(server).papers}
    assert late.id not in ids and len(ids) == 9


def test_announce_type_follows_the_primary_category():
    result = parse_page(fixture_bytes("api-query-all-testing-start0-max10-2026-04-12.xml")).entries[0]
    paper = to_paper(result, ["cs.LG"])  # primary cs.SE, cross-listed to cs.LG
    assert (paper.id, paper.categories, paper.announce_type) == ("2202.12139", ["cs.SE", "cs.LG"], "cross")
    assert to_paper(result, ["cs"]).announce_type == "new"  # an archive covers its classes
    assert paper.authors == ["Mohit Kumar Ahuja", "Arnaud Gotlieb", "Helge Spieker"]


def test_the_2016_layout_parses_too():
    result = parse_page(fixture_bytes("api-legacy-format-2016-id-1507.08204.xml")).entries[0]
    paper = to_paper(result, ["quant-ph"])
    assert paper.id == "1507.08204" and "\n" not in paper.title and paper.abstract == paper.abstract.strip()
