"""assignments and summaries: the derived work of an edition, each row keyed by the setup that made it."""

from __future__ import annotations

import datetime as dt
import json

from digest.edition import Edition, edition_of
from digest.models import Assignment, Paper, TopicSummary
from digest.store.base import Database


class Work(Database):
    # Assignments belong to a listing date (a paper is classified once, whatever edition shows it);
    # summaries belong to an edition.

    def save_assignments(self, date: dt.date, assignments: list[Assignment], setup: str) -> None:
        with self.transaction() as db:
            db.executemany(
                """INSERT OR REPLACE INTO assignments (date, paper_id, topic, importance, method, setup, relevance,
                   note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (date.isoformat(), a.paper_id, a.topic, a.importance, a.method, setup, a.relevance, a.note)
                    for a in assignments
                ],
            )

    def load_assignments(self, date: dt.date, setup: str) -> dict[str, Assignment]:
        rows = self.query("SELECT * FROM assignments WHERE date = ? AND setup = ?", (date.isoformat(), setup))
        return {
            r["paper_id"]: Assignment(
                r["paper_id"], r["topic"], r["importance"], r["method"], r["relevance"], r["note"]
            )
            for r in rows
        }

    def llm_examples(self, before: dt.date, limit: int) -> list[tuple[Paper, str]]:
        """Papers the LLM placed in a topic on listing dates before `before`, newest first, as (paper, topic).

        The offline classifier learns from them. Only dates before the one being built count, so a date
        built again gives the same answer unless an earlier date was classified by the LLM in between.
        """
        rows = self.query(
            """SELECT p.id, p.title, p.abstract, p.categories, a.topic FROM assignments a
               JOIN papers p ON p.id = a.paper_id
               WHERE a.method = 'llm' AND a.date < ? ORDER BY a.date DESC, a.paper_id LIMIT ?""",
            (before.isoformat(), limit),
        )
        examples: dict[str, tuple[Paper, str]] = {}
        for r in rows:  # a paper listed again later (a cross-list) counts once, with its newest topic
            paper = Paper(r["id"], r["title"], r["abstract"], [], json.loads(r["categories"]), "new")
            examples.setdefault(r["id"], (paper, r["topic"]))
        return list(examples.values())

    def link_assignments(self, date: dt.date, hashes: dict[str, str]) -> None:
        """Which cached LLM answer produced each paper's assignment (paper id -> input hash)."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE assignments SET llm_hash = ? WHERE date = ? AND paper_id = ?",
                [(h, date.isoformat(), paper_id) for paper_id, h in hashes.items()],
            )

    def clear_date(self, date: dt.date) -> None:
        """Forget the derived work for a date (used by --force); papers and deliveries stay."""
        with self.transaction() as db:
            db.execute("DELETE FROM assignments WHERE date = ?", (date.isoformat(),))
            db.execute("DELETE FROM summaries WHERE edition = ?", (Edition.day(date).key,))

    def clear_summaries(self, edition: Edition) -> None:
        """Forget an edition's summaries (a forced weekly edition writes them again)."""
        with self.transaction() as db:
            db.execute("DELETE FROM summaries WHERE edition = ?", (edition.key,))

    def save_summary(self, edition: Edition | dt.date, summary: TopicSummary, setup: str) -> None:
        with self.transaction() as db:
            db.execute(
                """INSERT OR REPLACE INTO summaries (edition, topic, method, setup, sections, paper_lines)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    edition_of(edition).key,
                    summary.topic,
                    summary.method,
                    setup,
                    # The gist rides in the sections column: no migration for one sentence.
                    json.dumps({"parts": summary.sections, "gist": summary.gist}, ensure_ascii=False),
                    json.dumps(summary.paper_lines, ensure_ascii=False),
                ),
            )

    def load_summary(self, edition: Edition | dt.date, topic: str, setup: str) -> TopicSummary | None:
        rows = self.query(
            "SELECT * FROM summaries WHERE edition = ? AND topic = ? AND setup = ?",
            (edition_of(edition).key, topic, setup),
        )
        if not rows:
            return None
        r = rows[0]
        sections = json.loads(r["sections"])
        parts, gist = (sections["parts"], sections.get("gist", "")) if isinstance(sections, dict) else (sections, "")
        return TopicSummary(topic, parts, json.loads(r["paper_lines"]), r["method"], gist)

    def link_summary(self, edition: Edition | dt.date, topic: str, input_hash: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE summaries SET llm_hash = ? WHERE edition = ? AND topic = ?",
                (input_hash, edition_of(edition).key, topic),
            )
