"""Which papers a reader who reads nothing else should see: the day's must-reads (오늘의 핵심 논문).

One function decides: importance, and relevance to `interests` when they are set (a followed author's
paper always makes the list).
"""

from __future__ import annotations

import dataclasses

from digest.config import OTHER
from digest.models import Assignment, Digest, Paper

PER_TOPIC = 2  # a sensible spread: no topic takes more than this while others have candidates


def must_reads(
    papers: list[Paper],
    assignments: dict[str, Assignment],
    topics: list[str],
    count: int,
    per_topic: int = PER_TOPIC,
    relevance: dict[str, int] | None = None,
    followed: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """Up to `count` paper ids across the configured topics (never Other), best first.

    Ranked by importance plus relevance to the interests (0 without interests); among equals, the topic
    with fewer picks so far wins (then config order, then listing order), so the list spreads over topics.
    No topic gets more than `per_topic` unless the other topics have run out of papers. Papers by a
    followed author come first, always, even past `count`.
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
    picked: list[str] = [p.id for _, p in candidates if p.id in followed]
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
                score = assignments[paper.id].importance + relevance.get(paper.id, 0)
                key = (-score, taken.get(topic, 0), order[topic], i)
                if best is None or key < best[0]:
                    best = (key, paper.id, topic)
            if best is None:
                break
            picked.append(best[1])
            taken[best[2]] = taken.get(best[2], 0) + 1
    return picked


def for_topics(digest: Digest, topics: list[str] | tuple[str, ...], count: int) -> Digest:
    """The digest as a target that wants only `topics` sees it, the one narrowing every channel uses: those
    topics' papers, sections and counts, and `count` must-reads drawn again from their selected papers (so a
    one-topic chat still gets that many)."""
    wanted = set(topics)
    sections = [s for s in digest.sections if s.name in wanted]
    selected = [p for s in sections for p in s.papers]
    mine = {i for i, a in digest.assignments.items() if a.topic in wanted}
    return dataclasses.replace(
        digest,
        papers=[p for p in digest.papers if p.id in mine],
        selected=digest.selected & mine,
        excluded=[p for p in digest.excluded if p.id in mine],
        sections=sections,
        counts={name: n for name, n in digest.counts.items() if name in wanted},
        must_reads=must_reads(
            selected,
            digest.assignments,
            [s.name for s in sections],
            count,
            relevance=digest.relevance,
            followed=digest.followed,
        ),
    )
