"""Addresses on the archive site: page paths, paper anchors, topic slugs, and the public URL of a day."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.config import Config
    from digest.edition import Edition


def anchor(paper_id: str) -> str:
    """The id of a paper's element on its day page (old-style ids keep their letters: hep-th-9901001)."""
    return re.sub(r"[^A-Za-z0-9.\-]", "-", paper_id)


def topic_slugs(names: list[str]) -> dict[str, str]:
    """A stable, unique, ASCII folder name per topic ("AI in Healthcare" -> ai-in-healthcare)."""
    slugs: dict[str, str] = {}
    for name in names:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        if not slug or slug in slugs.values():
            # A name without ASCII letters (a Korean topic name) or a clash: a short hash keeps it unique.
            slug = (slug + "-" if slug else "t-") + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
        slugs[name] = slug
    return slugs


def week_url(config: Config, edition: Edition) -> str | None:
    """The published URL of a week's page (`site.base_url` + `weeks/2026-W27/`), or None without it."""
    base = config.site.base_url
    return f"{base}weeks/{edition.period}/" if base else None


def day_url(config: Config, date: dt.date | str, paper_id: str | None = None) -> str | None:
    """The published URL of a day's page (and a paper's anchor on it), or None without site.base_url.

    For the Telegram and email templates: `site.base_url` + `YYYY-MM-DD/` (+ `#<anchor>`).
    """
    base = config.site.base_url
    if not base:
        return None
    day = date.isoformat() if isinstance(date, dt.date) else str(date)
    return f"{base}{day}/" + (f"#{anchor(paper_id)}" if paper_id else "")
