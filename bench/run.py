"""The benchmark: what a day costs through the LLM path and how much time the tool adds to the LLM's own.

    python bench/run.py [--latency 1.0] [--concurrency 4] [--batch-size 25] [--papers 1000,2000]

Each day (the bundled 2026-06-30 day, the 2026-07-01 fixture day, and synthetic days of --papers papers
made from their papers, see bench/days.py) is served as RSS from a local server and built by a real
`digest run --no-deliver` process against a local OpenAI-compatible server (tests/fakes/openai_server.py)
that answers every call after exactly --latency seconds. The figures:

- wall: the whole `digest run` process, start to exit (interpreter start and imports included);
- ideal: the LLM's own time, every wave of `concurrency` calls taking exactly the latency:
  (ceil(classification batches / concurrency) + ceil(topics / concurrency)) × latency;
- overhead: wall − ideal, i.e. everything the tool itself spends (parse, store, prompts, render, chart);
- peak memory: the process's maximum resident set size;
- cls tokens / paper: classification prompt tokens over the tokens of the papers' own titles and abstracts
  (the fake's estimator: tiktoken o200k_base if installed, else 4 ASCII characters or 1 other per token);
- re-run: `digest run --date D` of the built date, a new process, median of --repeat (no LLM call);
- `digest --help` against a bare `python -c pass`, best of --repeat + 2.

`--check` exits 1 when a figure misses its target (see TARGETS).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.days import CATEGORIES, Day, bundled_day, fixture_day, synthetic_day  # noqa: E402
from digest.sources.clean import keep_announce_types  # noqa: E402
from digest.sources.rss import parse_feed  # noqa: E402
from tests.fakes.http import FakeServer, Response  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI, estimate_tokens  # noqa: E402

TARGETS = {
    "wall / ideal": 1.15,  # on every day
    "overhead at 1000 papers (s)": 2.0,
    "re-run of a built date (s)": 1.5,
    "digest --help over python -c pass (s)": 0.3,
    "peak memory at 2000 papers (MB)": 200,
    "cls prompt tokens / paper tokens": 1.15,
}


@dataclass
class Figures:
    name: str
    papers: int = 0
    classify_calls: int = 0
    summarize_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cls_ratio: float = 0.0
    wall: float = 0.0
    ideal: float = 0.0
    peak_mb: float = 0.0
    rerun: float = 0.0
    rerun_calls: int = 0
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def overhead(self) -> float:
        return self.wall - self.ideal

    @property
    def ratio(self) -> float | None:
        return self.wall / self.ideal if self.ideal else None


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run a process to its end: wall seconds, peak RSS in MB (this process alone), its output."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} exited {process.returncode}:\n{text}")
    return wall, usage.ru_maxrss / 1024, text  # ru_maxrss is in KiB on Linux


def digest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "digest", *args]


def compile_package() -> None:
    """The package's bytecode compiled, as `pip install` leaves it. (A shell with PYTHONDONTWRITEBYTECODE set,
    as this project's CI machines have, would otherwise compile every module on every start it measures.)"""
    import compileall

    import digest

    compileall.compile_dir(str(Path(digest.__file__).parent), quiet=1)


def write_config(folder: Path, rss_url: str, llm_url: str, args: argparse.Namespace) -> Path:
    config = {
        # The bench serves each day as RSS: the listing pages (arxiv.org) stay off.
        "arxiv": {"listing_url": None, "rss_url": rss_url, "catch_up_days": 0, "max_retries": 0},
        "llm": {"base_url": llm_url, "concurrency": args.concurrency, "batch_size": args.batch_size},
        "log": {"file": "output/digest.log"},
    }
    if args.interests:
        # What a lab's channel would set: relevance then rides in every classification call.
        config["interests"] = {
            "description": "LLM inference efficiency on GPUs, Korean NLP, medical imaging",
            "keywords": ["speculative decoding", "kv cache", "quantiz*", "korean", "radiology"],
            "authors": ["Tri Dao"],
        }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


