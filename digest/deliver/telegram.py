"""Telegram delivery over the Bot API: the chart as a photo, the report as HTML messages, digest.md as a file.

The bot token is part of every Bot API URL, so nothing this module raises or logs is built from a URL or
from an httpx exception's text unscrubbed: errors are rebuilt from the status and Telegram's description.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from jinja2 import TemplateError

from digest.config import Config, TelegramConfig
from digest.deliver.channels import Channel, ChannelError, Check, Prepared, content_hash
from digest.deliver.tghtml import CAPTION_LIMIT, fits, pack, split_html, to_plain
from digest.errors import describe_error
from digest.models import Paper
from digest.net import http_client, retryable_status
from digest.plugins import register_channel
from digest.render import must_read_items, standalone_html, telegram_texts
from digest.report import Report
from digest.retry import SYSTEM_CLOCK, Clock, retrying
from digest.secrets import add_secret, scrub
from digest.text import short_title

log = logging.getLogger("digest")
# httpx logs every request URL at INFO level, and every Bot API URL contains the token.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


class TelegramError(Exception):
    """A Bot API call that failed; the text never contains the token."""

    def __init__(
        self,
        message: str,
        status: int = 0,
        description: str = "",
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.description = description
        self.retryable = retryable  # a network error, a 5xx, or a 429 asking no longer than the cap
        self.retry_after = retry_after  # what a 429 asked to wait, in seconds

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
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()  # inline keyboard rows of (text, callback_data)

    def reply_markup(self) -> dict | None:
        if not self.buttons:
            return None
        return {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in self.buttons]}


# A feedback button's callback_data: "fb:<verdict letter>:<arXiv id>" (Telegram allows 1-64 bytes).
VERDICT_LETTERS = {"l": "like", "d": "dislike", "s": "save"}
BUTTON_TITLE = 12  # characters of a title on a 👍 button: three buttons share a 390 px row


def feedback_row(number: int, paper: Paper) -> tuple[tuple[str, str], ...]:
    """👍 / 👎 / 🔖 for one paper: its number in the message and a short title on the first button."""
    return (
        (f"👍 {number}. {short_title(paper.title, BUTTON_TITLE)}", f"fb:l:{paper.id}"),
        (f"👎 {number}", f"fb:d:{paper.id}"),
        (f"🔖 {number}", f"fb:s:{paper.id}"),
    )


def render_parts(report: Report, fmt: str = "compact", *, buttons: bool = False) -> list[Part]:
    """The report as Telegram sends it: a photo with a caption, the messages, then the day as digest.html.

    compact: the must-reads and one line per topic in one message (a second only when 4096 characters
    cannot hold it). full: the must-reads, then each topic starting its own message (its synthesis folded
    in an expandable blockquote), the footer last. Every message fits Telegram's limits. A report narrowed
    to an audience (render.for_audience) is sent as it is.

    With `buttons` (delivery.telegram.feedback), 👍/👎/🔖 rows go under the message holding the must-reads
    (compact: one row per must-read) or under each topic's last message (full: one per featured paper)."""
    digest = report.digest
    texts = telegram_texts(digest, report.templates_override)
    caption = split_html(texts.caption, CAPTION_LIMIT)
    # message index -> the papers its 👍/👎/🔖 rows name: the first message holds the must-reads
    rated: dict[int, list[Paper]] = {0: [m.paper for m in must_read_items(digest)]}
    if fmt == "full":
        messages = pack([_tidy(texts.must_reads)])
        for section, topic in zip(digest.sections, texts.topics, strict=True):
            messages += split_html(_tidy(topic))
            if digest.week is None:  # a week's topic message names no papers of its own
                rated[len(messages) - 1] = section.papers
        messages = _with_closing(messages, texts.closing)
    else:
        messages = pack([_tidy(texts.compact)])
    keyboards = (
        {i: tuple(feedback_row(n, p) for n, p in enumerate(papers, 1)) for i, papers in rated.items()}
        if buttons
        else {}
    )
    date = digest.label
    parts = [Part("sendPhoto", "chart", caption[0] if caption else "", (digest.chart_name, report.chart, "image/png"))]
    parts += [
        Part("sendMessage", f"message {i}/{len(messages)}", m, buttons=keyboards.get(i - 1, ()))
        for i, m in enumerate(messages, start=1)
    ]
    # The whole day as one HTML file (chart inside): a phone opens it in its browser, unlike raw Markdown.
    parts.append(
        Part(
            "sendDocument",
            "digest.html",
            f"{date} · 모든 논문과 주제별 요약",
            (f"digest-{date}.html", standalone_html(report).encode("utf-8"), "text/html"),
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
    """A Bot API client on the shared retry policy (digest/retry.py): network errors and 5xx are retried with
    backoff, a 429 waits Telegram's `retry_after`, and one asking longer than
    delivery.telegram.max_retry_after_seconds fails at once. Waits go through the injectable `clock`."""

    def __init__(self, config: TelegramConfig, token: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self._config = config
        self._token = token
        add_secret(token)
        self._base = f"{config.api_url.rstrip('/')}/bot{token}/"
        self._clock = clock
        self._client = http_client(config.timeout_seconds, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> BotAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scrub(self, text: str) -> str:
        return scrub(text)

    def call(
        self, method: str, *, json: dict | None = None, data: dict | None = None, files: dict | None = None
    ) -> dict:
        cfg = self._config
        policy = retrying(
            retries=cfg.max_retries,
            backoff=cfg.backoff_seconds,
            retryable=lambda exc: isinstance(exc, TelegramError) and exc.retryable,
            server_wait=lambda exc: getattr(exc, "retry_after", None),
            # A backoff never waits longer than Telegram itself may make us wait.
            max_wait=cfg.max_retry_after_seconds,
            clock=self._clock,
            what=f"telegram {method}",
        )
        return policy(self._call_once, method, json=json, data=data, files=files)

    def _call_once(self, method: str, *, json: dict | None, data: dict | None, files: dict | None) -> dict:
        try:
            response = self._client.post(self._base + method, json=json, data=data, files=files)
        except httpx.HTTPError as exc:
            # str(exc) of some httpx errors includes the URL (and so the token): scrub it.
            raise TelegramError(self.scrub(describe_error(exc)), retryable=True) from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = {}
        if response.status_code == 200 and payload.get("ok"):
            return payload.get("result") or {}
        status = response.status_code
        description = self.scrub(str(payload.get("description") or response.reason_phrase))
        parameters = payload.get("parameters") or {}
        problem = f"HTTP {status} {description}"
        if parameters.get("migrate_to_chat_id"):
            new_id = parameters["migrate_to_chat_id"]
            problem += f" (the group is now chat {new_id}: update delivery.telegram.chat_ids)"
        if status == 429:
            wait = _seconds(parameters.get("retry_after"))
            cap = self._config.max_retry_after_seconds
            if wait > cap:
                problem += (
                    f" (Telegram asks to wait {wait:.0f}s, more than delivery.telegram.max_retry_after_seconds "
                    f"{cap:g}s: not waiting; the next run resumes this chat)"
                )
                raise TelegramError(problem, status, description)
            raise TelegramError(problem, status, description, retryable=True, retry_after=wait)
        # Telegram's 409 (a webhook is set; another getUpdates reader) does not heal by asking again.
        raise TelegramError(problem, status, description, retryable=retryable_status(status) and status != 409)

    def send(self, chat_id: int | str, part: Part, *, html: bool = True) -> None:
        text = part.text if html else to_plain(part.text)
        mode = {"parse_mode": "HTML"} if html else {}
        if part.method == "sendMessage":
            markup = part.reply_markup()
            self.call(
                "sendMessage",
                json={
                    "chat_id": chat_id,
                    "text": text,
                    "link_preview_options": {"is_disabled": True},
                    **mode,
                    **({"reply_markup": markup} if markup else {}),
                },
            )
        else:
            key = "photo" if part.method == "sendPhoto" else "document"
            self.call(part.method, data={"chat_id": str(chat_id), "caption": text, **mode}, files={key: part.file})


def _seconds(value: object) -> float:
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
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """Send parts[start:] in order; after each one, on_sent(number of parts now sent).

    A part Telegram rejects for its formatting is sent once more as plain text. Raises TelegramError
    naming the part that failed."""
    for index in range(start, len(parts)):
        part = parts[index]
        if index > start and interval:
            clock.sleep(interval)
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


@register_channel
class TelegramChannel(Channel):
    """Each chat gets the chart with a caption, the messages, then digest.md (see render_parts)."""

    name = "telegram"
    config_model = TelegramConfig
    target_noun = "chat"
    settings: TelegramConfig

    def __init__(self, config: Config, settings: TelegramConfig) -> None:
        super().__init__(config, settings)
        self._api: BotAPI | None = None
        # The chat id as configured (a number stays a number in the Bot API call).
        self._ids = {a.target: getattr(c, "id", c) for a, c in zip(settings.targets(), settings.chat_ids, strict=True)}

    def open(self) -> None:
        token = self.config.secret(self.settings.token_env)
        if not token:
            raise ChannelError(f"{self.settings.token_env} is not set (environment or .env)")
        self._api = BotAPI(self.settings, token)

    def prepare(self, report: Report) -> Prepared:
        try:
            parts = render_parts(report, self.settings.format, buttons=self.settings.feedback)
        except TemplateError as exc:
            raise TemplateError(f"telegram.html.j2: {exc}") from None
        keyboards = [repr(p.buttons) for p in parts if p.buttons]
        content = content_hash(*(p.text for p in parts), *(p.file[1] for p in parts if p.file), *keyboards)
        return Prepared(content, len(parts), parts)

    def deliver(self, prepared: Prepared, target: str, *, start: int, on_sent: Callable[[int], None]) -> None:
        assert self._api is not None, "open() first"
        try:
            send_to_chat(
                self._api,
                self._ids.get(target, target),
                prepared.payload,  # type: ignore[arg-type]
                start=start,
                on_sent=on_sent,
                interval=self.settings.message_interval_seconds,
            )
        except TelegramError as exc:
            raise ChannelError(self.scrub(str(exc))) from None

    def close(self) -> None:
        if self._api is not None:
            self._api.close()

    def check(self) -> list[Check]:
        cfg = self.settings
        token = self.config.secret(cfg.token_env)
        if not token:
            return [Check("telegram", False, f"{cfg.token_env} is not set (environment or .env)")]
        checks = []
        # Checking should be quick: no retries, no waiting out rate limits.
        with BotAPI(cfg.model_copy(update={"max_retries": 0}), token) as api:
            try:
                me = api.call("getMe")
            except TelegramError as exc:
                hint = " (the token is wrong or revoked)" if exc.status == 401 else ""
                return [Check("telegram", False, f"getMe failed: {api.scrub(str(exc))}{hint}")]
            checks.append(Check("telegram", True, f"ok (bot @{me.get('username', '?')})"))
            if cfg.feedback:
                checks.append(_feedback_check(api))
            if not cfg.chat_ids:
                checks.append(Check("telegram", False, "delivery.telegram.chat_ids is empty"))
            for target in cfg.targets():
                chat_id = self._ids[target.target]
                try:
                    chat = api.call("getChat", json={"chat_id": chat_id})
                except TelegramError as exc:
                    hint = (
                        " (wrong id, or the bot was never added to it)" if "chat not found" in exc.description else ""
                    )
                    checks.append(Check(f"telegram chat {chat_id}", False, f"{api.scrub(str(exc))}{hint}"))
                    continue
                name = chat.get("title") or chat.get("username") or chat.get("first_name") or ""
                kind = chat.get("type", "?")
                cannot = _cannot_post(api, chat_id, kind, me)
                if cannot:
                    checks.append(Check(f"telegram chat {chat_id}", False, f"{kind} {name!r}: {cannot}"))
                else:
                    checks.append(Check(f"telegram chat {chat_id}", True, f"ok ({kind} {name!r})"))
        return checks


def _feedback_check(api: BotAPI) -> Check:
    """Whether the readers' taps can be read back: getUpdates refuses while the bot has a webhook."""
    try:
        hook = api.call("getWebhookInfo")
    except TelegramError as exc:  # not a setup mistake: the first read of taps will say what is wrong, if anything
        return Check("telegram feedback", True, f"cannot tell whether a webhook is set ({api.scrub(str(exc))})")
    if hook.get("url"):
        return Check(
            "telegram feedback",
            False,
            "the bot has a webhook, so the 👍/👎 taps cannot be read (getUpdates): remove it (deleteWebhook) or "
            "set delivery.telegram.feedback: false",
        )
    return Check("telegram feedback", True, "ok (👍/👎/🔖 taps are read with getUpdates)")


def _cannot_post(api: BotAPI, chat_id: int | str, kind: str, me: dict) -> str | None:
    """Why the bot cannot post in a group or channel it can see (getChatMember of itself), or None."""
    if kind not in ("group", "supergroup", "channel") or not me.get("id"):
        return None  # a private chat the bot can see has started it: it may write there
    try:
        member = api.call("getChatMember", json={"chat_id": chat_id, "user_id": me["id"]})
    except TelegramError as exc:
        return f"cannot tell whether the bot may post ({api.scrub(str(exc))})"
    status = member.get("status")
    bot = f"@{me.get('username', 'the bot')}"
    if status == "creator" or (status == "administrator" and (kind != "channel" or member.get("can_post_messages"))):
        return None
    if kind == "channel":
        return f"{bot} is {status or 'not a member'} here: make it an administrator with the right to post messages"
    if status == "member" or (status == "restricted" and member.get("can_send_messages")):
        return None
    return f"{bot} may not send messages here (status {status or 'unknown'}): add it to the group, allowed to write"
