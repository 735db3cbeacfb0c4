"""Topic classification: the offline classifier (keywords and arXiv hints plus a model learned from labelled
papers) and the LLM classifier.

The LLM classifier builds on the same Assignment type; papers it cannot place fall back to the offline one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from digest.config import OTHER, TopicConfig
from digest.errors import LLMError
from digest.ids import answer_id
from digest.models import REFUSED, Assignment, LLMUsage, Paper
from digest.topic_model import (
    MIN_EXAMPLES_PER_TOPIC,
    CentroidModel,
    examples_fingerprint,
    shipped_examples,
    tokens,
    trained,
)

if TYPE_CHECKING:
    import datetime as dt

    from digest.config import Config
    from digest.llm import LLM, LLMCallError
    from digest.prompts import ClassifyAnswer
    from digest.store import Store

TITLE_WEIGHT = 3.0
ABSTRACT_WEIGHT = 1.0
PHRASE_BONUS = 1.5  # a multi-word phrase says more than one word
MAX_HITS_PER_KEYWORD = 3
PRIMARY_HINT = 2.5
SECONDARY_HINT = 1.0
MIN_SCORE = 2.5
OUTSIDE_FOCUS = 0.4  # below this, a paper is "Other"
# How much the keyword score (as log1p) adds to the learned model's cosine. Chosen by 5-fold cross-validation
# on the tuning days' labels (bench/offline_accuracy.py); the held-out days played no part.
RULE_WEIGHT = 0.025
# Per-topic offsets added to the combined score: they trade recall between topics the learned model over- or
# under-predicts. Fitted the same way (5-fold cross-validation on the tuning days; nested, they lift it from
# 0.798 to 0.815); topics not named here get none.
CALIBRATION = {
    "Inference acceleration": -0.025,
    "Computer Vision": -0.005,
    "LLM": -0.005,
    "General AI": -0.005,
    "Reinforcement Learning": -0.01,
    "AI in Healthcare": 0.02,
    "Multimodal": 0.0,
    "Model training technique": -0.01,
    OTHER: 0.025,
}
# Bump when the offline classifier's behaviour changes, so stored offline assignments are made again.
OFFLINE_VERSION = "keywords+centroids-2"
# The store's LLM-labelled papers join the training data once there are this many (fewer is noise), up to a cap
# that keeps building the model well under a second.
MIN_STORED_EXAMPLES = 50
MAX_STORED_EXAMPLES = 2000

# Words that say a paper contributes something concrete; used for the offline importance score.
_SUBSTANCE = re.compile(
    r"\b(state-of-the-art|outperform\w*|we release|open-source\w*|code is available|github|"
    r"benchmark\w*|significantly|novel|first)\b",
    re.IGNORECASE,
)


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
        return cls(topic.name, keywords, by_word, by_prefix, frozenset(c.lower() for c in topic.arxiv), topic.weight)

    def keyword_score(self, title_hits: dict[int, int], abstract_hits: dict[int, int]) -> float:
        """The score from this topic's keyword hits (keyword index -> count) in the title and the abstract."""
        score = sum(TITLE_WEIGHT * self.keywords[k].weight for k in title_hits)
        score += sum(
            ABSTRACT_WEIGHT * self.keywords[k].weight * min(n, MAX_HITS_PER_KEYWORD) ** 0.5
            for k, n in abstract_hits.items()
        )
        return score


