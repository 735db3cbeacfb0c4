"""runs: one row per command run, with what it built and what its LLM calls cost."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys

from digest.edition import Edition, edition_of
from digest.models import LLMUsage
from digest.store.base import Database, now_text


class Runs(Database):
    def start_run(self, command: str, date: Edition | dt.date | None = None) -> int:
        edition = edition_of(date) if date is not None else None
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO runs (command, date, edition, started_at, status, pid) VALUES (?, ?, ?, ?, 'running', ?)",
                (command, _day(edition), edition.key if edition else None, now_text(), os.getpid()),
            )
            return int(cur.lastrowid)

    def mark_dead_runs(self) -> list[int]:
        """Runs left 'running' by a process that no longer exists (SIGKILL, a power cut) become
        'interrupted'; returns their ids. Call it holding the state lock (no other run is live then)."""
        dead = [
            r["id"]
            for r in self.query("SELECT id, pid FROM runs WHERE status = 'running'")
            if r["pid"] != os.getpid() and not _alive(r["pid"])
        ]
        with self.transaction() as db:
            for run_id in dead:
                db.execute(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ?",
                    (now_text(), "the process ended without finishing this run (killed or crashed)", run_id),
                )
        return dead

    def finish_run(self, run_id: int, status: str, usage: LLMUsage | None = None, **fields: object) -> None:
        """Record how a run ended: its status, and any of the runs table's columns (`usage`: the LLM's)."""
        if usage is not None:
            fields |= {
                "llm_model": usage.model,
                "llm_calls": usage.calls,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
            }
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

    def is_built(self, edition: Edition | dt.date) -> bool:
        """Whether a successful run is recorded for the edition (one row, by the runs' edition index)."""
        key = edition_of(edition).key
        return bool(self.query("SELECT 1 FROM runs WHERE edition = ? AND status = 'ok' LIMIT 1", (key,)))

    def report_key(self, edition: Edition | dt.date) -> str | None:
        """What the edition's report on disk was rendered from (render.render_key), if it was recorded."""
        rows = self.query("SELECT render_key FROM report_keys WHERE edition = ?", (edition_of(edition).key,))
        return rows[0]["render_key"] if rows else None

    def save_report_key(self, edition: Edition | dt.date, key: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO report_keys (edition, render_key, written_at) VALUES (?, ?, ?)",
                (edition_of(edition).key, key, now_text()),
            )

    def built_days(self) -> list[dt.date]:
        """Days with a successful run recorded, newest first."""
        rows = self.query(
            "SELECT DISTINCT date FROM runs WHERE status = 'ok' AND edition LIKE 'day:%' AND date IS NOT NULL "
            "ORDER BY date DESC"
        )
        return [dt.date.fromisoformat(r["date"]) for r in rows]


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would send Ctrl+C there: assume it lives
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


def _day(edition: Edition | None) -> str | None:
    # runs.date stays the listing date of a day edition: `digest status` shows it.
    return edition.period if edition is not None and edition.kind == "day" else None
