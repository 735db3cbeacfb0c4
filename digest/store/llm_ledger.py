"""llm_calls, llm_cache, llm_modes: every LLM attempt with its tokens, each answer keyed by its input's hash,
the structured-output mode that works per server and model, and the papers the server refused."""

from __future__ import annotations

import datetime as dt

from digest.edition import Edition, edition_of
from digest.models import REFUSED, LLMUsage
from digest.store.base import Database, now_text


class LLMLedger(Database):
    def record_llm_call(self, row: dict) -> None:
        """One attempt in the llm_calls ledger; `row` holds its columns (created_at is added)."""
        row = {"created_at": now_text(), **row}
        names = ", ".join(row)
        with self.transaction() as db:
            db.execute(f"INSERT INTO llm_calls ({names}) VALUES ({', '.join(':' + k for k in row)})", row)

    def load_llm_mode(self, base_url: str, model: str) -> tuple[str, str] | None:
        """The structured-output mode that last worked for this server and model, and when it was saved."""
        rows = self.query("SELECT mode, updated_at FROM llm_modes WHERE base_url = ? AND model = ?", (base_url, model))
        return (rows[0]["mode"], rows[0]["updated_at"]) if rows else None

    def save_llm_mode(self, base_url: str, model: str, mode: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO llm_modes (base_url, model, mode, updated_at) VALUES (?, ?, ?, ?)",
                (base_url, model, mode, now_text()),
            )

    def record_removed(self, input_hash: str, run_id: int | None, count: int) -> None:
        """How many sentences of this answer were dropped (figures not in the abstracts), on its ok ledger row."""
        with self.transaction() as db:
            db.execute(
                "UPDATE llm_calls SET removed = ? WHERE input_hash = ? AND run_id IS ? AND outcome = 'ok'",
                (count, input_hash, run_id),
            )

    def removed_by_topic(self, run_id: int) -> dict[str, int]:
        rows = self.query(
            """SELECT detail, SUM(removed) AS n FROM llm_calls WHERE run_id = ? AND purpose = 'summarize'
               GROUP BY detail HAVING n > 0 ORDER BY detail""",
            (run_id,),
        )
        return {r["detail"]: r["n"] for r in rows}

    def cached_answer(self, input_hash: str) -> str | None:
        rows = self.query("SELECT response FROM llm_cache WHERE input_hash = ?", (input_hash,))
        return rows[0]["response"] if rows else None

    def cache_answer(self, input_hash: str, purpose: str, model: str, text: str, spent: LLMUsage) -> None:
        with self.transaction() as db:
            db.execute(
                """INSERT OR REPLACE INTO llm_cache (input_hash, purpose, model, response, created_at, calls,
                   prompt_tokens, completion_tokens, reasoning_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    input_hash,
                    purpose,
                    model,
                    text,
                    now_text(),
                    spent.calls,
                    spent.prompt_tokens,
                    spent.completion_tokens,
                    spent.reasoning_tokens,
                ),
            )

    def edition_usage(
        self, edition: Edition | dt.date, topics: list[str], model: str | None, *, assignments: bool = True
    ) -> LLMUsage:
        """Calls and tokens behind an edition's stored assignments (unless not `assignments`: a week's papers
        were classified, and counted, by their days) and the given topics' summaries, including retries,
        counted once per answer: the same figures however many times the report is rebuilt; and how many of its
        papers the server refused."""
        edition = edition_of(edition)
        first, last = edition.span if assignments else (dt.date.max, dt.date.max)
        marks = ",".join("?" * len(topics)) or "NULL"
        row = self.query(
            f"""SELECT COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt,
                       COALESCE(SUM(completion_tokens), 0) AS completion,
                       COALESCE(SUM(reasoning_tokens), 0) AS reasoning
                FROM llm_cache WHERE input_hash IN (
                    SELECT llm_hash FROM assignments WHERE date BETWEEN ? AND ? AND llm_hash IS NOT NULL
                    UNION SELECT llm_hash FROM summaries WHERE edition = ? AND llm_hash IS NOT NULL
                          AND topic IN ({marks}))""",
            (first.isoformat(), last.isoformat(), edition.key, *topics),
        )[0]
        refused = len(self.refused_ids(first, last))
        return LLMUsage(model, row["calls"], row["prompt"], row["completion"], row["reasoning"], refused)

    def refused_ids(self, first: dt.date, last: dt.date | None = None) -> set[str]:
        """The papers of these listing dates that the LLM server refused (its content filter)."""
        rows = self.query(
            "SELECT DISTINCT paper_id FROM assignments WHERE date BETWEEN ? AND ? AND note LIKE ? || '%'",
            (first.isoformat(), (last or first).isoformat(), REFUSED),
        )
        return {r["paper_id"] for r in rows}

    def run_reasoning_tokens(self, run_id: int) -> int:
        """The hidden reasoning tokens this run's calls paid for (part of their completion tokens)."""
        rows = self.query("SELECT COALESCE(SUM(reasoning_tokens), 0) AS n FROM llm_calls WHERE run_id = ?", (run_id,))
        return rows[0]["n"]

    def run_usage(self, run_id: int) -> dict:
        """This run's calls and tokens from the ledger, as `runs` columns (failed attempts included)."""
        row = self.query(
            """SELECT MAX(model) AS model, COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt,
                      COALESCE(SUM(completion_tokens), 0) AS completion FROM llm_calls WHERE run_id = ?""",
            (run_id,),
        )[0]
        if not row["calls"]:
            return {}
        return {
            "llm_model": row["model"],
            "llm_calls": row["calls"],
            "prompt_tokens": row["prompt"],
            "completion_tokens": row["completion"],
        }
