"""Plain data passed between stages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from digest.edition import Edition

SECTION_TITLES = [
    "주요 주제 및 테마",
    "공통 키워드 및 트렌드",
    "주요 내용 및 핵심 정보",
    "분야별 영향 분석",
    "결론 및 향후 전망",
]


def in_categories(category: str, categories: Iterable[str]) -> bool:
    """Whether `category` is one of `categories` or a class of one of them that is a whole archive (a
    configured `cs` or `astro-ph` covers cs.AI and astro-ph.GA), without regard to case, as arXiv's feeds do."""
    wanted = category.lower()
    return any(wanted == c.lower() or wanted.startswith(c.lower() + ".") for c in categories)


def byline(authors: list[str]) -> str:
    """The first author, with " 외" when there are more."""
    return authors[0] + (" 외" if len(authors) > 1 else "") if authors else ""


@dataclass(frozen=True)
class Paper:
    id: str  # without version
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]  # primary first
    announce_type: str  # new | cross | replace | replace-cross

    @property
    def primary_category(self) -> str:
        return self.categories[0] if self.categories else ""

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"

    @property
    def byline(self) -> str:
        return byline(self.authors)


@dataclass(frozen=True)
class Listing:
    """The papers of one arXiv announcement (listing) date."""

    date: dt.date
    papers: list[Paper]
    source: str  # listing | rss | api | demo


# A fetcher answers "the listing for this date" (None = the latest announcement); digest/sources/ makes them.
Fetcher = Callable[[dt.date | None], Listing]

# How the note of a paper the LLM server would not take (a content filter) begins: the store counts these.
REFUSED = "refused by the LLM server"


@dataclass(frozen=True)
class Assignment:
    paper_id: str
    topic: str  # a configured topic name or "Other"
    importance: int  # 1..10
    method: str  # "llm" | "offline" | "offline-fallback"
    relevance: int | None = None  # 0..10 to `interests`, as the LLM judged it (None: not asked)
    note: str | None = None  # why the LLM did not classify it (offline-fallback), e.g. REFUSED + the reason

    @property
    def refused(self) -> bool:
        """Whether the LLM server refused this paper (its content filter), not merely left it unanswered."""
        return bool(self.note and self.note.startswith(REFUSED))


@dataclass
class TopicSummary:
    topic: str
    sections: list[list[str]]  # five lists of sentences, in SECTION_TITLES order
    paper_lines: dict[str, str]  # paper id -> one-line Korean summary
    method: str  # "llm" | "extractive"
    gist: str = ""  # the topic's day in one Korean sentence (Telegram compact, must-reads context)


@dataclass
class TopicSection:
    """One topic as rendered: its selected papers, its summary and how many were left out."""

    name: str
    papers: list[Paper]
    summary: TopicSummary
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.papers)


@dataclass
class LLMUsage:
    model: str | None = None
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0  # the reasoning tokens included, as servers bill them
    reasoning_tokens: int = 0  # hidden reasoning, part of completion_tokens
    refused: int = 0  # papers the server refused (content filter): classified offline instead

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: LLMUsage) -> None:
        """Count `other`'s calls and tokens in this usage too."""
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.reasoning_tokens += other.reasoning_tokens


# The weekly edition's synthesis per topic, in this order (a daily summary has SECTION_TITLES).
WEEK_SECTION_TITLES = ["이번 주 흐름", "눈에 띄는 결과", "열린 질문"]


@dataclass(frozen=True)
class Trend:
    """A topic's week against the weeks before it (the weekly edition)."""

    count: int  # the week's papers in the topic (each paper once)
    before: float | None  # the average per week over the weeks before (None: none of them is built)
    rising: list[str] = field(default_factory=list)  # phrases rising most this week
    compared: bool = True  # `rising` is against the weeks before (else: against the week's other topics)

    @property
    def change(self) -> float | None:
        """The change against the weeks before, as a fraction (+0.25 = a quarter more); None without them."""
        if self.before is None or self.before == 0:
            return None
        return self.count / self.before - 1


def audience_key(topics: Iterable[str] | None) -> str:
    """How an audience is named where it learns: its topics, sorted ('' for every topic)."""
    return "|".join(sorted(topics)) if topics else ""


@dataclass(frozen=True)
class AudienceView:
    """What an audience of some topics learned from its own taps: relevance and reasons of featured papers."""

    relevance: dict[str, int]
    reasons: dict[str, str]


@dataclass
class Digest:
    """Everything the templates need for one edition: a day (the daily digest) or an ISO week."""

    date: dt.date
    title: str
    papers: list[Paper]
    assignments: dict[str, Assignment]
    selected: set[str]
    sections: list[TopicSection]
    counts: dict[str, int]  # topic -> papers, in config order, Other last
    usage: LLMUsage = field(default_factory=LLMUsage)
    llm_used: bool = False
    must_reads: list[str] = field(default_factory=list)  # paper ids, best first (digest/rank.py)
    # With `interests`: each shown paper's relevance 0-10, the papers by followed authors, and the papers
    # `interests.exclude` left out of every report (kept for digest.json only).
    relevance: dict[str, int] = field(default_factory=dict)
    followed: frozenset[str] = frozenset()
    excluded: list[Paper] = field(default_factory=list)
    site_url: str | None = None  # the day's page on the archive site (site.base_url set), for the messages
    # What the readers taught it (digest/learn.py): each paper's learned score for the whole audience, why a
    # featured paper would be picked (shown beside a must-read), and the same for each audience of some topics
    # that learned from its own taps (key: audience_key(topics)) — digest.json keeps them all.
    learned: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    audiences: dict[str, AudienceView] = field(default_factory=dict)
    # A weekly edition: which week (None: the day of `date`), the listing dates it covers, each topic's trend.
    week: Edition | None = None
    days: list[dt.date] = field(default_factory=list)
    trends: dict[str, Trend] = field(default_factory=dict)

    @property
    def edition(self) -> Edition:
        return self.week or Edition.day(self.date)

    @property
    def label(self) -> str:
        """How the edition is named to readers: 2026-06-30, or 2026-W27."""
        return self.edition.period

    @property
    def listed(self) -> int:
        """How many papers of the listing this digest covers: those it shows and those interests.exclude left out."""
        return len(self.papers) + len(self.excluded)

    @property
    def chart_name(self) -> str:
        return f"paper_{self.label}.png"

    def line_for(self, paper_id: str) -> str:
        """The Korean line written for a paper in its topic's summary, or ""."""
        topic = self.assignments[paper_id].topic if paper_id in self.assignments else None
        for section in self.sections:
            if section.name == topic:
                return section.summary.paper_lines.get(paper_id, "")
        return ""

    def topic_papers(self, topic: str) -> list[Paper]:
        """Every paper of the day in a topic, most important first (listing order breaks ties)."""
        members = [p for p in self.papers if p.id in self.assignments and self.assignments[p.id].topic == topic]
        return sorted(members, key=lambda p: -self.assignments[p.id].importance)
