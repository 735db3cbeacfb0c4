"""The archive site (`digest site`), checked on its files: pages, links, feed, escaping, incremental refresh."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.request
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest

from digest.config import Config, load_config
from digest.site import build_site
from digest.site.search import fold, shard_key, tokens
from digest.site.serve import make_server
from digest.urls import day_url
from tests.conftest import write_config
from tests.site_days import HOSTILE_TITLE, build_days, fixture_days, shared_site

DAYS = ["2026-04-21", "2026-06-30", "2026-07-01"]


@pytest.fixture(scope="module")
def folder() -> Path:
    return shared_site()


@pytest.fixture(scope="module")
def site(folder) -> Path:
    return folder / "output/site"


def report(folder: Path, day: str) -> dict:
    return json.loads((folder / "output" / day / "digest.json").read_text())


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside each element with an id."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def links(self) -> list[str]:
        return [a["href"] for t, a in self.tags if t == "a" and "href" in a]


def test_the_site_has_every_page_of_the_layout(site):
    expected = [
        "index.html",
        "search.html",
        "feed.xml",
        *(f"{d}/index.html" for d in DAYS),
        *(f"{d}/paper_{d}.png" for d in DAYS),
        "weeks/2026-W17/index.html",
        "weeks/2026-W27/index.html",
        "topics/computer-vision/index.html",
        "topics/other/index.html",
        "search/meta.json",
        "assets/site.css",
    ]
    assert [p for p in expected if not (site / p).is_file()] == []
    assert (site / f"{DAYS[0]}/paper_{DAYS[0]}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_index_links_every_day_latest_first(site):
    links = Elements((site / "index.html").read_text()).links()
    days = [link.split("/")[0] for link in links if link.endswith("/index.html") and link[:4].isdigit()]
    assert sorted(set(days), reverse=True) == DAYS[::-1]
    assert days[0] == "2026-07-01"  # the latest day comes first
    svg = (site / "index.html").read_text()
    assert '<svg class="chart"' in svg and "<title id=" in svg and "<desc id=" in svg  # the chart's alt text


def test_a_day_page_shows_every_paper_with_its_links_under_its_topic(folder, site):
    for day in DAYS:
        data = report(folder, day)
        page = Elements((site / day / "index.html").read_text())
        shown = [a["id"] for a in page.find("li", **{"class": "paper"})]
        assert sorted(shown) == sorted(p["id"] for p in data["papers"])
        links = set(page.links())
        for p in data["papers"]:
            assert f"https://arxiv.org/abs/{p['id']}" in links and f"https://arxiv.org/pdf/{p['id']}" in links


def test_a_day_page_starts_with_the_must_reads_and_shows_each_topics_synthesis(folder, site):
    data = report(folder, "2026-06-30")
    html = (site / "2026-06-30/index.html").read_text()
    text = unescape(html)
    must = html.split('<section aria-labelledby="must-h"', 1)[1].split("</section>", 1)[0]
    hrefs = [h for h in Elements(must).links()]
    ranked = sorted(data["papers"], key=lambda p: (p["topic"] == "Other", -p["importance"]))
    expected = data.get("must_reads") or [p["id"] for p in ranked[:5]]
    assert hrefs == [f"#{i if isinstance(i, str) else i['id']}" for i in expected]
    for topic, summary in data["summaries"].items():
        first_sentence = next(iter(summary["sections"].values()))[0]
        assert first_sentence[:20] in text, topic
        line = next(iter(summary["paper_lines"].values()))
        assert line[:20] in text


def test_abstracts_are_beside_the_day_page_for_the_folded_view(folder, site):
    papers = report(folder, "2026-04-21")["papers"]
    abstracts = {}
    for path in (site / "2026-04-21").glob("abs-*.json"):
        abstracts.update(json.loads(path.read_text()))
    assert set(abstracts) == {p["id"] for p in papers}
    assert all(len(text) > 100 for text in abstracts.values())


def test_week_and_topic_pages_rank_by_importance_and_link_the_day_anchors(site):
    week = Elements((site / "weeks/2026-W27/index.html").read_text()).links()
    assert any(link.startswith("../../2026-06-30/index.html#") for link in week)
    assert any(link.startswith("../../2026-07-01/index.html#") for link in week)
    html = (site / "weeks/2026-W27/index.html").read_text()
    for section in html.split('<section class="topic"')[1:]:
        scores = [int(n) for n in re.findall(r"중요도 (\d+)", section)]
        assert scores and scores == sorted(scores, reverse=True)
    topic = (site / "topics/computer-vision/index.html").read_text()
    heads = [topic.index(f'id="d-{day}"') for day in DAYS[::-1]]
    assert heads == sorted(heads)  # latest day first


def test_the_atom_feed_validates_with_one_entry_per_day(site):
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title and feed.feed.id and feed.feed.updated and feed.feed.author
    assert [e.link for e in feed.entries] == [f"https://example.org/digest/{d}/index.html" for d in DAYS[::-1]]
    for entry in feed.entries:
        assert entry.id and entry.title and entry.updated and entry.summary


def test_a_hostile_title_is_escaped_on_every_page_and_in_the_feed(site):
    raw = [p for p in site.rglob("*") if p.suffix in (".html", ".xml")]
    assert len(raw) > 10
    for path in raw:
        text = path.read_text()
        assert "<script>alert" not in text and "<img" not in text, path
    day = (site / "2026-07-01/index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Hostile &lt;img src=x onerror=&#34;alert(2)&#34;&gt; title" in day
    # In the search documents it is data, as arXiv gave it; search.js inserts it as text (test_site_browser).
    docs = "".join(p.read_text() for p in (site / "search/2026-07").glob("d*.json"))
    assert json.dumps(HOSTILE_TITLE, ensure_ascii=False) in docs


def test_search_words_are_folded_the_same_way_for_korean_and_english():
    assert fold("Müller ÉCOLE") == "muller ecole"
    assert tokens("모델을 개선한 Vision-Language 모델 of a model") == [
        "모델을",
        "개선한",
        "vision",
        "language",
        "모델",
        "model",
    ]
    assert shard_key("diffusion") == "dif" and shard_key("모델을") == "모델"


def test_a_second_build_rewrites_nothing(folder):
    config = load_config(folder / "config.yaml")
    again = build_site(config)
    assert again.written == 0 and again.days == 3


def test_a_new_day_rewrites_only_its_page_week_topics_index_search_and_feed(tmp_path):
    days = fixture_days()
    first_two = dict(list(days.items())[:2])
    config_path = build_days(tmp_path, first_two, llm=False)
    site = tmp_path / "output/site"
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    build_days(tmp_path, dict(list(days.items())[2:]), llm=False)
    changed = {
        str(p.relative_to(site))
        for p in site.rglob("*")
        if p.is_file() and before.get(p) != p.stat().st_mtime_ns and not p.name.startswith(("b", "d"))
    }
    new = report(tmp_path, "2026-07-01")
    topics = {p["topic"] for p in new["papers"]}
    slugs = {t.lower().replace(" ", "-") for t in topics}
    expected = {
        "2026-07-01/index.html",
        "2026-07-01/paper_2026-07-01.png",  # the day's chart, for Slack's image block and shared links
        *(f"2026-07-01/abs-{s}.json" for s in slugs),
        "weeks/2026-W27/index.html",
        *(f"topics/{s}/index.html" for s in slugs),
        "index.html",
        "feed.xml",
        "search/meta.json",
        "search/2026-07/.key",
        ".manifest.json",
    }
    assert changed == expected
    assert not any(
        str(p.relative_to(site)).startswith("search/2026-06/")
        for p in site.rglob("*")
        if before.get(p) != p.stat().st_mtime_ns and p.is_file()
    )
    assert config_path.exists()


def test_a_day_folder_removed_from_the_reports_leaves_the_site(tmp_path):
    build_days(tmp_path, dict(list(fixture_days().items())[:2]), llm=False)
    import shutil

    shutil.rmtree(tmp_path / "output/2026-04-21")
    result = build_site(load_config(tmp_path / "config.yaml"))
    site = tmp_path / "output/site"
    assert result.days == 1 and not (site / "2026-04-21").exists() and not (site / "weeks/2026-W17").exists()
    assert "2026-04-21" not in (site / "index.html").read_text()


def test_site_command_builds_and_says_what_it_did(tmp_path, run_cli):
    build_days(tmp_path, dict(list(fixture_days().items())[:1]), llm=False, site__enabled=False)
    assert not (tmp_path / "output/site").exists()  # site.enabled: false leaves runs alone
    result = run_cli("site", "--config", str(tmp_path / "config.yaml"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("site: 1 day, ") and (tmp_path / "output/site/2026-04-21/index.html").exists()


def test_the_preview_server_serves_the_site_on_localhost(site):
    server = make_server(site, 0)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/2026-06-30/index.html", timeout=5) as reply:
            assert reply.status == 200 and b"2026-06-30" in reply.read()
    finally:
        server.shutdown()
        server.server_close()


def test_a_site_that_cannot_be_built_does_not_fail_the_run(tmp_path, rss_server, run_cli):
    (tmp_path / "blocker").write_text("a file where the site folder should be")
    config = write_config(tmp_path, rss_server.url, site__enabled=True, site__dir="blocker/site")
    result = run_cli("run", "--config", str(config), "--no-deliver")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "output/2026-06-30/digest.md").exists()
    said = [line for line in result.output.splitlines() if line.startswith("2026-06-30: ")]
    assert len(said) == 1 and "report written to" in said[0] and "; site not refreshed (NotADirectoryError" in said[0]


def test_day_url_links_the_published_day_page_and_paper_anchor():
    assert day_url(Config(), dt.date(2026, 6, 30)) is None
    config = Config(site={"base_url": "https://me.github.io/digest"})
    assert day_url(config, dt.date(2026, 6, 30)) == "https://me.github.io/digest/2026-06-30/"
    assert day_url(config, "2026-06-30", "2606.30562") == "https://me.github.io/digest/2026-06-30/#2606.30562"


@pytest.mark.parametrize("value", ["me.github.io/digest", "javascript:alert(1)", "https://x.org/a b"])
def test_a_bad_base_url_is_a_config_error_naming_the_key(tmp_path, run_cli, value):
    (tmp_path / "config.yaml").write_text(json.dumps({"site": {"base_url": value}}))
    result = run_cli("site", "--config", str(tmp_path / "config.yaml"))
    assert result.exit_code == 2 and "site.base_url" in result.output


def test_with_a_base_url_email_and_telegram_link_the_days_page(folder):
    from digest.deliver.telegram import render_parts
    from digest.report import load_report

    day = folder / "output/2026-06-30"
    assert '<a href="https://example.org/digest/2026-06-30/"' in (day / "digest.html").read_text()
    parts = render_parts(load_report(day))
    assert any('<a href="https://example.org/digest/2026-06-30/">' in p.text for p in parts)


def test_without_a_base_url_the_messages_have_no_site_link(tmp_path):
    build_days(tmp_path, dict(list(fixture_days().items())[:1]), llm=False)
    assert "아카이브에서" not in (tmp_path / "output/2026-04-21/digest.html").read_text()


def test_the_wheel_ships_every_site_template_and_asset():
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parent.parent
    setup = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "digest.site" in setup["packages"]
    patterns = setup["package-data"]["digest.site"]
    package = root / "digest/site"
    data = [p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file() and p.suffix != ".py"]
    data = [p for p in data if "__pycache__" not in p]
    assert data and [p for p in data if not any(fnmatch.fnmatch(p, pat) for pat in patterns)] == []


def test_a_hostile_must_read_is_text_in_the_feed(tmp_path):
    build_days(tmp_path, {dt.date(2026, 7, 1): fixture_days()[dt.date(2026, 7, 1)]}, llm=False)
    path = tmp_path / "output/2026-07-01/digest.json"
    data = json.loads(path.read_text())
    hostile = next(p["id"] for p in data["papers"] if p["title"] == HOSTILE_TITLE)
    data["must_reads"] = [hostile]
    path.write_text(json.dumps(data, ensure_ascii=False))
    build_site(load_config(tmp_path / "config.yaml"))
    raw = (tmp_path / "output/site/feed.xml").read_text()
    assert "<script" not in raw and "<img" not in raw
    feed = feedparser.parse(raw.encode())
    assert not feed.bozo and HOSTILE_TITLE in feed.entries[0].summary  # shown as the text arXiv gave
    index = (tmp_path / "output/site/index.html").read_text()
    assert "<script>" not in index and "&lt;script&gt;alert(1)" in index


def test_every_page_has_the_accessibility_basics(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        html = page.read_text()
        elements = Elements(html)
        assert '<html lang="ko">' in html, page
        assert len(elements.find("main")) == 1 and len(elements.find("h1")) == 1, page
        assert elements.find("header") and elements.find("footer") and elements.find("nav"), page
        assert 'name="viewport"' in html and "http://" not in html.replace("http://www.w3.org", ""), page
        for svg in elements.find("svg"):
            assert svg["role"] == "img" and svg["aria-labelledby"], page
        loads = [a.get("src") for t, a in elements.tags if t in ("script", "img", "iframe")]
        loads += [a["href"] for t, a in elements.tags if t == "link" and a.get("rel") == "stylesheet"]
        assert all(url and "//" not in url for url in loads), page  # nothing from another host
        for field in elements.find("input"):
            assert elements.find("label", **{"for": field["id"]}), page
    css = (site / "assets/site.css").read_text()
    assert "prefers-color-scheme: dark" in css
