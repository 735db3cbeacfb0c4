"""arXiv's /list/<category>/new pages: the parser on the reconstructed pages, and the morning run through the
real CLI against the local fake server (clock injected)."""

import datetime as dt
import json
import re
import sqlite3

import pytest

import digest.commands.run
import digest.commands.schedule
import digest.sources.latest
from digest.clock import Clock, fixed
from digest.errors import FetchError
from digest.models import Paper
from digest.net import USER_AGENT
from digest.sources.listing import IncompleteListing, fetch_pages, merge_pages, parse_page
from tests.conftest import RSS_CATEGORIES, day_feed_2026_06_30, write_config
from tests.fakes.arxiv_listing import (
    CATEGORIES,
    cut,
    demo_papers,
    feed_of_categories,
    feed_of_ids,
    fixture_pages,
    listing_pages,
    render_page,
    serve_pages,
)
from tests.fakes.http import Response

UTC = dt.UTC
TUE_JUNE_30 = dt.date(2026, 6, 30)


def _slice(n: int = 50) -> list[Paper]:
    """A small slice of the real day: new submissions and its 9 cross-lists that carry a configured category."""
    papers = [p for p in demo_papers() if set(p.categories) & set(CATEGORIES)]
    cross = [p for p in papers if p.announce_type == "cross"]
    return [p for p in papers if p.announce_type == "new"][: n - len(cross)] + cross


@pytest.fixture
def clock(monkeypatch):
    """The clock the CLI's run and `--print-next` use; `clock.now` is set by each test, and a sleep moves it on."""

    class FakeTime:
        now = dt.datetime(2026, 6, 29, 16, 0, tzinfo=UTC)
        slept: list[float] = []

        def sleep(self, seconds: float) -> None:
            self.slept.append(seconds)
            self.now += dt.timedelta(seconds=seconds)

    fake = FakeTime()
    fake.slept = []
    fake.clock = Clock(now=lambda: fake.now, sleep=fake.sleep)
    # The command line passes no clock: its default is the one these runs read.
    monkeypatch.setitem(digest.commands.run.run.__kwdefaults__, "clock", fake.clock)
    monkeypatch.setitem(digest.commands.schedule.fire_lines.__kwdefaults__, "clock", fake.clock)
    return fake


def _feed(papers: list[Paper]) -> bytes:
    """The real day's RSS feed holding only these papers."""
    return feed_of_ids(day_feed_2026_06_30(), {p.id for p in papers})


def _config(tmp_path, server, **overrides):
    return str(
        write_config(tmp_path, server.url, arxiv__listing_url=f"{server.url}/list/{{category}}/new", **overrides)
    )


def _stored(tmp_path, date: str):
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    return db.execute("SELECT source, paper_count FROM listings WHERE date = ?", (date,)).fetchone()


