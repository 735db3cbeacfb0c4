"""`digest demo`: the whole pipeline, offline, on the real arXiv day bundled with the package, into
output/demo/ with its own state, archive site and config (so `--config output/demo/config.yaml` shows it)."""

from __future__ import annotations

import yaml

from digest.config import Config
from digest.pipeline import RunOptions, RunResult, run_date
from digest.plugins import channels
from digest.progress import Reporter
from digest.site import build_site
from digest.sources.demo import demo_fetcher
from digest.store import open_store

DEMO_CONFIG = "config.yaml"  # written into the demo's folder


def demo_hint(config: Config) -> str | None:
    """For `digest status` and `digest site` when the real state is empty: where the demo's is, if any."""
    demo_file = demo_config(config).base_dir / DEMO_CONFIG
    if not demo_file.is_file():
        return None
    return f"the demo keeps its own state and site: add --config {demo_file} to see them"


def demo_config(config: Config) -> Config:
    """The demo's own folder, state and site under output/demo/: a later `digest run` finds the real state as
    the demo found it (on a fresh install: no date built, so nothing to catch up)."""
    demo_dir = config.output_dir / "demo"
    demo = config.model_copy(deep=True)
    demo.base_dir = demo_dir
    demo.report.output_dir = demo_dir
    demo.state.path = demo_dir / "digest.sqlite3"
    demo.site.dir = demo_dir / "site"
    demo.log.file = None
    return demo


def demo(config: Config, reporter: Reporter) -> tuple[RunResult, list[str]]:
    """Build the bundled day and its archive site into output/demo/; the result and the lines that say where
    to look and what to do next."""
    demo = demo_config(config)
    store = open_store(demo)
    try:
        options = RunOptions(force=True, deliver=False, use_llm=False, command="demo")
        result = run_date(demo, store, options, demo_fetcher(), reporter)
        site = build_site(demo, store)
    finally:
        store.checkpoint_and_close()
    demo_file = demo.base_dir / DEMO_CONFIG
    _write_demo_config(demo, demo_file)
    folder = result.report_dir
    lines = [f"demo: {result.papers} papers of arXiv's {result.date} announcement (bundled, offline, no key)"]
    if folder:
        lines += [
            f"report: {folder / 'digest.md'}",
            f"also:   {folder / 'digest.html'} (every paper), digest.json, paper_{result.date}.png",
        ]
    lines += [
        f"site:   {site.site_dir / 'index.html'} ({site.days} day)",
        f"        preview it: digest site --serve --config {demo_file}",
        "next:   your own digest every morning: README, '매일 아침 내 텔레그램으로' (digest check, then digest run)",
    ]
    return result, lines


def _write_demo_config(demo: Config, path: object) -> None:
    """The demo's settings as a config file, paths relative to its folder and every channel off, so that
    `digest status`, `digest site --serve` and `digest run --date 2026-06-30` work on the demo's state."""
    data = demo.model_dump(mode="json", exclude={"base_dir"}, exclude_defaults=True)
    data.setdefault("report", {})["output_dir"] = "."
    data.setdefault("state", {})["path"] = "digest.sqlite3"
    data.setdefault("site", {})["dir"] = "site"
    data.setdefault("log", {})["file"] = None
    # The demo never delivers: every channel this config names is switched off.
    delivery = data.get("delivery", {})
    for name in [*delivery, *channels()]:
        if name in delivery:
            delivery[name]["enabled"] = False
    text = "# The demo's own settings (written by `digest demo`): its reports, state and site are in this folder.\n"
    path.write_text(text + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
