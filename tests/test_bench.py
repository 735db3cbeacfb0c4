"""The benchmark keeps working: a tiny run (50 synthetic papers, no LLM latency) through the real script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_runs_a_tiny_day_end_to_end():
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/run.py"),
            "--papers",
            "50",
            "--latency",
            "0",
            "--no-fixture-days",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| synthetic 50 ")]
    assert len(rows) == 1, done.stdout
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[1] == "50" and cells[2] == "10 (2+8)"  # two batches of 25, one summary per topic (8 topics)
    assert not cells[-1].endswith("calls!)")  # the re-run asked the LLM nothing
    verdicts = [line for line in done.stdout.splitlines() if line.startswith(("ok ", "MISS "))]
    assert any("re-run" in line for line in verdicts) and any("--help" in line for line in verdicts)


def test_report_size_bench_prints_the_html_and_email_sizes():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench/report_size.py"), "--papers", "120"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sizes = dict(line.rsplit(None, 2)[:2] for line in done.stdout.splitlines() if line.endswith(" bytes"))
    assert int(sizes["digest.html"].replace(",", "")) > 20_000
    assert 0 < int(sizes["email body (email.html)"].replace(",", "")) <= 90_000
    assert "email body vs budget 90,000 bytes" in done.stdout
