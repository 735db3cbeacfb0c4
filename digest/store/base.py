"""The SQLite connection every table group shares: one connection, write transactions, a row reader.

A full disk must not make the tool forget what it has already done (a message it sent, then could not record,
would be sent again by the next run). Beside the database lies a reserve file (RESERVE_BYTES). When a write
transaction starts with less than LOW_WATER_BYTES free (or a write finds the disk full), the reserve is
deleted, so what was done is recorded, and `space_low` tells the delivery loop to stop before it sends
anything else. The next run makes the reserve again when there is room, and delivers nothing while there is
not."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from digest import __version__
from digest.clock import utc_text
from digest.errors import ConfigError, DigestError
from digest.store import migrations

now_text = utc_text  # the time the store records: UTC, ISO 8601 to the second
RESERVE_BYTES = 1 << 20  # room for a few hundred small writes once the disk is full
LOW_WATER_BYTES = 256 << 10  # below this much free space, the reserve is given up before a write needs it
log = logging.getLogger("digest")


def _disk_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    )


class _Writer:
    """The connection as a transaction's body sees it: a write that finds the disk full frees the reserve
    and is tried once more."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        return self._database._retry_when_full(lambda: self._database.db.execute(sql, params))

    def executemany(self, sql: str, rows: Iterable) -> sqlite3.Cursor:
        rows = list(rows)
        return self._database._retry_when_full(lambda: self._database.db.executemany(sql, rows))


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
        self.reserve = self.path.with_name(self.path.name + ".reserve")
        self.space_low = False  # the disk was found full (or too full for the reserve): deliver nothing more
        try:
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            # SQLite's advice for WAL: a commit survives the process dying, and a power cut may undo only the last
            # commits (at worst a message is sent again), never corrupt the file; commits no longer wait on fsync.
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.migrate()
        except migrations.NewerSchema as exc:
            self.db.close()
            needs = f"arxiv-digest {exc.version} or newer" if exc.version else "a newer arxiv-digest"
            raise ConfigError(
                f"state.path: {self.path} was written by a newer version of arxiv-digest (it has {exc}, which "
                f"{__version__} does not know); it needs {needs}: upgrade (pip install -U arxiv-digest), or point "
                "state.path at another file. Nothing was changed"
            ) from None
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):  # full, locked, read-only...: not a broken file
                self.db.close()
                raise self._located(exc) from None
            self.db.close()
            raise ConfigError(
                f"state.path: {self.path} is not a usable SQLite database ({exc}); restore it from a backup, "
                "or move it away to start afresh"
            ) from None

    def close(self) -> None:
        self.db.close()

    def checkpoint_and_close(self) -> None:
        """Close, leaving the database in one file (the write-ahead log folded in and emptied)."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()

    def keep_reserve(self) -> bool:
        """Make sure the reserve file is in place (a run calls it before it delivers); False, and `space_low`,
        when the disk cannot hold it."""
        try:
            if self.reserve.stat().st_size >= RESERVE_BYTES:
                return True
        except FileNotFoundError:
            pass
        try:
            with self.reserve.open("wb") as out:
                out.write(bytes(RESERVE_BYTES))
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            self.reserve.unlink(missing_ok=True)
            self.space_low = True
            log.warning("%s: cannot keep %d KB free beside the state (%s)", self.reserve, RESERVE_BYTES >> 10, exc)
            return False
        return True

    def _give_up_reserve(self) -> bool:
        if not self.reserve.exists():
            return False
        self.reserve.unlink(missing_ok=True)
        self.space_low = True
        log.warning(
            "%s: the disk is full; freed the %d KB reserve to record what was done", self.path, RESERVE_BYTES >> 10
        )
        return True

    def _make_room(self) -> None:
        """Before a write: with the disk nearly full, give the reserve up now, while a write can still use it."""
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError:
            return
        if free < LOW_WATER_BYTES:
            self._give_up_reserve()

    def _retry_when_full(self, write: Callable[[], sqlite3.Cursor]) -> sqlite3.Cursor:
        try:
            return write()
        except sqlite3.OperationalError as exc:
            if not _disk_full(exc) or not self._give_up_reserve():
                raise self._located(exc) from None
            try:
                return write()
            except sqlite3.OperationalError as again:
                raise self._located(again) from None

    def _located(self, exc: sqlite3.OperationalError) -> DigestError:
        """One line naming the database (and the fix for a full disk) instead of SQLite's bare words."""
        try:
            full = _disk_full(exc) or shutil.disk_usage(self.path.parent).free < LOW_WATER_BYTES
        except OSError:
            full = False
        if full:
            return DigestError(
                f"the disk holding {self.path} (state.path) is full ({exc}): free some space and run again"
            )
        return DigestError(f"state.path {self.path}: {exc}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested uses join the outer one. Safe across threads."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield _Writer(self)  # type: ignore[misc]
                finally:
                    self._depth -= 1
                return
            self._make_room()
            self.db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield _Writer(self)  # type: ignore[misc]
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            else:
                self._retry_when_full(lambda: self.db.execute("COMMIT"))
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
