"""bench/site.py keeps working: a tiny archive (3 days of 30 papers) through the real script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_site_bench_builds_refreshes_and_reports_every_figure():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench/site.py"), "--days", "3", "--papers", "30"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "site: 3 days, " in out and "site: 4 days, " in out  # the full build, then the refresh
    verdicts = [line for line in out.splitlines() if line.startswith(("ok ", "MISS "))]
    assert [v.split(":")[0].split(maxsplit=1)[1] for v in verdicts] == [
        "full build",
        "refresh",
        "peak memory (with workers)",
        "day page",
        "index first load",
        "search fetch",
    ]
    assert sum(line.startswith("search ") for line in out.splitlines()) == 5