class _KeywordIndex:
    """Every topic's keywords in one index, so a paper's words are looked up once rather than once per topic."""

    def __init__(self, topics: list[_CompiledTopic]) -> None:
        self.topics = topics
        self.by_word: dict[str, list[tuple[int, int]]] = {}
        self.by_prefix: dict[str, list[tuple[int, int]]] = {}
        # A one-word keyword found by its word has matched already: only phrases and stems are checked further.
        self.single: dict[str, list[tuple[int, int]]] = {}
        for t, topic in enumerate(topics):
            for word, indexes in topic.by_word.items():
                for k in indexes:
                    alone = len(topic.keywords[k].words) == 1 and not topic.keywords[k].stem
                    (self.single if alone else self.by_word).setdefault(word, []).append((t, k))
            for prefix, indexes in topic.by_prefix.items():
                self.by_prefix.setdefault(prefix, []).extend((t, k) for k in indexes)

    def hits(self, toks: list[str]) -> list[dict[int, int]]:
        """Per topic: keyword index -> how many times it matched."""
        found: list[dict[int, int]] = [{} for _ in self.topics]
        single, by_word, by_prefix = self.single, self.by_word, self.by_prefix
        for i, tok in enumerate(toks):
            for t, k in single.get(tok, ()):
                found[t][k] = found[t].get(k, 0) + 1
            for entries in (by_word.get(tok), by_prefix.get(tok[:3])):
                for t, k in entries or ():
                    if self.topics[t].keywords[k].matches_at(toks, i):
                        found[t][k] = found[t].get(k, 0) + 1
        return found


class OfflineClassifier:
    """Keywords and arXiv hints, plus tf-idf centroids learned from labelled papers; the best sum wins.

    `focus_categories` are the configured arXiv categories: papers cross-listed from elsewhere score lower.
    `learned_from` adds labelled papers to the shipped ones (the store's LLM assignments of earlier days).
    The learned part is used only when every configured topic has enough labelled papers (custom topics
    start with keywords alone until the LLM has labelled some of their papers); `learned` says whether it is.
    """

    method = "offline"

    def __init__(
        self,
        topics: list[TopicConfig],
        focus_categories: list[str] = (),
        learned_from: list[tuple[Paper, str]] = (),
        *,
        shipped: bool = True,
    ) -> None:
        self.topics = [_CompiledTopic.build(t) for t in topics]
        self.index = _KeywordIndex(self.topics)
        self.focus = frozenset(c.lower() for c in focus_categories)
        names = {t.name for t in topics} | {OTHER}
        self._extra = [(p, t) for p, t in learned_from if t in names]
        self._shipped = shipped
        examples = [*(shipped_examples() if shipped else ()), *self._extra]
        # Whether the learned part is used is known from the labels alone; the model itself is trained on first
        # use (most of a second), which a run whose papers are all classified already never pays.
        labels = Counter(topic for _, topic in examples)
        self.learned = bool(examples) and all(labels[t.name] >= MIN_EXAMPLES_PER_TOPIC for t in topics)
        self.fingerprint = OFFLINE_VERSION + ("|" + examples_fingerprint(examples) if self.learned else "|keywords")

    @functools.cached_property
    def model(self) -> CentroidModel | None:
        # Shipped examples of topics this config lacks still shape the word weights; their centroids are never
        # scored (only configured topics and Other are).
        return trained(self._extra, shipped=self._shipped) if self.learned else None

    def scores(self, paper: Paper) -> dict[str, float]:
        """Each topic's keyword and arXiv-hint score (0 when nothing matches)."""
        cats = [c.lower() for c in paper.categories]
        # A cross-list from outside the configured arXiv categories must make a stronger case.
        focus = 1.0 if not self.focus or self.focus.intersection(cats) else OUTSIDE_FOCUS
        title_hits = self.index.hits(tokens(paper.title))
        abstract_hits = self.index.hits(tokens(paper.abstract))
        result: dict[str, float] = {}
        for t, topic in enumerate(self.topics):
            score = topic.keyword_score(title_hits[t], abstract_hits[t])
            if cats and cats[0] in topic.hints:
                score += PRIMARY_HINT
            score += SECONDARY_HINT * sum(1 for c in cats[1:] if c in topic.hints)
            result[topic.name] = score * topic.weight * focus
        return result

    def topic_for(self, paper: Paper) -> tuple[str, float]:
        """The chosen topic and its keyword score (which the importance builds on)."""
        scores = self.scores(paper)
        if self.model is not None:
            similarity = self.model.similarities(paper)
            combined = {
                name: similarity.get(name, 0.0)
                + RULE_WEIGHT * math.log1p(scores.get(name, 0.0))
                + CALIBRATION.get(name, 0.0)
                for name in [*scores, OTHER]
            }
            best = max(combined, key=combined.__getitem__)  # the first of equals: config order
            return best, scores.get(best, 0.0)
        # Ties go to the topic listed first in config.
        best = max(scores, key=scores.__getitem__, default=OTHER)
        if scores.get(best, 0.0) < MIN_SCORE:
            return OTHER, 0.0
        return best, scores[best]

    def classify(self, paper: Paper) -> Assignment:
        topic, score = self.topic_for(paper)
        return Assignment(paper.id, topic, offline_importance(paper, score), self.method)

    def classify_all(self, papers: list[Paper]) -> list[Assignment]:
        return [self.classify(p) for p in papers]


