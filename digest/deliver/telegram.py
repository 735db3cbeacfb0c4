"""Telegram delivery over the Bot API: the chart as a photo, the report as HTML messages, digest.md as a file.

The bot token is part of every Bot API URL, so nothing this module raises or logs is built from a URL or
from an httpx exception's text unscrubbed: errors are rebuilt from the status and Telegram's description.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from digest.config import TelegramConfig
from digest.deliver.report import Report
from digest.deliver.tghtml import CAPTION_LIMIT, fits, pack, split_html, to_plain
from digest.errors import describe_error
from digest.rank import for_topics
from digest.render import environment, template_context

log = logging.getLogger("digest")
# httpx logs every request URL at INFO level, and every Bot API URL contains the token.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


class TelegramError(Exception):
    """A Bot API call that failed; the text never contains the token."""

    def __init__(self, message: str, status: int = 0, description: str = ""):
        super().__init__(message)
        self.status = status
        self.description = description

    @property
    def bad_formatting(self) -> bool:
        return self.status == 400 and "can't parse entities" in self.description


@dataclass(frozen=True)
class Part:
    """One thing sent to a chat, in order: the chart, a message, the Markdown file."""

    method: str  # sendPhoto | sendMessage | sendDocument
    label: str
    text: str  # HTML message text or caption
    file: tuple[str, bytes, str] | None = None  # (filename, bytes, content type)


def render_parts(
    report: Report,
    templates_override: Path | None = None,
    fmt: str = "compact",
    topics: list[str] | tuple[str, ...] | None = None,
) -> list[Part]:
    """The report as Telegram sends it: a photo with a caption, the messages, then digest.md.

    compact: the must-reads and one line per topic in one message (a second only when 4096 characters
    cannot hold it). full: the must-reads, then each topic starting its own message (its synthesis folded
    in an expandable blockquote), the footer last. Every message fits Telegram's limits. A chat that wants
    only some `topics` gets those, with must-reads drawn from them."""
    digest = report.digest
    if topics is not None:
        digest = for_topics(digest, topics, len(digest.must_reads))
    env = environment(templates_override)
    module = env.get_template("telegram.html.j2").make_module(template_context(digest))
    caption = split_html(str(module.caption()).strip(), CAPTION_LIMIT)
    if fmt == "full":
        messages = pack([_tidy(str(module.must_reads_block()))])
        for section in digest.sections:
            messages += split_html(_tidy(str(module.topic(section))))
        messages = _with_closing(messages, str(module.closing()).strip())
    else:
        messages = pack([_tidy(str(module.compact()))])
    date = digest.date.isoformat()
    parts = [Part("sendPhoto", "chart", caption[0] if caption else "", (digest.chart_name, report.chart, "image/png"))]
    parts += [Part("sendMessage", f"message {i}/{len(messages)}", m) for i, m in enumerate(messages, start=1)]
    parts.append(
        Part(
            "sendDocument",
            "digest.md",
            f"{date} · digest.md",
            (f"digest-{date}.md", report.markdown.encode("utf-8"), "text/markdown"),
        )
    )
    return parts


def _tidy(markup: str) -> str:
    """At most one blank line in a row (templates leave more where optional lines are skipped)."""
    return re.sub(r"\n{3,}", "\n\n", markup).strip()


def _with_closing(messages: list[str], closing: str) -> list[str]:
    """The footer under the last message when it fits there, else as one more message."""
    if messages and fits(f"{messages[-1]}\n\n{closing}"):
        return [*messages[:-1], f"{messages[-1]}\n\n{closing}"]
    return [*messages, closing]


class BotAPI:
    """A Bot API client: retries network errors and 5xx with backoff, waits out 429 `retry_after`."""

    def __init__(self, config: TelegramConfig, token: str, sleep: Callable[[float], None] = time.sleep):
        self._config = config
        self._token = token
        self._base = f"{config.api_url.rstrip('/')}/bot{token}/"
        self._sleep = sleep
        self._client = httpx.Client(timeout=config.timeout_seconds)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> BotAPI:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _backoff(self, attempt: int) -> float:
        """Exponential, but never longer than the cap on Telegram's own waits."""
        return min(self._config.backoff_seconds * 2**attempt, self._config.max_retry_after_seconds)

    def call(
        self, method: str, *, json: dict | None = None, data: dict | None = None, files: dict | None = None
    ) -> dict:
        attempt = 0
        while True:
            try:
                response = self._client.post(self._base + method, json=json, data=data, files=files)
            except httpx.HTTPError as exc:
                # str(exc) of some httpx errors includes the URL (and so the token): scrub it.
                problem = self.scrub(describe_error(exc))
                if attempt < self._config.max_retries:
                    self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise TelegramError(problem) from None
            try:
                payload = response.json()
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                payload = {}
            if response.status_code == 200 and payload.get("ok"):
                return payload.get("result") or {}
            description = self.scrub(str(payload.get("description") or response.reason_phrase))
            parameters = payload.get("parameters") or {}
            problem = f"HTTP {response.status_code} {description}"
            if parameters.get("migrate_to_chat_id"):
                new_id = parameters["migrate_to_chat_id"]
                problem += f" (the group is now chat {new_id}: update delivery.telegram.chat_ids)"
            if response.status_code == 429:
                wait = _seconds(parameters.get("retry_after"))
                cap = self._config.max_retry_after_seconds
                if wait > cap:
                    problem += (
                        f" (Telegram asks to wait {wait:.0f}s, more than delivery.telegram.max_retry_after_seconds "
                        f"{cap:g}s: not waiting; the next run resumes this chat)"
                    )
                    raise TelegramError(problem, response.status_code, description)
            if attempt < self._config.max_retries:
                if response.status_code == 429:
                    log.info("telegram %s: rate limited, waiting %.0fs as Telegram asks", method, wait)
                    self._sleep(wait)
                    attempt += 1
                    continue
                if response.status_code >= 500:
                    self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
            raise TelegramError(problem, response.status_code, description)

    def send(self, chat_id: int | str, part: Part, *, html: bool = True) -> None:
        text = part.text if html else to_plain(part.text)
        mode = {"parse_mode": "HTML"} if html else {}
        if part.method == "sendMessage":
            self.call(
                "sendMessage",
                json={"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": True}, **mode},
            )
        else:
            key = "photo" if part.method == "sendPhoto" else "document"
            self.call(part.method, data={"chat_id": str(chat_id), "caption": text, **mode}, files={key: part.file})


