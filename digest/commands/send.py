"""`digest send`: deliver an existing report again, to every target (even those that already have it)."""

from __future__ import annotations

import datetime as dt

from digest.config import Config
from digest.deliver.dispatch import DeliverySummary, deliver_report
from digest.edition import report_folder
from digest.progress import Reporter
from digest.store import open_store


def send(config: Config, date: dt.date, channels: list[str] | None, reporter: Reporter) -> DeliverySummary:
    store = open_store(config)
    try:
        return deliver_report(
            config,
            store,
            date,
            report_folder(config.output_dir, date),
            force=True,
            channels=channels,
            reporter=reporter,
        )
    finally:
        store.close()
