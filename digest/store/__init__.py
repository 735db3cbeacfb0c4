"""SQLite state: the only package that holds SQL. Schema by named migrations (migrations.py); one module per
table group with small methods that read and write rows; `Store` is all of them on one connection.

Every write happens in a transaction, so a crash leaves the database as it was before the write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from digest.edition import built_reports
from digest.errors import ConfigError
from digest.store.deliveries import Deliveries
from digest.store.feedback import Feedback
from digest.store.listings import Listings
from digest.store.llm_ledger import LLMLedger
from digest.store.migrations import MIGRATIONS
from digest.store.runs import Runs
from digest.store.work import Work


class Store(Listings, Work, LLMLedger, Runs, Deliveries, Feedback):
    """The state database: listings, work (assignments, summaries), the LLM ledger, runs, deliveries and
    readers' feedback."""


if TYPE_CHECKING:
    from digest.config import Config


def open_store(config: Config) -> Store:
    """The state database at state.path, the one way every command opens it. An empty file beside built
    reports is refused: a fresh state would build and deliver them all again."""
    path = config.state_path
    if path.is_file() and path.stat().st_size == 0:
        out = config.output_dir
        built = built_reports(out)
        if built:
            raise ConfigError(
                f"state.path: {path} is empty (0 bytes) but {out} holds {len(built)} built "
                f"report(s) (latest {built[-1][0].period}): a fresh state would build and deliver them "
                "again. Restore the database from a backup, or delete the empty file to start afresh"
            )
    return Store(path)


__all__ = ["MIGRATIONS", "Store", "open_store"]
