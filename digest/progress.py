"""Progress reporting: rich bars on a terminal, one log line per stage otherwise. Stages never print."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

log = logging.getLogger("digest")


class Reporter:
    """Quiet reporter: logs one line per finished stage with its count and timing."""

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Stage]:
        stage = Stage(name, total)
        yield stage
        log.info("%s: %s (%.2fs)", name, stage.summary(), time.monotonic() - stage.started)

    def note(self, message: str) -> None:
        log.info("%s", message)


class Stage:
    def __init__(self, name: str, total: int | None) -> None:
        self.name = name
        self.total = total
        self.done = 0
        self.detail = ""
        self.started = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n

    def summary(self) -> str:
        if self.detail:
            return self.detail
        if self.total is not None:
            return f"{self.done}/{self.total}"
        return "done"


class RichReporter(Reporter):
    """Progress bars on stderr for an interactive terminal."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)

    @contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Stage]:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        columns = [
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(name, total=total)
            stage = _RichStage(name, total, progress, task)
            yield stage
        elapsed = time.monotonic() - stage.started
        self.console.print(f"[green]✓[/] {name}: {stage.summary()} [dim]({elapsed:.1f}s)[/]")
        log.info("%s: %s (%.2fs)", name, stage.summary(), elapsed)

    def note(self, message: str) -> None:
        self.console.print(message)
        log.info("%s", message)


class _RichStage(Stage):
    def __init__(self, name: str, total: int | None, progress: Progress, task: TaskID) -> None:
        super().__init__(name, total)
        self._progress = progress
        self._task = task

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        self._progress.update(self._task, advance=n)
