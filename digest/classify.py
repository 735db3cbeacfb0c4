"""Topic classification: the offline classifier (keywords, phrases, arXiv hints).

The LLM classifier builds on the same Assignment type; papers it cannot place fall back to this one.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass

from digest.config import OTHER, TopicConfig
from digest.models import Assignment, Paper

TITLE_WEIGHT = 3.0
ABSTRACT_WEIGHT = 1.0
PHRASE_BONUS = 1.5  # a multi-word phrase says more than one word
MAX_HITS_PER_KEYWORD = 3
PRIMARY_HINT = 2.5
SECONDARY_HINT = 1.0
MIN_SCORE = 2.5
OUTSIDE_FOCUS = 0.4  # below this, a paper is "Other"

# Words that say a paper contributes something concrete; used for the offline importance score.
_SUBSTANCE = re.compile(
    r"\b(state-of-the-art|outperform\w*|we release|open-source\w*|code is available|github|"
    r"benchmark\w*|significantly|novel|first)\b",
    re.IGNORECASE,
)


_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    """Lowercase word tokens; hyphens and punctuation separate words ("kv-cache" == "kv cache")."""
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class _Keyword:
    words: tuple[str, ...]
    stem: bool  # the last word is a prefix ("quantiz*")
    weight: float

    def matches_at(self, toks: list[str], i: int) -> bool:
        n = len(self.words)
        if i + n > len(toks):
            return False
        for k, word in enumerate(self.words):
            tok = toks[i + k]
            if not (tok.startswith(word) if self.stem and k == n - 1 else tok == word):
                return False
        return True


@dataclass(frozen=True)
class _CompiledTopic:
    """A topic's keywords indexed by first word (or its first three letters, for one-word stems)."""

    name: str
    keywords: list[_Keyword]
    by_word: dict[str, list[int]]
    by_prefix: dict[str, list[int]]
    hints: frozenset[str]
    weight: float

    @classmethod
    def build(cls, topic: TopicConfig) -> _CompiledTopic:
        keywords, by_word, by_prefix = [], {}, {}
        for raw in topic.keywords:
            words = tuple(tokens(raw))
            if not words:
                continue
            stem = raw.strip().endswith("*")
            index = len(keywords)
            keywords.append(_Keyword(words, stem, PHRASE_BONUS if len(words) > 1 else 1.0))
            if stem and len(words) == 1:
                by_prefix.setdefault(words[0][:3], []).append(index)
            else:
                by_word.setdefault(words[0], []).append(index)
        return cls(topic.name, keywords, by_word, by_prefix, frozenset(c.lower() for c in topic.arxiv),
                   topic.weight)

    def hits(self, toks: list[str]) -> dict[int, int]:
        found: dict[int, int] = {}
        for i, tok in enumerate(toks):
            for index in [*self.by_word.get(tok, ()), *self.by_prefix.get(tok[:3], ())]:
                if self.keywords[index].matches_at(toks, i):
                    found[index] = found.get(index, 0) + 1
        return found

    def keyword_score(self, title: list[str], abstract: list[str]) -> float:
        score = sum(TITLE_WEIGHT * self.keywords[k].weight for k in self.hits(title))
        score += sum(ABSTRACT_WEIGHT * self.keywords[k].weight * min(n, MAX_HITS_PER_KEYWORD) ** 0.5
                     for k, n in self.hits(abstract).items())
        return score


class OfflineClassifier:
    """Scores each paper against every topic's keywords and arXiv hints; the highest weighted score wins.

    `focus_categories` are the configured arXiv categories: papers cross-listed from elsewhere score lower.
    """

    method = "offline"

    def __init__(self, topics: list[TopicConfig], focus_categories: list[str] = ()):
        self.topics = [_CompiledTopic.build(t) for t in topics]
        self.focus = frozenset(c.lower() for c in focus_categories)

    def scores(self, paper: Paper) -> dict[str, float]:
        cats = [c.lower() for c in paper.categories]
        # A cross-list from outside the configured arXiv categories must make a stronger case.
        focus = 1.0 if not self.focus or self.focus.intersection(cats) else OUTSIDE_FOCUS
        title, abstract = tokens(paper.title), tokens(paper.abstract)
        result: dict[str, float] = {}
        for topic in self.topics:
            score = topic.keyword_score(title, abstract)
            if cats and cats[0] in topic.hints:
                score += PRIMARY_HINT
            score += SECONDARY_HINT * sum(1 for c in cats[1:] if c in topic.hints)
            result[topic.name] = score * topic.weight * focus
        return result

    def topic_for(self, paper: Paper) -> tuple[str, float]:
        scores = self.scores(paper)
        # Ties go to the topic listed first in config.
        best = max(scores, key=lambda name: (scores[name], -list(scores).index(name)), default=OTHER)
        if scores.get(best, 0.0) < MIN_SCORE:
            return OTHER, 0.0
        return best, scores[best]

    def classify(self, paper: Paper) -> Assignment:
        topic, score = self.topic_for(paper)
        return Assignment(paper.id, topic, offline_importance(paper, score), self.method)

    def classify_all(self, papers: list[Paper]) -> list[Assignment]:
        return [self.classify(p) for p in papers]


def offline_importance(paper: Paper, topic_score: float) -> int:
    """A deterministic 1-10 score: topical fit, concrete contributions, a new submission, a full abstract."""
    score = 3.0
    score += min(3.0, math.log1p(topic_score) * 1.1)
    score += min(2.0, 0.5 * len(_SUBSTANCE.findall(paper.abstract)))
    score += 1.0 if paper.announce_type == "new" else 0.0
    score += 1.0 if len(paper.abstract) > 900 else 0.0
    return max(1, min(10, round(score)))


def setup_key(topics: list[TopicConfig], method: str, extra: str = "") -> str:
    """Identifies what produced stored assignments, so a change of topics or method recomputes them."""
    payload = json.dumps([t.model_dump() for t in topics], sort_keys=True) + method + extra
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
