"""SQLite state: schema built by ordered migrations, small functions that read and write rows.

Every write happens in a transaction, so a crash leaves the database as it was before the write.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.errors import ConfigError
from digest.models import Assignment, Listing, Paper, TopicSummary


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run several statements inside the current transaction (executescript would commit it)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _m001_initial(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE papers (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL,
            authors TEXT NOT NULL,          -- JSON list
            categories TEXT NOT NULL,       -- JSON list, primary first
            first_seen TEXT NOT NULL
        );
        CREATE TABLE listings (
            date TEXT PRIMARY KEY,          -- arXiv announcement (listing) date
            source TEXT NOT NULL,           -- rss | api | demo
            fetched_at TEXT NOT NULL,
            paper_count INTEGER NOT NULL
        );
        CREATE TABLE listing_papers (
            date TEXT NOT NULL REFERENCES listings(date) ON DELETE CASCADE,
            paper_id TEXT NOT NULL REFERENCES papers(id),
            announce_type TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (date, paper_id)
        );
        CREATE TABLE assignments (
            date TEXT NOT NULL,
            paper_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            importance INTEGER NOT NULL,
            method TEXT NOT NULL,           -- llm | offline | offline-fallback
            setup TEXT NOT NULL,            -- hash of the topics and method that produced it
            PRIMARY KEY (date, paper_id)
        );
        CREATE TABLE summaries (
            date TEXT NOT NULL,
            topic TEXT NOT NULL,
            method TEXT NOT NULL,           -- llm | extractive
            setup TEXT NOT NULL,
            sections TEXT NOT NULL,         -- JSON: five lists of sentences
            paper_lines TEXT NOT NULL,      -- JSON: id -> line
            PRIMARY KEY (date, topic)
        );
        CREATE TABLE llm_calls (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER,
            date TEXT,
            purpose TEXT NOT NULL,          -- classify | summarize | check
            detail TEXT,                    -- batch or topic
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            input_hash TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            latency_ms INTEGER NOT NULL DEFAULT 0,
            outcome TEXT NOT NULL,          -- ok | error | invalid | refused
            error TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE llm_cache (
            input_hash TEXT PRIMARY KEY,
            purpose TEXT NOT NULL,
            model TEXT NOT NULL,
            response TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            command TEXT NOT NULL,
            date TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,           -- running | ok | empty | failed | skipped
            papers INTEGER,
            counts TEXT,                    -- JSON topic -> papers
            llm_model TEXT,
            llm_calls INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            report_path TEXT,
            error TEXT
        );
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            date TEXT NOT NULL,
            channel TEXT NOT NULL,          -- telegram | email
            target TEXT NOT NULL,           -- chat id or address
            status TEXT NOT NULL,           -- sending | sent | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            run_id INTEGER,
            error TEXT,
            updated_at TEXT NOT NULL,
            UNIQUE (date, channel, target)
        );
        CREATE INDEX llm_calls_run ON llm_calls(run_id);
        CREATE INDEX runs_date ON runs(date);
        """,
    )


def _m002_llm_cost_links(db: sqlite3.Connection) -> None:
    """What each cached LLM answer cost, and which answer produced each stored assignment and summary,
    so a report rebuilt from the store shows the same calls and tokens as the run that paid for them."""
    _script(
        db,
        """
        ALTER TABLE llm_cache ADD COLUMN calls INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE llm_cache ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE llm_cache ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE assignments ADD COLUMN llm_hash TEXT;
        ALTER TABLE summaries ADD COLUMN llm_hash TEXT
        """,
    )


def _m003_delivery_progress(db: sqlite3.Connection) -> None:
    # A Telegram delivery is several messages: remember how many arrived and of which content, so a run that
    # stopped halfway goes on from the next message instead of repeating the first ones.
    db.execute("ALTER TABLE deliveries ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE deliveries ADD COLUMN parts_total INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE deliveries ADD COLUMN content TEXT")


def _m004_llm_modes(db: sqlite3.Connection) -> None:
    """The structured-output mode each call used, sentences dropped for figures not in the abstracts, and the
    mode that worked per server and model (so later runs do not pay again for the step-down)."""
    _script(
        db,
        """
        ALTER TABLE llm_calls ADD COLUMN mode TEXT;
        ALTER TABLE llm_calls ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE llm_modes (
            base_url TEXT NOT NULL,
            model TEXT NOT NULL,
            mode TEXT NOT NULL,             -- json_schema | json_object | text
            updated_at TEXT NOT NULL,
            PRIMARY KEY (base_url, model)
        )
        """,
    )


def _m005_listing_sources(db: sqlite3.Connection) -> None:
    # The latest listing can come from the listing pages and, hours later, from the RSS feed (or the API):
    # each source's ids per date, so `digest status` can say when two sources disagree about a day.
    _script(
        db,
        """
        CREATE TABLE listing_sources (
            date TEXT NOT NULL,
            source TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            paper_count INTEGER NOT NULL,
            ids TEXT NOT NULL,              -- JSON list of the ids this source gave, in its order
            PRIMARY KEY (date, source)
        )
        """,
    )