def _default_config(tmp_path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text("{}\n")  # the built-in defaults: listing pages on, 10:30 KST on weekdays
    return str(path)


# ----- the parser -----


def test_reconstructed_pages_give_the_feeds_papers_for_the_same_day():
    pages = [parse_page(content, category) for category, content in fixture_pages().items()]
    listing = merge_pages(pages, CATEGORIES)
    feed = [p for p in demo_papers() if set(p.categories) & set(CATEGORIES)]
    assert listing.date == TUE_JUNE_30 and listing.source == "listing"
    assert [p.id for p in listing.papers] == [p.id for p in feed]  # same set, same order (new, cross; id desc)
    by_id = {p.id: p for p in feed}
    for paper in listing.papers:
        expected = by_id[paper.id]
        assert (paper.title, paper.authors, paper.categories, paper.announce_type) == (
            expected.title,
            expected.authors,
            expected.categories,
            expected.announce_type,
        )
        assert paper.abstract == " ".join(expected.abstract.split())


def test_sections_map_to_the_feeds_announce_types_and_primary_comes_first():
    papers = [
        Paper("2606.00003", "Ours", "A.", ["Kim Min"], ["cs.CL", "cs.AI"], "new"),
        Paper("2606.00002", "Theirs", "B.", ["Lee Ha"], ["cs.RO", "cs.CL"], "cross"),
        Paper("2601.00001", "Revised", "C.", ["Park Ji"], ["cs.CL"], "replace"),
        Paper("2512.00009", "Revised elsewhere", "D.", ["Choi Yu"], ["math.OC", "cs.CL"], "replace-cross"),
    ]
    page = parse_page(render_page("cs.CL", TUE_JUNE_30, papers), "cs.CL")
    assert [(s.kind, s.total, len(s.entries)) for s in page.sections] == [
        ("new", 1, 1),
        ("cross", 1, 1),
        ("replace", 2, 2),
    ]
    listing = merge_pages([page], ["cs.CL"])
    assert [(p.id, p.announce_type, p.categories[0]) for p in listing.papers] == [
        ("2606.00003", "new", "cs.CL"),
        ("2606.00002", "cross", "cs.RO"),
        ("2601.00001", "replace", "cs.CL"),
        ("2512.00009", "replace-cross", "math.OC"),
    ]


def test_text_is_unescaped_once_and_the_descriptors_are_dropped():
    paper = Paper("2606.00001", "Q&A <with> $\\alpha$-nets", "Uses 5% & <tags>.", ["A. B (X, Y)"], ["cs.AI"], "new")
    (entry,) = parse_page(render_page("cs.AI", TUE_JUNE_30, [paper]), "cs.AI").sections[0].entries
    assert (entry.title, entry.abstract, entry.authors) == (
        "Q&A <with> $\\alpha$-nets",
        "Uses 5% & <tags>.",
        ["A. B (X, Y)"],
    )


def test_a_page_cut_mid_list_is_incomplete():
    page = render_page("cs.CV", TUE_JUNE_30, demo_papers())
    with pytest.raises(IncompleteListing, match="cut short"):
        parse_page(cut(page, 0.6), "cs.CV")


def test_a_heading_count_that_does_not_match_the_entries_is_incomplete():
    page = render_page("cs.CL", TUE_JUNE_30, _slice(), counts={"New submissions": 41})
    with pytest.raises(IncompleteListing, match=r"New submissions \(showing 41 of 41 entries\)' but \d+ entries"):
        parse_page(page, "cs.CL")


def test_a_page_showing_fewer_entries_than_the_total_is_incomplete():
    page = render_page("cs.CV", TUE_JUNE_30, _slice())
    page = re.sub(r"New submissions \(showing (\d+) of \d+", r"New submissions (showing \1 of 2013", page)
    with pytest.raises(IncompleteListing, match=r"shows \d+ of 2013 entries"):
        parse_page(page, "cs.CV")


def test_a_page_without_the_date_heading_is_not_a_listing():
    with pytest.raises(FetchError, match="Showing new listings for"):
        parse_page("<html><body><h1>Service unavailable</h1></body></html>", "cs.AI")


def test_one_request_per_category_spaced_and_naming_the_tool(server):
    serve_pages(server, listing_pages(TUE_JUNE_30, _slice()))
    pauses: list[float] = []
    listing = fetch_pages(
        f"{server.url}/list/{{category}}/new?skip=0&show=2000", CATEGORIES, delay=3, clock=Clock(sleep=pauses.append)
    )
    assert len(listing.papers) == 50
    assert [r.path for r in server.requests] == [f"/list/{c}/new" for c in CATEGORIES]
    assert all(r.query == {"skip": ["0"], "show": ["2000"]} for r in server.requests)
    assert {r.headers["User-Agent"] for r in server.requests} == {USER_AGENT}
    assert USER_AGENT.startswith("arxiv-digest/")
    assert pauses == [3, 3, 3]


def test_a_busy_page_is_asked_again_after_the_wait_it_asks_for_on_the_injected_clock(server):
    pages = listing_pages(TUE_JUNE_30, _slice())
    busy = Response(503, b"busy", {"Retry-After": "7"})
    serve_pages(server, {**pages, "cs.CL": [busy, Response(200, pages["cs.CL"], {"Content-Type": "text/html"})]})
    pauses: list[float] = []
    listing = fetch_pages(
        f"{server.url}/list/{{category}}/new", CATEGORIES, delay=3, backoff=0.5, clock=Clock(sleep=pauses.append)
    )
    assert len(listing.papers) == 50
    assert [r.path for r in server.requests].count("/list/cs.CL/new") == 2
    assert pauses == [3, 7, 3, 3]  # the delay before cs.CL, its Retry-After, then the delays before cs.CV, cs.LG


# ----- the morning run, through the CLI -----


@pytest.mark.parametrize(
    "fire_utc, listing",
    [
        # Tue 14 Jul 2026 10:30 KST = Mon 21:30 EDT: announced at 20:00 EDT (09:00 KST).
        (dt.datetime(2026, 7, 14, 1, 30, tzinfo=UTC), "2026-07-14"),
        # Tue 8 Dec 2026 10:30 KST = Mon 20:30 EST: announced at 20:00 EST (10:00 KST).
        (dt.datetime(2026, 12, 8, 1, 30, tzinfo=UTC), "2026-12-08"),
    ],
)
def test_a_1030_kst_fire_builds_that_mornings_listing(tmp_path, server, run_cli, clock, fire_utc, listing):
    clock.now = fire_utc
    serve_pages(server, listing_pages(dt.date.fromisoformat(listing), _slice()))
    result = run_cli("run", "--config", _config(tmp_path, server))
    assert result.exit_code == 0, result.output
    assert f"{listing}: report written to" in result.output
    assert json.loads((tmp_path / f"output/{listing}/digest.json").read_text())["date"] == listing
    assert _stored(tmp_path, listing) == ("listing", 50)
    assert server.hits(f"/rss/{RSS_CATEGORIES}") == 0  # the feed still carries yesterday's: not asked


@pytest.mark.parametrize(
    "broken_page, reason",
    [
        (lambda papers: cut(render_page("cs.LG", TUE_JUNE_30, papers), 0.5), "cut short"),
        (
            lambda papers: render_page("cs.LG", TUE_JUNE_30, papers, counts={"Cross submissions": 3}),
            "entries on the page",
        ),
    ],
    ids=["cut-mid-list", "heading-count"],
)
def test_an_incomplete_page_falls_back_to_the_feed_in_one_line(tmp_path, server, run_cli, clock, broken_page, reason):
    clock.now = dt.datetime(2026, 6, 30, 1, 30, tzinfo=UTC)  # Tue 10:30 KST
    papers = _slice()
    serve_pages(server, {**listing_pages(TUE_JUNE_30, papers), "cs.LG": broken_page(papers)})
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, _feed(papers)))
    result = run_cli("run", "--config", _config(tmp_path, server))
    assert result.exit_code == 0, result.output
    fallback = [line for line in result.output.splitlines() if "using the RSS feed instead" in line]
    assert len(fallback) == 1 and "/list/cs.LG/new" in fallback[0] and reason in fallback[0], result.output
    assert _stored(tmp_path, "2026-06-30") == ("rss", 50)
    assert "2026-06-30: report written to" in result.output


