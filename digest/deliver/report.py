"""A built report, read back from its folder: what `digest send` delivers without recomputing anything."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from digest.errors import DigestError
from digest.models import Assignment, Digest, LLMUsage, Paper, TopicSection, TopicSummary


@dataclass
class Report:
    digest: Digest
    markdown: str
    html: str
    chart: bytes
    email_html: str = ""  # digest.html trimmed to an email's size; digest.html itself when absent

    @property
    def email_body(self) -> str:
        return self.email_html or self.html

    @property
    def date(self) -> dt.date:
        return self.digest.date

    @property
    def chart_name(self) -> str:
        return self.digest.chart_name


def load_report(folder: Path) -> Report:
    """Read digest.json, digest.md, digest.html and the chart of one date; one clear line if any is missing."""
    data_path = folder / "digest.json"
    try:
        data = json.loads(data_path.read_text(encoding="utf-8"))
        digest = _digest(data)
        return Report(
            digest,
            (folder / "digest.md").read_text(encoding="utf-8"),
            (folder / "digest.html").read_text(encoding="utf-8"),
            (folder / digest.chart_name).read_bytes(),
            email.read_text(encoding="utf-8") if (email := folder / "email.html").exists() else "",
        )
    except FileNotFoundError as exc:
        raise DigestError(
            f"no complete report in {folder} ({Path(exc.filename).name} is missing); build it with `digest run --date`"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DigestError(f"{data_path}: not a digest.json this version can read ({exc})") from None


def _paper(p: dict) -> Paper:
    return Paper(p["id"], p["title"], "", p.get("authors", []), p.get("categories", []), p.get("announce_type", "new"))


def _digest(data: dict) -> Digest:
    papers = {p["id"]: _paper(p) for p in data["papers"]}
    assignments = {
        p["id"]: Assignment(p["id"], p["topic"], int(p.get("importance", 0)), p.get("classified_by", ""))
        for p in data["papers"]
    }
    sections = []
    for name, s in data["summaries"].items():
        summary = TopicSummary(name, list(s["sections"].values()), s["paper_lines"], s["method"], s.get("gist", ""))
        sections.append(TopicSection(name, [papers[i] for i in s["selected"]], summary, s["total"]))
    llm = data.get("llm", {})
    usage = LLMUsage(
        llm.get("model"), llm.get("calls", 0), llm.get("prompt_tokens", 0), llm.get("completion_tokens", 0)
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
        excluded=[_paper(p) for p in data.get("excluded", [])],
    )