# Ordered; never edit or reorder an applied migration, append a new one.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m001_initial,
    _m002_llm_cost_links,
    _m003_delivery_progress,
    _m004_llm_modes,
    _m005_listing_sources,
]


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"state.path: cannot open SQLite database {self.path}: {exc}") from exc
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA journal_mode = WAL")
        self._lock = threading.RLock()
        self._depth = 0
        self.migrate()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested uses join the outer one. Safe across threads."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.db
                finally:
                    self._depth -= 1
                return
            self.db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.db.execute(sql, params).fetchall()

    def migrate(self) -> None:
        with self.transaction() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT)"
            )
            done = {r["id"] for r in db.execute("SELECT id FROM migrations")}
            for number, migration in enumerate(MIGRATIONS, start=1):
                if number not in done:
                    migration(db)
                    db.execute(
                        "INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)",
                        (number, migration.__name__, _now()),
                    )

    # ----- listings and papers -----

    def save_listing(self, listing: Listing) -> None:
        date = listing.date.isoformat()
        now = _now()
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
                (date, listing.source, _now(), len(listing.papers)),
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
                    _now(),
                    len(listing.papers),
                    json.dumps([p.id for p in listing.papers]),
                ),
            )

    def listing_sources(self, date: str) -> list[sqlite3.Row]:
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

    # ----- assignments and summaries -----

    def save_assignments(self, date: dt.date, assignments: list[Assignment], setup: str) -> None:
        with self.transaction() as db:
            db.executemany(
                """INSERT OR REPLACE INTO assignments (date, paper_id, topic, importance, method, setup)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [(date.isoformat(), a.paper_id, a.topic, a.importance, a.method, setup) for a in assignments],
            )

    def load_assignments(self, date: dt.date, setup: str) -> dict[str, Assignment]:
        rows = self.query("SELECT * FROM assignments WHERE date = ? AND setup = ?", (date.isoformat(), setup))
        return {r["paper_id"]: Assignment(r["paper_id"], r["topic"], r["importance"], r["method"]) for r in rows}

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

    def clear_date(self, date: dt.date) -> None:
        """Forget the derived work for a date (used by --force); papers and deliveries stay."""
        with self.transaction() as db:
            db.execute("DELETE FROM assignments WHERE date = ?", (date.isoformat(),))
            db.execute("DELETE FROM summaries WHERE date = ?", (date.isoformat(),))

    def save_summary(self, date: dt.date, summary: TopicSummary, setup: str) -> None:
        with self.transaction() as db:
            db.execute(
                """INSERT OR REPLACE INTO summaries (date, topic, method, setup, sections, paper_lines)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    date.isoformat(),
                    summary.topic,
                    summary.method,
                    setup,
                    json.dumps(summary.sections, ensure_ascii=False),
                    json.dumps(summary.paper_lines, ensure_ascii=False),
                ),
            )

    def load_summary(self, date: dt.date, topic: str, setup: str) -> TopicSummary | None:
        rows = self.query(
            "SELECT * FROM summaries WHERE date = ? AND topic = ? AND setup = ?", (date.isoformat(), topic, setup)
        )
        if not rows:
            return None
        r = rows[0]
        return TopicSummary(topic, json.loads(r["sections"]), json.loads(r["paper_lines"]), r["method"])

    # ----- LLM: the ledger, structured-output modes, figure checks -----

    def record_llm_call(self, row: dict) -> None:
        """One attempt in the llm_calls ledger; `row` holds its columns."""
        names = ", ".join(row)
        with self.transaction() as db:
            db.execute(f"INSERT INTO llm_calls ({names}) VALUES ({', '.join(':' + k for k in row)})", row)

    def load_llm_mode(self, base_url: str, model: str) -> str | None:
        rows = self.query("SELECT mode FROM llm_modes WHERE base_url = ? AND model = ?", (base_url, model))
        return rows[0]["mode"] if rows else None

    def save_llm_mode(self, base_url: str, model: str, mode: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO llm_modes (base_url, model, mode, updated_at) VALUES (?, ?, ?, ?)",
                (base_url, model, mode, _now()),
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

    # ----- runs -----

    def start_run(self, command: str, date: dt.date | None = None) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO runs (command, date, started_at, status) VALUES (?, ?, ?, 'running')",
                (command, date.isoformat() if date else None, _now()),
            )
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, **fields) -> None:
        fields = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v) for k, v in fields.items()}
        if isinstance(fields.get("date"), dt.date):
            fields["date"] = fields["date"].isoformat()
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        with self.transaction() as db:
            db.execute(
                f"UPDATE runs SET status = :status, finished_at = :finished_at{', ' + sets if sets else ''} "
                "WHERE id = :id",
                {"status": status, "finished_at": _now(), "id": run_id, **fields},
            )

    def recent_runs(self, limit: int) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))

    def built_dates(self) -> set[str]:
        rows = self.query("SELECT DISTINCT date FROM runs WHERE status = 'ok' AND date IS NOT NULL")
        return {r["date"] for r in rows}
