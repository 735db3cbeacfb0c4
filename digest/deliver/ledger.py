"""The deliveries table: one row per (date, channel, target), written before and after each send.

A row is 'sending' while a send is under way, then 'sent' or 'failed'. Deliveries run under a file lock
(see deliver_report), so a row still 'sending' when the lock is ours was left by a process that stopped
mid-send: whether its last message arrived cannot be known."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from digest.store import Store


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Claim:
    start: int  # parts already delivered; send from this one
    interrupted: bool  # a previous run stopped while sending to this target
    resumed: bool  # start > 0 because the same content was partly delivered before


def row(store: Store, date: dt.date, channel: str, target: str) -> sqlite3.Row | None:
    rows = store.query(
        "SELECT * FROM deliveries WHERE date = ? AND channel = ? AND target = ?", (date.isoformat(), channel, target)
    )
    return rows[0] if rows else None


def claim(
    store: Store, date: dt.date, channel: str, target: str, *, content: str, parts: int, force: bool, run_id: int | None
) -> Claim | None:
    """Mark a target 'sending' and say where to start; None if it was already sent and not forced."""
    with store.transaction() as db:
        old = row(store, date, channel, target)
        if old is not None and old["status"] == "sent" and not force:
            return None
        interrupted = old is not None and old["status"] == "sending"
        start = 0
        if old is not None and not force and old["content"] == content and old["status"] != "sent":
            start = min(old["parts_sent"], parts)
        db.execute(
            """INSERT INTO deliveries (date, channel, target, status, attempts, run_id, error, updated_at,
                                       parts_sent, parts_total, content)
               VALUES (?, ?, ?, 'sending', 1, ?, NULL, ?, ?, ?, ?)
               ON CONFLICT (date, channel, target) DO UPDATE SET status = 'sending',
                 attempts = attempts + 1, run_id = excluded.run_id, error = NULL, updated_at = excluded.updated_at,
                 parts_sent = excluded.parts_sent, parts_total = excluded.parts_total, content = excluded.content""",
            (date.isoformat(), channel, target, run_id, _now(), start, parts, content),
        )
    return Claim(start, interrupted, start > 0)


def progress(store: Store, date: dt.date, channel: str, target: str, parts_sent: int) -> None:
    with store.transaction() as db:
        db.execute(
            "UPDATE deliveries SET parts_sent = ?, updated_at = ? WHERE date = ? AND channel = ? AND target = ?",
            (parts_sent, _now(), date.isoformat(), channel, target),
        )


def finish(
    store: Store,
    date: dt.date,
    channel: str,
    target: str,
    status: str,
    error: str | None = None,
    papers: int | None = None,
) -> None:
    """Close a claim; `papers` is how many papers the delivered report had (recorded when sent)."""
    with store.transaction() as db:
        db.execute(
            """UPDATE deliveries SET status = ?, error = ?, updated_at = ?, papers = coalesce(?, papers)
               WHERE date = ? AND channel = ? AND target = ?""",
            (status, error, _now(), papers, date.isoformat(), channel, target),
        )


def fail_unclaimed(store: Store, date: dt.date, channel: str, target: str, error: str, run_id: int | None) -> None:
    """Record a failure that happened before anything could be sent (missing token, template error)."""
    with store.transaction() as db:
        db.execute(
            """INSERT INTO deliveries (date, channel, target, status, attempts, run_id, error, updated_at)
               VALUES (?, ?, ?, 'failed', 1, ?, ?, ?)
               ON CONFLICT (date, channel, target) DO UPDATE SET status = 'failed', attempts = attempts + 1,
                 run_id = excluded.run_id, error = excluded.error, updated_at = excluded.updated_at""",
            (date.isoformat(), channel, target, run_id, error, _now()),
        )
