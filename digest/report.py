"""The report model: what render writes to digest.json (digest_json) and what delivery and the site read
back (load_report, read_json), side by side so a field changes in one place. Rendering a report again
(for an audience, for a mail) is render.py's.

digest.json carries `schema_version`; a reader refuses a newer one with one line instead of guessing, and
reads older ones with the defaults of the fields they lack.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from digest.edition import Edition
from digest.errors import DigestError
from digest.models import (
    SECTION_TITLES,
    WEEK_SECTION_TITLES,
    Assignment,
    AudienceView,
    Digest,
    LLMUsage,
    Paper,
    TopicSection,
    TopicSummary,
    Trend,
)

SCHEMA_VERSION = 2  # digest.json: bump when a field changes meaning or goes away


@dataclass
class Report:
    digest: Digest
    markdown: str
    html: str
    chart: bytes
    email_html: str = ""  # the email body (email.html: the phone-sized part of the day)
    topics: tuple[str, ...] | None = None  # the topics this report was narrowed to (None: every topic)
    templates_override: Path | None = None  # the templates it was rendered with, to render it again

    @property
    def date(self) -> dt.date:
        return self.digest.date

    @property
    def chart_name(self) -> str:
        return self.digest.chart_name


def read_json(path: Path) -> dict:
    """A digest.json as a dict, refused with one line when a newer version of arxiv-digest wrote it."""
    data = json.loads(path.read_bytes())
    if not isinstance(data, dict):
        raise ValueError("not an object")
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise DigestError(
            f"{path}: schema_version {version} is newer than this version reads ({SCHEMA_VERSION}); "
            "a newer arxiv-digest wrote it"
        )
    return data


def read_digest_file(path: Path) -> Digest:
    """The Digest one digest.json describes; DigestError with one line naming the file when it cannot be
    read (missing, truncated, another shape, written by a newer version). The one reader of the files."""
    try:
        return read_digest(read_json(path))
    except OSError as exc:
        raise DigestError(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DigestError(f"{path}: not a digest.json this version can read ({type(exc).__name__}: {exc})") from None


def load_report(folder: Path, templates_override: Path | None = None) -> Report:
    """Read digest.json, digest.md, digest.html and the chart of one date; one clear line if any is missing."""
    if not (folder / "digest.json").is_file():
        raise DigestError(f"no complete report in {folder} (digest.json is missing); build it with `digest run --date`")
    digest = read_digest_file(folder / "digest.json")
    try:
        return Report(
            digest,
            (folder / "digest.md").read_text(encoding="utf-8"),
            (folder / "digest.html").read_text(encoding="utf-8"),
            (folder / digest.chart_name).read_bytes(),
            email.read_text(encoding="utf-8") if (email := folder / "email.html").exists() else "",
            templates_override=templates_override,
        )
    except FileNotFoundError as exc:
        raise DigestError(
            f"no complete report in {folder} ({Path(exc.filename).name} is missing); build it with `digest run --date`"
        ) from None


def _paper(p: dict) -> Paper:
    return Paper(p["id"], p["title"], "", p.get("authors", []), p.get("categories", []), p.get("announce_type", "new"))


def read_digest(data: dict) -> Digest:
    """The Digest a digest.json describes (abstracts are not in it: the store has them)."""
    papers = {p["id"]: _paper(p) for p in data["papers"]}
    assignments = {
        p["id"]: Assignment(
            p["id"], p["topic"], int(p.get("importance", 0)), p.get("classified_by", ""), note=p.get("fallback_reason")
        )
        for p in data["papers"]
    }
    sections = []
    for name, s in data["summaries"].items():
        summary = TopicSummary(name, list(s["sections"].values()), s["paper_lines"], s["method"], s.get("gist", ""))
        sections.append(TopicSection(name, [papers[i] for i in s["selected"]], summary, s["total"]))
    llm = data.get("llm", {})
    usage = LLMUsage(
        llm.get("model"),
        llm.get("calls", 0),
        llm.get("prompt_tokens", 0),
        llm.get("completion_tokens", 0),
        llm.get("reasoning_tokens", 0),
        llm.get("refused_papers", 0),
    )
    return Digest(
        date=dt.date.fromisoformat(data["date"]),
        title=data["title"],
        papers=list(papers.values()),
        assignments=assignments,
        selected={p["id"] for p in data["papers"] if p.get("selected")},
        sections=sections,
        counts=data["counts"],
        usage=usage,
        llm_used=bool(llm.get("used")),
        must_reads=[i for i in data.get("must_reads", []) if i in papers],
        site_url=data.get("site_url"),
        relevance={p["id"]: int(p["relevance"]) for p in data["papers"] if "relevance" in p},
        followed=frozenset(p["id"] for p in data["papers"] if p.get("followed_author")),
        learned={p["id"]: int(p["learned"]) for p in data["papers"] if "learned" in p},
        reasons={p["id"]: str(p["why"]) for p in data["papers"] if p.get("why")},
        audiences={
            key: AudienceView({i: int(r) for i, r in view["relevance"].items()}, dict(view.get("why", {})))
            for key, view in data.get("audiences", {}).items()
        },
        excluded=[_paper(p) for p in data.get("excluded", [])],
        week=Edition.week_named(data["edition"].partition(":")[2]) if data.get("kind") == "week" else None,
        days=[dt.date.fromisoformat(d) for d in data.get("days", [])],
        trends={
            name: Trend(t["count"], t.get("before"), t.get("rising", []), t.get("compared", True))
            for name, t in data.get("trends", {}).items()
        },
    )


def _arxiv_fields(p: Paper) -> dict:
    """A paper as arXiv describes it, the same for shown and excluded papers."""
    return {
        "id": p.id,
        "title": p.title,
        "url": p.url,
        "pdf_url": p.pdf_url,
        "authors": p.authors,
        "categories": p.categories,
        "announce_type": p.announce_type,
    }


def digest_json(digest: Digest) -> dict:
    by_topic = {s.name: s for s in digest.sections}
    titles = WEEK_SECTION_TITLES if digest.week else SECTION_TITLES
    week = (
        {
            "days": [d.isoformat() for d in digest.days],  # the listing dates the week's papers come from
            "trends": {
                name: {"count": t.count, "before": t.before, "rising": t.rising, "compared": t.compared}
                for name, t in digest.trends.items()
            },
        }
        if digest.week
        else {}
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": digest.edition.kind,  # day | week
        "edition": digest.edition.key,
        "date": digest.date.isoformat(),  # a week: its Monday
        **week,
        "title": digest.title,
        "must_reads": list(digest.must_reads),
        "counts": digest.counts,
        "total": len(digest.papers),
        "site_url": digest.site_url,
        "llm": {
            "used": digest.llm_used,
            "model": digest.usage.model,
            "calls": digest.usage.calls,
            "prompt_tokens": digest.usage.prompt_tokens,
            "completion_tokens": digest.usage.completion_tokens,
            "reasoning_tokens": digest.usage.reasoning_tokens,  # part of completion_tokens
            "refused_papers": digest.usage.refused,  # the server's content filter refused them: classified offline
        },
        "summaries": {
            name: {
                "method": s.summary.method,
                "gist": s.summary.gist,
                "sections": dict(zip(titles, s.summary.sections)),
                "paper_lines": s.summary.paper_lines,
                "selected": [p.id for p in s.papers],
                "total": s.total,
            }
            for name, s in by_topic.items()
        },
        "papers": [
            {
                **_arxiv_fields(p),
                "topic": digest.assignments[p.id].topic,
                "importance": digest.assignments[p.id].importance,
                "classified_by": digest.assignments[p.id].method,
                **({"fallback_reason": note} if (note := digest.assignments[p.id].note) else {}),
                "selected": p.id in digest.selected,
                "line": digest.line_for(p.id),  # the Korean line, where the topic summary wrote one
                **({"relevance": digest.relevance.get(p.id, 0)} if digest.relevance else {}),
                **({"followed_author": True} if p.id in digest.followed else {}),
                # What the readers' taps and own papers taught (digest/learn.py): the score, and why it is a pick.
                **({"learned": digest.learned[p.id]} if p.id in digest.learned else {}),
                **({"why": digest.reasons[p.id]} if p.id in digest.reasons else {}),
            }
            for p in digest.papers
        ],
        # Audiences of some topics that learned from their own taps: relevance and reasons of featured papers.
        **(
            {
                "audiences": {
                    key: {"relevance": view.relevance, "why": view.reasons} for key, view in digest.audiences.items()
                }
            }
            if digest.audiences
            else {}
        ),
        # Papers `interests.exclude` left out of every report and message: kept here, marked.
        "excluded": [
            {
                **_arxiv_fields(p),
                "topic": digest.assignments[p.id].topic if p.id in digest.assignments else None,
                "importance": digest.assignments[p.id].importance if p.id in digest.assignments else None,
                "excluded": True,
            }
            for p in digest.excluded
        ],
    }
