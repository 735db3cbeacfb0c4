"""What a re-run of a built date costs against starting the program: `digest run --date D` of a date built
through the LLM path (every answer stored, so no LLM call), against `digest --help`, each a new process.

    python bench/rerun.py [--repeat 7]

Prints the median wall time of each, their ratio, and whether the re-run is within 6× `digest --help`
(issue 21's target). The day is the bundled 2026-06-30 day (532 papers), built once against the local
OpenAI-compatible fake (tests/fakes/openai_server.py) with no latency.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.days import CATEGORIES, bundled_day  # noqa: E402
from bench.run import compile_package, digest_command, timed, write_config  # noqa: E402
from tests.fakes.http import FakeServer, Response  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402

TARGET = 6.0  # a re-run within this many `digest --help`


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    compile_package()
    day = bundled_day()
    settings = argparse.Namespace(concurrency=4, batch_size=25, interests=False)
    with tempfile.TemporaryDirectory() as tmp, FakeServer() as rss, FakeOpenAI() as fake:
        work = Path(tmp)
        rss.route(f"/rss/{CATEGORIES}", Response(200, day.feed, {"Content-Type": "application/rss+xml"}))
        config = str(write_config(work, f"{rss.url}/rss/{{categories}}", fake.url, settings))
        timed(digest_command("run", "--no-deliver", "--config", config), work)
        built_calls = len(fake.calls)
        rerun = [
            timed(digest_command("run", "--date", day.date.isoformat(), "--no-deliver", "--config", config), work)[0]
            for _ in range(args.repeat)
        ]
        helped = [timed(digest_command("--help"), work)[0] for _ in range(args.repeat)]
        calls = len(fake.calls) - built_calls
    r, h = statistics.median(rerun), statistics.median(helped)
    print(f"day: {day.name}, built with {built_calls} LLM calls; re-runs made {calls} calls")
    print(f"re-run of the built date: median {r:.3f} s (min {min(rerun):.3f}, max {max(rerun):.3f}, n={args.repeat})")
    print(f"digest --help:            median {h:.3f} s (min {min(helped):.3f}, max {max(helped):.3f})")
    verdict = "met" if r <= TARGET * h and calls == 0 else "MISSED"
    print(f"ratio: {r / h:.1f}× digest --help (target ≤ {TARGET:g}×): {verdict}")


if __name__ == "__main__":
    main()
