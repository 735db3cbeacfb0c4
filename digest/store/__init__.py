"""SQLite state: the only package that holds SQL. Schema by named migrations (migrations.py); one module per
table group with small methods that read and write rows; `Store` is all of them on one connection.

Every write happens in a transaction, so a crash leaves the database as it was before the write.
"""

from __future__ import annotations

from digest.store.deliveries import Deliveries
from digest.store.listings import Listings
from digest.store.llm_ledger import LLMLedger
from digest.store.migrations import MIGRATIONS
from digest.store.runs import Runs
from digest.store.work import Work


class Store(Listings, Work, LLMLedger, Runs, Deliveries):
    """The state database: listings, work (assignments, summaries), the LLM ledger, runs, deliveries."""


__all__ = ["MIGRATIONS", "Store"]
