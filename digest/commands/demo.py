"""`digest demo`: the whole pipeline, offline, on the real arXiv day bundled with the package."""

from __future__ import annotations

from digest.config import Config
from digest.pipeline import RunOptions, RunResult, run_date
from digest.progress import Reporter
from digest.sources.demo import demo_fetcher
from digest.store import open_store


def demo_config(config: Config) -> Config:
    """The demo's own folder and state under output/demo/: a later `digest run` finds the real state as
    the demo found it (on a fresh install: no date built, so nothing to catch up)."""
    demo_dir = config.output_dir / "demo"
    demo = config.model_copy(deep=True)
    demo.report.output_dir = demo_dir
    demo.state.path = demo_dir / "digest.sqlite3"
    return demo


def demo(config: Config, reporter: Reporter) -> tuple[RunResult, list[str]]:
    """Build the bundled day into output/demo/; the result and the lines that say where to look."""
    config = demo_config(config)
    store = open_store(config)
    try:
        options = RunOptions(force=True, deliver=False, use_llm=False, command="demo")
        result = run_date(config, store, options, demo_fetcher(), reporter)
    finally:
        store.close()
    folder = result.report_dir
    lines = [
        f"demo: {result.papers} papers of arXiv's {result.date} announcement (bundled, offline)",
        f"report: {folder / 'digest.md'}" if folder else "report: none",
    ]
    if folder:
        lines.append(f"also:   {folder / 'digest.html'}, digest.json, paper_{result.date}.png")
    return result, lines
