"""One run at a time per state database: the scheduler and a manual `digest run` never overlap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from digest.errors import BusyError


@contextmanager
def state_lock(state_path: Path, timeout: float, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold `<state>.lock`; wait up to `timeout` seconds for another run to finish, then raise BusyError.

    The lock is an OS-level file lock, so a crashed run releases it and leaves nothing to clean up.
    """
    state_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state_path) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait(f"another digest run is using {state_path}; waiting up to {timeout:g}s for it to finish")
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise BusyError(
                f"another digest run is still using {state_path} after {timeout:g}s; nothing was changed"
            ) from None
    try:
        yield
    finally:
        lock.release()