STAGE_LINE = re.compile(r" INFO digest (\w+): .*\((\d+\.\d+)s\)$")


def bench_day(day: Day, rss: FakeServer, fake: FakeOpenAI, work: Path, args: argparse.Namespace) -> Figures:
    slug = re.sub(r"\W+", "-", day.name).strip("-")
    rss.route(f"/{slug}/rss/{CATEGORIES}", Response(200, day.feed, {"Content-Type": "application/rss+xml"}))
    folder = work / slug
    folder.mkdir()
    config = write_config(folder, f"{rss.url}/{slug}/rss/{{categories}}", fake.url, args)
    papers = keep_announce_types(parse_feed(day.feed), ["new", "cross"]).papers

    first = len(fake.calls)
    wall, peak, _ = timed(digest_command("run", "--no-deliver", "--config", str(config)), folder)
    calls = [c for c in fake.calls[first:] if c.status == 200]
    figures = Figures(day.name, len(papers), wall=wall, peak_mb=peak)
    figures.classify_calls = sum(1 for c in calls if c.purpose == "classify")
    figures.summarize_calls = sum(1 for c in calls if c.purpose == "summarize")
    figures.prompt_tokens = sum(c.prompt_tokens for c in calls)
    figures.completion_tokens = sum(c.completion_tokens for c in calls)
    own = sum(estimate_tokens(f"{p.title}\n{p.abstract}") for p in papers)
    figures.cls_ratio = sum(c.prompt_tokens for c in calls if c.purpose == "classify") / max(own, 1)
    waves = math.ceil(figures.classify_calls / args.concurrency) + math.ceil(figures.summarize_calls / args.concurrency)
    figures.ideal = waves * args.latency
    log = (folder / "output/digest.log").read_text()
    figures.stages = (
        {m.group(1): float(m.group(2)) for line in log.splitlines() if (m := STAGE_LINE.search(line))}
        if args.stages
        else {}
    )

    before = len(fake.calls)
    reruns = [
        timed(digest_command("run", "--date", day.date.isoformat(), "--no-deliver", "--config", str(config)), folder)[0]
        for _ in range(args.repeat)
    ]
    figures.rerun = statistics.median(reruns)
    figures.rerun_calls = len(fake.calls) - before
    return figures


def help_overhead(repeat: int, cwd: Path) -> tuple[float, float]:
    bare = min(timed([sys.executable, "-c", "pass"], cwd)[0] for _ in range(repeat))
    helped = min(timed(digest_command("--help"), cwd)[0] for _ in range(repeat))
    return bare, helped


def table(rows: list[Figures], args: argparse.Namespace) -> str:
    head = [
        "day",
        "papers",
        "LLM calls",
        "prompt tok",
        "compl. tok",
        "cls tok/paper",
        "wall s",
        "ideal s",
        "wall/ideal",
        "overhead s",
        "peak MB",
        "re-run s",
    ]
    lines = []
    for f in rows:
        lines.append(
            [
                f.name,
                f"{f.papers}",
                f"{f.classify_calls + f.summarize_calls} ({f.classify_calls}+{f.summarize_calls})",
                f"{f.prompt_tokens:,}",
                f"{f.completion_tokens:,}",
                f"{f.cls_ratio:.2f}×",
                f"{f.wall:.2f}",
                f"{f.ideal:.2f}",
                f"{f.ratio:.3f}" if f.ratio else "—",
                f"{f.overhead:.2f}",
                f"{f.peak_mb:.0f}",
                f"{f.rerun:.2f}" + (f" ({f.rerun_calls} calls!)" if f.rerun_calls else ""),
            ]
        )
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    out = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in lines]
    return "\n".join(out)