def offline_classifier(config: Config, store: Store, date: dt.date) -> OfflineClassifier:
    """The offline classifier for a listing date: it also learns from the LLM's topics of earlier dates."""
    stored = store.llm_examples(before=date, limit=MAX_STORED_EXAMPLES)
    learned_from = stored if len(stored) >= MIN_STORED_EXAMPLES else []
    return OfflineClassifier(config.categories, config.arxiv.categories, learned_from)


def keyword_tiebreak(config: Config) -> Callable[[Paper, str], float]:
    """How rank.select orders papers of equal importance within a topic: by the keywords' fit to that topic
    (offline_rank). Keywords only: the learned model is not needed to break ties, and costs a training."""
    keywords = OfflineClassifier(config.categories, config.arxiv.categories, shipped=False)
    return lambda paper, topic: offline_rank(paper, keywords.scores(paper).get(topic, 0.0))


def offline_importance(paper: Paper, topic_score: float) -> int:
    """A deterministic 1-10 score: topical fit, concrete contributions, a new submission, a full abstract."""
    return max(1, min(10, round(offline_rank(paper, topic_score))))


def offline_rank(paper: Paper, topic_score: float) -> float:
    """offline_importance before rounding: it also orders papers the LLM gave the same importance."""
    score = 3.0
    score += min(3.0, math.log1p(topic_score) * 1.1)
    score += min(2.0, 0.5 * len(_SUBSTANCE.findall(paper.abstract)))
    score += 1.0 if paper.announce_type == "new" else 0.0
    score += 1.0 if len(paper.abstract) > 900 else 0.0
    return score


def setup_key(topics: list[TopicConfig], method: str, extra: str = "") -> str:
    """Identifies what produced stored assignments, so a change of topics or method recomputes them."""
    payload = json.dumps([t.model_dump() for t in topics], sort_keys=True) + method + extra
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class BatchResult:
    """One batch's assignments, and for each LLM-made one the cache key of the answer that made it."""

    assignments: list[Assignment]
    hashes: dict[str, str] = field(default_factory=dict)


# Answer-level failures one paper's content can cause (after the call's own retries): the batch is split in
# halves to find that paper, instead of failing the day. HTTP and connection errors are the server's.
SPLITTABLE = frozenset({"filtered", "invalid", "empty", "refused", "tool_calls", "too_large", "cut"})
# More refused papers than this share of the day (and at least MIN_REFUSED_LIMIT) is a content filter that
# refuses the day, not a paper: the run stops instead of classifying the day offline one refusal at a time.
REFUSED_SHARE = 0.02
MIN_REFUSED_LIMIT = 5
# How words some models write for a score are read ("importance": "high"): plainly meant, so kept.
_LEVELS = {"very high": 9, "high": 8, "medium": 5, "moderate": 5, "low": 2, "very low": 1}


def read_score(value: object, low: int, high: int) -> int | None:
    """A score as a model wrote it, read the way it was plainly meant: 7.5 -> 8, "7" -> 7, "high" -> 8,
    clamped to low..high; None for anything else (a missing field, a list, a sentence)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _LEVELS:
            return max(low, min(high, _LEVELS[text]))
        try:
            value = float(text) if len(text) <= 20 else None
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return max(low, min(high, math.floor(value + 0.5)))


@dataclass
class _Batch:
    """What one batch has so far: answers, the answers' cache keys, and why a paper fell back."""

    label: str
    carry: LLMUsage = field(default_factory=LLMUsage)  # the cost of failed asks, for the next answer to count
    found: dict[str, Assignment] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    asked: set[tuple[str, ...]] = field(default_factory=set)

    def open(self, papers: list[Paper]) -> list[Paper]:
        return [p for p in papers if p.id not in self.found and p.id not in self.notes]


