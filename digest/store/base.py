"""The SQLite connection every table group shares: one connection, write transactions, a row reader."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.clock import utc_text
from digest.errors import ConfigError
from digest.store import migrations

now_text = utc_text  # the time the store records: UTC, ISO 8601 to the second


class Database:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"state.path: cannot open SQLite database {self.path}: {exc}") from exc
        self.db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            # SQLite's advice for WAL: a commit survives the process dying, and a power cut may undo only the last
            # commits (at worst a message is sent again), never corrupt the file; commits no longer wait on fsync.
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):  # locked, read-only...: not a broken file
                raise
            self.db.close()
            raise ConfigError(
                f"state.path: {self.path} is not a usable SQLite database ({exc}); restore it from a backup, "
                "or move it away to start afresh"
            ) from None

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
        """Rows of one read. For the store's table modules and for tests that look inside the database."""
        with self._lock:
            return self.db.execute(sql, params).fetchall()

    def migrate(self) -> list[str]:
        """Apply the migrations this database lacks; their names."""
        with self.transaction() as db:
            return migrations.apply(db)
