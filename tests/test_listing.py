"""arXiv's /list/<category>/new pages: the parser on real saved pages and on the real day rebuilt in their
markup, every way a page can lose papers, and the morning run through the real CLI against the local fake
server (clock injected)."""

import dataclasses
import datetime as dt
import json
import logging
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
from digest.pipeline import clean_listing, keep_announce_types
from digest.sources.calendar import ArxivCalendar
from digest.sources.listing import IncompleteListing, ListingMismatch, fetch_pages, merge_pages, parse_page
from digest.sources.rss import parse_feed
from digest.store import Store
from tests.conftest import RSS_CATEGORIES, day_feed_2026_06_30, write_config
from tests.fakes.arxiv_listing import (
    CATEGORIES,
    HTML,
    REAL_EXCERPT,
    REAL_PAGE,
    SUBJECT_NAMES,
    Extras,
    cut,
    demo_papers,
    feed_of_categories,
    feed_of_ids,
    fixture_day,
    fixture_pages,
    listing_pages,
    paged,
    render_page,
    serve_pages,
)
from tests.fakes.http import Response

UTC = dt.UTC
TUE_JUNE_30 = dt.date(2026, 6, 30)
MON_SEPT_28 = dt.date(2026, 9, 28)
TUESDAY_FIRE = dt.datetime(2026, 6, 30, 1, 30, tzinfo=UTC)  # Tue 10:30 KST: the 06-30 listing is out


def _slice(n: int = 50) -> list[Paper]:
    """A small slice of the real day: new submissions and its 9 cross-lists that carry a configured category."""
    papers = [p for p in demo_papers() if set(p.categories) & set(CATEGORIES)]
    cross = [p for p in papers if p.announce_type == "cross"]
    return [p for p in papers if p.announce_type == "new"][: n - len(cross)] + cross


def _real(path=REAL_PAGE) -> str:
    return path.read_text(encoding="utf-8")


def _paragraphs(abstract: str) -> str:
    """An abstract as the listing page shows it: arXiv's <br> where a line starts with spaces, one line each."""
    return "\n".join(" ".join(p.split()) for p in re.split(r"\n[ \t]+", abstract) if p.strip())


def _entries(page) -> dict:
    return {e.id: e for s in page.sections for e in s.entries}


def _only(page: str, ids: set[str]) -> str:
    """The page without the entries whose id is not in `ids` (counts left as they were)."""
    blocks = re.split(r"(?=    <dt>\n)", page)
    kept = [b for b in blocks if not b.startswith("    <dt>") or re.search(r'id="([^"]+)"', b)[1] in ids]
    return "".join(kept)


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


def _stored_papers(tmp_path, date: dt.date) -> list[Paper]:
    return Store(tmp_path / "output/digest.sqlite3").load_listing(date).papers


