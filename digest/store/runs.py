"""runs: one row per command run, with what it built and what its LLM calls cost."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from digest.edition import Edition, edition_of
from digest.store.base import Database, now_text


class Runs(Database):
    def start_run(self, command: str, date: Edition | dt.date | None = None) -> int:
        edition = edition_of(date) if date is not None else None
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO runs (command, date, edition, started_at, status) VALUES (?, ?, ?, ?, 'running')",
                (command, _day(edition), edition.key if edition else None, now_text()),
            )
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, **fields) -> None:
        fields = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v) for k, v in fields.items()}
        if isinstance(fields.get("date"), dt.date | Edition):
            edition = edition_of(fields["date"])
            fields["date"], fields["edition"] = _day(edition), edition.key
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        with self.transaction() as db:
            db.execute(
                f"UPDATE runs SET status = :status, finished_at = :finished_at{', ' + sets if sets else ''} "
                "WHERE id = :id",
                {"status": status, "finished_at": now_text(), "id": run_id, **fields},
            )

    def recent_runs(self, limit: int) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))

    def built_editions(self) -> set[str]:
        """Edition keys with a successful run recorded."""
        rows = self.query("SELECT DISTINCT edition FROM runs WHERE status = 'ok' AND edition IS NOT NULL")
        return {r["edition"] for r in rows}

    def built_dates(self) -> set[str]:
        """Days (ISO dates) with a successful run recorded."""
        return {Edition.parse(key).period for key in self.built_editions() if key.startswith("day:")}


def _day(edition: Edition | None) -> str | None:
    # runs.date stays the listing date of a day edition: `digest status` shows it.
    return edition.period if edition is not None and edition.kind == "day" else None
