"""A local Telegram Bot API server that validates requests the way Telegram does (and a little stricter).

- the token is in the path, `/bot<token>/<method>`; a wrong token answers 401 Unauthorized;
- parse_mode HTML: only the tags Telegram supports, properly nested and closed; outside tags only
  &lt; &gt; &amp; &quot; and numeric entities; anything else is "Bad Request: can't parse entities: ...";
- text 1..4096 and captions 0..1024 after entity parsing, counted in UTF-16 code units;
- sendPhoto / sendDocument only as multipart uploads (a PNG for the photo);
- an unknown chat is 400 "Bad Request: chat not found"; scripted failures (429 with retry_after, ...).

It parses HTML with its own code, independent of digest.deliver.tghtml, so tests of the splitter mean something.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import FakeServer, Request, Response

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
    "tg-time",
}
_VALUE = r"(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'<>]+)"
_TAG = re.compile(rf"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*{_VALUE})?)*)\s*>")
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"<>]*)\"|'([^'<>]*)'|([^\s\"'<>]+)))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class ParseError(ValueError):
    pass


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entities(text: str, base: int) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "&":
            m = _ENTITY.match(text, i)
            if not m:
                raise ParseError(f"Character entity expected at byte offset {base + len(text[:i].encode())}")
            name = m.group(1)
            if name.startswith("#"):
                code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
                if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise ParseError(f"Invalid character entity at byte offset {base}")
                out.append(chr(code))
            else:
                out.append(_NAMED[name])
            i = m.end()
        elif text[i] in "<>":
            raise ParseError(f"Unexpected character {text[i]!r} at byte offset {base + len(text[:i].encode())}")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _check_attributes(name: str, attrs: str, offset: int) -> None:
    found = {
        m.group(1).lower(): next((g for g in m.groups()[1:] if g is not None), None) for m in _ATTR.finditer(attrs)
    }
    allowed = {
        "a": {"href"},
        "span": {"class"},
        "code": {"class"},
        "blockquote": {"expandable"},
        "tg-emoji": {"emoji-id"},
        "tg-time": {"unix", "format"},
    }.get(name, set())
    for key in found:
        if key not in allowed:
            raise ParseError(f'Unsupported attribute "{key}" in tag "{name}" at byte offset {offset}')
    if name == "span" and found.get("class") != "tg-spoiler":
        raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if name == "a":
        _decode_entities(found.get("href") or "", offset)


def parse_html(text: str) -> str:
    """Telegram's entity parsing for parse_mode HTML: the visible text, or ParseError."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        offset = len(text[:i].encode())
        if text[i] == "<":
            m = _TAG.match(text, i)
            if not m:
                raise ParseError(f"Unclosed start tag at byte offset {offset}")
            closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
            if name not in ALLOWED_TAGS:
                raise ParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
            if closing:
                if attrs.strip():
                    raise ParseError(f"Unexpected end tag attributes at byte offset {offset}")
                if not stack:
                    raise ParseError(f'Unexpected end tag "{name}" at byte offset {offset}')
                if stack[-1] != name:
                    raise ParseError(
                        f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", found "</{name}>"'
                    )
                stack.pop()
            else:
                _check_attributes(name, attrs, offset)
                if name == "blockquote" and "blockquote" in stack:
                    raise ParseError(f"Blockquote entities can't be nested at byte offset {offset}")
                if name == "blockquote" and re.search(r"expandable\s*=", attrs):
                    raise ParseError(f'Attribute "expandable" takes no value at byte offset {offset}')
                stack.append(name)
            i = m.end()
            continue
        j = text.find("<", i)
        j = len(text) if j < 0 else j
        out.append(_decode_entities(text[i:j], offset))
        i = j
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


@dataclass
class Sent:
    """One message Telegram accepted."""

    method: str
    chat_id: str
    raw: str  # text or caption as sent
    text: str  # after entity parsing
    parse_mode: str | None
    link_preview_options: dict | None = None
    file: bytes = b""
    filename: str = ""
    content_type: str = ""
    buttons: list[list[dict]] = field(default_factory=list)  # reply_markup's inline_keyboard, as sent
    message_id: int = 0


