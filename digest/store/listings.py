"""papers, listings, listing_papers: what arXiv announced on each listing date."""

from __future__ import annotations

import datetime as dt
import json

from digest.models import Listing, Paper
from digest.store.base import Database, now_text


class Listings(Database):
    def save_listing(self, listing: Listing) -> None:
        date = listing.date.isoformat()
        now = now_text()
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO papers (id, title, abstract, authors, categories, first_seen)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET title=excluded.title, abstract=excluded.abstract,
                     authors=excluded.authors, categories=excluded.categories""",
                [
                    (
                        p.id,
                        p.title,
                        p.abstract,
                        json.dumps(p.authors, ensure_ascii=False),
                        json.dumps(p.categories),
                        now,
                    )
                    for p in listing.papers
                ],
            )
            db.execute("DELETE FROM listing_papers WHERE date = ?", (date,))
            db.execute(
                "INSERT OR REPLACE INTO listings (date, source, fetched_at, paper_count) VALUES (?, ?, ?, ?)",
                (date, listing.source, now, len(listing.papers)),
            )
            db.executemany(
                "INSERT INTO listing_papers (date, paper_id, announce_type, position) VALUES (?, ?, ?, ?)",
                [(date, p.id, p.announce_type, i) for i, p in enumerate(listing.papers)],
            )
            self.record_source(listing)

    def record_source(self, listing: Listing) -> None:
        """Remember which ids this source gave for the listing's date (the stored listing is unchanged)."""
        with self.transaction() as db:
            db.execute(
                """INSERT OR REPLACE INTO listing_sources (date, source, fetched_at, paper_count, ids)
                   VALUES (?, ?, ?, ?, ?)""",
                (
                    listing.date.isoformat(),
                    listing.source,
                    now_text(),
                    len(listing.papers),
                    json.dumps([p.id for p in listing.papers]),
                ),
            )

    def listing_sources(self, date: str) -> list:
        """Every source seen for a date: the one the stored listing came from first, then the others."""
        return self.query(
            """SELECT * FROM listing_sources WHERE date = ?
               ORDER BY source = (SELECT source FROM listings WHERE date = ?) DESC, fetched_at, source""",
            (date, date),
        )

    def load_listing(self, date: dt.date) -> Listing | None:
        iso = date.isoformat()
        head = self.query("SELECT source FROM listings WHERE date = ?", (iso,))
        if not head:
            return None
        rows = self.query(
            """SELECT p.*, lp.announce_type FROM listing_papers lp JOIN papers p ON p.id = lp.paper_id
               WHERE lp.date = ? ORDER BY lp.position""",
            (iso,),
        )
        papers = [
            Paper(
                id=r["id"],
                title=r["title"],
                abstract=r["abstract"],
                authors=json.loads(r["authors"]),
                categories=json.loads(r["categories"]),
                announce_type=r["announce_type"],
            )
            for r in rows
        ]
        return Listing(date=date, papers=papers, source=head[0]["source"])

    def listing_size(self, date: dt.date) -> int:
        """How many papers the stored listing of this date has (0 if none is stored)."""
        rows = self.query("SELECT paper_count FROM listings WHERE date = ?", (date.isoformat(),))
        return rows[0]["paper_count"] if rows else 0

    def listing_dates_of(self, ids: list[str]) -> dict[str, str]:
        """For each id already in a stored listing, the earliest listing date it appeared in."""
        found: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.query(
                f"SELECT paper_id, min(date) AS date FROM listing_papers WHERE paper_id IN ({marks}) GROUP BY paper_id",
                tuple(chunk),
            ):
                found[r["paper_id"]] = r["date"]
        return found
