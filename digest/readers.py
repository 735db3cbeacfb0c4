"""The readers, for one edition: what their taps and own papers teach each audience (digest/learn.py), and
what that changes — relevance for ranking and must-reads, and the reason a pick can give.

An audience is the set of topics its targets get: every Telegram chat without `topics` shares the whole
digest and learns from all their taps together; a chat with its own `topics` learns from its own taps
(digest.json keeps its view, and its must-reads are drawn with it). `interests.papers` count for everyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from digest.clock import SYSTEM_CLOCK, Clock
from digest.config import Config
from digest.interests import Interests
from digest.learn import Example, Learned, ReaderModel
from digest.models import AudienceView, Paper, TopicSection, audience_key
from digest.sources.own_papers import own_papers
from digest.store import Store

MAIN = ""  # the audience of every target without its own topics


def feedback_chats(config: Config) -> dict[str, list[str]]:
    """The Telegram chats that show buttons, by audience key."""
    telegram = config.delivery.telegram
    chats: dict[str, list[str]] = {}
    if telegram.reads_taps:
        for target in telegram.targets():
            chats.setdefault(audience_key(target.topics), []).append(target.target)
    return chats


def reader_models(
    config: Config, store: Store, clock: Clock = SYSTEM_CLOCK, *, fetch: bool = True
) -> dict[str, ReaderModel]:
    """Each audience's model, for those with anything to learn from (none: nothing changes). `fetch`: own
    papers not read yet may be asked of arXiv."""
    chats = feedback_chats(config)
    own = [Example(p, "own") for p in own_papers(config, store, clock, fetch=fetch)]
    models = {}
    for key in {*chats, *([MAIN] if own else [])}:
        verdicts = store.verdicts(chats.get(key, []))
        papers = store.papers_by_id(verdicts)
        examples = [
            Example(papers[i], "dislike" if net < 0 else ("save" if latest == "save" else "like"))
            for i, (net, latest) in verdicts.items()
            if net and i in papers
        ]
        if examples or own:
            models[key] = ReaderModel(examples + own)
    return models


@dataclass
class Readers:
    """One edition's papers as each audience's model scores them."""

    interests: Interests
    scores: dict[str, dict[str, Learned]] = field(default_factory=dict)
    paper_ids: list[str] = field(default_factory=list)

    @classmethod
    def score(cls, models: dict[str, ReaderModel], papers: list[Paper], interests: Interests) -> Readers:
        return cls(interests, {key: model.score(papers) for key, model in models.items()}, [p.id for p in papers])

    def relevance(self, base: dict[str, int], key: str = MAIN) -> dict[str, int]:
        """Relevance with what the audience learned: the higher of the interests' and the learned liking,
        less the learned dislike (a paper like a disliked one ranks lower, below 0 if need be, never out)."""
        learned = self.scores.get(key, {})
        merged = dict(base)
        for paper_id, score in learned.items():
            merged[paper_id] = max(base.get(paper_id, 0), score.like) - score.penalty
        return merged

    def learned(self, key: str = MAIN) -> dict[str, int]:
        """Each paper's learned score for the audience (digest.json): every paper once the audience has a
        model (0: the model sees nothing of its readers' taste in it), none before."""
        if key not in self.scores:
            return {}
        learned = self.scores[key]
        return {i: learned[i].score if i in learned else 0 for i in self.paper_ids}

    def reasons(self, papers: list[Paper], base: dict[str, int], key: str = MAIN) -> dict[str, str]:
        """Why each of these papers would be picked, where a reader can be told: a followed author, a paper
        it resembles that the readers liked (when that is what raised it), or a keyword of theirs."""
        learned = self.scores.get(key, {})
        found = {}
        for paper in papers:
            score = learned.get(paper.id)
            if self.interests.authors and (author := self.interests.followed_author(paper)):
                found[paper.id] = f"팔로우한 저자 {author}"
            elif score and score.reason and score.like >= base.get(paper.id, 0):
                found[paper.id] = score.reason
            elif keyword := self.interests.matched_keyword(paper):
                found[paper.id] = f"키워드 ‘{keyword}’"
        return found

    def digest_fields(self, sections: list[TopicSection], base: dict[str, int]) -> dict[str, object]:
        """What a Digest keeps of the readers (`**` into it): learned scores, the reasons of the featured papers
        (what must-reads are drawn from) and each audience's own view, all from `base`, the relevance before
        learning."""
        featured = [p for s in sections for p in s.papers]
        return {
            "learned": self.learned(),
            "reasons": self.reasons(featured, base),
            "audiences": self.audience_views(featured, base),
        }

    def audience_views(self, papers: list[Paper], base: dict[str, int]) -> dict[str, AudienceView]:
        """For each audience of some topics that learned on its own: its relevance and reasons of `papers`
        (the featured ones: what its must-reads are drawn from)."""
        views = {}
        for key in self.scores:
            if key == MAIN:
                continue
            relevance = self.relevance(base, key)
            views[key] = AudienceView(
                {p.id: relevance[p.id] for p in papers if p.id in relevance}, self.reasons(papers, base, key)
            )
        return views
