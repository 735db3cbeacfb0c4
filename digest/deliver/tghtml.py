"""Telegram HTML: escaping, measuring and splitting messages the way the Bot API counts them.

Telegram limits a message to 4096 characters *after entity parsing*, counted in UTF-16 code units, and
rejects a message whose tags are not closed. The splitter therefore works on tokens (a tag, an entity or
one character), cuts only between tokens, closes the tags open at a cut and reopens them in the next message.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from digest.text import telegram_html

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
# Telegram honours about 100 entities per message (python-telegram-bot, "found by experimentation").
ENTITY_LIMIT = 100

_TOKEN = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# Text for a Telegram HTML message: <, > and & as entities, control/bidi characters dropped. One escaper for
# the whole project (render's `tg` filter uses it too), property-tested in tests/test_tghtml.py.
escape = telegram_html


@dataclass(frozen=True)
class Token:
    raw: str
    kind: str  # open | close | text
    name: str = ""
    text: str = ""  # the character a text token stands for

    @property
    def width(self) -> int:
        return utf16_len(self.text)


def tokenize(markup: str) -> list[Token]:
    tokens = []
    for m in _TOKEN.finditer(markup):
        raw = m.group(0)
        if m.group(2):
            tokens.append(Token(raw, "close" if m.group(1) else "open", m.group(2).lower()))
        else:
            tokens.append(Token(raw, "text", text=html.unescape(raw) if raw.startswith("&") else raw))
    return tokens


def visible_text(markup: str) -> str:
    """What Telegram shows: tags removed, entities decoded."""
    return "".join(t.text for t in tokenize(markup))


def visible_len(markup: str) -> int:
    return utf16_len(visible_text(markup))


def entity_count(markup: str) -> int:
    return sum(1 for t in tokenize(markup) if t.kind == "open")


def fits(markup: str, limit: int = MESSAGE_LIMIT, max_entities: int = ENTITY_LIMIT) -> bool:
    return visible_len(markup) <= limit and entity_count(markup) <= max_entities


def _stack_after(stack: list[Token], tokens: list[Token]) -> list[Token]:
    stack = list(stack)
    for tok in tokens:
        if tok.kind == "open":
            stack.append(tok)
        elif tok.kind == "close":
            for k in range(len(stack) - 1, -1, -1):
                if stack[k].name == tok.name:
                    del stack[k]
                    break
    return stack


def _cut(tokens: list[Token], start: int, stack: list[Token], limit: int, max_entities: int) -> int:
    """Where the message starting at `start` should end: the last paragraph break that leaves the message
    at least half full, else a line break, else a space, else as much as fits."""
    width, entities = 0, len(stack)
    breaks: dict[str, list[tuple[int, int]]] = {"para": [], "line": [], "space": []}
    j = start
    while j < len(tokens):
        tok = tokens[j]
        if tok.kind == "text":
            if width + tok.width > limit:
                break
            width += tok.width
        elif tok.kind == "open":
            if entities + 1 > max_entities:
                break
            entities += 1
        j += 1
        if tok.text == "\n":
            previous = tokens[j - 2] if j - 2 >= start else None
            breaks["para" if previous is not None and previous.text == "\n" else "line"].append((j, width))
        elif tok.text.isspace():
            breaks["space"].append((j, width))
    if j >= len(tokens):
        return len(tokens)
    for kind in ("para", "line", "space"):
        if breaks[kind] and breaks[kind][-1][1] >= limit // 2:
            return breaks[kind][-1][0]
    candidates = [b for kind in breaks.values() for b in kind]
    if candidates:
        return max(candidates)[0]
    return max(j, start + 1)


def split_html(markup: str, limit: int = MESSAGE_LIMIT, max_entities: int = ENTITY_LIMIT) -> list[str]:
    """Telegram HTML cut into messages of at most `limit` visible UTF-16 units, at paragraph, line or word
    boundaries when there are any, never inside a tag or an entity; open tags are closed at each cut and
    reopened after it. Messages with nothing visible (only whitespace) are left out."""
    tokens = tokenize(markup)
    messages: list[str] = []
    start, stack = 0, []
    while start < len(tokens):
        end = _cut(tokens, start, stack, limit, max_entities)
        body = tokens[start:end]
        after = _stack_after(stack, body)
        text = (
            "".join(t.raw for t in stack)
            + "".join(t.raw for t in body)
            + "".join(f"</{t.name}>" for t in reversed(after))
        )
        if any(not t.text.isspace() for t in body if t.kind == "text"):
            messages.append(text.strip())
        start, stack = end, after
    return messages


def pack(blocks: list[str], limit: int = MESSAGE_LIMIT, max_entities: int = ENTITY_LIMIT) -> list[str]:
    """Blocks (the report's topics) joined into as few messages as fit; a block never starts mid-message
    unless the previous one fits whole beside it; a block too long for one message is split by split_html."""
    messages: list[str] = []
    current = ""
    for block in (b.strip() for b in blocks):
        if not block:
            continue
        joined = f"{current}\n\n{block}" if current else block
        if fits(joined, limit, max_entities):
            current = joined
            continue
        if current:
            messages.append(current)
        if fits(block, limit, max_entities):
            current = block
        else:
            *whole, current = split_html(block, limit, max_entities) or [""]
            messages.extend(whole)
    if current:
        messages.append(current)
    return messages


def to_plain(markup: str) -> str:
    """The fallback when Telegram rejects a message's formatting: the same text without tags or entities."""
    return visible_text(markup).strip()
