"""Editions: what one report covers, as a kind and a period. A day today (`day:2026-06-30`), a week next
(`week:2026-W27`). Wherever a date used to be an identity (report folders, summaries, deliveries, runs)
the edition key is: a weekly digest then needs no second table or folder scheme.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

KINDS = ("day", "week")


@dataclass(frozen=True, order=True)
class Edition:
    kind: str  # day | week
    period: str  # 2026-06-30 | 2026-W27 (ISO week)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"edition kind {self.kind!r} is not one of {', '.join(KINDS)}")

    @classmethod
    def day(cls, date: dt.date) -> Edition:
        return cls("day", date.isoformat())

    @classmethod
    def week(cls, date: dt.date) -> Edition:
        """The ISO week that contains `date`."""
        year, week, _ = date.isocalendar()
        return cls("week", f"{year}-W{week:02d}")

    @classmethod
    def week_named(cls, text: str) -> Edition:
        """`2026-W27` as a week edition; ValueError for anything else (a week that does not exist, too)."""
        found = _PERIOD["week"].fullmatch(text.strip())
        if not found:
            raise ValueError(f"{text!r} is not an ISO week like 2026-W27")
        year, week = int(text[:4]), int(text.strip()[6:])
        try:
            dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{text!r}: {year} has no week {week}") from None
        return cls("week", text.strip())

    def days(self) -> list[dt.date]:
        """Every calendar day of the edition, first to last."""
        first, last = self.span
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    @classmethod
    def parse(cls, key: str) -> Edition:
        kind, sep, period = key.partition(":")
        if not sep or not period:
            raise ValueError(f"{key!r} is not an edition key like day:2026-06-30")
        return cls(kind, period)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.period}"

    @property
    def span(self) -> tuple[dt.date, dt.date]:
        """The first and last calendar day the edition covers."""
        if self.kind == "day":
            day = dt.date.fromisoformat(self.period)
            return day, day
        year, week = self.period.split("-W")
        monday = dt.date.fromisocalendar(int(year), int(week), 1)
        return monday, monday + dt.timedelta(days=6)

    @property
    def folder_name(self) -> str:
        # Day reports keep the folder name they always had (output/2026-06-30/); a week is output/weeks/2026-W27/.
        return self.period if self.kind == "day" else f"weeks/{self.period}"

    def __str__(self) -> str:
        return self.key


def edition_of(when: Edition | dt.date) -> Edition:
    """An edition as given, or the day edition of a date (what every caller passed before weeks existed)."""
    return when if isinstance(when, Edition) else Edition.day(when)


def report_folder(output_dir: Path, when: Edition | dt.date) -> Path:
    """The one place that names a report's folder."""
    return Path(output_dir) / edition_of(when).folder_name


_PERIOD = {"day": re.compile(r"\d{4}-\d{2}-\d{2}"), "week": re.compile(r"\d{4}-W\d{2}")}


def built_reports(output_dir: Path, kind: str = "day") -> list[tuple[Edition, Path]]:
    """Every report folder of one kind under output_dir that holds a digest.json, oldest first, with its
    edition; the folders are named by report_folder."""
    parent = report_folder(output_dir, Edition(kind, "2000-01-01" if kind == "day" else "2000-W01")).parent
    if not parent.is_dir():
        return []
    found = []
    for entry in os.scandir(parent):
        if (
            entry.is_dir()
            and _PERIOD[kind].fullmatch(entry.name)
            and os.path.isfile(os.path.join(entry.path, "digest.json"))
        ):
            found.append((Edition(kind, entry.name), Path(entry.path)))
    return sorted(found)
