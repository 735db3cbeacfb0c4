"""llm_calls and llm_cache: every LLM attempt with its tokens, and each answer keyed by its input's hash."""

from __future__ import annotations

import datetime as dt

from digest.edition import Edition, edition_of
from digest.models import LLMUsage
from digest.store.base import Database, now_text


class LLMLedger(Database):
    def record_llm_call(
        self,
        *,
        run_id: int | None,
        date: str | None,
        purpose: str,
        detail: str,
        model: str,
        prompt_version: str,
        input_hash: str,
        tokens: tuple[int, int],
        latency_ms: int,
        outcome: str,
        error: str | None,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                """INSERT INTO llm_calls (run_id, date, purpose, detail, model, prompt_version, input_hash,
                   prompt_tokens, completion_tokens, latency_ms, outcome, error, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    run_id,
                    date,
                    purpose,
                    detail,
                    model,
                    prompt_version,
                    input_hash,
                    tokens[0],
                    tokens[1],
                    latency_ms,
                    outcome,
                    error,
                    now_text(),
                ),
            )

    def cached_answer(self, input_hash: str) -> str | None:
        rows = self.query("SELECT response FROM llm_cache WHERE input_hash = ?", (input_hash,))
        return rows[0]["response"] if rows else None

    def cache_answer(self, input_hash: str, purpose: str, model: str, text: str, spent: LLMUsage) -> None:
        with self.transaction() as db:
            db.execute(
                """INSERT OR REPLACE INTO llm_cache (input_hash, purpose, model, response, created_at, calls,
                   prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    input_hash,
                    purpose,
                    model,
                    text,
                    now_text(),
                    spent.calls,
                    spent.prompt_tokens,
                    spent.completion_tokens,
                ),
            )

    def edition_usage(self, edition: Edition | dt.date, topics: list[str], model: str | None) -> LLMUsage:
        """Calls and tokens behind an edition's stored assignments and the given topics' summaries, including
        retries, counted once per answer: the same figures however many times the report is rebuilt."""
        edition = edition_of(edition)
        first, last = edition.span
        marks = ",".join("?" * len(topics)) or "NULL"
        row = self.query(
            f"""SELECT COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt,
                       COALESCE(SUM(completion_tokens), 0) AS completion
                FROM llm_cache WHERE input_hash IN (
                    SELECT llm_hash FROM assignments WHERE date BETWEEN ? AND ? AND llm_hash IS NOT NULL
                    UNION SELECT llm_hash FROM summaries WHERE edition = ? AND llm_hash IS NOT NULL
                          AND topic IN ({marks}))""",
            (first.isoformat(), last.isoformat(), edition.key, *topics),
        )[0]
        return LLMUsage(model, row["calls"], row["prompt"], row["completion"])

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