def test_a_failing_page_falls_back_to_the_feed(tmp_path, server, run_cli, clock):
    clock.now = dt.datetime(2026, 6, 30, 1, 30, tzinfo=UTC)
    serve_pages(server, {**listing_pages(TUE_JUNE_30, _slice()), "cs.CV": Response(404, b"no such page")})
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, _feed(_slice())))
    result = run_cli("run", "--config", _config(tmp_path, server))
    assert result.exit_code == 0, result.output
    assert "/list/cs.CV/new: HTTP 404; using the RSS feed instead" in result.output
    assert _stored(tmp_path, "2026-06-30") == ("rss", 50)


def test_the_feed_later_carrying_the_same_day_rebuilds_and_sends_nothing(tmp_path, server, run_cli, clock):
    clock.now = dt.datetime(2026, 6, 30, 1, 30, tzinfo=UTC)  # Tue 10:30 KST: the pages show 06-30
    serve_pages(server, {c: Response(200, page) for c, page in fixture_pages().items()})
    config = _config(tmp_path, server)
    assert run_cli("run", "--config", config).exit_code == 0
    assert _stored(tmp_path, "2026-06-30") == ("listing", 499)
    report = tmp_path / "output/2026-06-30/digest.json"
    built_at = report.stat().st_mtime_ns

    # 15:00 KST: the pages fail, the feed (switched at midnight ET) carries the same day's papers.
    clock.now = dt.datetime(2026, 6, 30, 6, 0, tzinfo=UTC)
    serve_pages(server, {c: Response(503, b"busy") for c in CATEGORIES})
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, feed_of_categories(day_feed_2026_06_30())))
    result = run_cli("run", "--config", config)
    assert result.exit_code == 0, result.output
    assert (
        "2026-06-30: already built from the listing pages; the RSS feed carries the same 499 papers "
        "(nothing rebuilt or re-sent)" in result.output
    )
    assert report.stat().st_mtime_ns == built_at and _stored(tmp_path, "2026-06-30") == ("listing", 499)
    status = run_cli("status", "--config", config).output
    assert "listing: built from the listing pages; the RSS feed carries the same 499 papers" in status

    # A feed whose papers differ (here: 33 more, from categories the pages do not cover) is said, not sent.
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, day_feed_2026_06_30()))
    result = run_cli("run", "--config", config)
    assert "the RSS feed does not match (532 papers against 499): 33 only there, 0 missing there" in result.output
    assert report.stat().st_mtime_ns == built_at
    status = run_cli("status", "--config", config).output
    assert (
        "listing: built from the listing pages; the RSS feed does not match (532 papers against 499): 33 only there ("
        in status
    )


