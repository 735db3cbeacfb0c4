"""Three real arXiv days (slices) run through the pipeline with the LLM fake: the archive site's test data."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

from digest import pipeline
from digest.config import load_config
from digest.models import Listing, Paper
from digest.store import open_store
from tests.conftest import FIXTURES, day_papers, write_config
from tests.fakes.openai_server import FakeOpenAI

HOSTILE_TITLE = '<script>alert(1)</script> Hostile <img src=x onerror="alert(2)"> title'
PAPERS_PER_DAY = 40


def _cv_day() -> list[Paper]:
    papers = []
    for line in (FIXTURES / "day-2026-04-21-cs.CV-first60.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["announce_type"] in ("new", "cross"):
            papers.append(
                Paper(row["id"], row["title"], row["abstract"], row["authors"], row["categories"], row["announce_type"])
            )
    return papers


def fixture_days() -> dict[dt.date, list[Paper]]:
    """2026-04-21 (cs.CV), 2026-06-30 and 2026-07-01: the first PAPERS_PER_DAY papers of each real day.
    One paper of 2026-07-01 gets a hostile title, as if arXiv had served it."""
    days = {
        dt.date(2026, 4, 21): _cv_day()[:PAPERS_PER_DAY],
        dt.date(2026, 6, 30): day_papers("day-2026-06-30.jsonl")[:PAPERS_PER_DAY],
        dt.date(2026, 7, 1): day_papers("day-2026-07-01.jsonl")[:PAPERS_PER_DAY],
    }
    last = days[dt.date(2026, 7, 1)]
    last[3] = replace(last[3], title=HOSTILE_TITLE)
    return days


def build_days(folder: Path, days: dict[dt.date, list[Paper]], *, llm: bool = True, **overrides) -> Path:
    """Run the pipeline (no delivery) for each day in folder; the site is refreshed after each run.
    Returns the config path."""
    with FakeOpenAI() as fake:
        settings = {
            "site__enabled": True,
            "llm__backoff_seconds": 0.01,
            "llm__max_retries": 2,
            "llm__timeout_seconds": 10,
            **overrides,
        }
        if llm:
            settings["llm__base_url"] = fake.url
        config_path = write_config(folder, **settings)
        config = load_config(config_path)
        store = open_store(config)
        try:
            for date, papers in days.items():
                listing = Listing(date, papers, "api")
                options = pipeline.RunOptions(date=date, deliver=False, use_llm=llm, command="backfill")
                result = pipeline.run_date(config, store, options, lambda _date, listing=listing: listing)
                assert result.status == "ok", result.message
        finally:
            store.close()
    return config_path


_SHARED: list[Path] = []


def shared_site() -> Path:
    """The three fixture days built once per test session (with site.base_url set); returns the folder."""
    if not _SHARED:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="site-days-"))
        atexit.register(shutil.rmtree, folder, True)
        build_days(folder, fixture_days(), site__base_url="https://example.org/digest/")
        _SHARED.append(folder)
    return _SHARED[0]
