"""deliveries: one row per (edition, channel, target), written before and after each send."""

from __future__ import annotations

import datetime as dt
import sqlite3

from digest.edition import Edition, edition_of
from digest.store.base import Database, now_text

When = Edition | dt.date


class Deliveries(Database):
    def delivery(self, edition: When, channel: str, target: str) -> sqlite3.Row | None:
        rows = self.query(
            "SELECT * FROM deliveries WHERE edition = ? AND channel = ? AND target = ?",
            (edition_of(edition).key, channel, target),
        )
        return rows[0] if rows else None

    def deliveries_of(self, edition: When) -> list[sqlite3.Row]:
        return self.query(
            "SELECT * FROM deliveries WHERE edition = ? ORDER BY channel, target", (edition_of(edition).key,)
        )

    def mark_sending(
        self, edition: When, channel: str, target: str, *, start: int, parts: int, content: str, run_id: int | None
    ) -> None:
        with self.transaction() as db:
            db.execute(
                """INSERT INTO deliveries (edition, channel, target, status, attempts, run_id, error, updated_at,
                                           parts_sent, parts_total, content)
                   VALUES (?, ?, ?, 'sending', 1, ?, NULL, ?, ?, ?, ?)
                   ON CONFLICT (edition, channel, target) DO UPDATE SET status = 'sending',
                     attempts = attempts + 1, run_id = excluded.run_id, error = NULL,
                     updated_at = excluded.updated_at, parts_sent = excluded.parts_sent,
                     parts_total = excluded.parts_total, content = excluded.content""",
                (edition_of(edition).key, channel, target, run_id, now_text(), start, parts, content),
            )

    def mark_progress(self, edition: When, channel: str, target: str, parts_sent: int) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET parts_sent = ?, updated_at = ? WHERE edition = ? AND channel = ? AND target = ?",
                (parts_sent, now_text(), edition_of(edition).key, channel, target),
            )

    def mark_finished(
        self, edition: When, channel: str, target: str, status: str, error: str | None, papers: int | None = None
    ) -> None:
        """`papers`: how many papers the delivered report had, so a listing that grew later shows as partial."""
        with self.transaction() as db:
            db.execute(
                """UPDATE deliveries SET status = ?, error = ?, updated_at = ?, papers = coalesce(?, papers)
                   WHERE edition = ? AND channel = ? AND target = ?""",
                (status, error, now_text(), papers, edition_of(edition).key, channel, target),
            )

    def mark_unsent(
        self, edition: When, channel: str, target: str, status: str, error: str, run_id: int | None
    ) -> None:
        """A target that got nothing this time: 'failed' before anything could be sent, or 'empty' (nothing
        for its audience)."""
        with self.transaction() as db:
            db.execute(
                """INSERT INTO deliveries (edition, channel, target, status, attempts, run_id, error, updated_at)
                   VALUES (?, ?, ?, ?, 1, ?, ?, ?)
                   ON CONFLICT (edition, channel, target) DO UPDATE SET status = excluded.status,
                     attempts = attempts + 1, run_id = excluded.run_id, error = excluded.error,
                     updated_at = excluded.updated_at""",
                (edition_of(edition).key, channel, target, status, run_id, error, now_text()),
            )