def test_a_fire_before_the_announcement_asks_again_instead_of_sending_yesterdays(tmp_path, server, clock):
    from digest.commands.run import run as run_latest
    from digest.config import load_config

    monday, tuesday = dt.date(2026, 7, 13), dt.date(2026, 7, 14)
    config = load_config(_config(tmp_path, server, schedule__retry_seconds=300))
    clock.now = dt.datetime(2026, 7, 13, 1, 30, tzinfo=UTC)  # Monday's fire builds Monday's listing
    serve_pages(server, listing_pages(monday, _slice()))
    assert run_latest(config, scheduled=True).status == "ok"

    # Tuesday's fire: arXiv is late, the pages show Monday's listing twice more, then Tuesday's.
    clock.now = dt.datetime(2026, 7, 14, 1, 30, tzinfo=UTC)
    late = {
        c: [Response(200, render_page(c, monday, _slice()))] * 2 + [Response(200, render_page(c, tuesday, _slice(60)))]
        for c in CATEGORIES
    }
    serve_pages(server, late)
    result = run_latest(config, scheduled=True)
    assert (result.status, str(result.date)) == ("ok", "2026-07-14")
    assert clock.slept == [300, 300]
    assert _stored(tmp_path, "2026-07-14")[0] == "listing"


def test_a_fire_gives_up_waiting_after_the_grace_period_and_sends_nothing(tmp_path, server, clock):
    from digest.commands.run import run as run_latest
    from digest.config import load_config

    monday = dt.date(2026, 7, 13)
    config = load_config(_config(tmp_path, server, schedule__retry_seconds=600, schedule__misfire_grace_seconds=1800))
    clock.now = dt.datetime(2026, 7, 13, 1, 30, tzinfo=UTC)
    serve_pages(server, listing_pages(monday, _slice()))
    assert run_latest(config, scheduled=True).status == "ok"
    clock.now = dt.datetime(2026, 7, 14, 1, 30, tzinfo=UTC)  # arXiv never announces Tuesday's listing
    result = run_latest(config, scheduled=True)
    assert (result.status, str(result.date)) == ("skipped", "2026-07-13")
    assert "already built; arXiv has announced nothing newer yet" in result.message
    assert clock.slept == [600, 600, 600]
    assert not (tmp_path / "output/2026-07-14").exists()


