"""digest.html in a real browser (headless Chromium from Debian's packages) at a phone's width."""

import datetime as dt

import pytest

from bench.days import CATEGORIES, rss_feed
from digest.models import Paper
from tests.browser import chromium, measure
from tests.conftest import day_papers, write_config
from tests.fakes.http import FakeServer, Response
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.skipif(chromium() is None, reason="chromium is not installed (apt-get install chromium)")

LONG_TOKEN = "Hyper" + "parameter" * 9 + "Optimisation_https://example.org/" + "a" * 60


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A real slice of a day, with one title that is a single very long token, summarized by the fake
    model writing real-length Korean."""
    tmp = tmp_path_factory.mktemp("browser")
    papers = day_papers("day-2026-06-30.jsonl")[:80]
    papers.append(
        Paper("2606.99999", f"{LONG_TOKEN}: a title", "An abstract. " * 5, ["A Very-Long-Name"], ["cs.CV"], "new")
    )
    date = dt.date(2026, 6, 30)
    with FakeServer() as rss, FakeOpenAI() as llm:
        rss.route(f"/rss/{CATEGORIES}", Response(200, rss_feed(papers, date), {"Content-Type": "application/rss+xml"}))
        config = write_config(tmp, rss.url, llm__base_url=llm.url)
        from click.testing import CliRunner

        from digest.cli import cli

        result = CliRunner().invoke(
            cli, ["run", "--no-deliver", "--config", str(config)], env={"OPENAI_API_KEY": "sk-x"}
        )
        assert result.exit_code == 0, result.output
    return tmp / "output" / date.isoformat()


def test_digest_html_at_390_px_has_no_horizontal_scroll_and_no_broken_korean_word(report):
    html_text = (report / "digest.html").read_text()
    assert LONG_TOKEN[:40] in html_text and "오늘의 핵심 논문" in html_text
    found = measure(report / "digest.html", width=390)
    assert found["width"] == 390
    assert found["scrollWidth"] <= 390, found
    assert found["brokenCount"] == 0, found["broken"]


def test_email_body_at_390_px_reads_the_same_way(report):
    found = measure(report / "email.html", width=390)
    assert found["scrollWidth"] <= 390 and found["brokenCount"] == 0, found


PHONE_SCREEN = 844  # px: an iPhone 14's viewport at 390 px wide


@pytest.fixture(scope="module")
def whole_day(tmp_path_factory):
    """The whole bundled day (532 papers, every topic) summarized by the fake model writing real-length Korean."""
    from click.testing import CliRunner

    from digest.cli import cli
    from tests.conftest import day_feed_2026_06_30

    tmp = tmp_path_factory.mktemp("whole-day")
    with FakeServer() as rss, FakeOpenAI() as llm:
        rss.route(f"/rss/{CATEGORIES}", Response(200, day_feed_2026_06_30(), {"Content-Type": "application/rss+xml"}))
        config = write_config(tmp, rss.url, llm__base_url=llm.url)
        result = CliRunner().invoke(
            cli, ["run", "--no-deliver", "--config", str(config)], env={"OPENAI_API_KEY": "sk-x"}
        )
        assert result.exit_code == 0, result.output
    return tmp / "output" / "2026-06-30"


def test_the_email_of_a_whole_real_day_is_at_most_ten_phone_screens(whole_day):
    page = (whole_day / "email.html").read_text()
    assert page.count("▍") == 8 and "첨부한 <strong>digest.html</strong>" in page  # every topic, and the rest attached
    found = measure(whole_day / "email.html", width=390)
    assert found["scrollWidth"] <= 390 and found["brokenCount"] == 0, found
    screens = found["scrollHeight"] / PHONE_SCREEN
    assert screens <= 10, f"{found['scrollHeight']} px = {screens:.1f} screens"
    whole = measure(whole_day / "digest.html", width=390)  # the attachment: the whole day, many screens
    assert whole["scrollHeight"] > 3 * found["scrollHeight"]
