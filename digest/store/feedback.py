"""Readers' feedback: the taps on the Telegram buttons, the getUpdates offset that makes each tap count once,
and the papers of `interests.papers` (read once, then kept)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from digest.models import Paper
from digest.store.base import Database, now_text

VERDICTS = ("like", "dislike", "save")


@dataclass(frozen=True)
class Tap:
    """One reader's verdict on one paper, from one configured chat."""

    chat: str
    user_id: int
    paper_id: str
    verdict: str  # like | dislike | save


class Feedback(Database):
    def record_taps(self, bot: str, taps: Iterable[Tap], next_offset: int) -> None:
        """The taps of one getUpdates answer and the offset after it, in one transaction: a crash between
        them can neither lose the taps nor count them twice. A person's later tap on a paper replaces theirs."""
        with self.transaction() as db:
            for tap in taps:
                db.execute(
                    "INSERT OR REPLACE INTO feedback (chat, user_id, paper_id, verdict, tapped_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (tap.chat, tap.user_id, tap.paper_id, tap.verdict, now_text()),
                )
            db.execute(
                "INSERT INTO telegram_updates (bot, next_offset) VALUES (?, ?) "
                "ON CONFLICT (bot) DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset)",
                (bot, next_offset),
            )

    def updates_offset(self, bot: str) -> int:
        """The getUpdates offset to ask from (0: never read)."""
        rows = self.query("SELECT next_offset FROM telegram_updates WHERE bot = ?", (bot,))
        return rows[0]["next_offset"] if rows else 0

    def verdicts(self, chats: Iterable[str]) -> dict[str, tuple[int, str]]:
        """Each paper tapped in these chats: its net verdict over the people (likes and saves count +1,
        dislikes -1) and the verdict of the latest tap (how a reason names it: 👍 or 🔖)."""
        chats = list(chats)
        if not chats:
            return {}
        marks = ",".join("?" * len(chats))
        rows = self.query(
            "SELECT paper_id, SUM(CASE verdict WHEN 'dislike' THEN -1 ELSE 1 END) AS net, "
            "(SELECT f2.verdict FROM feedback f2 WHERE f2.paper_id = f.paper_id AND f2.chat IN "
            f"({marks}) ORDER BY f2.tapped_at DESC LIMIT 1) AS latest "
            f"FROM feedback f WHERE chat IN ({marks}) GROUP BY paper_id",
            (*chats, *chats),
        )
        return {r["paper_id"]: (r["net"], r["latest"]) for r in rows}

    def taps_per_chat(self) -> list[tuple[str, str, int]]:
        """(chat, verdict, how many) for `digest status`."""
        rows = self.query("SELECT chat, verdict, COUNT(*) AS n FROM feedback GROUP BY chat, verdict ORDER BY chat")
        return [(r["chat"], r["verdict"], r["n"]) for r in rows]

    def papers_by_id(self, ids: Iterable[str]) -> dict[str, Paper]:
        """The stored papers among `ids` (title, abstract, authors, categories), for learning from taps."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Paper] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.query(f"SELECT * FROM papers WHERE id IN ({marks})", tuple(chunk)):
                found[r["id"]] = Paper(
                    r["id"], r["title"], r["abstract"], _json_list(r["authors"]), _json_list(r["categories"]), "new"
                )
        return found

    def own_papers(self) -> dict[str, Paper]:
        """The papers of interests.papers read so far, by key."""
        return {
            r["key"]: Paper(r["key"], r["title"], r["abstract"], [], [], "new")
            for r in self.query("SELECT key, title, abstract FROM own_papers")
        }

    def save_own_papers(self, papers: Iterable[Paper], source: str) -> None:
        with self.transaction() as db:
            for p in papers:
                db.execute(
                    "INSERT OR REPLACE INTO own_papers (key, title, abstract, source, read_at) VALUES (?, ?, ?, ?, ?)",
                    (p.id, p.title, p.abstract, source, now_text()),
                )


def _json_list(text: str) -> list[str]:
    value = json.loads(text)
    return value if isinstance(value, list) else []