def _default_config(tmp_path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text("{}\n")  # the built-in defaults: listing pages on, 10:30 KST on weekdays
    return str(path)


def _fetch(server, categories=CATEGORIES, **options):
    return fetch_pages(f"{server.url}/list/{{category}}/new", categories, delay=0, backoff=0.01, **options)


# ----- real pages saved from arxiv.org -----


def test_a_real_page_is_read_field_by_field():
    page = parse_page(REAL_PAGE.read_bytes(), "cs.IT", content_type=HTML)
    assert (page.date, page.total) == (MON_SEPT_28, 31)
    assert [(s.kind, s.shown, s.total, len(s.entries)) for s in page.sections] == [
        ("new", 10, 10, 10),
        ("cross", 6, 6, 6),
        ("replace", 15, 15, 15),
    ]
    entries = _entries(page)
    comment = entries["2609.30689"]
    assert comment.title == 'Comment on "Symmetric Pseudo-Random Matrices"'  # &#34; read once
    assert comment.authors == ["Chin Hei Chan"]
    assert "arXiv:1702.04086" not in comment.abstract  # the comment (with its link) is not the abstract
    assert comment.abstract.startswith("In 2018, Soloveychik, Xiang and Tarokh considered")
    assert comment.abstract.endswith(
        "Katz's result directly to establish the asymptotically semicircle spectral distribution deterministically."
    )
    moments = entries["2609.31090"]
    assert moments.authors == ["Andrés Cristi", "Matteo Russo", "Jiechen Zhang"]
    # arXiv's <br> paragraph breaks kept as line breaks, as the RSS feed keeps them
    assert [p[:40] for p in moments.abstract.split("\n")] == [
        "We study fundamental information-theoret",
        "Our approach gives two explicit construc",
        "We also recover and expand upon the rece",
    ]
    assert moments.abstract.endswith("or when the algorithm is allowed to select $r$ items.")
    sheaf = entries["2609.31541"]
    assert "mapping in (arXiv:2601.06736). Moreover" in sheaf.abstract  # a link inside the abstract keeps its text
    assert sheaf.subjects.split("; ")[0] == "Quantum Physics (quant-ph)"

    listing = merge_pages([page], ["cs.IT"])
    by_type = {
        t: [p.id for p in listing.papers if p.announce_type == t] for t in ("new", "cross", "replace", "replace-cross")
    }
    assert [len(ids) for ids in by_type.values()] == [10, 6, 8, 7]  # 8 replacements are cs.IT's own
    assert by_type["replace-cross"] == [
        "2609.28459",
        "2609.05225",
        "2607.26865",
        "2606.25601",
        "2604.11733",
        "2603.25914",
        "2504.02593",
    ]  # newest id first, as the feed orders them
    paper = next(p for p in listing.papers if p.id == "2609.31541")
    assert paper.categories == ["quant-ph", "cond-mat.str-el", "cs.IT", "hep-th", "math-ph"]
    assert paper.announce_type == "cross"


def test_a_real_page_keeps_affiliations_and_leaves_comments_and_journal_refs_out():
    page = parse_page(REAL_EXCERPT.read_bytes(), "eess.SP")
    entries = _entries(page)
    assert entries["2609.31058"].authors == [
        "Nathan Decaux",
        "Jean-Charles Roy",
        "Thomas Desmidt (iBraiN, CIC 1415)",  # as the RSS feed writes an affiliation
        "Marie-Laure Paillère Martinot (ERL Inserm U1299)",
        "Gabriel Robert (EMPENN)",
        "Julie Coloigner (EMPENN)",
    ]
    tracking = entries["2609.31416"]  # comments with a link, then a journal-ref
    assert tracking.authors == ["Roberto Pérez-Pérez", "Ángel F. García-Fernández"]
    assert "Journal-ref" not in tracking.abstract and "IEEE Transactions on Aerospace" not in tracking.abstract
    assert tracking.abstract.startswith("This paper presents mathematically principled filters")
    lead = entries["2502.01678"]
    assert lead.title == "LEAD: An EEG Foundation Model for Alzheimer's Disease Detection"
    assert lead.abstract.endswith("Source code: this https URL")
    assert entries["2609.30671"].abstract.startswith("The project A Vehicle Integrated Approach")  # no html link
    assert entries["2609.30534"].subjects.startswith("Systems and Control (eess.SY)")


def test_a_paper_on_two_category_pages_is_one_paper_announced_where_its_primary_is():
    it, sp = parse_page(_real(), "cs.IT"), parse_page(_real(REAL_EXCERPT), "eess.SP")
    listing = merge_pages([sp, it], ["eess.SP", "cs.IT"])
    uav = [p for p in listing.papers if p.id == "2609.30690"]  # new on cs.IT, a cross-list on eess.SP
    assert len(uav) == 1 and uav[0].announce_type == "new" and uav[0].categories[0] == "cs.IT"
    assert len(listing.papers) == len({p.id for p in listing.papers}) == 31 + 8 - 1


def test_a_whole_archive_category_takes_its_classes_as_new():
    it = parse_page(_real(), "cs.IT")
    types = {p.id: p.announce_type for p in merge_pages([it], ["cs"]).papers}
    assert types["2609.31107"] == types["2609.31544"] == "new"  # primary cs.LG, cs.AI: in cs
    assert types["2609.30338"] == "cross"  # primary math.ST
    assert types["2603.25914"] == "replace" and types["2609.05225"] == "replace-cross"  # cs.CC; quant-ph

    sky = [
        Paper("2606.30001", "Dwarf galaxies", "About galaxies.", ["A. Kim"], ["astro-ph.GA", "astro-ph.CO"], "new"),
        Paper("2606.30002", "Stellar winds", "About stars.", ["B. Lee"], ["astro-ph.SR"], "new"),
        Paper("2606.30003", "Waves", "About gravity.", ["C. Park"], ["gr-qc", "astro-ph.CO"], "cross"),
    ]
    page = render_page("astro-ph", TUE_JUNE_30, sky)  # the archive's page: every astro-ph class
    assert "New submissions (showing 2 of 2 entries)" in page and "(cross-list from gr-qc)" in page
    listing = merge_pages([parse_page(page, "astro-ph")], ["astro-ph"])
    assert {p.id: p.announce_type for p in listing.papers} == {
        "2606.30001": "new",
        "2606.30002": "new",
        "2606.30003": "cross",
    }


# ----- the real day, rebuilt in the real markup -----


def test_rebuilt_pages_give_the_feeds_papers_for_the_same_day():
    pages = [parse_page(content, category) for category, content in fixture_pages().items()]
    listing = merge_pages(pages, CATEGORIES)
    feed = [p for p in demo_papers() if set(p.categories) & set(CATEGORIES)]
    assert listing.date == TUE_JUNE_30 and listing.source == "listing"
    fresh = [p for p in listing.papers if p.announce_type in ("new", "cross")]
    assert [p.id for p in fresh] == [p.id for p in feed]  # same set, same order (new, cross; id desc)
    by_id = {p.id: p for p in feed}
    for paper in fresh:
        expected = by_id[paper.id]
        assert (paper.title, paper.authors, paper.categories, paper.announce_type) == (
            expected.title,
            expected.authors,
            expected.categories,
            expected.announce_type,
        )
        assert paper.abstract == _paragraphs(expected.abstract)
    # The replacements swapped in from the real 2026-04-21 day: replace when the primary is configured.
    replaced = fixture_day()[0][len(demo_papers()) :]
    got = {p.id: p.announce_type for p in listing.papers if p.announce_type.startswith("replace")}
    assert got == {p.id: "replace" if p.primary_category in CATEGORIES else "replace-cross" for p in replaced}
    assert [s.heading for s in pages[3].sections] == [  # cs.LG: no new submission that day, the section left out
        "Cross submissions (showing 71 of 71 entries)",
        "Replacement submissions (showing 8 of 8 entries)",
    ]


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


# ----- the parser points -----


def test_a_category_with_no_updates_today_is_an_empty_page_of_that_date(server):
    empty = render_page("cs.GL", TUE_JUNE_30, _slice())  # none of the slice is in cs.GL
    assert "<p>No updates today.</p>" in empty and "Total of" not in empty
    page = parse_page(empty, "cs.GL")
    assert (page.date, page.sections, page.total) == (TUE_JUNE_30, [], 0)
    serve_pages(server, {**listing_pages(TUE_JUNE_30, _slice()), "cs.GL": empty})
    listing = _fetch(server, CATEGORIES + ["cs.GL"])
    assert (listing.date, len(listing.papers)) == (TUE_JUNE_30, 50)


@pytest.mark.parametrize("br", ["<br>", "<br/>", "<br />"])
def test_a_line_break_never_ends_a_title_the_authors_or_an_abstract(br):
    # A real paper of the day whose abstract has paragraphs (arXiv writes a <br> before each).
    paper = next(p for p in demo_papers() if p.abstract.count("\n  ") >= 2 and len(p.authors) >= 3)
    page = render_page(paper.primary_category, TUE_JUNE_30, [paper], extras=Extras(br=br))
    assert page.count(f"\n{br}") == paper.abstract.count("\n  ")
    first, rest = paper.title.split(" ", 1)
    page = page.replace(f"{first} {rest}", f"{first}{br}{rest}", 1)
    page = page.replace(f"{paper.authors[1]}</a>, ", f"{paper.authors[1]}</a>,{br} ", 1)
    (entry,) = parse_page(page, paper.primary_category).sections[0].entries
    assert entry.title == paper.title
    assert entry.authors == paper.authors
    assert entry.abstract == _paragraphs(paper.abstract) and entry.abstract.count("\n") >= 2
    assert entry.subjects.startswith(f"{SUBJECT_NAMES[paper.primary_category]} ({paper.primary_category})")


def test_an_unclosed_inline_tag_in_a_title_ends_with_the_title():
    page = _real().replace(
        "Impact of Antenna Position Errors on TDMA", "Impact of <i>Antenna Position Errors on <b>TDMA"
    )
    entry = _entries(parse_page(page, "cs.IT"))["2609.31088"]
    assert entry.title == "Impact of Antenna Position Errors on TDMA and NOMA in Pinching-Antenna Systems"
    assert entry.authors == ["Wei Jiang", "Hans D. Schotten"]
    assert entry.abstract.startswith("Pinching-antenna systems (PASS) create reconfigurable wireless channels")
    assert entry.subjects == "Information Theory (cs.IT); Signal Processing (eess.SP)"


def test_an_abstract_without_its_optional_end_tag_ends_with_its_entry():
    page = parse_page(_real().replace("\n        </p>", ""), "cs.IT")
    assert page.total == 31 and _entries(page) == _entries(parse_page(_real(), "cs.IT"))


def test_a_title_that_swallows_its_entry_is_refused_not_accepted():
    page = _real().replace(
        "Impact of Antenna Position Errors on TDMA", "Impact of <div>Antenna Position Errors on TDMA"
    )
    with pytest.raises(IncompleteListing, match=r"1 of 31 entries without an abstract \(first: 2609.31088\)"):
        parse_page(page, "cs.IT")


def test_a_page_without_abstracts_is_refused():
    page = re.sub(r"<p class='mathjax'>.*?</p>", "", _real(), flags=re.DOTALL)
    with pytest.raises(IncompleteListing, match=r"31 of 31 entries without an abstract"):
        parse_page(page, "cs.IT")


def test_a_page_cut_mid_list_is_incomplete():
    page = render_page("cs.CV", TUE_JUNE_30, demo_papers())
    with pytest.raises(IncompleteListing, match="cut short"):
        parse_page(cut(page, 0.6), "cs.CV")


def test_a_heading_count_that_does_not_match_the_entries_is_incomplete_and_advises_no_show():
    page = render_page("cs.CL", TUE_JUNE_30, _slice(), counts_shown={"New submissions": 41})
    with pytest.raises(IncompleteListing, match=r"New submissions \(showing 41 of \d+ entries\)' but \d+ entries") as e:
        parse_page(page, "cs.CL")
    assert "show=" not in str(e.value)


def test_a_section_that_has_more_entries_than_all_pages_show_is_incomplete(server):
    page = render_page("cs.CV", TUE_JUNE_30, _slice())
    page = re.sub(r"New submissions \(showing (\d+) of \d+", r"New submissions (showing \1 of 2013", page)
    serve_pages(server, {"cs.CV": page})
    with pytest.raises(IncompleteListing, match=r"showing \d+ of 2013 entries\)' but \d+ such entries in all") as e:
        _fetch(server, ["cs.CV"])
    assert "show=" not in str(e.value)


# ----- nothing lost quietly: every way a page can lose papers fails the fetch -----


@pytest.mark.parametrize(
    "change, error",
    [
        (
            lambda p: p.replace("<h3>New submissions (showing", "<h3>Fresh submissions (showing"),
            r"unknown section heading 'Fresh submissions \(showing 10 of 10 entries\)' \(expected New submissions",
        ),
        (
            lambda p: p.replace("<h3>Cross submissions (showing 6 of 6 entries)</h3>", "<h3>Cross-listed papers</h3>"),
            r"unknown section heading 'Cross-listed papers'",
        ),
        (
            lambda p: p.replace("<h3>New submissions (showing 10 of 10 entries)</h3>", ""),
            r"10 entries before the first",
        ),
        (lambda p: p.replace("Total of 31 entries", "Total of 30 entries"), r"'Total of 30 entries' but 31 entries"),
        (
            # More entries promised than the page shows: the rest is asked for, and is not there.
            lambda p: p.replace("Total of 31 entries", "Total of 32 entries"),
            r"\?skip=31: entry \[1\] where \[32\] was due \(entries missing\) \(the first page says 'Total of 32",
        ),
        (
            lambda p: p.replace("Total of 31 entries", "Total of 30 entries", 1),
            r"says 'Total of 30' and 'Total of 31'",
        ),
        (
            # An entry dropped with every count edited to match: arXiv's [N] numbers still give it away.
            lambda p: (
                _only(p, set(re.findall(r'id="(\d{4}\.\d{5})"', p)) - {"2609.31174"})
                .replace("showing 10 of 10", "showing 9 of 9")
                .replace("Total of 31", "Total of 30")
            ),
            r"entry \[7\] where \[6\] was due",
        ),
        (lambda p: p.replace("<p>See <a", "<p>No updates today.</p><p>See <a"), "says 'No updates today.' and lists"),
        (
            lambda p: p.replace("Showing new listings for Monday, 28", "Showing new listings for Saturday, 28"),
            r"names the wrong weekday \(2026-09-28 is a Monday\)",
        ),
    ],
    ids=[
        "new-renamed",
        "cross-renamed",
        "heading-gone",
        "total-lower",
        "total-higher",
        "totals-differ",
        "entry-gone",
        "no-updates",
        "weekday",
    ],
)
def test_a_page_that_would_lose_papers_is_refused_in_one_line(server, change, error):
    serve_pages(server, {"cs.IT": change(_real())})
    with pytest.raises(FetchError, match=error) as e:
        _fetch(server, ["cs.IT"])
    message = str(e.value)
    assert message.startswith(f"arXiv listing page {server.url}/list/cs.IT/new") and "\n" not in message


def test_a_paper_listed_twice_is_kept_once_and_both_places_are_said(server, caplog):
    text = _slice()[0]
    papers = [
        Paper("2606.00001", "Listed twice", text.abstract, ["A. Kim"], ["cs.CL", "cs.AI"], "new"),
        Paper("2606.00002", "Once, new", text.abstract, ["B. Lee"], ["cs.CL"], "new"),
        Paper("2606.00003", "Once, cross", text.abstract, ["C. Park"], ["cs.AI", "cs.CL"], "cross"),
    ]
    papers.append(dataclasses.replace(papers[0], categories=["cs.AI", "cs.CL"], announce_type="cross"))
    serve_pages(server, {"cs.CL": render_page("cs.CL", TUE_JUNE_30, papers)})
    with caplog.at_level(logging.WARNING, logger="digest.sources.listing"):
        listing = _fetch(server, ["cs.CL"])
    assert [p.id for p in listing.papers].count("2606.00001") == 1
    assert next(p for p in listing.papers if p.id == "2606.00001").announce_type == "new"
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == (
        f"arXiv listing page {server.url}/list/cs.CL/new: 2606.00001 is listed twice, as [1] in New submissions "
        "and as [3] in Cross submissions; keeping the first"
    )


@pytest.mark.parametrize("declared", ["header", "meta"])
def test_a_latin1_page_is_read_in_its_declared_charset(server, declared):
    paper = Paper(
        "2606.00001", "Réseaux à mémoire", "Une étude détaillée des réseaux.", ["José Müller"], ["cs.CL"], "new"
    )
    page = render_page("cs.CL", TUE_JUNE_30, [paper])
    if declared == "meta":
        page = page.replace("<head>", '<head><meta charset="iso-8859-1">', 1)
    content_type = "text/html; charset=ISO-8859-1" if declared == "header" else "text/html"
    serve_pages(server, {"cs.CL": Response(200, page.encode("latin-1"), {"Content-Type": content_type})})
    (got,) = _fetch(server, ["cs.CL"]).papers
    assert (got.title, got.authors, got.abstract) == (paper.title, paper.authors, paper.abstract)


def test_an_undeclared_latin1_page_is_refused_not_read_as_mojibake(server):
    paper = Paper("2606.00001", "Réseaux à mémoire", "Une étude.", ["José Müller"], ["cs.CL"], "new")
    page = render_page("cs.CL", TUE_JUNE_30, [paper]).encode("latin-1")
    serve_pages(server, {"cs.CL": Response(200, page, {"Content-Type": "text/html"})})
    with pytest.raises(FetchError, match=r"cs.CL/new: the page is not valid UTF-8 \(no character set declared\)"):
        _fetch(server, ["cs.CL"])


@pytest.mark.parametrize(
    "page_date, holidays, error",
    [
        (dt.date(2026, 6, 27), [], r"dated 2026-06-27, not an arXiv listing date \(2026-06-27 is a Saturday"),
        (
            dt.date(2026, 6, 29),
            [dt.date(2026, 6, 26)],
            r"dated 2026-06-29, not an arXiv listing date \(2026-06-29: "
            r"no arXiv announcement \(holiday 2026-06-26 Fri, arxiv.holidays\)",
        ),
        (
            dt.date(1999, 6, 28),
            [],
            r"dated 1999-06-28, \d+ days before the latest listing \(2026-06-30\): a stale copy",
        ),
        (dt.date(2026, 7, 31), [], r"dated 2026-07-31, after the latest listing arXiv can have out \(2026-06-30\)"),
    ],
    ids=["saturday", "holiday", "1999", "future"],
)
def test_a_page_dated_off_the_calendar_is_refused(server, page_date, holidays, error):
    serve_pages(server, listing_pages(page_date, _slice()))
    with pytest.raises(FetchError, match=error):
        _fetch(server, calendar=ArxivCalendar(holidays), clock=fixed(TUESDAY_FIRE))
    assert len(_fetch(server).papers) == 50  # the parser alone reads them: the calendar refuses them


def test_a_big_category_is_read_in_pages_of_2000(server):
    # 2013 entries, the real day's texts under new ids: New fills page one, Cross spans both pages.
    base = [p for p in demo_papers() if p.primary_category == "cs.CV"]
    papers = [
        dataclasses.replace(base[i % len(base)], id=f"2606.{40000 + i}", categories=["cs.CV"]) for i in range(1995)
    ]
    papers += [
        dataclasses.replace(base[i], id=f"2606.{50000 + i}", categories=["cs.LG", "cs.CV"], announce_type="cross")
        for i in range(10)
    ]
    papers += [
        dataclasses.replace(base[i], id=f"2601.{10000 + i}", categories=["cs.CV"], announce_type="replace")
        for i in range(8)
    ]
    serve_pages(server, {"cs.CV": paged("cs.CV", TUE_JUNE_30, papers)})
    listing = fetch_pages(f"{server.url}/list/{{category}}/new?skip=0&show=2000", ["cs.CV"], delay=0)
    assert [(r.query["skip"], r.query["show"]) for r in server.requests] == [(["0"], ["2000"]), (["2000"], ["2000"])]
    assert sorted(p.id for p in listing.papers) == sorted(p.id for p in papers)
    assert [sum(p.announce_type == t for p in listing.papers) for t in ("new", "cross", "replace")] == [1995, 10, 8]


def test_continued_headings_are_read_as_the_same_sections():
    papers = [Paper(f"2606.{30000 + i}", f"Paper {i}", "An abstract.", ["A. Kim"], ["cs.CL"], "new") for i in range(40)]
    papers += [
        Paper(f"2606.{20000 + i}", f"Cross {i}", "An abstract.", ["B. Lee"], ["cs.AI", "cs.CL"], "cross")
        for i in range(30)
    ]
    second = parse_page(render_page("cs.CL", TUE_JUNE_30, papers, skip=50, show=50), "cs.CL", skip=50)
    assert [s.heading for s in second.sections] == ["Cross submissions (continued, showing last 20 of 30 entries)"]
    first = parse_page(render_page("cs.CL", TUE_JUNE_30, papers, skip=0, show=50), "cs.CL")
    assert [s.heading for s in first.sections] == [
        "New submissions (showing 40 of 40 entries)",
        "Cross submissions (showing first 10 of 30 entries)",
    ]


def test_a_skip_page_that_repeats_the_first_is_refused(server):
    papers = [Paper(f"2606.{30000 + i}", f"Paper {i}", "An abstract.", ["A. Kim"], ["cs.CL"], "new") for i in range(60)]
    first_page = render_page("cs.CL", TUE_JUNE_30, papers, show=50)
    serve_pages(server, {"cs.CL": first_page})  # a server (or cache) that ignores skip=
    with pytest.raises(
        IncompleteListing,
        match=r"new\?skip=50&show=50: entry \[1\] where \[51\] was due .* \(the first page says 'Total of 60",
    ):
        fetch_pages(f"{server.url}/list/{{category}}/new?show=50", ["cs.CL"], delay=0)


def test_an_unknown_show_value_is_refused_with_the_config_naming_the_ones_arxiv_takes(tmp_path, run_cli):
    config = write_config(tmp_path, arxiv__listing_url="https://arxiv.org/list/{category}/new?skip=0&show=5000")
    result = run_cli("check", "--config", str(config))
    assert result.exit_code == 2
    assert (
        "arxiv.listing_url: show=5000 is not a page size arXiv accepts (25, 50, 100, 250, 500, 1000 or 2000; "
        "anything else is HTTP 400)"
    ) in result.output


# ----- a real day through the CLI: a refused page falls back to the feed in one line, nothing lost -----


def _feed_papers(feed: bytes) -> dict[str, Paper]:
    listing = keep_announce_types(clean_listing(parse_feed(feed), TUESDAY_FIRE), ["new", "cross"])
    return {p.id: p for p in listing.papers}


def test_a_reworded_heading_on_one_category_page_builds_the_day_from_the_feed_in_one_line(
    tmp_path, server, run_cli, clock
):
    clock.now = TUESDAY_FIRE
    pages = fixture_pages()
    pages["cs.CL"] = pages["cs.CL"].replace(b"<h3>New submissions (showing", b"<h3>Fresh submissions (showing")
    serve_pages(server, pages)
    feed = feed_of_categories(day_feed_2026_06_30())
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, feed))
    result = run_cli("run", "--config", _config(tmp_path, server))
    assert result.exit_code == 0, result.output
    fallback = [line for line in result.output.splitlines() if "using the RSS feed instead" in line]
    assert len(fallback) == 1, result.output
    assert (
        f"arXiv listing page {server.url}/list/cs.CL/new: unknown section heading "
        "'Fresh submissions (showing 117 of 117 entries)' (expected New submissions, Cross submissions or "
        "Replacement submissions): the page layout changed; using the RSS feed instead"
    ) in fallback[0]
    assert _stored(tmp_path, "2026-06-30") == ("rss", 499)
    stored = {p.id: p for p in _stored_papers(tmp_path, TUE_JUNE_30)}
    assert stored == _feed_papers(feed)  # every paper, every field, as the feed has it


