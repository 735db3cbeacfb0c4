"""Does the digest learn its reader? A simulated reader taps the real fixture days, then the held-out days are
ranked with and without what it taught.

    PYTHONPATH=. python bench/learning.py [--interest REGEX]

The reader has a hidden interest (default: robots, embodied AI and agents, told by the title). On each of ten
training days it sees what the digest shows (the must-reads and every topic's featured papers, ranked by the
offline classifier and what it learned so far, exactly as `digest run` ranks them: digest/readers.py,
digest/rank.py), taps 👍 on every shown paper it likes and 👎 on two it does not. Then, on held-out days it never
tapped, precision@5 of the must-reads and the share of featured papers it likes, learned against no taps.

The fixtures hold six real announcement days (two whole, three category slices, one cs.CV day); the larger ones
are cut into consecutive parts (a paper keeps its id, title and abstract) to make twelve "days": ten to train
on, the last two (2026-07-01) held out.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.offline_accuracy import day_papers  # noqa: E402
from digest.classify import OfflineClassifier, keyword_tiebreak  # noqa: E402
from digest.config import Config  # noqa: E402
from digest.interests import Interests  # noqa: E402
from digest.learn import Example, ReaderModel  # noqa: E402
from digest.models import Paper  # noqa: E402
from digest.rank import must_reads, select  # noqa: E402
from digest.readers import Readers  # noqa: E402

INTEREST = r"\b(?:robot\w*|embodied|agent\w*|agentic|manipulat\w*|locomot\w*|humanoid|vision-language-action|VLA)\b"
# (fixture day, how many consecutive parts it is cut into), oldest first; the last entry's parts are held out.
DAYS = [
    ("2026-04-21", 2),
    ("2026-05-13", 1),
    ("2026-06-09", 1),
    ("2026-06-24", 1),
    ("2026-06-30", 5),
    ("2026-07-01", 2),
]
HELD_OUT = 2
DISLIKES_PER_DAY = 2


def parts() -> list[tuple[str, list[Paper]]]:
    found = []
    for day, cut in DAYS:
        papers = day_papers(day)
        size = -(-len(papers) // cut)
        for n in range(cut):
            found.append((f"{day}{'' if cut == 1 else f' {n + 1}/{cut}'}", papers[n * size : (n + 1) * size]))
    return found


def shown(config: Config, papers: list[Paper], model: ReaderModel | None) -> tuple[list[str], list[str]]:
    """The must-reads and the featured papers a day of `papers` shows, ranked with `model` (None: no taps)."""
    classifier = OfflineClassifier(config.categories, config.arxiv.categories)
    assignments = {a.paper_id: a for a in classifier.classify_all(papers)}
    interests = Interests.from_config(config.interests)
    readers = Readers.score({"": model} if model else {}, papers, interests)
    relevance = readers.relevance({})
    must = must_reads(papers, assignments, config.topic_names, config.report.must_reads, relevance=relevance)
    chosen = select(config, papers, assignments, must, relevance, keyword_tiebreak(config))
    featured = [p.id for c in chosen for p in c.selected]  # offline, the featured papers are the pick
    return must, featured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interest", default=INTEREST, help="the reader's hidden interest, a regex over titles")
    args = parser.parse_args()
    likes = re.compile(args.interest, re.IGNORECASE)
    config = Config()
    days = parts()
    training, held_out = days[:-HELD_OUT], days[-HELD_OUT:]
    rng = random.Random(7)
    examples: list[Example] = []
    print(f"reader's hidden interest (titles): {args.interest}")
    print(f"{'training day':22} {'papers':>6} {'shown':>6} {'👍':>4} {'👎':>4}  must-reads liked")
    started = time.perf_counter()
    for name, papers in training:
        model = ReaderModel(examples) if examples else None
        must, featured = shown(config, papers, model)
        seen = list(dict.fromkeys([*must, *featured]))
        by_id = {p.id: p for p in papers}
        liked = [i for i in seen if likes.search(by_id[i].title)]
        others = [i for i in seen if i not in liked]
        disliked = rng.sample(others, min(DISLIKES_PER_DAY, len(others)))
        examples += [Example(by_id[i], "like") for i in liked] + [Example(by_id[i], "dislike") for i in disliked]
        hits = sum(1 for i in must if likes.search(by_id[i].title))
        print(f"{name:22} {len(papers):>6} {len(seen):>6} {len(liked):>4} {len(disliked):>4}  {hits}/{len(must)}")
    model = ReaderModel(examples)
    print(f"model: {model.size} examples ({time.perf_counter() - started:.1f}s for the ten days)")
    print()
    print(f"{'held-out day':22} {'of interest':>11}  {'P@5 must-reads':>22}  {'featured liked':>24}")
    totals = {"none": [0, 0, 0, 0], "learned": [0, 0, 0, 0]}
    for name, papers in held_out:
        by_id = {p.id: p for p in papers}
        interesting = sum(1 for p in papers if likes.search(p.title))
        cells = []
        for label, used in (("none", None), ("learned", model)):
            must, featured = shown(config, papers, used)
            must_hits = sum(1 for i in must[:5] if likes.search(by_id[i].title))
            featured_hits = sum(1 for i in featured if likes.search(by_id[i].title))
            totals[label] = [
                a + b for a, b in zip(totals[label], (must_hits, len(must[:5]), featured_hits, len(featured)))
            ]
            cells.append((must_hits, len(must[:5]), featured_hits, len(featured)))
        (m0, n0, f0, g0), (m1, n1, f1, g1) = cells
        print(
            f"{name:22} {interesting:>4}/{len(papers):<6}  {m0}/{n0} → {m1}/{n1} ({m0 / n0:.0%} → {m1 / n1:.0%})"
            f"  {f0}/{g0} → {f1}/{g1} ({f0 / g0:.0%} → {f1 / g1:.0%})"
        )
    m0, n0, f0, g0 = totals["none"]
    m1, n1, f1, g1 = totals["learned"]
    print()
    print(f"precision@5 of the must-reads: no taps {m0 / n0:.0%}, learned {m1 / n1:.0%} ({(m1 - m0) / n0:+.0%} points)")
    print(
        f"featured papers the reader likes: no taps {f0 / g0:.0%}, learned {f1 / g1:.0%} "
        f"({f1 / max(f0, 1):.1f}× as many)"
    )


if __name__ == "__main__":
    main()
