"""Do two sources carry the same listing? The listing pages in the morning and the RSS feed later may both
give a date; the first one builds it, the second is only compared (`digest run` says it, `digest status`
shows it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SOURCE_NAMES = {"listing": "the listing pages", "rss": "the RSS feed", "api": "the export API", "demo": "the demo"}
SAMPLE = 3  # ids shown of each side of a difference


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


@dataclass(frozen=True)
class Comparison:
    first: str  # the source that built the date
    other: str  # the source compared with it
    first_count: int
    other_count: int
    only_there: list[str]  # ids the other source has and the first has not, sorted
    missing_there: list[str]  # ids the first source has and the other has not, sorted

    @property
    def same(self) -> bool:
        return not self.only_there and not self.missing_there

    def verdict(self, *, sample: bool = False) -> str:
        """`the RSS feed carries the same 532 papers` or what differs (with a few ids when `sample`)."""
        other = source_name(self.other)
        if self.same:
            return f"{other} carries the same {self.first_count} papers"

        def ids(found: list[str]) -> str:
            if not sample or not found:
                return ""
            return f" ({', '.join(found[:SAMPLE])}{', …' if len(found) > SAMPLE else ''})"

        return (
            f"{other} does not match ({self.other_count} papers against {self.first_count}): "
            f"{len(self.only_there)} only there{ids(self.only_there)}, "
            f"{len(self.missing_there)} missing there{ids(self.missing_there)}"
        )


def compare(first: str, first_ids: Iterable[str], other: str, other_ids: Iterable[str]) -> Comparison:
    mine, theirs = set(first_ids), set(other_ids)
    return Comparison(first, other, len(mine), len(theirs), sorted(theirs - mine), sorted(mine - theirs))
