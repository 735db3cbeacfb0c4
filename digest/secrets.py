"""Every secret this process knows, and the one scrub that keeps them out of any text leaving it.

The config feeds the secrets it names (`*_env` keys) when it is loaded; a channel or client that comes
upon another form of one (a webhook URL, a password as SMTP AUTH encodes it) adds it where it finds it.
Logs, error lines, the ledger and every message are scrubbed by `scrub`, whoever raised them.
"""

from __future__ import annotations

import base64
import threading

MIN_LENGTH = 4  # shorter values would blank out ordinary words

_known: set[str] = set()
_lock = threading.Lock()


def secret_forms(secret: str | None, username: str | None = None) -> list[str]:
    """A secret and its base64 forms on the wire (alone, as SMTP AUTH LOGIN sends it and an Authorization
    header may be echoed, and inside AUTH PLAIN's `\\0user\\0password` blob)."""
    if not secret or len(secret) < MIN_LENGTH:
        return []
    blobs = [secret.encode("utf-8"), f"\0{username or ''}\0{secret}".encode()]
    return [secret, *(base64.b64encode(blob).decode("ascii") for blob in blobs)]


def add(*values: str | None) -> None:
    """Make values secret for the rest of the process (short or empty ones are ignored)."""
    with _lock:
        _known.update(v for v in values if v and len(v) >= MIN_LENGTH)


def add_secret(secret: str | None, username: str | None = None) -> None:
    """A secret with every form it may take on the wire."""
    add(*secret_forms(secret, username))


def forget_all() -> None:
    """Start over (a new config in the same process: tests, an embedding program)."""
    with _lock:
        _known.clear()


def scrub(text: str) -> str:
    """Text with every known secret replaced by ***; the longest first, so a secret's base64 form (which
    may contain a shorter secret) goes whole."""
    if not _known:
        return text
    with _lock:
        values = sorted(_known, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, "***")
    return text
