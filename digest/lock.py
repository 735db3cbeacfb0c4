"""One writer at a time: a run per state database (the scheduler and a manual `digest run` never overlap),
a build per archive site."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from digest.errors import BusyError


@contextmanager
def exclusive(
    lock_path: Path, timeout: float, busy: str, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the OS-level file lock at lock_path, waiting up to `timeout` seconds for its holder, then raise
    BusyError. `busy` says who holds it, for the messages ("another digest run is using digest.sqlite3").

    An OS-level lock is released by a crashed or killed holder, so there is nothing to clean up."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait(f"{busy}; waiting up to {timeout:g}s for it to finish")
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise BusyError(f"{busy} (waited {timeout:g}s); nothing was changed") from None
    try:
        yield
    finally:
        lock.release()


def state_lock(state_path: Path, timeout: float, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold `<state>.lock` while a command changes the state database."""
    return exclusive(Path(f"{state_path}.lock"), timeout, f"another digest run is using {state_path}", on_wait)