def test_a_line_break_in_a_title_keeps_the_whole_paper_through_the_run(tmp_path, server, run_cli, clock):
    clock.now = TUESDAY_FIRE
    feed = _feed_papers(feed_of_categories(day_feed_2026_06_30()))
    pages = fixture_pages()
    other = next(p for p in feed.values() if p.id != "2606.30639" and p.title.encode() in pages["cs.AI"])
    noncharacter = other.title.replace(" ", " \ufffe", 1)  # U+FFFE, which XML forbids, as a page could carry it
    pages["cs.AI"] = (
        pages["cs.AI"]
        .replace(b"Self-Evolving World Models for LLM", b"Self-Evolving World Models<br/>for LLM")
        .replace(b"\n<br>", b"\n<br />")  # every paragraph break of the page self-closing too
        .replace(other.title.encode(), noncharacter.encode())
    )
    serve_pages(server, pages)
    result = run_cli("run", "--config", _config(tmp_path, server, site__enabled=True))
    assert result.exit_code == 0, result.output
    assert "using the RSS feed instead" not in result.output
    assert _stored(tmp_path, "2026-06-30") == ("listing", 499)
    stored = {p.id: p for p in _stored_papers(tmp_path, TUE_JUNE_30)}
    assert stored["2606.30639"].title == "Self-Evolving World Models for LLM Agent Planning"
    assert stored[other.id].title == other.title  # the noncharacter dropped, the words kept
    import xml.etree.ElementTree as ET

    ET.fromstring((tmp_path / "output/site/feed.xml").read_bytes())  # well-formed: expat refuses U+FFFE
    assert stored["2606.30639"].authors == ["Xuan Zhang", "Wenxuan Zhang", "See-Kiong Ng", "Yang Deng"]
    assert stored.keys() == feed.keys()
    for pid, paper in stored.items():
        assert (paper.title, paper.authors, paper.categories) == (
            feed[pid].title,
            feed[pid].authors,
            feed[pid].categories,
        )
        assert paper.abstract.split() == feed[pid].abstract.split()


