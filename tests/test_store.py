import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from digest.edition import Edition
from digest.models import TopicSummary
from digest.store import MIGRATIONS, Store

FIXTURES = Path(__file__).parent / "fixtures"
TABLES = ("papers", "listings", "listing_papers", "assignments", "summaries", "llm_calls", "llm_cache", "runs")


def test_migrations_are_recorded_by_name_and_applied_once(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.close()
    store = Store(tmp_path / "s.sqlite3")
    assert [r["name"] for r in store.query("SELECT name FROM migrations ORDER BY id")] == [
        m.__name__ for m in MIGRATIONS
    ]
    assert store.migrate() == []
    tables = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {*TABLES, "deliveries"} <= tables


def _old_database(path: Path, dump: str) -> Path:
    """A state database written by an earlier main (numbered migrations), with rows in every table."""
    db = sqlite3.connect(path)
    db.executescript((FIXTURES / dump).read_text(encoding="utf-8"))
    db.close()
    return path


def _counts(path: Path, tables: list[str] | None = None) -> dict[str, int]:
    """Rows per table (every table but SQLite's own and the migrations record, or the ones given)."""
    db = sqlite3.connect(path)
    try:
        if tables is None:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            tables = [r[0] for r in rows if r[0] != "migrations"]
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        db.close()


# 99c6319: three migrations; 76ce972 (issue-12 merged): four, the fourth adding llm_modes.
@pytest.mark.parametrize("dump", ["state-99c6319.sql", "state-76ce972.sql"])
def test_a_database_of_the_previous_schema_upgrades_without_losing_a_row(tmp_path, dump):
    path = _old_database(tmp_path / "old.sqlite3", dump)
    before = _counts(path)
    assert all(before.values()) and {*TABLES, "deliveries"} <= set(before), before  # rows in every table

    store = Store(path)

    applied = [r["name"].lstrip("_") for r in store.query("SELECT name FROM migrations ORDER BY id")]
    assert applied == [m.__name__ for m in MIGRATIONS]
    assert _counts(path, list(before)) == before
    day = Edition.day(dt.date(2026, 6, 30))
    assert store.is_built(Edition.day(dt.date(2026, 6, 30))) and store.built_days() == [dt.date(2026, 6, 30)]
    assert [(d["channel"], d["status"], d["parts_sent"]) for d in store.deliveries_of(day)] == [
        ("email", "failed", 0),
        ("telegram", "sent", 3),
    ]
    summary = store.load_summary(day, "LLM", "setup-s")
    assert summary is not None and summary.method == "llm"
    assert store.edition_usage(day, ["LLM"], "gpt-test").calls == 2
    store.close()
    assert Store(path).migrate() == []  # the upgrade is recorded: opening again changes nothing


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    with pytest.raises(RuntimeError), store.transaction():
        store.start_run("run")
        raise RuntimeError("crash mid-write")
    assert sqlite3.connect(tmp_path / "s.sqlite3").execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_week_editions_have_their_own_key_and_span():
    week = Edition.week(dt.date(2026, 7, 1))
    assert week.key == "week:2026-W27"
    assert week.span == (dt.date(2026, 6, 29), dt.date(2026, 7, 5))
    assert Edition.parse("day:2026-06-30") == Edition.day(dt.date(2026, 6, 30))
    with pytest.raises(ValueError):
        Edition.parse("month:2026-06")


def test_a_week_edition_keeps_its_summaries_deliveries_and_runs_apart_from_its_days(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    day, week = Edition.day(dt.date(2026, 6, 30)), Edition.week(dt.date(2026, 6, 30))
    for edition, line in ((day, "하루"), (week, "한 주")):
        store.save_summary(edition, TopicSummary("LLM", [[line], [], [], [], []], {}, "extractive"), "k")
        store.mark_sending(edition, "telegram", "-1001", start=0, parts=2, content=line, run_id=None)
        store.finish_run(store.start_run("run", edition), "ok", date=edition)
    assert store.load_summary(week, "LLM", "k").sections[0] == ["한 주"]
    assert store.load_summary(day, "LLM", "k").sections[0] == ["하루"]
    assert [d["content"] for d in store.deliveries_of(week)] == ["한 주"]
    assert store.is_built(Edition.day(dt.date(2026, 6, 30))) and store.is_built(Edition.parse("week:2026-W27"))
    assert not store.is_built(Edition.day(dt.date(2026, 7, 1)))
    assert store.built_days() == [dt.date(2026, 6, 30)]


def test_a_migration_script_keeps_semicolons_inside_strings_and_triggers(tmp_path):
    from digest.store.migrations import script

    db = sqlite3.connect(tmp_path / "m.sqlite3", isolation_level=None)
    db.execute("BEGIN")
    script(
        db,
        """
        CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT DEFAULT 'a; b', seen INTEGER DEFAULT 0);
        CREATE TABLE log (note INTEGER); -- a comment; with a semicolon
        CREATE TRIGGER noted AFTER INSERT ON notes BEGIN
            INSERT INTO log VALUES (new.id);
            UPDATE notes SET seen = 1 WHERE id = new.id;
        END;
        INSERT INTO notes (id) VALUES (1); INSERT INTO notes (id, body) VALUES (2, 'x;y');
        """,
    )
    db.execute("COMMIT")
    assert db.execute("SELECT id, body, seen FROM notes ORDER BY id").fetchall() == [(1, "a; b", 1), (2, "x;y", 1)]
    assert db.execute("SELECT note FROM log ORDER BY note").fetchall() == [(1,), (2,)]
