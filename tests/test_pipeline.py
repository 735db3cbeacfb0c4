"""The pipeline as a library: one date built from a small real day, offline, against a real SQLite store."""

import json

from digest.config import load_config
from digest.pipeline import RunOptions, run_date
from digest.store import open_store
from tests.conftest import small_day, write_config


def _build(tmp_path, **overrides) -> dict:
    config = load_config(write_config(tmp_path, **overrides))
    listing = small_day()
    store = open_store(config)
    try:
        options = RunOptions(date=listing.date, deliver=False, use_llm=False)
        result = run_date(config, store, options, lambda date: listing)
    finally:
        store.close()
    return json.loads((result.report_dir / "digest.json").read_text(encoding="utf-8"))


def test_a_smaller_selection_gets_a_summary_written_for_it(tmp_path):
    first = _build(tmp_path, report__max_papers_per_category=5)
    assert any(len(s["selected"]) > 2 for s in first["summaries"].values())

    again = _build(tmp_path, report__max_papers_per_category=2)

    for name, summary in again["summaries"].items():
        assert len(summary["selected"]) <= 2
        # The summary's lines and its "chose N papers" sentence are about the papers the report lists.
        assert set(summary["paper_lines"]) == set(summary["selected"]), name
        assert f"{len(summary['selected'])}편을 골랐습니다" in " ".join(summary["sections"]["결론 및 향후 전망"])