class LLMClassifier:
    """Batches of `batch_size` papers, up to `concurrency` calls in flight, one structured answer per batch.

    Each paper goes out with its arXiv id and must come back with it. The answer's items are read one by
    one: unknown ids are ignored, a score written as 7.5 or "high" is read as meant, and papers the answer
    leaves out or that no item answers readably are asked again in smaller batches, up to `max_retries`
    rounds. A batch that fails in a way one paper's content can cause (a content filter refusing it, answers
    that never validate, an answer cut at the output limit) is split in halves down to that paper; a paper the
    server refuses, or that never gets an answer, gets the offline classifier's topic as "offline-fallback",
    with a note saying why. `refused` collects the papers the server refused (their summaries leave them out).
    """

    method = "llm"

    def __init__(
        self,
        llm: LLM,
        topics: list[TopicConfig],
        fallback: Callable[[], OfflineClassifier],
        *,
        batch_size: int,
        concurrency: int,
        max_retries: int,
        interests: tuple[str, ...] = (),
        refused: set[str] | None = None,
    ) -> None:
        from digest.prompts import classify_schema_model

        self.llm = llm
        self.topics = topics
        self.fallback = fallback
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.interests = interests  # Interests.prompt_lines(): when set, each answer item carries relevance
        self.schema = classify_schema_model([t.name for t in topics], with_relevance=bool(interests))
        self._names = {name.casefold(): name for name in [*(t.name for t in topics), OTHER]}
        self.refused = refused if refused is not None else set()
        self._refuse_limit = MIN_REFUSED_LIMIT
        self._lock = threading.Lock()

    def classify_all(
        self, papers: list[Paper], on_batch: Callable[[BatchResult], None] | None = None
    ) -> list[Assignment]:
        """Classify every paper; `on_batch` sees each finished batch (to store it at once).

        When a batch fails for good, the batches in flight finish (and are reported), the rest are not
        started, and the first LLMError is raised.
        """
        from digest.llm import in_parallel

        self._refuse_limit = max(MIN_REFUSED_LIMIT, math.ceil(REFUSED_SHARE * len(papers)))
        batches = [papers[i : i + self.batch_size] for i in range(0, len(papers), self.batch_size)]
        done: list[Assignment] = []

        def finished(_: int, result: BatchResult) -> None:
            done.extend(result.assignments)
            if on_batch is not None:
                on_batch(result)

        jobs = [functools.partial(self._batch, n, len(batches), batch) for n, batch in enumerate(batches, 1)]
        in_parallel(jobs, self.concurrency, finished)
        return done

    def _batch(self, number: int, total: int, papers: list[Paper]) -> BatchResult:
        batch = _Batch(f"batch {number}/{total}")
        self._settle(papers, batch.label, batch)
        pending, size = batch.open(papers), len(papers)
        for round_ in range(1, self.max_retries + 1):
            if not pending:
                break
            size = max(1, min(len(pending), math.ceil(size / 2)))
            for start in range(0, len(pending), size):
                chunk = pending[start : start + size]
                self._settle(chunk, f"{batch.label} re-ask {round_} ({len(chunk)} papers)", batch)
            pending = batch.open(pending)
        for paper in pending:
            batch.notes[paper.id] = f"no readable answer for this paper in {self.max_retries + 1} asks"
        left = [p for p in papers if p.id not in batch.found]
        fallback = {
            a.paper_id: Assignment(a.paper_id, a.topic, a.importance, "offline-fallback", note=batch.notes[a.paper_id])
            for a in (self.fallback().classify_all(left) if left else [])  # trained only when needed
        }
        return BatchResult([batch.found.get(p.id) or fallback[p.id] for p in papers], batch.hashes)

    # ----- asking, and splitting what one paper's content makes fail -----

    def _settle(self, papers: list[Paper], label: str, batch: _Batch) -> None:
        """Ask about `papers`; when the answer fails in a way one paper can cause, look for that paper."""
        from digest.llm import LLMCallError

        try:
            self._ask(papers, label, batch)
        except LLMCallError as exc:
            if exc.outcome not in SPLITTABLE:
                raise
            batch.carry.add(exc.spent)
            self._split(papers, batch, exc)

    def _split(self, papers: list[Paper], batch: _Batch, error: LLMCallError) -> None:
        """`papers` failed with `error`: ask its halves, and go on into the half that fails. Both halves
        failing the same way is the server, not one paper (the error is raised), except for a content
        filter, which can refuse a paper in each. An answer cut at the output limit is split once."""
        from digest.llm import LLMCallError

        if len(papers) == 1:
            if error.outcome == "cut":
                raise error
            self._give_up(papers[0], error, batch)
            return
        middle = (len(papers) + 1) // 2
        failed: list[tuple[list[Paper], LLMCallError]] = []
        for half in (papers[:middle], papers[middle:]):
            try:
                self._ask(half, f"{batch.label} split ({len(half)} papers)", batch)
            except LLMCallError as exc:
                if exc.outcome not in SPLITTABLE or (exc.outcome == "cut" and error.outcome == "cut"):
                    raise
                batch.carry.add(exc.spent)
                failed.append((half, exc))
        if len(failed) == 2 and any(exc.outcome != "filtered" for _, exc in failed):
            raise next(exc for _, exc in failed if exc.outcome != "filtered")
        for half, exc in failed:
            self._split(half, batch, exc)

    def _give_up(self, paper: Paper, error: LLMCallError, batch: _Batch) -> None:
        """One paper the LLM cannot be made to answer: the offline classifier's topic, with the reason."""
        if error.outcome != "filtered":
            batch.notes[paper.id] = f"the LLM's answers for this paper could not be read: {error.reason}"
            return
        batch.notes[paper.id] = f"{REFUSED} (content filter): {error.reason}"
        with self._lock:
            self.refused.add(paper.id)
            count = len(self.refused)
        if count > self._refuse_limit:
            raise LLMError(
                f"LLM classify: the server's content filter refused {count} papers (more than {self._refuse_limit}"
                f" of this day's): it refuses the day's papers, not one — check the filter of the deployment "
                f"(the last: {error.reason})"
            )

    def _ask(self, papers: list[Paper], label: str, batch: _Batch) -> None:
        from digest.prompts import CLASSIFY_SCHEMA_NAME, ClassifyAnswer, classify_messages

        ids = tuple(p.id for p in papers)
        answer = self.llm.ask(
            "classify",
            label,
            classify_messages(self.topics, papers, self.interests),
            self.schema,
            CLASSIFY_SCHEMA_NAME,
            parse=ClassifyAnswer,
            reuse=ids not in batch.asked,
            carry=batch.carry,
        )
        batch.asked.add(ids)
        for assignment in self._accept(answer.value, papers, batch.found):
            batch.found[assignment.paper_id] = assignment
            batch.hashes[assignment.paper_id] = answer.input_hash

    def _accept(self, answer: ClassifyAnswer, sent: list[Paper], found: dict[str, Assignment]) -> list[Assignment]:
        """The answer's readable items that name a paper we sent (not yet answered) and a known topic."""
        wanted = {p.id for p in sent} - set(found)
        accepted: dict[str, Assignment] = {}
        for item in answer.papers:
            assignment = self._read_item(item)
            if assignment and assignment.paper_id in wanted and assignment.paper_id not in accepted:
                accepted[assignment.paper_id] = assignment
        return list(accepted.values())

    def _read_item(self, item: object) -> Assignment | None:
        """One answer item as an assignment, or None when it cannot be read (that paper is asked again)."""
        if not isinstance(item, dict):
            return None
        raw_id, raw_topic = item.get("id"), item.get("topic")
        if not isinstance(raw_id, str) or not isinstance(raw_topic, str) or len(raw_id) > 100 or len(raw_topic) > 200:
            return None
        topic = self._names.get(raw_topic.strip().casefold())
        importance = read_score(item.get("importance"), 1, 10)
        relevance = read_score(item.get("relevance"), 0, 10) if self.interests else None
        if topic is None or importance is None or (self.interests and relevance is None):
            return None
        return Assignment(answer_id(raw_id), topic, importance, self.method, relevance)
