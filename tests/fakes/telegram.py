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

    def __post_init__(self):
        self._lock = threading.Lock()
        self._http = FakeServer(fallback=self._serve)

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

    def for_chat(self, chat_id: int | str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == str(chat_id)]

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
            return self._record(Sent(method, chat, str(fields["text"]), text, fields.get("parse_mode"), options))
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
        raise _Reject(404, "Not Found")

    def _record(self, sent: Sent) -> dict:
        with self._lock:
            self.sent.append(sent)
            message_id = len(self.sent)
        if self.after_send is not None:
            self.after_send(sent)
        return {"message_id": message_id, "chat": self.chats[sent.chat_id], "date": 0}


class _Reject(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description
