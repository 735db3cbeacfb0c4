"""What a real arXiv day costs through the LLM path: the real fixture days only (the bundled 2026-06-30
day, 532 papers, and 2026-07-01, 301 papers) against the local OpenAI-compatible fake with a fixed latency.
Prints papers, calls, prompt and completion tokens, wall time and the ideal (waves × latency).

    python bench/llm_day.py [--latency 0.5] [--concurrency 4] [--batch-size 25]

The same measurement as bench/run.py without the synthetic days; see that script for the details.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--papers", "", *sys.argv[1:]]))
