from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import os
import re
import textwrap
from importlib import resources
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from digest.cli import cli
from digest.config import load_config
from digest.models import Digest, Listing, Paper, TopicSection
from digest.pipeline import RunOptions, run_date
from digest.store import open_store
from tests.fakes.http import FakeServer, Response
from tests.fakes.smtp import FakeSMTP
from tests.fakes.telegram import FakeTelegram

FIXTURES = Path(__file__).parent / "fixtures"
RSS_CATEGORIES = "cs.AI+cs.CL+cs.CV+cs.LG"
SMALL_DAY = 50  # papers in the small real day most behaviour tests run on


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def day_feed_2026_06_30() -> bytes:
    """The real 532-paper day bundled with the package, in RSS form."""
    return gzip.decompress(resources.files("digest.data").joinpath("demo-2026-06-30.xml.gz").read_bytes())


def small_day_feed(size: int = SMALL_DAY) -> bytes:
    """The 2026-06-30 feed cut to its first `size` items: a small real day, for behaviour rather than scale."""
    feed = day_feed_2026_06_30()
    items = [m.end() for m in re.finditer(rb"</item>", feed)]
    end = feed.index(b"</channel>")
    return feed[: items[size - 1]] + b"\n" + feed[end:]


def day_papers(name: str) -> list[Paper]:
    papers, seen = [], set()
    for line in (FIXTURES / name).read_text().splitlines():
        row = json.loads(line)
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        papers.append(Paper(row["id"], row["title"], row["abstract"], row["authors"], row["categories"], "new"))
    return papers


def small_day(size: int = SMALL_DAY) -> Listing:
    """A small real day: the first `size` papers of the 2026-06-30 listing (for behaviour, not scale)."""
    return Listing(dt.date(2026, 6, 30), day_papers("day-2026-06-30.jsonl")[:size], "rss")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN", "SMTP_PASSWORD", "DIGEST_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    # A command run by an earlier test set up the "digest" logger (its own handlers, no propagation): each
    # test starts from logging as a fresh process has it, so caplog sees what the code logs.
    root = logging.getLogger("digest")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.propagate = True


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def rss_server(server):
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, small_day_feed(), {"Content-Type": "application/rss+xml"}))
    return server


@pytest.fixture
def whole_day_rss_server(server):
    """The whole 532-paper day as RSS: for tests of scale or of accuracy over every labelled paper."""
    server.route(
        f"/rss/{RSS_CATEGORIES}", Response(200, day_feed_2026_06_30(), {"Content-Type": "application/rss+xml"})
    )
    return server


def write_config(folder: Path, server_url: str = "http://127.0.0.1:9", **overrides) -> Path:
    """A config for tests: everything local, no waiting between retries."""
    config = {
        "arxiv": {
            # The RSS path; tests of the listing pages set arxiv__listing_url to the local server.
            "listing_url": None,
            "rss_url": f"{server_url}/rss/{{categories}}",
            "api_url": f"{server_url}/api/query",
            "api_delay_seconds": 0,
            "max_retries": 2,
            "timeout_seconds": 5,
            "backoff_seconds": 0.01,
            # The fixture days are months before "now": catching up from them would ask for every
            # listing since. Tests of catch-up turn it on and fix the clock.
            "catch_up_days": 0,
        },
        "log": {"file": "output/digest.log"},
        # The archive site has its own tests (tests/test_site*.py turn it on); elsewhere it would only cost time.
        "site": {"enabled": False},
    }
    for dotted, value in overrides.items():
        node = config
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


@pytest.fixture
def run_cli():
    runner = CliRunner()

    def invoke(*args: str, env: dict | None = None):
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


# ----- the delivery fakes and a built day, shared by the delivery, check, channel and fault tests -----

TOKEN = "7012345678:AAH-fake-token-for-tests_ZZ9"
SMTP_PASSWORD = "smtp-app-password-4242"
LLM_KEY = "sk-test-0123456789abcdef"
ENV = {"TELEGRAM_BOT_TOKEN": TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD}
CHATS = [-1001, -1002]
RECIPIENTS = ["a@example.com", "b@example.com"]
DATE = "2026-06-30"


@pytest.fixture
def telegram():
    with FakeTelegram(TOKEN) as fake:
        for chat in CHATS:
            fake.add_chat(chat, f"channel {chat}")
        yield fake


@pytest.fixture
def smtp():
    with FakeSMTP(SMTP_PASSWORD) as fake:
        yield fake


@pytest.fixture
def built_report(tmp_path):
    """A small real day built offline, without delivery, into tmp_path/output."""
    config = load_config(write_config(tmp_path))
    store = open_store(config)
    try:
        listing = small_day()
        run_date(config, store, RunOptions(date=listing.date, deliver=False, use_llm=False), lambda date: listing)
    finally:
        store.close()
    return tmp_path / "output" / DATE


def day_digest(n_papers=60, must=5, llm=True, site_url=None):
    """A real slice of the 2026-06-30 day, classified offline, summarized extractively (or marked as LLM)."""
    from digest.classify import OfflineClassifier, keyword_tiebreak
    from digest.config import Config
    from digest.rank import must_reads, select, topic_counts
    from digest.summarize import extractive_summary
    from tests.conftest import day_papers

    config = Config()
    papers = day_papers("day-2026-06-30.jsonl")[:n_papers]
    classifier = OfflineClassifier(config.categories, config.arxiv.categories)
    assignments = {a.paper_id: a for a in classifier.classify_all(papers)}
    chosen_ids = must_reads(papers, assignments, config.topic_names, must)
    sections = []
    for topic in select(config, papers, assignments, chosen_ids, tiebreak=keyword_tiebreak(config)):
        summary = extractive_summary(topic.name, topic.selected, topic.members, papers)
        if llm:
            summary.method = "llm"
        sections.append(TopicSection(topic.name, topic.selected, summary, len(topic.members)))
    return Digest(
        date=dt.date(2026, 6, 30),
        title="Daily Artificial Intelligence Insights : Papers",
        papers=papers,
        assignments=assignments,
        selected={p.id for s in sections for p in s.papers},
        sections=sections,
        counts=topic_counts(config, papers, assignments),
        llm_used=llm,
        must_reads=chosen_ids,
        site_url=site_url,
    )


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip()


__all__ = [
    "FIXTURES",
    "small_day",
    "fixture_bytes",
    "day_feed_2026_06_30",
    "day_papers",
    "write_config",
    "dedent",
    "os",
]
