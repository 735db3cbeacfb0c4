"""The learned half of the offline classifier: tf-idf nearest centroids over labelled papers.

Each labelled paper becomes a vector of its title and abstract words (title words count twice, once as
themselves and once marked as title words) and its arXiv categories, weighted by tf-idf and scaled to
length 1. A topic's centroid is the mean of its papers' vectors; a new paper's similarity to a topic is the
cosine to that centroid. Training is counting, so it is fast and deterministic and can take in the store's
LLM-labelled papers on every run.

The shipped examples (`digest/data/topic-examples.jsonl.gz`) are the 1,222 hand-labelled papers of the tuning
days (tests/data/topic-labels.jsonl: 2026-06-30, 2026-07-01 and slices of 2026-05-13 and 2026-06-09);
`bench/offline_accuracy.py --write-examples` rebuilds the file. The held-out days are never in it.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from digest.models import Paper

if TYPE_CHECKING:
    import numpy as np

EXAMPLES_FILE = "topic-examples.jsonl.gz"
MIN_DF = 2  # a word seen in one labelled paper only says more about that paper than about its topic
MIN_EXAMPLES_PER_TOPIC = 5  # fewer and a centroid is one paper's quirks

# Frequent words that say nothing about a topic; dropping them keeps the vectors short.
_STOP = frozenset(
    "a an the of and or for to in on with by from as at is are be this that we our these those it its which "
    "via into using based can such than then also not their has have been more most new while both over under".split()
)


_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lowercase word tokens; hyphens and punctuation separate words ("kv-cache" == "kv cache")."""
    return _TOKEN.findall(text.lower())


def _words(text: str) -> list[str]:
    return [w for w in tokens(text) if w not in _STOP and not w.isdigit()]


def features(paper: Paper) -> Counter[str]:
    """Word counts of the title and abstract, title words again as `t:word`, and the arXiv categories."""
    title = _words(paper.title)
    counts = Counter(_words(paper.abstract))
    counts.update(title)
    counts.update("t:" + w for w in title)
    if paper.categories:
        counts["c1:" + paper.categories[0].lower()] += 1
        counts.update("c:" + c.lower() for c in paper.categories[1:])
    return counts


@dataclass(frozen=True)
class CentroidModel:
    idf: dict[str, float]
    topics: list[str]
    index: dict[str, int]  # word -> row of `matrix`
    matrix: np.ndarray  # words x topics: the unit-length centroids as columns
    counts: dict[str, int]  # topic -> labelled papers behind its centroid

    @classmethod
    def train(cls, examples: Iterable[tuple[Paper, str]], *, shipped: bool = False) -> CentroidModel:
        """Trained on `examples`, after the shipped ones when `shipped` (their features are computed once)."""
        import numpy as np  # here, not at import: a run that never trains (a re-run) never pays for numpy

        labelled = [*(_shipped_features() if shipped else ()), *((features(p), topic) for p, topic in examples)]
        df: Counter[str] = Counter()
        for feats, _ in labelled:
            df.update(feats.keys())
        n = len(labelled)
        idf = {w: math.log((1 + n) / (1 + c)) + 1 for w, c in df.items() if c >= MIN_DF}
        sums: dict[str, dict[str, float]] = {}
        counts: Counter[str] = Counter()
        for feats, topic in labelled:
            total = sums.setdefault(topic, {})
            for w, x in _unit_vector(feats, idf).items():
                total[w] = total.get(w, 0.0) + x
            counts[topic] += 1
        topics = list(sums)
        index = {w: i for i, w in enumerate(idf)}
        matrix = np.zeros((len(index), len(topics)))
        for k, topic in enumerate(topics):
            for w, x in sums[topic].items():
                matrix[index[w], k] = x
        norms = np.linalg.norm(matrix, axis=0)
        matrix /= np.where(norms > 0, norms, 1.0)
        return cls(idf, topics, index, matrix, dict(counts))

    def covers(self, topics: Sequence[str]) -> bool:
        """Whether every one of these topics has enough labelled papers for a centroid worth trusting."""
        return all(self.counts.get(t, 0) >= MIN_EXAMPLES_PER_TOPIC for t in topics)

    def similarities(self, paper: Paper) -> dict[str, float]:
        """The cosine of the paper to each topic's centroid."""
        import numpy as np

        vector = _unit_vector(features(paper), self.idf)
        rows = [self.index[w] for w in vector]
        cosines = np.fromiter(vector.values(), float, len(rows)) @ self.matrix[rows]
        return dict(zip(self.topics, cosines.tolist()))


def trained(examples: Iterable[tuple[Paper, str]], *, shipped: bool = False) -> CentroidModel:
    """`CentroidModel.train`, remembered for the last few sets of examples: a scheduler or a backfill trains a
    set once, not once per run (training on the shipped papers alone takes most of a second)."""
    key = tuple((p.id, p.title, p.abstract, tuple(p.categories), topic) for p, topic in examples)
    return _trained(key, shipped)


@functools.lru_cache(maxsize=4)
def _trained(key: tuple[tuple[str, str, str, tuple[str, ...], str], ...], shipped: bool) -> CentroidModel:
    examples = ((Paper(id_, title, text, [], list(cats), "new"), topic) for id_, title, text, cats, topic in key)
    return CentroidModel.train(examples, shipped=shipped)


def _unit_vector(feats: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vector = {w: (1 + math.log(c)) * idf[w] for w, c in feats.items() if w in idf}
    norm = math.sqrt(sum(x * x for x in vector.values())) or 1.0
    return {w: x / norm for w, x in vector.items()}


@functools.cache
def shipped_examples() -> tuple[tuple[Paper, str], ...]:
    """The hand-labelled papers bundled with the package, as (paper, topic)."""
    raw = gzip.decompress(resources.files("digest.data").joinpath(EXAMPLES_FILE).read_bytes())
    rows = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
    return tuple((Paper(r["id"], r["title"], r["abstract"], [], r["categories"], "new"), r["topic"]) for r in rows)


@functools.cache
def _shipped_features() -> tuple[tuple[Counter[str], str], ...]:
    return tuple((features(paper), topic) for paper, topic in shipped_examples())


def examples_fingerprint(examples: Sequence[tuple[Paper, str]]) -> str:
    """Changes whenever the papers or their topics do, so stored assignments made from other ones are redone."""
    digest = hashlib.sha256()
    for paper, topic in examples:
        digest.update(f"{paper.id}\t{topic}\n".encode())
    return f"{len(examples)}:{digest.hexdigest()[:12]}"