def _seconds(value) -> float:
    """retry_after as Telegram sends it (an integer), 1 s when it is missing or not a number."""
    try:
        wait = float(value)
    except (TypeError, ValueError):
        return 1.0
    return wait if wait >= 0 else 1.0


def send_to_chat(
    api: BotAPI,
    chat_id: int | str,
    parts: list[Part],
    *,
    start: int = 0,
    on_sent: Callable[[int], None] = lambda n: None,
    interval: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send parts[start:] in order; after each one, on_sent(number of parts now sent).

    A part Telegram rejects for its formatting is sent once more as plain text. Raises TelegramError
    naming the part that failed."""
    for index in range(start, len(parts)):
        part = parts[index]
        if index > start and interval:
            sleep(interval)
        try:
            try:
                api.send(chat_id, part)
            except TelegramError as exc:
                if not exc.bad_formatting:
                    raise
                log.warning(
                    "telegram chat %s: %s rejected (%s); sending it as plain text", chat_id, part.label, exc.description
                )
                api.send(chat_id, part, html=False)
        except TelegramError as exc:
            if index == 0:  # nothing arrived yet: the error is about the chat (not found, bot not a member)
                raise
            raise TelegramError(f"{part.label}: {exc}", exc.status, exc.description) from None
        on_sent(index + 1)
