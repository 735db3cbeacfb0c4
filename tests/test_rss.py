import datetime as dt

import pytest

from digest.errors import FetchError
from digest.sources.rss import fetch_listing, parse_feed, split_authors
from tests.conftest import day_feed_2026_06_30, fixture_bytes
from tests.fakes.http import Response


def test_real_feed_yields_every_item_with_clean_fields():
    listing = parse_feed(fixture_bytes("rss-quant-ph-2025-04-28.xml"))
    assert listing.date == dt.date(2025, 4, 28)
    assert len(listing.papers) == 81
    types = [p.announce_type for p in listing.papers]
    assert (types.count("new"), types.count("cross"), types.count("replace"), types.count("replace-cross")) == (
        40,
        10,
        22,
        9,
    )
    first = listing.papers[0]
    assert "v" not in first.id and first.id.count(".") == 1
    assert not first.abstract.startswith("arXiv:") and "Announce Type" not in first.abstract
    assert first.categories[0] == "quant-ph"
    assert all(p.abstract and p.title and p.authors for p in listing.papers)


def test_abstract_keeps_latex_and_unescaped_symbols():
    listing = parse_feed(fixture_bytes("rss-quant-ph-2025-04-28.xml"))
    assert any("$0< \\delta \\ll 1$" in p.abstract for p in listing.papers)


def test_multi_category_feed_date_and_cross_lists():
    listing = parse_feed(fixture_bytes("rss-multi-csLG-csAI-csCL-statML-2026-09-24-excerpt.xml"))
    assert listing.date == dt.date(2026, 9, 24)
    assert [p.announce_type for p in listing.papers] == ["new", "new", "cross", "replace"]


def test_empty_holiday_feed_is_a_date_without_papers():
    listing = parse_feed(fixture_bytes("rss-physics-2025-12-31-empty-holiday.xml"))
    assert listing.date == dt.date(2025, 12, 31)
    assert listing.papers == []


def test_atom_variant():
    listing = parse_feed(fixture_bytes("atom-cs.LG-2026-09-25-excerpt.xml"))
    assert listing.date == dt.date(2026, 9, 25)
    assert [p.id for p in listing.papers][:2] == ["2609.28553", "2402.10149"]
    assert listing.papers[1].categories == ["hep-ph", "cs.LG", "hep-ex"]
    assert listing.papers[1].announce_type == "cross"


def test_legacy_rdf_feed():
    listing = parse_feed(fixture_bytes("rss-legacy-rdf-hep-ex-2018-05-23-excerpt.xml"))
    assert [p.id for p in listing.papers] == ["1805.08875", "1805.09166", "1805.06430"]
    assert listing.papers[0].title.startswith("Measurement of Transverse Single Spin Asymmetries")
    assert listing.papers[1].announce_type == "cross"
    assert "<a" not in listing.papers[0].authors[0]


def test_full_day_is_deduplicated_with_authors_split():
    listing = parse_feed(day_feed_2026_06_30())
    assert len(listing.papers) == 532
    assert len({p.id for p in listing.papers}) == 532


def test_entities_in_abstracts_are_decoded_once():
    papers = {p.id: p for p in parse_feed(day_feed_2026_06_30()).papers}
    assert "question-and-answer (Q&A) credibility" in papers["2606.29734"].abstract
    assert "&amp;" not in "".join(p.abstract + p.title for p in papers.values())


def test_authors_split_outside_parentheses():
    assert split_authors("Ann Lee (MIT, CSAIL), Bo Kim, Cy Park (KAIST)") == [
        "Ann Lee (MIT, CSAIL)",
        "Bo Kim",
        "Cy Park (KAIST)",
    ]


@pytest.mark.parametrize("content", [b"", b"<html><body>Service Unavailable</body></html>", b"\x00\x01garbage"])
def test_malformed_feed_is_an_error(content):
    with pytest.raises(FetchError, match="malformed feed"):
        parse_feed(content)


def test_fetch_retries_server_errors_then_succeeds(server):
    server.route(
        "/rss/cs.AI",
        [
            Response(503, b"busy"),
            Response(502, b"bad gateway"),
            Response(200, fixture_bytes("rss-multi-csLG-csAI-csCL-statML-2026-09-24-excerpt.xml")),
        ],
    )
    listing = fetch_listing(f"{server.url}/rss/cs.AI", max_retries=3, backoff=0.01)
    assert len(listing.papers) == 4
    assert server.hits("/rss/cs.AI") == 3


def test_fetch_gives_up_with_the_url_and_status(server):
    server.route("/rss/cs.AI", Response(500, b"down"))
    with pytest.raises(FetchError) as err:
        fetch_listing(f"{server.url}/rss/cs.AI", max_retries=2, backoff=0.01)
    assert f"{server.url}/rss/cs.AI" in str(err.value) and "HTTP 500" in str(err.value)
    assert server.hits("/rss/cs.AI") == 3


def test_bad_category_is_not_retried(server):
    error_feed = b"<rss><channel><title>Feed error for query: cs.XX</title></channel></rss>"
    server.route("/rss/cs.XX", Response(400, error_feed))
    with pytest.raises(FetchError, match="HTTP 400"):
        fetch_listing(f"{server.url}/rss/cs.XX", max_retries=3, backoff=0.01)
    assert server.hits("/rss/cs.XX") == 1


def test_malformed_body_is_retried_then_reported(server):
    server.route("/rss/cs.AI", Response(200, b"<html>maintenance</html>"))
    with pytest.raises(FetchError, match="malformed feed"):
        fetch_listing(f"{server.url}/rss/cs.AI", max_retries=1, backoff=0.01)
    assert server.hits("/rss/cs.AI") == 2
