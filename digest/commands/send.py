"""`digest send`: deliver an existing report (a day's or a week's) again, to every target (even those that
already have it)."""

from __future__ import annotations

import datetime as dt

from digest.config import Config
from digest.deliver.dispatch import DeliverySummary, deliver_report
from digest.edition import Edition, report_folder
from digest.progress import Reporter
from digest.store import open_store


def send(config: Config, when: Edition | dt.date, channels: list[str] | None, reporter: Reporter) -> DeliverySummary:
    """A day's report (a date) or a weekly edition (a week), to every target of the enabled channels."""
    store = open_store(config)
    try:
        return deliver_report(
            config,
            store,
            when,
            report_folder(config.output_dir, when),
            force=True,
            channels=channels,
            reporter=reporter,
        )
    finally:
        store.close()
