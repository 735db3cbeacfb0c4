from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import textwrap
from importlib import resources
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from digest.cli import cli
from digest.models import Listing, Paper
from tests.fakes.http import FakeServer, Response

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
