"""How well the offline classifier agrees with hand labels: per day and per topic, tuning days and held-out days.

    PYTHONPATH=. python bench/offline_accuracy.py

The tuning days (tests/data/topic-labels.jsonl: 2026-06-30, 2026-07-01) are the ones the keywords, weights
and the shipped training examples come from. The held-out days (tests/data/topic-labels-heldout.jsonl:
2026-04-21 cs.CV, 2026-06-24) were labelled before any classifier ran on them and are never trained on.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from digest.classify import OfflineClassifier  # noqa: E402
from digest.config import OTHER, Config  # noqa: E402
from digest.models import Paper  # noqa: E402
from digest.topic_model import EXAMPLES_FILE  # noqa: E402

DATA = ROOT / "tests/data"
FIXTURES = ROOT / "tests/fixtures"
TUNING_LABELS = DATA / "topic-labels.jsonl"
HELDOUT_LABELS = DATA / "topic-labels-heldout.jsonl"
DAY_FILES = {
    "2026-06-30": "day-2026-06-30.jsonl",
    "2026-07-01": "day-2026-07-01.jsonl",
    "2026-04-21": "day-2026-04-21-cs.CV.jsonl",
    "2026-06-24": "day-2026-06-24-slice.jsonl",
    "2026-05-13": "day-2026-05-13-slice.jsonl",
    "2026-06-09": "day-2026-06-09-slice.jsonl",
}
TUNING_DAYS = ("2026-06-30", "2026-07-01", "2026-05-13", "2026-06-09")
HELDOUT_DAYS = ("2026-04-21", "2026-06-24")


def labels(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def day_papers(day: str) -> list[Paper]:
    """A fixture day's papers in file order, each once; announce types as listed (new when not given)."""
    papers, seen = [], set()
    for line in (FIXTURES / DAY_FILES[day]).read_text().splitlines():
        row = json.loads(line)
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        papers.append(
            Paper(
                row["id"],
                row["title"],
                row["abstract"],
                row["authors"],
                row["categories"],
                row.get("announce_type", "new"),
            )
        )
    return papers


def labelled(day: str) -> list[tuple[Paper, str]]:
    """(paper, hand label) for every labelled paper of a day."""
    rows = labels(TUNING_LABELS if day in TUNING_DAYS else HELDOUT_LABELS)
    papers = {p.id: p for p in day_papers(day)}
    return [(papers[r["id"]], r["label"]) for r in rows if r["day"] == day]


@dataclass
class Score:
    right: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.accuracy:6.1%} ({self.right}/{self.total})"


@dataclass
class DayResult:
    day: str
    overall: Score
    recall: dict[str, Score]  # per true topic: how many of its papers we placed there
    precision: dict[str, Score]  # per predicted topic: how many of the papers we placed there belong


def evaluate(classifier: OfflineClassifier, pairs: list[tuple[Paper, str]], day: str = "") -> DayResult:
    predicted = [a.topic for a in classifier.classify_all([p for p, _ in pairs])]
    truths = [label for _, label in pairs]
    recall, precision = {}, {}
    for topic in sorted(set(truths) | set(predicted)):
        hits = sum(1 for t, g in zip(truths, predicted) if t == g == topic)
        if topic in truths:
            recall[topic] = Score(hits, truths.count(topic))
        if topic in predicted:
            precision[topic] = Score(hits, predicted.count(topic))
    right = sum(1 for t, g in zip(truths, predicted) if t == g)
    return DayResult(day, Score(right, len(pairs)), recall, precision)


def classifier(config: Config | None = None, **kwargs) -> OfflineClassifier:
    config = config or Config()
    return OfflineClassifier(config.categories, config.arxiv.categories, **kwargs)


def report(results: list[DayResult], topics: list[str]) -> str:
    lines = []
    header = f"{'':28}" + "".join(f"{r.day + (' *' if r.day in HELDOUT_DAYS else ''):>22}" for r in results)
    lines.append(header)
    lines.append(f"{'all topics':28}" + "".join(f"{str(r.overall):>22}" for r in results))
    lines.append("recall (share of a true topic's papers placed in it):")
    for topic in topics:
        cells = [str(r.recall[topic]) if topic in r.recall else "-" for r in results]
        lines.append(f"  {topic:26}" + "".join(f"{c:>22}" for c in cells))
    lines.append("precision (share of papers placed in a topic that belong there):")
    for topic in topics:
        cells = [str(r.precision[topic]) if topic in r.precision else "-" for r in results]
        lines.append(f"  {topic:26}" + "".join(f"{c:>22}" for c in cells))
    return "\n".join(lines)


def write_examples() -> Path:
    """Rebuild the shipped training examples from the tuning days' labels (never the held-out ones)."""
    rows = []
    for day in TUNING_DAYS:
        for paper, label in labelled(day):
            rows.append(
                {
                    "id": paper.id,
                    "day": day,
                    "topic": label,
                    "title": paper.title,
                    "abstract": paper.abstract,
                    "categories": paper.categories,
                }
            )
    path = ROOT / "digest/data" / EXAMPLES_FILE
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    return path


def main() -> None:
    if "--write-examples" in sys.argv[1:]:
        print(f"wrote {write_examples()}")
        return
    config = Config()
    clf = classifier(config)
    held = [pair for day in HELDOUT_DAYS for pair in labelled(day)]
    tuned = [pair for day in TUNING_DAYS for pair in labelled(day)]
    results = [evaluate(clf, labelled(day), day) for day in (*TUNING_DAYS, *HELDOUT_DAYS)]
    results.append(evaluate(clf, held, "held out"))
    print("Offline classifier vs hand labels (* = held out: labelled blind, never tuned or trained on)\n")
    print(report(results, [*config.topic_names, OTHER]))
    print(f"\ntuning days together:   {evaluate(clf, tuned).overall}  (in-sample: the model is trained on them)")
    for day in TUNING_DAYS:
        other = [pair for d in TUNING_DAYS if d != day for pair in labelled(d)]
        cross = classifier(config, learned_from=other, shipped=False)
        print(f"{day} learned from the other tuning days only: {evaluate(cross, labelled(day)).overall}")
    print(f"held-out days together: {evaluate(clf, held).overall}")
    keywords = classifier(config, shipped=False)
    print(f"held-out days, keywords alone (the classifier before the learned part): {evaluate(keywords, held).overall}")
    guess = {"cs.CV": "Computer Vision", "cs.CL": "LLM", "cs.AI": "General AI", "cs.LG": "Model training technique"}
    right = sum(guess.get(p.primary_category, OTHER) == label for p, label in held)
    print(f"held-out days, topic guessed from the primary arXiv category: {Score(right, len(held))}")
    papers = day_papers("2026-06-30")
    wall, cpu = time.perf_counter(), time.process_time()
    built = classifier(config)
    build_wall, build_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    built.classify_all(papers)
    print(
        f"\nspeed: building the model {build_wall:.3f} s ({build_cpu:.3f} s CPU), classifying {len(papers)} papers "
        f"{time.perf_counter() - wall:.3f} s ({time.process_time() - cpu:.3f} s CPU)"
    )
    counts = Counter(label for _, label in held)
    print("held-out labels per topic: " + ", ".join(f"{t} {n}" for t, n in counts.most_common()))


if __name__ == "__main__":
    main()
