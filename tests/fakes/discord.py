"""A local Discord webhook that answers and validates like discord.com/api/webhooks does.

- GET /api/webhooks/<id>/<token>: the webhook's info (200), or 401/404 `{"message": "Unknown Webhook",
  "code": 10015}`.
- POST (JSON, or multipart with `payload_json` and `files[n]`; `?wait=true` answers the message, 200, else 204):
  `content` ≤ 2000, ≤ 10 embeds, a title ≤ 256, a description ≤ 4096, ≤ 25 fields, a footer ≤ 2048, and 6000
  characters across a message's embeds; an embed image `attachment://name` must name an uploaded file;
  otherwise 400 `{"code": 50035, "message": "Invalid Form Body", "errors": …}`. 429 with `retry_after` in the
  body and a Retry-After header, when scripted.

`Message.text` is what a reader sees (Markdown escapes removed, masked links as their text), `links` every URL
one could open, `pings` what would notify someone given `allowed_mentions`.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP

from tests.fakes.http import FakeServer, Request, Response

_MASKED = re.compile(r"(?<!\\)\[((?:\\.|[^\]\\])*)(?<!\\)\]\((https?://[^)\s]+)\)")
_BARE = re.compile(r"(?<![\\(])https?://[^\s)>]+")
_ESCAPED = re.compile(r"\\(.)")


@dataclass
class Message:
    webhook: str
    payload: dict
    files: dict[str, tuple[str, bytes]]

    def texts(self) -> list[str]:
        found = [self.payload.get("content", "")]
        for embed in self.payload.get("embeds", []):
            found += [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", "")]
        return found

    @property
    def links(self) -> list[str]:
        return [url for t in self.texts() for url in [m.group(2) for m in _MASKED.finditer(t)] + _BARE.findall(t)]

    @property
    def text(self) -> str:
        shown = [_ESCAPED.sub(r"\1", _MASKED.sub(lambda m: m.group(1), t)) for t in self.texts()]
        return "\n".join(shown)

    @property
    def pings(self) -> list[str]:
        """Mentions Discord would notify: with allowed_mentions {"parse": []}, none."""
        allowed = self.payload.get("allowed_mentions", {"parse": ["everyone", "users", "roles"]})
        raw = "\n".join(self.texts())
        found = re.findall(r"(?<!\\)@(everyone|here)", raw) + re.findall(r"<@[!&]?\d+>", raw)
        return [] if allowed.get("parse") == [] and not allowed.get("users") and not allowed.get("roles") else found


@dataclass
class FakeDiscord:
    webhooks: dict[str, str] = field(default_factory=dict)  # path -> name
    messages: list[Message] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    scripted: list[tuple[float, int]] = field(default_factory=list)  # (retry_after, times)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._http = FakeServer(fallback=self._serve)

    def add_webhook(self, name: str) -> str:
        path = (
            f"/api/webhooks/11122233344455566{len(self.webhooks)}/{name}-SecretToken-abcdefghijklmnopqrstuvwxyz012345"
        )
        self.webhooks[path] = name
        return self.url + path

    def rate_limit(self, retry_after: float, times: int = 1) -> None:
        self.scripted += [(retry_after, 1)] * times

    @property
    def url(self) -> str:
        return self._http.url

    def __enter__(self) -> FakeDiscord:
        self._http.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._http.__exit__(*exc)

    def _serve(self, request: Request) -> Response:
        if request.path not in self.webhooks:
            return _json(404, {"message": "Unknown Webhook", "code": 10015})
        if request.method == "GET":
            return _json(200, {"type": 1, "id": "111", "name": self.webhooks[request.path], "channel_id": "222"})
        with self._lock:
            if self.scripted:
                wait, _ = self.scripted.pop(0)
                body = {"message": "You are being rate limited.", "retry_after": wait, "global": False}
                return _json(429, body, {"Retry-After": str(int(wait) + 1)})
        content_type = request.headers.get("Content-Type", "")
        files: dict[str, tuple[str, bytes]] = {}
        try:
            if content_type.startswith("multipart/form-data"):
                parsed = BytesParser(policy=HTTP).parsebytes(
                    f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
                )
                payload = {}
                for part in parsed.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    if name == "payload_json":
                        payload = json.loads(part.get_payload(decode=True))
                    elif part.get_filename():
                        files[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
            else:
                payload = json.loads(request.body)
        except ValueError:
            return self._reject(request, {"code": 50109, "message": "The request body contains invalid JSON."})
        problem = _problem(payload, files)
        if problem:
            return self._reject(request, {"code": 50035, "message": "Invalid Form Body", "errors": problem})
        with self._lock:
            self.messages.append(Message(request.path, payload, files))
        if request.query.get("wait") == ["true"]:
            return _json(200, {"id": str(len(self.messages)), "content": payload.get("content", "")})
        return Response(204)

    def _reject(self, request: Request, body: dict) -> Response:
        with self._lock:
            self.rejected.append((request.path, json.dumps(body)))
        return _json(400, body)


def _problem(payload: dict, files: dict) -> str | None:
    if not isinstance(payload, dict):
        return "payload"
    if not payload.get("content") and not payload.get("embeds") and not files:
        return "Cannot send an empty message"
    if len(payload.get("content", "")) > 2000:
        return "content: Must be 2000 or fewer in length."
    embeds = payload.get("embeds", [])
    if len(embeds) > 10:
        return "embeds: Must be 10 or fewer in length."
    total = 0
    uploaded = {name for name, _ in files.values()}
    for embed in embeds:
        title, description = embed.get("title", ""), embed.get("description", "")
        footer = embed.get("footer", {}).get("text", "")
        if len(title) > 256 or len(description) > 4096 or len(footer) > 2048 or len(embed.get("fields", [])) > 25:
            return "embeds: a title, description, footer or fields over Discord's limit"
        total += len(title) + len(description) + len(footer)
        image = embed.get("image", {}).get("url", "")
        if image.startswith("attachment://") and image.removeprefix("attachment://") not in uploaded:
            return f"embeds.image: {image} names no attached file"
    if total > 6000:
        return "embeds: Embed size exceeds maximum size of 6000"
    return None


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(status, json.dumps(body), {"Content-Type": "application/json", **(headers or {})})
