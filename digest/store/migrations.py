"""The schema as an ordered list of small named migrations, recorded by name in the `migrations` table.

Never edit, rename or reorder an applied migration: append a new one. A database opened by any version
is brought up to date by applying, in order, every migration whose name it has not recorded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from digest import __version__
from digest.clock import utc_text

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


def script(db: sqlite3.Connection, sql: str) -> None:
    """Run several statements inside the current transaction (executescript would commit it). Statements are
    cut where SQLite itself says one is complete, so a `;` inside a string, a comment or a trigger body
    does not end one."""
    statement = ""
    for piece in sql.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n\t;"):
                db.execute(statement)
            statement = ""
    if statement.strip(" \n\t;"):
        raise sqlite3.ProgrammingError(f"an incomplete statement at the end of a migration: {statement.strip()[:80]}")


class NewerSchema(Exception):
    """The database holds migrations this version does not know: a newer arxiv-digest wrote it."""

    def __init__(self, unknown: list[str], version: str | None) -> None:
        super().__init__(", ".join(unknown))
        self.unknown = unknown
        self.version = version  # the newest arxiv-digest version that applied one of them, when recorded


def apply(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations this database lacks, inside the caller's transaction; their names. Raises
    NewerSchema, changing nothing, when the database has migrations this version does not know: writing it
    with older code would lose what the newer one records (a delivery it made would be made again)."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT)")
    if "version" not in {r[1] for r in db.execute("PRAGMA table_info(migrations)")}:
        db.execute("ALTER TABLE migrations ADD COLUMN version TEXT")  # which arxiv-digest applied it
    # Databases from before migrations were named recorded the function names with a leading underscore.
    rows = [(r[0].lstrip("_"), r[1]) for r in db.execute("SELECT name, version FROM migrations")]
    known = {fn.__name__ for fn in MIGRATIONS}
    unknown = [(name, version) for name, version in rows if name not in known]
    if unknown:
        versions = sorted({v for _, v in unknown if v}, key=_version_key)
        raise NewerSchema([name for name, _ in unknown], versions[-1] if versions else None)
    done = {name for name, _ in rows}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ not in done:
            fn(db)
            db.execute(
                "INSERT INTO migrations (name, applied_at, version) VALUES (?, ?, ?)",
                (fn.__name__, utc_text(), __version__),
            )
            applied.append(fn.__name__)
    return applied


def _version_key(version: str) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    script(
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


@migration
def m002_llm_cost_links(db: sqlite3.Connection) -> None:
    """What each cached LLM answer cost, and which answer produced each stored assignment and summary,
    so a report rebuilt from the store shows the same calls and tokens as the run that paid for them."""
    script(
        db,
        """
        ALTER TABLE llm_cache ADD COLUMN calls INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE llm_cache ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE llm_cache ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE assignments ADD COLUMN llm_hash TEXT;
        ALTER TABLE summaries ADD COLUMN llm_hash TEXT
        """,
    )


@migration
def m003_delivery_progress(db: sqlite3.Connection) -> None:
    # A Telegram delivery is several messages: remember how many arrived and of which content, so a run that
    # stopped halfway goes on from the next message instead of repeating the first ones.
    script(
        db,
        """
        ALTER TABLE deliveries ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE deliveries ADD COLUMN parts_total INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE deliveries ADD COLUMN content TEXT
        """,
    )


@migration
def m004_llm_modes(db: sqlite3.Connection) -> None:
    """The structured-output mode each call used, sentences dropped for figures not in the abstracts, and the
    mode that worked per server and model (so later runs do not pay again for the step-down)."""
    script(
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


@migration
def m005_edition_keys(db: sqlite3.Connection) -> None:
    """Summaries, deliveries and runs belong to an edition (`day:2026-06-30`, later `week:2026-W27`), not a
    date. SQLite cannot change a primary key in place, so summaries and deliveries are copied into new tables."""
    script(
        db,
        """
        CREATE TABLE summaries_new (
            edition TEXT NOT NULL,          -- day:YYYY-MM-DD | week:YYYY-Www
            topic TEXT NOT NULL,
            method TEXT NOT NULL,
            setup TEXT NOT NULL,
            sections TEXT NOT NULL,
            paper_lines TEXT NOT NULL,
            llm_hash TEXT,
            PRIMARY KEY (edition, topic)
        );
        INSERT INTO summaries_new (edition, topic, method, setup, sections, paper_lines, llm_hash)
            SELECT 'day:' || date, topic, method, setup, sections, paper_lines, llm_hash FROM summaries;
        DROP TABLE summaries;
        ALTER TABLE summaries_new RENAME TO summaries;
        CREATE TABLE deliveries_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            edition TEXT NOT NULL,
            channel TEXT NOT NULL,
            target TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            run_id INTEGER,
            error TEXT,
            updated_at TEXT NOT NULL,
            parts_sent INTEGER NOT NULL DEFAULT 0,
            parts_total INTEGER NOT NULL DEFAULT 0,
            content TEXT,
            UNIQUE (edition, channel, target)
        );
        INSERT INTO deliveries_new (id, edition, channel, target, status, attempts, run_id, error, updated_at,
                                    parts_sent, parts_total, content)
            SELECT id, 'day:' || date, channel, target, status, attempts, run_id, error, updated_at,
                   parts_sent, parts_total, content FROM deliveries;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_new RENAME TO deliveries;
        ALTER TABLE runs ADD COLUMN edition TEXT;
        UPDATE runs SET edition = 'day:' || date WHERE date IS NOT NULL;
        CREATE INDEX runs_edition ON runs(edition)
        """,
    )


@migration
def m006_delivered_papers_and_run_pid(db: sqlite3.Connection) -> None:
    """How many papers each delivered report had (a listing that grew afterwards, say after a truncated
    fetch, shows as partly delivered), and which process runs each run (one left 'running' by a process
    that is gone is marked as such on the next start)."""
    db.execute("ALTER TABLE deliveries ADD COLUMN papers INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN pid INTEGER")


@migration
def m009_assignment_relevance(db: sqlite3.Connection) -> None:
    """Relevance 0-10 to `interests`, answered by the LLM in the classification call (NULL when not asked)."""
    db.execute("ALTER TABLE assignments ADD COLUMN relevance INTEGER")


@migration
def m010_listing_sources(db: sqlite3.Connection) -> None:
    """The latest listing can come from the listing pages and, hours later, from the RSS feed (or the API):
    each source's ids per date, so `digest status` can say when two sources disagree about a day."""
    script(
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


@migration
def m011_llm_reasoning_and_refusals(db: sqlite3.Connection) -> None:
    """The hidden reasoning tokens of each call and cached answer (billed as output, part of
    completion_tokens), and why a paper the LLM did not classify fell back to the offline classifier (a
    content filter refusing it, or no readable answer), so reports and `digest status` can say so."""
    script(
        db,
        """
        ALTER TABLE llm_calls ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE llm_cache ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE assignments ADD COLUMN note TEXT
        """,
    )


@migration
def m012_report_keys(db: sqlite3.Connection) -> None:
    """What each report on disk was rendered from: a re-run that would render the same renders nothing."""
    db.execute("CREATE TABLE report_keys (edition TEXT PRIMARY KEY, render_key TEXT NOT NULL, written_at TEXT)")


@migration
def m013_feedback(db: sqlite3.Connection) -> None:
    """Readers' taps on the Telegram buttons (one verdict per person and paper in an audience, the latest
    wins), how far the bot's updates have been read, and the papers of `interests.papers` as read once."""
    script(
        db,
        """
        CREATE TABLE feedback (
            chat TEXT NOT NULL,             -- the chat the tap came from, as configured (its audience learns)
            user_id INTEGER NOT NULL,       -- who tapped
            paper_id TEXT NOT NULL,
            verdict TEXT NOT NULL,          -- like | dislike | save
            tapped_at TEXT NOT NULL,
            PRIMARY KEY (chat, user_id, paper_id)
        );
        CREATE TABLE telegram_updates (
            bot TEXT PRIMARY KEY,           -- the bot's numeric id (the token's public part)
            next_offset INTEGER NOT NULL    -- getUpdates offset: every update before it was read and counted
        );
        CREATE TABLE own_papers (
            key TEXT PRIMARY KEY,           -- an arXiv id, or the citation key / id of a BibTeX or CSL-JSON entry
            title TEXT NOT NULL,
            abstract TEXT NOT NULL,
            source TEXT NOT NULL,           -- arxiv | the file it came from
            read_at TEXT NOT NULL
        )
        """,
    )
