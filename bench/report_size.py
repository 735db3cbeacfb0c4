"""How big the report gets at real length: digest.html, the email body (email.html, kept under Gmail's ~102 KB
clipping limit by trimming each topic's every-paper list) and the whole email message, for a synthetic day
built from real papers (bench/days.py) summarized by the local OpenAI-compatible fake, which writes
real-length Korean (about 95-character sentences, 4 per part).

    python bench/report_size.py [--papers 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from click.testing import CliRunner  # noqa: E402

from bench.days import CATEGORIES, synthetic_day  # noqa: E402
from digest.cli import cli  # noqa: E402
from digest.deliver.email import build_message  # noqa: E402
from digest.render import EMAIL_HTML_BUDGET  # noqa: E402
from digest.report import load_report  # noqa: E402
from tests.conftest import write_config  # noqa: E402
from tests.fakes.http import FakeServer, Response  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402


def measure(papers: int, work: Path) -> dict[str, int]:
    day = synthetic_day(papers)
    with FakeServer() as rss, FakeOpenAI() as llm:
        rss.route(f"/rss/{CATEGORIES}", Response(200, day.feed, {"Content-Type": "application/rss+xml"}))
        config = write_config(work, rss.url, llm__base_url=llm.url, llm__timeout_seconds=30)
        result = CliRunner().invoke(
            cli, ["run", "--no-deliver", "--config", str(config)], env={"OPENAI_API_KEY": "sk-bench"}
        )
        if result.exit_code != 0:
            raise SystemExit(f"digest run failed: {result.output}")
    folder = work / "output" / day.date.isoformat()
    report = load_report(folder)
    message = build_message(report, "digest@example.com", "reader@example.com")
    return {
        "papers": papers,
        "digest.html": (folder / "digest.html").stat().st_size,
        "email body (email.html)": (folder / "email.html").stat().st_size,
        "digest.md": (folder / "digest.md").stat().st_size,
        "email message (MIME, with chart and digest.html attached)": len(message.as_bytes()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=2000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        figures = measure(args.papers, Path(tmp))
    for name, value in figures.items():
        print(f"{name:58} {value:>10,}" + (" bytes" if name != "papers" else ""))
    body = figures["email body (email.html)"]
    verdict = "ok" if body <= EMAIL_HTML_BUDGET else "OVER"
    print(f"email body vs budget {EMAIL_HTML_BUDGET:,} bytes (Gmail clips at ~102 KB): {verdict}")
    return 0 if body <= EMAIL_HTML_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
