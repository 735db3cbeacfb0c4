"""Project errors. Each carries one line saying what went wrong and where; cli.py maps them to exit codes."""

from __future__ import annotations

from urllib.parse import urlsplit


class DigestError(Exception):
    """Base class: a failure of a run (exit 1)."""

    exit_code = 1


class ConfigError(DigestError):
    """Bad usage or configuration (exit 2): names the key or path."""

    exit_code = 2


class FetchError(DigestError):
    """arXiv could not be reached or answered with something unusable."""


class LLMError(DigestError):
    """The LLM failed after retries."""


class DeliveryError(DigestError):
    """A delivery channel failed."""


class BusyError(DigestError):
    """Another run holds the lock for this state database."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl+C (SIGINT): the run stops, is recorded as interrupted, exit 143."""


_TRACEBACK = "Traceback (most recent call last)"


def root_cause(exc: BaseException) -> str:
    """The innermost reason of a chain of exceptions, as a reader wants it first: "Name or service not
    known", "Connection refused", not the wrapper's "Max retries exceeded with url: /api/query?…"."""
    deepest, seen, todo = exc, set(), [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if _TRACEBACK not in str(current):  # a worker's traceback as text (concurrent.futures) is no reason
            deepest = current
        # requests wraps urllib3's MaxRetryError in args; urllib3 keeps the socket error in .reason.
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        todo.extend(n for n in nested if isinstance(n, BaseException))
    if isinstance(deepest, OSError) and deepest.strerror:
        return deepest.strerror
    text = str(deepest)
    if _TRACEBACK in text:  # only the exception line of a traceback, never its frames
        text = next((line for line in reversed(text.splitlines()) if line.strip()), "")
    text = " ".join(text.split())
    return text or type(deepest).__name__


def short_url(url: str, limit: int = 60) -> str:
    """scheme://host/path, with a long query cut (the reason comes before it in a message, never after)."""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path
    query = parts.query if len(parts.query) <= limit else parts.query[:limit] + "…"
    return base + (f"?{query}" if query else "")


def describe_error(exc: BaseException) -> str:
    """One line for an unexpected OS, network or database error: the root cause first (with the file it is
    about, for a file error), then what raised it."""
    cause = root_cause(exc)
    path = next(
        (e.filename for e in (exc, exc.__cause__, exc.__context__) if isinstance(e, OSError) and e.filename), None
    )
    if path is not None and str(path) not in cause:
        cause = f"{cause}: {path}"
    kind = type(exc).__name__
    return cause if cause == kind else f"{cause} ({kind})"
