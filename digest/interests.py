"""What this digest's readers care about (`interests:` in config): relevance, followed authors, exclusions.

The offline relevance is what a reader would expect from a keyword list: a keyword in the title counts
more than one in the abstract, a followed author makes a paper fully relevant. The LLM's relevance, when a
model is used, comes from the classification call itself (no extra call); both are 0-10.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from digest.models import Assignment, Paper

if TYPE_CHECKING:
    from digest.config import InterestsConfig

MAX_RELEVANCE = 10
TITLE_POINTS = 4  # a keyword in the title
ABSTRACT_POINTS = 2  # a keyword in the abstract (counted once per keyword)


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: "Müller" and "muller" match."""
    if text.isascii():  # most titles and abstracts: nothing to decompose
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def phrase_pattern(term: str) -> re.Pattern[str] | None:
    """A keyword as a regex on word boundaries; hyphens and spaces are interchangeable, `x*` matches any ending."""
    term = _fold(term).strip()
    stem = term.endswith("*")
    words = re.findall(r"[^\W_]+", term.rstrip("*"))
    if not words:
        return None
    body = r"[\s\-]+".join(re.escape(w) for w in words)
    tail = r"\w*" if stem else ""
    return re.compile(rf"(?<![^\W_]){body}{tail}(?![^\W_])")


def _name_tokens(name: str) -> tuple[str, ...]:
    """A name's words, folded; initials stay, as one letter ("Y. Liu" -> y, liu)."""
    name = re.sub(r"\(.*?\)", " ", name)  # "Name (Affiliation)" as the RSS feed writes it
    return tuple(re.findall(r"[^\W\d_]+", _fold(name)))


def _same_person(wanted: tuple[str, ...], author: tuple[str, ...]) -> bool:
    """Every word of the followed name is a word of the author's, an initial standing for a word it starts
    ("Y. Liu" is Yang Liu or Y. Liu, never Wei Liu; "Yann LeCun" is also Yann A. LeCun)."""
    rest = list(author)
    for word in wanted:
        found = next((w for w in rest if (w.startswith(word) if len(word) == 1 else w == word)), None)
        if found is None:
            return False
        rest.remove(found)
    return True


@dataclass(frozen=True)
class Interests:
    """The compiled `interests:` section."""

    description: str | None = None
    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, section: InterestsConfig | None) -> Interests:
        if section is None:
            return cls()
        return cls(section.description or None, tuple(section.keywords), tuple(section.authors), tuple(section.exclude))

    @property
    def active(self) -> bool:
        """Whether relevance means anything: there is something to be relevant to."""
        return bool(self.description or self.keywords or self.authors)

    @cached_property
    def _keywords(self) -> list[tuple[str, re.Pattern[str]]]:
        """Each keyword (as configured) that compiles to a pattern, with its pattern."""
        return [(k, p) for k in self.keywords if (p := phrase_pattern(k))]

    @cached_property
    def _keyword_patterns(self) -> list[re.Pattern[str]]:
        return [p for _, p in self._keywords]

    @cached_property
    def _exclude_patterns(self) -> list[re.Pattern[str]]:
        return [p for p in map(phrase_pattern, self.exclude) if p]

    @cached_property
    def _followed(self) -> list[tuple[str, ...]]:
        return [t for t in map(_name_tokens, self.authors) if t]

    def followed_author(self, paper: Paper) -> str | None:
        """The paper's author that readers follow, or None. "Yann LeCun" matches "Yann A. LeCun"; "Y. Liu"
        matches "Yang Liu" but not "Wei Liu"."""
        for author in paper.authors:
            have = _name_tokens(author)
            if any(_same_person(want, have) for want in self._followed):
                return author
        return None

    def excluded(self, paper: Paper) -> bool:
        if not self._exclude_patterns:  # the usual config: no need to fold every abstract
            return False
        text = _fold(f"{paper.title}\n{paper.abstract}")
        return any(p.search(text) for p in self._exclude_patterns)

    def matched_keyword(self, paper: Paper) -> str | None:
        """The first keyword (as configured) in the title, else in the abstract: a must-read's reason."""
        if not self._keywords:
            return None
        for text in (_fold(paper.title), _fold(paper.abstract)):
            for keyword, pattern in self._keywords:
                if pattern.search(text):
                    return keyword.rstrip("*")
        return None

    def offline_relevance(self, paper: Paper) -> int:
        """0-10 from keywords (title counts double) and followed authors (always 10)."""
        if self.followed_author(paper):
            return MAX_RELEVANCE
        title, abstract = _fold(paper.title), _fold(paper.abstract)
        points = 0
        for pattern in self._keyword_patterns:
            if pattern.search(title):
                points += TITLE_POINTS
            elif pattern.search(abstract):
                points += ABSTRACT_POINTS
        return min(MAX_RELEVANCE, points)

    def prompt_lines(self) -> list[str]:
        """How the interests are described to the LLM (once per batch, so the per-paper cost is unchanged)."""
        lines = []
        if self.description:
            lines.append(f"Readers' interests: {self.description}")
        if self.keywords:
            lines.append("Interest keywords: " + ", ".join(self.keywords))
        if self.authors:
            lines.append("Followed authors: " + ", ".join(self.authors))
        return lines


def split_excluded(papers: Iterable[Paper], interests: Interests) -> tuple[list[Paper], set[str]]:
    """The papers a report shows, and the ids `exclude` leaves out (kept in digest.json, marked)."""
    kept, excluded = [], set()
    for paper in papers:
        if interests.excluded(paper):
            excluded.add(paper.id)
        else:
            kept.append(paper)
    return kept, excluded


@dataclass(frozen=True)
class Weighing:
    """A day's papers as the interests see them."""

    shown: list[Paper]  # every paper a report shows (exclusions removed), in listing order
    excluded: list[Paper]  # left out of every report and message, kept in digest.json
    relevance: dict[str, int]  # shown paper id -> 0-10 (empty without interests)
    followed: frozenset[str]  # ids of papers by a followed author


def weigh(papers: list[Paper], assignments: dict[str, Assignment], interests: Interests) -> Weighing:
    """Exclusions, relevance and followed authors for one day.

    A paper's relevance is the LLM's (when it was asked) or the keywords' and authors', whichever is
    higher: a reader's own keyword or author can raise what the model said, never lower it."""
    shown, excluded_ids = split_excluded(papers, interests)
    relevance: dict[str, int] = {}
    if interests.active:
        for paper in shown:
            asked = assignments[paper.id].relevance if paper.id in assignments else None
            relevance[paper.id] = max(interests.offline_relevance(paper), asked or 0)
    followed = frozenset(p.id for p in shown if interests.authors and interests.followed_author(p))
    return Weighing(shown, [p for p in papers if p.id in excluded_ids], relevance, followed)
