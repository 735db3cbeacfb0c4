"""Delivery bookkeeping: one row per (edition, channel, target) in the store, written before and after each send.

A row is 'sending' while a send is under way, then 'sent' or 'failed' ('empty': the audience had nothing).
Deliveries run under a file lock (see deliver_report), so a row still 'sending' when the lock is ours was left
by a process that stopped mid-send: whether its last message arrived cannot be known."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from digest.edition import Edition
from digest.store import Store


@dataclass(frozen=True)
class Claim:
    start: int  # parts already delivered; send from this one
    interrupted: bool  # a previous run stopped while sending to this target
    resumed: bool  # start > 0 because the same content was partly delivered before


def row(store: Store, when: Edition | dt.date, channel: str, target: str) -> sqlite3.Row | None:
    return store.delivery(when, channel, target)


def claim(
    store: Store,
    when: Edition | dt.date,
    channel: str,
    target: str,
    *,
    content: str,
    parts: int,
    force: bool,
    run_id: int | None,
) -> Claim | None:
    """Mark a target 'sending' and say where to start; None if it was already sent and not forced."""
    with store.transaction():
        old = store.delivery(when, channel, target)
        if old is not None and old["status"] == "sent" and not force:
            return None
        interrupted = old is not None and old["status"] == "sending"
        start = 0
        if old is not None and not force and old["content"] == content and old["status"] != "sent":
            start = min(old["parts_sent"], parts)
        store.mark_sending(when, channel, target, start=start, parts=parts, content=content, run_id=run_id)
    return Claim(start, interrupted, start > 0)


def progress(store: Store, when: Edition | dt.date, channel: str, target: str, parts_sent: int) -> None:
    store.mark_progress(when, channel, target, parts_sent)


def finish(
    store: Store,
    when: Edition | dt.date,
    channel: str,
    target: str,
    status: str,
    error: str | None = None,
    papers: int | None = None,
) -> None:
    """Close a claim; `papers` is how many papers the delivered report had (recorded when sent)."""
    store.mark_finished(when, channel, target, status, error, papers)


def fail_unclaimed(
    store: Store, when: Edition | dt.date, channel: str, target: str, error: str, run_id: int | None
) -> None:
    """Record a failure that happened before anything could be sent (missing token, template error)."""
    store.mark_unsent(when, channel, target, "failed", error, run_id)


def nothing_to_send(
    store: Store, when: Edition | dt.date, channel: str, target: str, why: str, run_id: int | None
) -> None:
    """Record that the target's audience had nothing this time (its topics are empty, every paper excluded)."""
    store.mark_unsent(when, channel, target, "empty", why, run_id)