@dataclass
class Answer:
    """One answerCallbackQuery Telegram accepted: the toast a tapping reader saw (empty: none)."""

    query_id: str
    text: str
    chat_id: str
    data: str


@dataclass
class Scripted:
    method: str
    status: int
    description: str
    chat_id: str | None = None
    retry_after: int | None = None


@dataclass
class FakeTelegram:
    token: str
    chats: dict[str, dict] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, str | None]] = field(default_factory=list)  # (method, chat_id), every request
    rejected: list[tuple[str, str | None, str]] = field(default_factory=list)  # (method, chat_id, description)
    scripted: list[Scripted] = field(default_factory=list)
    after_send: Callable[[Sent], None] | None = None  # runs after a message is accepted, before the answer
    bot_status: dict[str, str] = field(default_factory=dict)  # chat id -> the bot's status there
    answers: list[Answer] = field(default_factory=list)
    webhook: str = ""  # set: getUpdates is refused with 409, as Telegram does while a webhook is active
    max_poll_seconds: float = 2.0  # a long poll here waits at most this long (Telegram: up to `timeout`)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._http = FakeServer(fallback=self._serve)
        self._updates: list[dict] = []  # kept until a getUpdates offset confirms them
        self._next_update = 100  # update ids grow by one per update
        self._open_queries: dict[str, tuple[str, str]] = {}  # query id -> (chat id, data), until answered
        self._arrived = threading.Condition(self._lock)
        self.polls: list[dict] = []  # every getUpdates request's parameters

    def _serve(self, request: Request) -> Response:
        url = urlsplit(f"{request.path}?{request.raw_query}")
        status, payload = self._handle(url, request.headers.get("Content-Type", ""), request.body)
        return Response(status, json.dumps(payload), {"Content-Type": "application/json"})

    # ----- test helpers -----

    @property
    def url(self) -> str:
        return self._http.url

    def add_chat(
        self, chat_id: int | str, title: str = "test channel", kind: str = "channel", bot_status: str = "administrator"
    ) -> None:
        """A chat the bot can see; `bot_status` is what getChatMember says of the bot there (an administrator
        may post in a channel; "member" may post in a group, not in a channel; "left" nowhere)."""
        self.chats[str(chat_id)] = {"id": chat_id, "title": title, "type": kind}
        self.bot_status[str(chat_id)] = bot_status

    def script(
        self,
        method: str,
        status: int,
        description: str,
        *,
        chat_id: str | int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` (to `chat_id`, if given) fail like this."""
        for _ in range(times):
            self.scripted.append(
                Scripted(method, status, description, None if chat_id is None else str(chat_id), retry_after)
            )

    @property
    def delivery_calls(self) -> list[tuple[str, str | None]]:
        """Every request but the reading of taps (getUpdates, answerCallbackQuery), which every run does."""
        return [c for c in self.calls if c[0] not in ("getUpdates", "answerCallbackQuery")]

    def for_chat(self, chat_id: int | str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == str(chat_id)]

    def press(self, chat_id: int | str, data: str, *, user_id: int = 501, forged: bool = False) -> str:
        """A reader in `chat_id` taps the button carrying `data`: a callback_query update for getUpdates, on
        the message that has that button (a button nobody was sent cannot be tapped, unless `forged`, as an
        old message or another bot's would be). Returns the query id."""
        chat = str(chat_id)
        with self._lock:
            message = next(
                (
                    s
                    for s in reversed(self.sent)
                    if s.chat_id == chat and any(b.get("callback_data") == data for row in s.buttons for b in row)
                ),
                None,
            )
            if message is None and not forged:
                raise AssertionError(f"no message in chat {chat} has a button {data!r}")
            query_id = f"{self._next_update}{user_id}"
            self._open_queries[query_id] = (chat, data)
            query = {
                "id": query_id,
                "from": {"id": user_id, "is_bot": False, "first_name": f"Reader {user_id}", "language_code": "ko"},
                "chat_instance": f"-{abs(hash(chat)) % 10**12}",
                "data": data,
                "message": {
                    "message_id": message.message_id if message else 1,
                    "chat": self.chats.get(chat, {"id": _as_id(chat), "type": "group", "title": "elsewhere"}),
                    "date": 0,
                    "text": message.text if message else "",
                },
            }
            self._add_update({"callback_query": query})
        return query_id

    def post_message(self, chat_id: int | str, text: str) -> None:
        """Someone writes in a chat the bot is in: an update that is not a button tap."""
        chat = str(chat_id)
        with self._lock:
            message = {"message_id": 9999, "chat": self.chats.get(chat, {"id": _as_id(chat)}), "date": 0, "text": text}
            self._add_update({"message": message})

    def _add_update(self, update: dict) -> None:
        self._updates.append({"update_id": self._next_update, **update})
        self._next_update += 1
        self._arrived.notify_all()

    @property
    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    def __enter__(self) -> FakeTelegram:
        self._http.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._http.__exit__(*exc)

    # ----- the Bot API -----

    def _handle(self, url, content_type: str, body: bytes) -> tuple[int, dict]:
        m = re.fullmatch(r"/bot([^/]+)/(\w+)", url.path)
        if not m:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, method = m.groups()
        fields, files = self._fields(url.query, content_type, body)
        chat_id = fields.get("chat_id")
        with self._lock:
            self.calls.append((method, None if chat_id is None else str(chat_id)))
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        with self._lock:
            for item in self.scripted:
                if item.method == method and (item.chat_id is None or item.chat_id == str(chat_id)):
                    self.scripted.remove(item)
                    answer = {"ok": False, "error_code": item.status, "description": item.description}
                    if item.retry_after is not None:
                        answer["parameters"] = {"retry_after": item.retry_after}
                    return item.status, answer
        try:
            return 200, {"ok": True, "result": self._method(method, fields, files)}
        except _Reject as exc:
            with self._lock:
                self.rejected.append((method, None if chat_id is None else str(chat_id), exc.description))
            return exc.status, {"ok": False, "error_code": exc.status, "description": exc.description}

    @staticmethod
    def _fields(query: str, content_type: str, body: bytes) -> tuple[dict, dict]:
        fields: dict = {k: v[0] for k, v in parse_qs(query).items()}
        files: dict = {}
        if content_type.startswith("application/json") and body:
            fields.update(json.loads(body))
        elif content_type.startswith("application/x-www-form-urlencoded"):
            fields.update({k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()})
        elif content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                filename = part.get_filename()
                payload = part.get_payload(decode=True) or b""
                if filename is not None:
                    files[name] = (filename, payload, part.get_content_type())
                else:
                    fields[name] = payload.decode("utf-8")
        return fields, files

    def _chat(self, fields: dict) -> str:
        chat_id = fields.get("chat_id")
        if chat_id is None or str(chat_id) == "":
            raise _Reject(400, "Bad Request: chat_id is empty")
        if str(chat_id) not in self.chats:
            raise _Reject(400, "Bad Request: chat not found")
        return str(chat_id)

    @staticmethod
    def _parsed(text: str, parse_mode: str | None) -> str:
        if parse_mode is None:
            return text
        if parse_mode != "HTML":
            raise _Reject(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
        try:
            return parse_html(text)
        except ParseError as exc:
            raise _Reject(400, f"Bad Request: can't parse entities: {exc}") from None

    def _method(self, method: str, fields: dict, files: dict):
        if method == "getMe":
            return {"id": 123456, "is_bot": True, "first_name": "Digest", "username": "digest_test_bot"}
        if method == "getChat":
            return self.chats[self._chat(fields)]
        if method == "getChatMember":
            chat = self._chat(fields)
            if str(fields.get("user_id")) != "123456":
                raise _Reject(400, "Bad Request: user not found")
            status = self.bot_status.get(chat, "administrator")
            member = {"status": status, "user": {"id": 123456, "is_bot": True, "username": "digest_test_bot"}}
            if status == "administrator":
                member["can_post_messages"] = True
            return member
        if method == "sendMessage":
            chat = self._chat(fields)
            text = self._parsed(str(fields.get("text", "")), fields.get("parse_mode"))
            if not text.strip():
                raise _Reject(400, "Bad Request: message text is empty")
            if utf16_len(text) > 4096:
                raise _Reject(400, "Bad Request: message is too long")
            options = fields.get("link_preview_options")
            if isinstance(options, str):
                options = json.loads(options)
            if options is not None and fields.get("disable_web_page_preview") is not None:
                raise _Reject(400, "Bad Request: can't use link_preview_options with disable_web_page_preview")
            buttons = self._keyboard(fields.get("reply_markup"))
            sent = Sent(method, chat, str(fields["text"]), text, fields.get("parse_mode"), options, buttons=buttons)
            return self._record(sent)
        if method in ("sendPhoto", "sendDocument"):
            chat = self._chat(fields)
            key = "photo" if method == "sendPhoto" else "document"
            if key not in files:
                raise _Reject(400, f"Bad Request: there is no {key} in the request")
            filename, data, content_type = files[key]
            if key == "photo" and not data.startswith(b"\x89PNG\r\n\x1a\n"):
                raise _Reject(400, "Bad Request: IMAGE_PROCESS_FAILED")
            if not data:
                raise _Reject(400, "Bad Request: file must be non-empty")
            caption = self._parsed(str(fields.get("caption", "")), fields.get("parse_mode"))
            if utf16_len(caption) > 1024:
                raise _Reject(400, "Bad Request: message caption is too long")
            return self._record(
                Sent(
                    method,
                    chat,
                    str(fields.get("caption", "")),
                    caption,
                    fields.get("parse_mode"),
                    None,
                    data,
                    filename,
                    content_type,
                )
            )
        if method == "getUpdates":
            return self._get_updates(fields)
        if method == "answerCallbackQuery":
            return self._answer(fields)
        if method == "getWebhookInfo":
            return {"url": self.webhook, "has_custom_certificate": False, "pending_update_count": len(self._updates)}
        if method == "deleteWebhook":
            self.webhook = ""
            return True
        raise _Reject(404, "Not Found")

    def _get_updates(self, fields: dict) -> list[dict]:
        """Updates from `offset` on; asking with an offset forgets every update before it (Telegram keeps
        the rest for 24 hours). With `timeout`, waits for one to arrive (long polling)."""
        if self.webhook:
            raise _Reject(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                "to delete the webhook first",
            )
        offset, limit = int(fields.get("offset") or 0), int(fields.get("limit") or 100)
        timeout = float(fields.get("timeout") or 0)
        allowed = fields.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        if not 1 <= limit <= 100:
            raise _Reject(400, "Bad Request: limit must be between 1 and 100")
        with self._lock:
            self.polls.append({"offset": offset, "limit": limit, "timeout": timeout, "allowed_updates": allowed})
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]

            def wanted() -> list[dict]:
                kinds = set(allowed) if allowed else None
                return [u for u in self._updates if kinds is None or kinds & set(u) - {"update_id"}]

            if not wanted() and timeout:
                self._arrived.wait_for(lambda: bool(wanted()), timeout=min(timeout, self.max_poll_seconds))
            return wanted()[:limit]

    def _answer(self, fields: dict) -> bool:
        query_id = str(fields.get("callback_query_id") or "")
        text = str(fields.get("text") or "")
        if utf16_len(text) > 200:
            raise _Reject(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._lock:
            if query_id not in self._open_queries:
                raise _Reject(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
            chat, data = self._open_queries.pop(query_id)
            self.answers.append(Answer(query_id, text, chat, data))
        return True

    def _record(self, sent: Sent) -> dict:
        with self._lock:
            self.sent.append(sent)
            message_id = len(self.sent)
            sent.message_id = message_id
        if self.after_send is not None:
            self.after_send(sent)
        return {"message_id": message_id, "chat": self.chats[sent.chat_id], "date": 0}

    @staticmethod
    def _keyboard(markup: object) -> list[list[dict]]:
        """reply_markup's inline keyboard, checked as Telegram checks it."""
        if markup is None:
            return []
        if isinstance(markup, str):
            markup = json.loads(markup)
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _Reject(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if sum(len(r) for r in rows) > 100:
            raise _Reject(400, "Bad Request: too many buttons")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                    raise _Reject(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is None and "url" not in button:
                    raise _Reject(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _Reject(400, "Bad Request: BUTTON_DATA_INVALID")
        return rows


def _as_id(chat: str) -> int | str:
    return int(chat) if chat.lstrip("-").isdigit() else chat


class _Reject(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description
