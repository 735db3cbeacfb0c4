"""The readers' taps on the 👍/👎/🔖 buttons (deliver/telegram.py puts them under the digest), read back with
getUpdates: Telegram keeps a bot's updates for 24 hours, so `digest schedule` long-polls between fires, every
`digest run` reads what is pending before it builds, and `digest feedback` reads on demand.

Each tap counts once: the taps of one getUpdates answer and the offset after it are stored in one transaction
(store/feedback.py), and only then answered (the toast a reader sees), so a crash can neither lose a tap nor
count it twice, and a second run finds nothing to answer. Only chats the config sends to count; a tap from any
other chat is logged and answered with nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from digest.config import Config
from digest.deliver.channels import ChannelError
from digest.deliver.telegram import VERDICT_LETTERS, BotAPI, TelegramError
from digest.ids import is_arxiv_id, strip_version
from digest.store import Store
from digest.store.feedback import Tap

log = logging.getLogger("digest")

TOASTS = {"like": "👍 반영했어요", "dislike": "👎 반영했어요", "save": "🔖 저장했어요"}
BATCH = 100  # getUpdates' most per answer
MAX_BATCHES = 50  # a backlog of 5,000 updates at most per read: a run is not held by a flood
MAX_WAIT_SECONDS = 25  # the longest long poll asked of Telegram
READ_TIMEOUT_SECONDS = 10  # how long a Bot API request may take beyond the long poll


@dataclass
class TapsRead:
    """What one read of the pending taps found."""

    recorded: int = 0
    ignored: int = 0  # from a chat the config does not send to, or not one of our buttons
    not_answered: int = 0  # too old to answer (Telegram gives up on a tap's spinner after a while)
    by_chat: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        if not self.recorded and not self.ignored:
            return "feedback: no new taps"
        chats = ", ".join(f"{chat} {n}" for chat, n in self.by_chat.items())
        said = f"feedback: {self.recorded} tap(s) recorded" + (f" ({chats})" if chats else "")
        if self.ignored:
            said += f"; {self.ignored} ignored (not from a configured chat, or not a digest button)"
        return said


def read_taps(config: Config, store: Store, *, wait_seconds: float = 0, api: BotAPI | None = None) -> TapsRead:
    """Record and answer every pending tap; `wait_seconds` long-polls for the first one. Raises ChannelError
    (one line, no token) when the Bot API cannot be read."""
    settings = config.delivery.telegram
    token = config.secret(settings.token_env)
    if not token:
        raise ChannelError(f"telegram feedback: {settings.token_env} is not set (environment or .env)")
    bot = token.split(":", 1)[0]  # the bot's id: its offset is its own
    wait_seconds = min(wait_seconds, MAX_WAIT_SECONDS)
    chats = _configured_chats(config)
    own = api is None
    # Reading taps is never worth holding a run: one retry, and a request that ends soon after the long poll
    # would (taps left unread wait in Telegram for the next read).
    quick = {"max_retries": min(settings.max_retries, 1), "timeout_seconds": wait_seconds + READ_TIMEOUT_SECONDS}
    api = api or BotAPI(settings.model_copy(update=quick), token)
    found = TapsRead()
    try:
        for batch in range(MAX_BATCHES):
            offset = store.updates_offset(bot)
            updates = _get_updates(api, offset, wait_seconds if batch == 0 else 0)
            numbers = [u["update_id"] for u in updates if isinstance(u.get("update_id"), int)]
            if not numbers:
                break
            taps, answers = [], []
            for update in updates:
                tap, query_id = _tap(update, chats)
                if query_id is None:
                    continue  # not a button tap (allowed_updates leaves these out; an old setting may not)
                if tap is None:
                    found.ignored += 1
                    answers.append((query_id, ""))
                    continue
                taps.append(tap)
                answers.append((query_id, TOASTS[tap.verdict]))
                found.by_chat[tap.chat] = found.by_chat.get(tap.chat, 0) + 1
            store.record_taps(bot, taps, max(numbers) + 1)
            found.recorded += len(taps)
            for query_id, toast in answers:
                found.not_answered += not _answer(api, query_id, toast)
            if len(updates) < BATCH:
                break
    finally:
        if own:
            api.close()
    if found.recorded or found.ignored:
        log.info(found.line())
    return found


def _configured_chats(config: Config) -> dict[str, str]:
    """How a tap's chat is recognised -> the chat as configured: its id, and its @username when the config
    names a public channel that way."""
    known = {}
    for target in config.delivery.telegram.targets():
        key = target.target
        known[key.lower() if key.startswith("@") else key] = key
    return known


def _get_updates(api: BotAPI, offset: int, wait_seconds: float) -> list[dict]:
    params = {"offset": offset, "limit": BATCH, "timeout": int(wait_seconds), "allowed_updates": ["callback_query"]}
    try:
        result = api.call("getUpdates", json=params)
    except TelegramError as exc:
        if exc.status == 409 and "webhook" in exc.description:
            raise ChannelError(
                "telegram feedback: the bot has a webhook, so its taps cannot be read with getUpdates; remove it "
                "(deleteWebhook) or set delivery.telegram.feedback: false"
            ) from None
        if exc.status == 409:
            raise ChannelError(
                "telegram feedback: another program is reading this bot's updates (only one may): "
                f"{api.scrub(str(exc))}"
            ) from None
        raise ChannelError(f"telegram feedback: getUpdates failed: {api.scrub(str(exc))}") from None
    return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []


def _tap(update: dict, chats: dict[str, str]) -> tuple[Tap | None, str | None]:
    """(the tap, its query id) of a callback_query update; (None, id) for one that does not count; (None, None)
    for an update that is not a button tap."""
    query = update.get("callback_query")
    if not isinstance(query, dict) or not query.get("id"):
        return None, None
    query_id = str(query["id"])
    verdict, paper_id = _verdict(str(query.get("data") or ""))
    chat = (query.get("message") or {}).get("chat") or {}
    user = (query.get("from") or {}).get("id")
    configured = chats.get(str(chat.get("id"))) or (
        chats.get(f"@{chat['username']}".lower()) if chat.get("username") else None
    )
    if verdict is None or configured is None or not isinstance(user, int):
        log.info(
            "feedback: a tap in chat %s ignored (%s)",
            chat.get("id", "?"),
            "not a chat delivery.telegram.chat_ids sends to" if configured is None else "not a digest button",
        )
        return None, query_id
    return Tap(configured, user, paper_id, verdict), query_id


def _verdict(data: str) -> tuple[str | None, str]:
    """ "fb:l:2606.01234" -> ("like", "2606.01234")."""
    prefix, letter, paper_id = (data.split(":", 2) + ["", ""])[:3]
    if prefix != "fb" or letter not in VERDICT_LETTERS or not is_arxiv_id(paper_id):
        return None, ""
    return VERDICT_LETTERS[letter], strip_version(paper_id)


def _answer(api: BotAPI, query_id: str, toast: str) -> bool:
    """The toast for one tap (an empty one stops the spinner); False when Telegram no longer takes it."""
    try:
        api.call("answerCallbackQuery", json={"callback_query_id": query_id, **({"text": toast} if toast else {})})
    except TelegramError as exc:
        # Recorded all the same: a tap read hours later (cron twice a day) is simply too old to answer.
        log.debug("feedback: a tap not answered: %s", api.scrub(str(exc)))
        return False
    return True
