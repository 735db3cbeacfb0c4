"""What a real arXiv day costs through the LLM path: calls, tokens and wall time against a local
OpenAI-compatible server (tests/fakes/openai_server.py) that answers after a fixed latency.

    python bench/llm_day.py [--latency 0.5] [--concurrency 4] [--batch-size 25]

The day is the bundled 2026-06-30 announcement (532 papers). "ideal" is the wall time if every wave of
`concurrency` calls took exactly the latency: (ceil(batches / concurrency) + ceil(topics / concurrency)) ×
latency. Token counts are the fake's estimates (see the fake's docstring); the summaries' completion
tokens are far lower than a real model's, whose Korean summaries run to about 1-2k tokens per topic.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digest.config import Config, LLMConfig, LogConfig, ReportConfig, StateConfig  # noqa: E402
from digest.pipeline import RunOptions, demo_fetcher, open_store, run_date  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per LLM call (default 0.5)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=25)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, FakeOpenAI(latency=args.latency) as fake:
        config = Config(
            base_dir=Path(folder),
            report=ReportConfig(output_dir=Path("output")),
            state=StateConfig(path=Path("output/digest.sqlite3")),
            log=LogConfig(file=None),
            llm=LLMConfig(base_url=fake.url, concurrency=args.concurrency, batch_size=args.batch_size),
        )
        store = open_store(config)
        started = time.perf_counter()
        result = run_date(config, store, RunOptions(deliver=False, command="bench"), demo_fetcher())
        wall = time.perf_counter() - started

        again = time.perf_counter()
        calls_before = len(fake.calls)
        run_date(config, store, RunOptions(date=result.date, deliver=False, command="bench"), demo_fetcher())
        rerun_wall, rerun_calls = time.perf_counter() - again, len(fake.calls) - calls_before

    batches = fake.count("classify")
    topics = fake.count("summarize")
    waves = math.ceil(batches / args.concurrency) + math.ceil(topics / args.concurrency)
    cls_prompt = sum(c.prompt_tokens for c in fake.calls[:calls_before] if c.purpose == "classify")
    cls_completion = sum(c.completion_tokens for c in fake.calls[:calls_before] if c.purpose == "classify")
    usage = result.usage
    print(f"papers              {result.papers}")
    print(f"calls               {usage.calls} ({batches} classify in batches of {args.batch_size}, {topics} summarize)")
    print(f"prompt tokens       {usage.prompt_tokens:,} (classify {cls_prompt:,}, summarize "
          f"{usage.prompt_tokens - cls_prompt:,})")
    print(f"completion tokens   {usage.completion_tokens:,} (classify {cls_completion:,}, summarize "
          f"{usage.completion_tokens - cls_completion:,})")
    print(f"wall time           {wall:.2f} s with {args.latency:g} s per call, {args.concurrency} in flight")
    print(f"ideal               {waves * args.latency:.2f} s ({waves} waves x {args.latency:g} s)")
    print(f"re-run              {rerun_calls} calls, {rerun_wall:.2f} s")


if __name__ == "__main__":
    main()
