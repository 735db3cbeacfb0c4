"""What a day costs against each way real LLM servers answer (issue 22): the bundled 2026-06-30 day built by
the real CLI (`digest run --no-deliver`, in process) against the local OpenAI-compatible fake in each mode.

    python bench/llm_modes.py [--papers 532] [--modes openai,think-tags,...]

Per mode: the calls the server saw (and how many failed), prompt / completion tokens (completion includes
the reasoning tokens, as servers bill them), the reasoning tokens, and the line the user sees (the report's
LLM footer, or the error line). Then the bundled day's cost on the default model (gpt-6-luna, $0.10 / $0.50 per
million input / output tokens) at reasoning_effort low (the default) and medium (the model's own default).
The fake's reasoning tokens per answer token by effort (tests/fakes/openai_server.py
REASONING_PER_ANSWER_TOKEN) are an assumption, documented there: no provider publishes the ratio.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from click.testing import CliRunner  # noqa: E402

from digest.cli import cli  # noqa: E402
from digest.pipeline import keep_announce_types  # noqa: E402
from digest.sources.rss import parse_feed  # noqa: E402
from tests.conftest import RSS_CATEGORIES, small_day_feed, write_config  # noqa: E402
from tests.fakes.http import FakeServer, Response  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402

PRICE_IN, PRICE_OUT = 0.10, 0.50  # gpt-6-luna, dollars per million tokens (README "Cost of a day")


def modes(refused_id: str) -> dict[str, tuple[dict, dict, list[tuple]]]:
    """mode -> (the fake's settings, config overrides, scripted faults)."""
    return {
        "openai (json_schema, effort low)": ({}, {}, []),
        "effort medium": ({}, {"llm__reasoning_effort": "medium"}, []),
        # Local servers: the model's thinking is written out (and counted as output), none is hidden.
        "think-tags (llama.cpp, LM Studio)": ({"think": "tags", "default_effort": None}, {}, []),
        "think-open (template opened <think>)": ({"think": "open", "default_effort": None}, {}, []),
        "answer in reasoning_content (vLLM)": ({"answer_in": "reasoning_content", "default_effort": None}, {}, []),
        "Gemini list errors, json_schema refused": (
            {"error_shape": "gemini", "refuse_formats": ("json_schema",)},
            {},
            [],
        ),
        "LM Studio string errors, json_schema refused": (
            {"error_shape": "lmstudio", "refuse_formats": ("json_schema",)},
            {},
            [],
        ),
        "content filter, HTTP 400 (Azure)": ({"content_filter": refused_id}, {}, []),
        "content filter, finish_reason": ({"content_filter": refused_id, "filter_style": "finish"}, {}, []),
        "json_validate_failed every 4th (Groq)": ({"validate_fail_every": 4}, {}, []),
        "length cut (a batch, a summary)": (
            {},
            {},
            [
                ("truncated", {"times": 1, "purpose": "classify"}),
                ("truncated", {"purpose": "summarize", "match": "후보"}),
            ],
        ),
        "insufficient_quota": ({"quota_exhausted": True}, {}, []),
    }


def run_mode(feed: bytes, work: Path, settings: dict, overrides: dict, faults: list[tuple]) -> dict:
    with FakeServer() as rss, FakeOpenAI(**settings) as fake:
        rss.route(f"/rss/{RSS_CATEGORIES}", Response(200, feed, {"Content-Type": "application/rss+xml"}))
        for kind, params in faults:
            fake.fail(kind, **params)
        config = write_config(
            work, rss.url, llm__base_url=fake.url, llm__backoff_seconds=0.01, llm__timeout_seconds=30, **overrides
        )
        result = CliRunner().invoke(cli, ["run", "--no-deliver", "--config", str(config)], env={"OPENAI_API_KEY": "sk"})
        prompt, completion = fake.tokens()
        figures = {
            "calls": len(fake.calls),
            "failed": sum(1 for c in fake.calls if c.status != 200 or c.finish not in ("stop", None)),
            "prompt": prompt,
            "completion": completion,
            "reasoning": fake.reasoning(),
        }
    reports = list((work / "output").glob("20*/digest.md"))
    if result.exit_code == 0 and reports:
        footer = reports[0].read_text().rstrip().splitlines()[-1]
        figures["line"] = re.search(r"LLM \S+: .*", footer).group(0)  # the footer's LLM part
    else:
        figures["line"] = next((line for line in result.output.splitlines() if line.startswith("error:")), "?")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=532, help="the bundled day's first N papers (532: all)")
    parser.add_argument("--modes", default="", help="comma-separated start of mode names (default: all)")
    args = parser.parse_args(argv)
    feed = small_day_feed(args.papers)
    papers = keep_announce_types(parse_feed(feed), ["new", "cross"]).papers
    chosen = {
        name: spec
        for name, spec in modes(papers[len(papers) // 2].id).items()
        if not args.modes or any(name.startswith(m.strip()) for m in args.modes.split(","))
    }
    print(f"{len(papers)} papers; ceil(N/25) = {math.ceil(len(papers) / 25)} classification calls")
    print(f"{'mode':46} {'calls':>5} {'fail':>4} {'prompt':>9} {'completion':>10} {'reasoning':>9}  what the user sees")
    results = {}
    for name, (settings, overrides, faults) in chosen.items():
        with tempfile.TemporaryDirectory() as tmp:
            f = results[name] = run_mode(feed, Path(tmp), settings, overrides, faults)
        print(
            f"{name:46} {f['calls']:>5} {f['failed']:>4} {f['prompt']:>9,} {f['completion']:>10,} "
            f"{f['reasoning']:>9,}  {f['line']}"
        )
    low, medium = results.get("openai (json_schema, effort low)"), results.get("effort medium")
    if low and medium:
        for label, f in (("low", low), ("medium", medium)):
            cost = f["prompt"] / 1e6 * PRICE_IN + f["completion"] / 1e6 * PRICE_OUT
            print(f"gpt-6-luna at reasoning_effort {label:6}: ${cost:.4f} a day ({f['reasoning']:,} reasoning tokens)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
