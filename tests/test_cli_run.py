"""End to end: the real CLI against a local server that serves real arXiv feeds."""

import json
import re
import sqlite3
from pathlib import Path

from digest.config import Config
from tests.conftest import RSS_CATEGORIES, SMALL_DAY, day_feed_2026_06_30, fixture_bytes, write_config
from tests.fakes.http import Response

SAMPLE_HEADINGS = [
    "1. 주요 주제 및 테마",
    "2. 공통 키워드 및 트렌드",
    "3. 주요 내용 및 핵심 정보",
    "4. 분야별 영향 분석",
    "5. 결론 및 향후 전망",
]


def test_run_builds_the_report_in_the_sample_shape(tmp_path, rss_server, run_cli):
    config = write_config(tmp_path, rss_server.url)
    result = run_cli("run", "--config", str(config))
    assert result.exit_code == 0, result.output
    report = tmp_path / "output/2026-06-30"
    assert sorted(p.name for p in report.iterdir()) == [
        "digest.html",
        "digest.json",
        "digest.md",
        "email.html",
        "paper_2026-06-30.png",
    ]
    md = (report / "digest.md").read_text()
    lines = md.splitlines()
    assert lines[0] == (
        "# Daily Artificial Intelligence Insights : Papers![Category Distribution Graph](paper_2026-06-30.png)"
    )
    headings = [line[3:] for line in lines if line.startswith("## ")]
    assert headings[0] == "오늘의 핵심 논문"  # the must-reads come first, right after the title and chart
    topics = headings[1:]
    assert topics == [t for t in Config().topic_names if t in topics]  # config order
    assert len(topics) >= 6
    for section in md.split("\n## ")[2:]:
        assert "**요약:**" in section and "**논문별 한 줄 요약:**" in section and "**출처:**" in section
        positions = [section.index(h) for h in SAMPLE_HEADINGS]
        assert positions == sorted(positions)
        assert "LLM 미사용" in section  # the extractive summary is labelled as such
    feed_ids = set(re.findall(r"<link>https://arxiv.org/abs/([^<]+)</link>", day_feed_2026_06_30().decode()))
    linked = re.findall(r"\(https://arxiv\.org/abs/([^)]+)\)$", md, re.MULTILINE)
    assert linked and set(linked) <= feed_ids
    assert lines[-1].startswith(f"2026-06-30 · 수집 {SMALL_DAY}편 · Inference acceleration ")
    assert lines[-1].endswith("LLM 미사용")

    data = json.loads((report / "digest.json").read_text())
    assert data["date"] == "2026-06-30" and data["total"] == SMALL_DAY and len(data["papers"]) == SMALL_DAY
    assert sum(data["counts"].values()) == SMALL_DAY and "Other" in data["counts"]
    paper = data["papers"][0]
    assert {"id", "title", "categories", "announce_type", "topic", "importance", "selected"} <= set(paper)
    selected = [p for p in data["papers"] if p["selected"]]
    assert len(selected) == len(linked)
    assert "report written to" in result.output


def test_second_run_reuses_the_store(tmp_path, rss_server, run_cli):
    config = write_config(tmp_path, rss_server.url)
    assert run_cli("run", "--config", str(config)).exit_code == 0
    first = (tmp_path / "output/2026-06-30/digest.md").read_text()
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    rows_before = db.execute("SELECT count(*) FROM assignments").fetchone()[0]
    result = run_cli("run", "--config", str(config), "--date", "2026-06-30")
    assert result.exit_code == 0
    assert rss_server.hits(f"/rss/{RSS_CATEGORIES}") == 1  # the stored listing was used
    assert (tmp_path / "output/2026-06-30/digest.md").read_text() == first
    assert db.execute("SELECT count(*) FROM assignments").fetchone()[0] == rows_before == SMALL_DAY
    log = (tmp_path / "output/digest.log").read_text()
    assert f"{SMALL_DAY} papers (0 new, {SMALL_DAY} reused)" in log


def test_empty_feed_says_no_announcement_and_exits_0(tmp_path, server, run_cli):
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, fixture_bytes("rss-physics-2025-12-31-empty-holiday.xml")))
    result = run_cli("run", "--config", str(write_config(tmp_path, server.url)))
    assert result.exit_code == 0
    assert "2025-12-31: no announcement" in result.output
    assert not (tmp_path / "output/2025-12-31").exists()


def test_unreachable_feed_fails_with_one_line_and_exit_1(tmp_path, server, run_cli):
    server.route(f"/rss/{RSS_CATEGORIES}", Response(503, b"down"))
    result = run_cli("run", "--config", str(write_config(tmp_path, server.url)))
    assert result.exit_code == 1
    assert result.output.strip() == f"error: arXiv RSS feed {server.url}/rss/{RSS_CATEGORIES}: HTTP 503"
    assert server.hits(f"/rss/{RSS_CATEGORIES}") == 3  # 1 + arxiv.max_retries


def test_failure_keeps_the_previous_report_and_the_store(tmp_path, rss_server, run_cli):
    config = write_config(tmp_path, rss_server.url)
    assert run_cli("run", "--config", str(config)).exit_code == 0
    before = (tmp_path / "output/2026-06-30/digest.md").read_text()
    rss_server.route(f"/rss/{RSS_CATEGORIES}", Response(500, b"down"))
    assert run_cli("run", "--config", str(config), "--force").exit_code == 1
    assert (tmp_path / "output/2026-06-30/digest.md").read_text() == before
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    assert db.execute("SELECT count(*) FROM listing_papers WHERE date='2026-06-30'").fetchone()[0] == SMALL_DAY


def test_demo_runs_offline_in_an_empty_folder(tmp_path, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("demo")
    assert result.exit_code == 0, result.output
    assert f"report: {tmp_path / 'output/demo/2026-06-30/digest.md'}" in result.output
    assert (tmp_path / "output/demo/2026-06-30/paper_2026-06-30.png").stat().st_size > 10_000


def test_status_lists_runs(tmp_path, rss_server, run_cli):
    config = write_config(tmp_path, rss_server.url)
    run_cli("run", "--config", str(config))
    result = run_cli("status", "--config", str(config), "--last", "5")
    assert result.exit_code == 0
    assert "2026-06-30 ok" in result.output and f"{SMALL_DAY} papers" in result.output and "LLM 미사용" in result.output


def test_help_lists_the_commands(run_cli):
    result = run_cli("--help")
    for command in ("run", "demo", "status"):
        assert re.search(rf"^\s+{command}\s", result.output, re.MULTILINE)


def test_python_dash_m_works():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "digest", "--help"], capture_output=True, text=True, cwd=Path("/"))
    assert out.returncode == 0 and "demo" in out.stdout
