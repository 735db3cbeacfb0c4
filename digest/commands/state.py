"""The state as every command that writes it takes it: the state lock, the database, and the clean-up of what
a killed run left behind, done once, right after the lock is taken."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.config import Config
from digest.errors import ConfigError
from digest.lock import state_lock
from digest.progress import Reporter
from digest.render import recover_reports
from digest.store import Store, open_store


def writable_folders(config: Config) -> list[tuple[str, Path]]:
    """Every folder a run writes, with the config key that sets it."""
    folders = [("report.output_dir", config.output_dir), ("state.path", config.state_path.parent)]
    if config.site.enabled:
        folders.append(("site.dir", config.site_dir))
    if config.log_path is not None:
        folders.append(("log.file", config.log_path.parent))
    return folders


def unwritable_folders(config: Config, keys: tuple[str, ...] | None = None) -> list[str]:
    """One line per folder a run would fail to write (of `keys`, or all): the key, the folder, why, the fix."""
    lines = []
    for key, folder in writable_folders(config):
        if keys is not None and key not in keys:
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".digest-check-", dir=folder)
            os.close(handle)
            os.unlink(name)
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            lines.append(
                f"{key}: cannot write {folder} ({why}): give this user write access to it, or set {key} to a "
                "folder it can write"
            )
    return lines


def require_writable(config: Config) -> None:
    """Before a run spends anything (a fetch, an LLM call): the folders it cannot do without (the reports and
    the state) can be written. The site is optional: a site that cannot be built never fails a run."""
    problems = unwritable_folders(config, ("report.output_dir", "state.path"))
    if problems:
        raise ConfigError(
            problems[0] + (f" (and {len(problems) - 1} more: `digest check`)" if len(problems) > 1 else "")
        )


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