def test_print_next_names_the_listing_each_fire_builds(tmp_path, run_cli, clock):
    clock.now = dt.datetime(2026, 7, 2, 12, 0, tzinfo=UTC)  # Thu 21:00 KST
    result = run_cli("schedule", "--config", _default_config(tmp_path), "--print-next", "5")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2026-07-03T10:30:00+09:00 Fri Asia/Seoul: listing 2026-07-03 (on arXiv since 2026-07-03 09:00 KST)",
        # Holiday Fri 07-03: no announcement on Sunday evening, so Monday's fire has nothing new.
        "2026-07-06T10:30:00+09:00 Mon Asia/Seoul: listing 2026-07-03 again, nothing new to send "
        "(arXiv announces 2026-07-07 at 2026-07-07 09:00 KST)",
        "2026-07-07T10:30:00+09:00 Tue Asia/Seoul: listing 2026-07-07 (on arXiv since 2026-07-07 09:00 KST)",
        "2026-07-08T10:30:00+09:00 Wed Asia/Seoul: listing 2026-07-08 (on arXiv since 2026-07-08 09:00 KST)",
        "2026-07-09T10:30:00+09:00 Thu Asia/Seoul: listing 2026-07-09 (on arXiv since 2026-07-09 09:00 KST)",
    ]


def test_print_next_in_winter_fires_half_an_hour_after_the_announcement(tmp_path, run_cli, clock):
    clock.now = dt.datetime(2026, 12, 6, 0, 0, tzinfo=UTC)  # Sunday
    result = run_cli("schedule", "--config", _default_config(tmp_path), "--print-next", "5")
    lines = result.output.splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        f"listing 2026-12-{d:02d} (on arXiv since 2026-12-{d:02d} 10:00 KST)" for d in range(7, 12)
    ]


def test_print_next_says_when_a_fire_comes_before_the_announcement(tmp_path, run_cli, clock):
    clock.now = dt.datetime(2026, 12, 6, 0, 0, tzinfo=UTC)
    config = tmp_path / "config.yaml"
    config.write_text('schedule: {cron: "0 9 * * 2"}\n')  # 09:00 KST in winter: 19:00 EST, an hour early
    result = run_cli("schedule", "--config", str(config), "--print-next", "1")
    assert result.output.strip().endswith(
        "Tue Asia/Seoul: listing 2026-12-07 (on arXiv since 2026-12-07 10:00 KST), "
        "before arXiv announces 2026-12-08 at 10:00 KST"
    )


@pytest.mark.parametrize(
    "listing_url, caught_up",
    [
        # The pages give Tuesday's listing at 10:30 KST: Friday's and Monday's, never built, come first.
        ("https://arxiv.org/list/{category}/new", (dt.date(2026, 7, 10), dt.date(2026, 7, 13))),
        # The RSS feed still carries Monday's (ET date) at that hour: only what lies before it.
        (None, (dt.date(2026, 7, 10), dt.date(2026, 7, 12))),
    ],
    ids=["listing-pages", "rss-only"],
)
def test_catch_up_stops_before_the_listing_this_run_gets(tmp_path, listing_url, caught_up):
    from digest.commands.backfill import catch_up_range
    from digest.config import Config
    from digest.store import Store

    config = Config(base_dir=tmp_path, arxiv={"listing_url": listing_url, "catch_up_days": 7})
    store = Store(config.state_path)
    store.finish_run(store.start_run("run"), "ok", date=dt.date(2026, 7, 9))  # Thursday's built
    (tmp_path / "output/2026-07-09").mkdir(parents=True)
    (tmp_path / "output/2026-07-09/digest.json").write_text("{}")
    tuesday_fire = dt.datetime(2026, 7, 14, 1, 30, tzinfo=UTC)
    assert catch_up_range(config, store, fixed(tuesday_fire)) == caught_up


def test_pages_caught_mid_announcement_are_asked_again(tmp_path, server, clock):
    from digest.config import load_config

    monday, tuesday = dt.date(2026, 7, 13), dt.date(2026, 7, 14)
    clock.now = dt.datetime(2026, 7, 14, 1, 30, tzinfo=UTC)
    pages = {c: Response(200, render_page(c, tuesday, _slice())) for c in CATEGORIES}
    pages["cs.CV"] = [Response(200, render_page("cs.CV", monday, _slice())), pages["cs.CV"]]
    serve_pages(server, pages)
    fetch = digest.sources.latest.latest_fetcher(load_config(_config(tmp_path, server)), clock.clock, wait=True)
    listing = fetch(None)
    assert (listing.date, len(listing.papers), clock.slept) == (tuesday, 50, [300])
    assert server.hits("/list/cs.AI/new") == 2 and server.hits(f"/rss/{RSS_CATEGORIES}") == 0