def test_a_category_with_no_updates_today_builds_from_the_pages(tmp_path, server, run_cli, clock):
    clock.now = TUESDAY_FIRE
    papers, extras = fixture_day()
    serve_pages(server, {**fixture_pages(), "cs.GL": render_page("cs.GL", TUE_JUNE_30, papers, extras=extras)})
    result = run_cli("run", "--config", _config(tmp_path, server, arxiv__categories=[*CATEGORIES, "cs.GL"]))
    assert result.exit_code == 0, result.output
    assert _stored(tmp_path, "2026-06-30") == ("listing", 499)
    assert server.hits("/list/cs.GL/new") == 1 and not [r for r in server.requests if r.path.startswith("/rss/")]


def test_pages_dated_off_the_calendar_build_the_day_from_the_feed(tmp_path, server, run_cli, clock):
    clock.now = TUESDAY_FIRE
    serve_pages(server, listing_pages(dt.date(2026, 6, 27), _slice()))  # a Saturday
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, _feed(_slice())))
    result = run_cli("run", "--config", _config(tmp_path, server))
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if "using the RSS feed instead" in line]
    assert f"{server.url}/list/cs.AI/new: the page is dated 2026-06-27, not an arXiv listing date" in line
    assert _stored(tmp_path, "2026-06-30") == ("rss", 50)


# ----- fetching -----


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


def test_pages_of_different_dates_are_a_mismatch(server):
    serve_pages(server, {**listing_pages(TUE_JUNE_30, _slice()), "cs.CV": render_page("cs.CV", MON_SEPT_28, _slice())})
    with pytest.raises(ListingMismatch, match="the pages show different listings"):
        _fetch(server)


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
            lambda papers: render_page("cs.LG", TUE_JUNE_30, papers, counts_shown={"Cross submissions": 3}),
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
        "2026-07-04T09:00:00+09:00 Sat Asia/Seoul: weekly edition 2026-W27 (schedule.weekly_cron)",
        # Holiday Fri 07-03: no announcement on Sunday evening, so Monday's fire has nothing new.
        "2026-07-06T10:30:00+09:00 Mon Asia/Seoul: listing 2026-07-03 again, nothing new to send "
        "(arXiv announces 2026-07-07 at 2026-07-07 09:00 KST)",
        "2026-07-07T10:30:00+09:00 Tue Asia/Seoul: listing 2026-07-07 (on arXiv since 2026-07-07 09:00 KST)",
        "2026-07-08T10:30:00+09:00 Wed Asia/Seoul: listing 2026-07-08 (on arXiv since 2026-07-08 09:00 KST)",
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
