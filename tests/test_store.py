import sqlite3

from digest.store import MIGRATIONS, Store


def test_migrations_are_recorded_and_applied_once(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.close()
    store = Store(tmp_path / "s.sqlite3")
    rows = store.query("SELECT id, name FROM migrations ORDER BY id")
    assert [r["id"] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    tables = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "papers",
        "listings",
        "listing_papers",
        "assignments",
        "summaries",
        "llm_calls",
        "llm_cache",
        "runs",
        "deliveries",
    } <= tables


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    try:
        with store.transaction() as db:
            db.execute("INSERT INTO runs (command, started_at, status) VALUES ('run', 'now', 'running')")
            raise RuntimeError("crash mid-write")
    except RuntimeError:
        pass
    assert sqlite3.connect(tmp_path / "s.sqlite3").execute("SELECT count(*) FROM runs").fetchone()[0] == 0
