"""The state as every command that writes it takes it: the state lock, the database, and the clean-up of what
a killed run left behind, done once, right after the lock is taken."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from digest.config import Config
from digest.lock import state_lock
from digest.progress import Reporter
from digest.render import recover_reports
from digest.store import Store, open_store


@contextmanager
def locked_store(config: Config, reporter: Reporter) -> Iterator[Store]:
    """Hold the state lock (waiting up to state.lock_timeout_seconds for another run), open the store, clean
    up after runs that died, and close the store on the way out."""
    with state_lock(config.state_path, config.state.lock_timeout_seconds, reporter.note):
        store = open_store(config)
        try:
            clean_up(config, store, reporter)
            store.keep_reserve()  # before anything is sent: room to record it even if the disk fills
            yield store
        finally:
            store.close()


def clean_up(config: Config, store: Store, reporter: Reporter) -> None:
    """What a killed run left: runs still marked 'running' and half-swapped report folders. Only under the
    state lock, when no other run is live."""
    for dead in store.mark_dead_runs():
        reporter.note(f"run #{dead} was left 'running' by a process that is gone (killed?); marked interrupted")
    if config.output_dir.is_dir():
        recover_reports(config.output_dir)
