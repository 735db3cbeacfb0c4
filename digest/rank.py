"""Ranking, in one place: which papers each topic features (select), the day's must-reads (오늘의 핵심 논문)
a reader who reads nothing else should see, the counts per topic, and what an audience that wants only some
topics sees (for_topics).

Importance decides, plus relevance to `interests` when they are set (a followed author's paper always makes
the must-reads).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from digest.config import OTHER, Config
from digest.models import Assignment, Digest, Paper, audience_key

PER_TOPIC = 2  # a sensible spread: no topic takes more than this while others have candidates
MAX_FOLLOWED = 5  # interests.max_followed's default


@dataclass(frozen=True)
class TopicChoice:
    """One topic going into the summarize stage."""

    name: str
    selected: list[Paper]  # the ranking's pick (must-reads of the topic included)
    members: list[Paper]  # every paper of the topic
    candidates: list[Paper] = field(default_factory=list)  # the ranking's top few, best first (LLM picks)
    required: list[str] = field(default_factory=list)  # ids that must stay featured (the topic's must-reads)

    def offered(self, picks: bool) -> list[Paper]:
        """What the summary is asked about: the candidates when the summarizer picks among them, else the
        selected."""
        return self.candidates if picks and len(self.candidates) > len(self.selected) else self.selected


def must_reads(
    papers: list[Paper],
    assignments: dict[str, Assignment],
    topics: list[str],
    count: int,
    per_topic: int = PER_TOPIC,
    relevance: dict[str, int] | None = None,
    followed: set[str] | frozenset[str] = frozenset(),
    max_followed: int = MAX_FOLLOWED,
) -> list[str]:
    """Up to `count` paper ids across the configured topics (never Other), best first.

    Ranked by importance plus relevance to the interests (0 without interests); among equals, the topic
    with fewer picks so far wins (then config order, then listing order), so the list spreads over topics.
    No topic gets more than `per_topic` unless the other topics have run out of papers. Papers by a
    followed author come first, even past `count`, but no more than `max_followed` of them (the most
    important; interests.max_followed): a common surname must not fill the list.
    """
    if count <= 0:
        return []
    relevance = relevance or {}
    order = {name: i for i, name in enumerate(topics)}
    candidates = [
        (i, p)
        for i, p in enumerate(papers)
        if p.id in assignments and assignments[p.id].topic != OTHER and assignments[p.id].topic in order
    ]

    def score(paper: Paper) -> int:
        return assignments[paper.id].importance + relevance.get(paper.id, 0)

    leading = sorted((p for _, p in candidates if p.id in followed), key=lambda p: -score(p))[:max_followed]
    picked: list[str] = [p.id for p in leading]
    taken: dict[str, int] = {}
    for paper_id in picked:
        taken[assignments[paper_id].topic] = taken.get(assignments[paper_id].topic, 0) + 1
    for cap in (per_topic, None):
        while len(picked) < count:
            best = None
            for i, paper in candidates:
                topic = assignments[paper.id].topic
                if paper.id in picked or (cap is not None and taken.get(topic, 0) >= cap):
                    continue
                key = (-score(paper), taken.get(topic, 0), order[topic], i)
                if best is None or key < best[0]:
                    best = (key, paper.id, topic)
            if best is None:
                break
            picked.append(best[1])
            taken[best[2]] = taken.get(best[2], 0) + 1
    return picked


def for_topics(
    digest: Digest, topics: list[str] | tuple[str, ...], count: int, max_followed: int = MAX_FOLLOWED
) -> Digest:
    """The digest as a target that wants only `topics` sees it, the one narrowing every channel uses: those
    topics' papers, sections and counts, and `count` must-reads drawn again from their selected papers (so a
    one-topic chat still gets that many)."""
    wanted = set(topics)
    sections = [s for s in digest.sections if s.name in wanted]
    selected = [p for s in sections for p in s.papers]
    mine = {i for i, a in digest.assignments.items() if a.topic in wanted}
    # An audience that learned from its own taps draws its must-reads with what it learned.
    view = digest.audiences.get(audience_key(topics))
    relevance = {**digest.relevance, **view.relevance} if view else digest.relevance
    reasons = {**digest.reasons, **view.reasons} if view else digest.reasons
    return dataclasses.replace(
        digest,
        papers=[p for p in digest.papers if p.id in mine],
        selected=digest.selected & mine,
        excluded=[p for p in digest.excluded if p.id in mine],
        sections=sections,
        counts={name: n for name, n in digest.counts.items() if name in wanted},
        relevance=relevance,
        reasons=reasons,
        must_reads=must_reads(
            selected,
            digest.assignments,
            [s.name for s in sections],
            count,
            relevance=relevance,
            followed=digest.followed,
            max_followed=max_followed,
        ),
    )


def select(
    config: Config,
    papers: list[Paper],
    assignments: dict[str, Assignment],
    must: list[str] | None = None,
    relevance: dict[str, int] | None = None,
    tiebreak: Callable[[Paper, str], float] | None = None,
) -> list[TopicChoice]:
    """Per non-empty topic in config order: its top `max_papers_per_category` papers by importance plus
    relevance to the interests (plus any must-read of the topic that did not make it), and all of them.

    Ties (an LLM gives many papers a 7) go to the paper `tiebreak(paper, topic)` scores higher (the
    pipeline passes classify.keyword_tiebreak), then to feed order: not to whichever was announced first."""
    limit = config.report.max_papers_per_category
    depth = max(limit, config.report.summary_candidates)  # how far down the candidates reach
    wanted = set(must or ())
    relevance = relevance or {}
    chosen = []
    for name in config.topic_names:
        members = [p for p in papers if assignments[p.id].topic == name]
        if not members:
            continue
        importance = {p.id: assignments[p.id].importance + relevance.get(p.id, 0) for p in members}
        # Only papers that can make the cut (or the candidates) need the (slower) offline score.
        cut = sorted(importance.values(), reverse=True)[min(depth, len(members)) - 1]
        ties = {p.id: tiebreak(p, name) for p in members if importance[p.id] >= cut} if tiebreak else {}
        ranked = [
            p
            for _, p in sorted(
                enumerate(members), key=lambda ip: (-importance[ip[1].id], -ties.get(ip[1].id, 0), ip[0])
            )
        ]
        top = ranked[:limit]
        top += [p for p in ranked[limit:] if p.id in wanted]
        candidates = top + [p for p in ranked[:depth] if p not in top]
        required = [p.id for p in top if p.id in wanted]
        chosen.append(TopicChoice(name, top, members, candidates, required))
    return chosen


def topic_counts(config: Config, papers: list[Paper], assignments: dict[str, Assignment]) -> dict[str, int]:
    counts = {name: 0 for name in [*config.topic_names, OTHER]}
    for p in papers:
        counts[assignments[p.id].topic] = counts.get(assignments[p.id].topic, 0) + 1
    return counts
