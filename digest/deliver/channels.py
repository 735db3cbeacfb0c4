"""Delivery channels behind one interface, and the registry the CLI, `digest check` and the config read.

A channel is a class registered with @register (digest/plugins.py; found through the `digest.channels`
entry-point group): its `name` (the key under `delivery:` and the value of `digest send --channel`), its
`config_model` (a ChannelConfig: `enabled` and its targets), `check()` for `digest check`, and
prepare()/deliver() for one target. The claim -> send -> finish loop with the exactly-once ledger is
written once, in digest/deliver/dispatch.py, for every channel.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from digest.config import ChannelConfig, Config
    from digest.report import Report


@dataclass(frozen=True)
class Check:
    """One line of `digest check`: a service, whether it works, what was found."""

    service: str
    ok: bool
    message: str

    def line(self) -> str:
        return f"{self.service}: {self.message}"


class ChannelError(Exception):
    """A send that failed, as one line without any secret."""


@dataclass(frozen=True)
class Prepared:
    """What one target of a channel receives, built once per audience."""

    content: str  # a hash of it: a target partly sent the same content resumes, a changed one starts again
    parts: int  # how many sends it takes (the ledger records how many arrived)
    payload: object


class Channel(ABC):
    """One way to deliver a report; one instance per delivery run (or check), closed after it."""

    name: ClassVar[str]
    config_model: ClassVar[type[ChannelConfig]]
    target_noun: ClassVar[str] = ""  # in failure lines: "telegram chat -1001: ..."

    def __init__(self, config: Config, settings: ChannelConfig) -> None:
        self.config = config
        self.settings = settings

    @abstractmethod
    def check(self) -> list[Check]:
        """Reach the service once and say, one Check each, what works (the channel is enabled)."""

    def open(self) -> None:  # noqa: B027 - optional: most channels need no setup
        """Get ready to send; raise ChannelError when nothing can be sent (a secret is missing)."""

    @abstractmethod
    def prepare(self, report: Report) -> Prepared:
        """Render what a target of this report receives; may raise jinja2.TemplateError."""

    @abstractmethod
    def deliver(self, prepared: Prepared, target: str, *, start: int, on_sent: Callable[[int], None]) -> None:
        """Send parts[start:] to target, calling on_sent(parts now sent) after each; ChannelError on failure."""

    def scrub(self, text: str) -> str:
        """Text without any known secret (a channel adds its own to digest/secrets.py when it finds them)."""
        from digest.secrets import scrub

        return scrub(text)

    def close(self) -> None:  # noqa: B027 - optional: only channels holding connections close them
        """Release connections."""

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def content_hash(*pieces: str | bytes) -> str:
    """What a target receives, as a short hash: the ledger resumes a partly sent target only for the same."""
    h = hashlib.sha256()
    for piece in pieces:
        h.update(piece.encode("utf-8") if isinstance(piece, str) else piece)
        h.update(b"\0")
    return h.hexdigest()[:16]