def verdicts(rows: list[Figures], bare: float, helped: float) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for every target the figures cover."""
    found = []
    timed_rows = [f for f in rows if f.ideal]
    if timed_rows:
        worst = max(timed_rows, key=lambda f: f.ratio or 0)
        found.append(
            (
                f"wall ≤ {TARGETS['wall / ideal']} × ideal",
                f"worst {worst.ratio:.3f} ({worst.name})",
                worst.ratio <= TARGETS["wall / ideal"],
            )
        )
    for f in rows:
        if f.papers == 1000:
            found.append(
                (
                    f"overhead ≤ {TARGETS['overhead at 1000 papers (s)']:g} s at 1000 papers",
                    f"{f.overhead:.2f} s",
                    f.overhead <= TARGETS["overhead at 1000 papers (s)"],
                )
            )
    slowest = max(rows, key=lambda f: f.rerun)
    found.append(
        (
            f"re-run ≤ {TARGETS['re-run of a built date (s)']:g} s",
            f"worst {slowest.rerun:.2f} s ({slowest.name})",
            slowest.rerun <= TARGETS["re-run of a built date (s)"] and not slowest.rerun_calls,
        )
    )
    extra = helped - bare
    found.append(
        (
            f"digest --help ≤ python -c pass + {TARGETS['digest --help over python -c pass (s)']:g} s",
            f"+{extra:.3f} s ({helped:.3f} vs {bare:.3f})",
            extra <= TARGETS["digest --help over python -c pass (s)"],
        )
    )
    for f in rows:
        if f.papers == 2000:
            found.append(
                (
                    f"peak memory ≤ {TARGETS['peak memory at 2000 papers (MB)']} MB at 2000 papers",
                    f"{f.peak_mb:.0f} MB",
                    f.peak_mb <= TARGETS["peak memory at 2000 papers (MB)"],
                )
            )
    worst_tokens = max(rows, key=lambda f: f.cls_ratio)
    found.append(
        (
            f"classification prompt ≤ {TARGETS['cls prompt tokens / paper tokens']} × papers' tokens",
            f"worst {worst_tokens.cls_ratio:.3f} ({worst_tokens.name})",
            worst_tokens.cls_ratio <= TARGETS["cls prompt tokens / paper tokens"],
        )
    )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per LLM call (default 1.0)")
    parser.add_argument("--concurrency", type=int, default=4, help="llm.concurrency (default 4)")
    parser.add_argument("--batch-size", type=int, default=25, help="llm.batch_size (default 25)")
    parser.add_argument("--papers", default="1000,2000", help="sizes of the synthetic days (default 1000,2000)")
    parser.add_argument("--no-fixture-days", dest="fixture_days", action="store_false", help="skip the two real days")
    parser.add_argument("--repeat", type=int, default=3, help="re-runs per day (median) (default 3)")
    parser.add_argument("--stages", action="store_true", help="also print each day's stage times (from its log)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--interests", action="store_true", help="set `interests` (relevance in the classification calls)"
    )
    args = parser.parse_args(argv)
    compile_package()

    days = [bundled_day(), fixture_day()] if args.fixture_days else []
    days += [synthetic_day(int(n)) for n in args.papers.split(",") if n.strip()]
    rows: list[Figures] = []
    with (
        tempfile.TemporaryDirectory(prefix="digest-bench-") as tmp,
        FakeServer() as rss,
        FakeOpenAI(latency=args.latency) as fake,
    ):
        work = Path(tmp)
        bare, helped = help_overhead(args.repeat + 2, work)
        for day in days:
            rows.append(bench_day(day, rss, fake, work, args))
            print(f"  {day.name}: {rows[-1].wall:.2f} s", file=sys.stderr)

    print(
        f"llm latency {args.latency:g} s per call, concurrency {args.concurrency}, batches of {args.batch_size}; "
        f"{machine()}"
    )
    print(table(rows, args))
    if args.stages:
        for f in rows:
            print(f"{f.name}: " + ", ".join(f"{k} {v:.2f} s" for k, v in f.stages.items()))
    print()
    missed = 0
    for target, measured, met in verdicts(rows, bare, helped):
        missed += not met
        print(f"{'ok  ' if met else 'MISS'} {target}: {measured}")
    return 1 if args.check and missed else 0


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {sys.version.split()[0]}"


if __name__ == "__main__":
    sys.exit(main())
