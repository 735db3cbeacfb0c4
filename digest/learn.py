"""What the digest learns of its readers: a model per audience over the papers' text, from their taps
(👍 and 🔖: more like this; 👎: fewer like this) and their own papers (`interests.papers`).

Small, fast and explainable, in the way arxiv-sanity-lite ranks by its readers' tags: every paper is a tf-idf
vector of its title, abstract and categories (digest/topic_model.py's features), weighted over the day's
papers. The model is a Rocchio profile: the centroid of what readers liked, less half the day's own centroid
(what every paper of the day shares says nothing of a taste), less the centroid of what they disliked. A
paper's score is its cosine to that profile, put on the day's scale: the day's median paper gets nothing,
its top few percent the most, and few examples weigh less than many. The liked example nearest to a paper is
the reason a pick gives ("👍한 ‘…’와 비슷"). Nothing is hidden by the model: a paper like a disliked one goes
down the ranking, never out of the report. Without examples there is no model and nothing changes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from digest.models import Paper
from digest.text import short_title
from digest.topic_model import features

MAX_LIKE = 10  # the learned relevance of a day's paper most like what readers liked (0-10, as relevance)
MAX_PENALTY = 4  # how far a paper most like a disliked one goes down: never out
FULL_CONFIDENCE = 5  # examples of a kind before the model weighs fully (one tap moves a day a little)
DAY_SHARE = 0.5  # how much of the day's common vocabulary is taken out of the profile
TOP = 99  # the percentile of the day's papers that gets the full score (the closest few)
SHORT_TITLE = 28  # characters of an example's title in a reason


@dataclass(frozen=True)
class Example:
    """A paper readers told us about: liked (👍), saved (🔖), their own (interests.papers) or disliked (👎)."""

    paper: Paper
    kind: str  # like | save | own | dislike

    @property
    def positive(self) -> bool:
        return self.kind != "dislike"


@dataclass(frozen=True)
class Learned:
    """A paper as the model sees it: its score (-MAX_PENALTY..MAX_LIKE) and why, when a liked example led."""

    like: int  # 0..MAX_LIKE: how much it resembles what readers liked
    penalty: int  # 0..MAX_PENALTY: how much it resembles what they disliked
    reason: str | None = None  # "👍한 ‘…’와 비슷" when `like` is what raised it

    @property
    def score(self) -> int:
        return self.like - self.penalty


class ReaderModel:
    """The examples of one audience, ready to score a day's papers."""

    def __init__(self, examples: list[Example]) -> None:
        self.examples = examples

    @property
    def size(self) -> int:
        return len(self.examples)

    def score(self, papers: list[Paper]) -> dict[str, Learned]:
        """Each paper's learned score on this day (papers the model has nothing to say about: no entry)."""
        if not papers or not self.examples:
            return {}
        import numpy as np  # here: only a digest with taps or papers of its own pays for it

        paper_feats = [features(p) for p in papers]
        example_feats = [features(e.paper) for e in self.examples]
        df: Counter[str] = Counter()
        for feats in (*paper_feats, *example_feats):
            df.update(feats.keys())
        n = len(paper_feats) + len(example_feats)
        # A word only one paper has links nothing; one every paper has says nothing (idf near 1).
        idf = {w: math.log((1 + n) / (1 + c)) + 1 for w, c in df.items() if c >= 2}
        day = [_unit_vector(f, idf) for f in paper_feats]
        examples = [_unit_vector(f, idf) for f in example_feats]
        liked = [i for i, e in enumerate(self.examples) if e.positive]
        disliked = [i for i, e in enumerate(self.examples) if not e.positive]
        common = _centroid(day)
        like = penalty = np.zeros(len(papers))
        if liked:
            profile = _profile([examples[i] for i in liked], common)
            scale = MAX_LIKE * min(1.0, len(liked) / FULL_CONFIDENCE)
            like = scale * _on_day_scale(np.array([_dot(v, profile) for v in day]))
        if disliked:
            profile = _profile([examples[i] for i in disliked], common)
            scale = MAX_PENALTY * min(1.0, len(disliked) / FULL_CONFIDENCE)
            penalty = scale * _on_day_scale(np.array([_dot(v, profile) for v in day]))
        learned: dict[str, Learned] = {}
        for row, paper in enumerate(papers):
            up, down = round(float(like[row])), round(float(penalty[row]))
            if up or down:
                reason = None
                if up:  # the liked example this paper is nearest to
                    best = max(liked, key=lambda i: _dot(day[row], examples[i]))
                    reason = _reason(self.examples[best])
                learned[paper.id] = Learned(up, down, reason)
        return learned


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(w, 0.0) for w, x in a.items())


def _centroid(vectors: list[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for vector in vectors:
        for w, x in vector.items():
            total[w] = total.get(w, 0.0) + x
    return {w: x / len(vectors) for w, x in total.items()}


def _profile(examples: list[dict[str, float]], common: dict[str, float]) -> dict[str, float]:
    """The examples' centroid less DAY_SHARE of the day's: what these examples share beyond any paper."""
    profile = _centroid(examples)
    for w, x in common.items():
        profile[w] = profile.get(w, 0.0) - DAY_SHARE * x
    return profile


def _on_day_scale(scores: object) -> object:
    """0 for the day's median paper and below, 1 from the TOP percentile up, linear between."""
    import numpy as np

    median, top = np.percentile(scores, 50), np.percentile(scores, TOP)
    if top <= median:
        return np.zeros_like(scores)
    return np.clip((scores - median) / (top - median), 0.0, 1.0)


def _unit_vector(feats: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vector = {w: (1 + math.log(c)) * idf[w] for w, c in feats.items() if w in idf}
    norm = math.sqrt(sum(x * x for x in vector.values())) or 1.0
    return {w: x / norm for w, x in vector.items()}


def _reason(example: Example) -> str:
    short = short_title(example.paper.title, SHORT_TITLE)
    what = {"like": "👍한", "save": "🔖한", "own": "내 논문"}[example.kind]
    return f"{what} ‘{short}’와 비슷"
