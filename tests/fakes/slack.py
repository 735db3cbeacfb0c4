"""A local Slack incoming webhook that answers and validates like hooks.slack.com does.

POST /services/T…/B…/<token> with a JSON body `{text, blocks, …}`:
- 200 `ok`; 400 `no_text` for a body with neither text nor blocks (what `digest check` relies on), 400
  `invalid_blocks` for a block Slack refuses (an unknown type, over 50 blocks, a section text over 3000
  characters, a header over 150 or not plain_text, an image without image_url/alt_text), 400 `invalid_payload`
  for a body that is not JSON, 404 `no_service` for an unknown webhook;
- 429 with a Retry-After header, when scripted.

It also reads each post the way Slack shows it (`Post.links`, `Post.mentions`, `Post.text`): links are
`<url|text>` and `<url>`, mentions `<@U…>`, `<!channel>`, `<!here>`, `<!everyone>`; anything else in angle
brackets is not valid mrkdwn.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field

from tests.fakes.http import FakeServer, Request, Response

BLOCK_TYPES = {"header", "section", "context", "divider", "image", "actions", "rich_text"}
_ANGLE = re.compile(r"<([^<>]*)>")


@dataclass
class Post:
    webhook: str
    body: dict

    @property
    def blocks(self) -> list[dict]:
        return self.body.get("blocks", [])

    def texts(self) -> list[str]:
        found = [self.body.get("text", "")]
        for block in self.blocks:
            if isinstance(block.get("text"), dict):
                found.append(block["text"].get("text", ""))
            found += [e.get("text", "") for e in block.get("elements", []) if isinstance(e, dict)]
        return found

    @property
    def links(self) -> list[str]:
        """Every URL a reader could open: <url|text> and <url>."""
        return [m.split("|", 1)[0] for t in self.texts() for m in _ANGLE.findall(t) if re.match(r"https?://", m)]

    @property
    def mentions(self) -> list[str]:
        return [m for t in self.texts() for m in _ANGLE.findall(t) if m.startswith(("@", "!", "#"))]

    @property
    def text(self) -> str:
        """What a reader sees: links as their text, entities decoded."""
        shown = [_ANGLE.sub(lambda m: m.group(1).split("|", 1)[-1], t) for t in self.texts()]
        return "\n".join(shown).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass
class FakeSlack:
    webhooks: set[str] = field(default_factory=set)  # the paths that exist, like /services/T1/B1/xyz
    posts: list[Post] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    scripted: list[Response] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._http = FakeServer(fallback=self._serve)

    def add_webhook(self, name: str) -> str:
        path = f"/services/T0{len(self.webhooks)}/B0{len(self.webhooks)}/{name}-secret-token-1234567890"
        self.webhooks.add(path)
        return self.url + path

    def rate_limit(self, retry_after: int, times: int = 1) -> None:
        self.scripted += [Response(429, "rate_limited", {"Retry-After": str(retry_after)})] * times

    @property
    def url(self) -> str:
        return self._http.url

    def __enter__(self) -> FakeSlack:
        self._http.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._http.__exit__(*exc)

    def _serve(self, request: Request) -> Response:
        if request.method != "POST" or request.path not in self.webhooks:
            return Response(404, "no_service")
        with self._lock:
            if self.scripted:
                return self.scripted.pop(0)
        try:
            body = json.loads(request.body)
        except ValueError:
            return self._reject(request, 400, "invalid_payload")
        if not isinstance(body, dict):
            return self._reject(request, 400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return self._reject(request, 400, "no_text")
        problem = _block_problem(body.get("blocks", []))
        if problem or len(json.dumps(body, ensure_ascii=False)) > 40_000 + 10_000:
            return self._reject(request, 400, "invalid_blocks")
        with self._lock:
            self.posts.append(Post(request.path, body))
        return Response(200, "ok", {"Content-Type": "text/html"})

    def _reject(self, request: Request, status: int, text: str) -> Response:
        with self._lock:
            self.rejected.append((request.path, text))
        return Response(status, text)


def _block_problem(blocks: list) -> str | None:
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "more than 50 blocks"
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            return f"unknown block type {kind!r}"
        text = block.get("text")
        if kind == "header" and (
            not isinstance(text, dict) or text.get("type") != "plain_text" or len(text.get("text", "")) > 150
        ):
            return "header"
        if kind == "section" and (not isinstance(text, dict) or not 1 <= len(text.get("text", "")) <= 3000):
            return "section text"
        if kind == "context" and not 1 <= len(block.get("elements", [])) <= 10:
            return "context elements"
        if kind == "image" and not (block.get("image_url") and block.get("alt_text")):
            return "image"
        for t in [text.get("text", "") if isinstance(text, dict) else ""] + [
            e.get("text", "") for e in block.get("elements", []) if isinstance(e, dict)
        ]:
            if any(not re.match(r"(https?://|@|!|#)", m) for m in _ANGLE.findall(t)):
                return "angle brackets that are neither a link nor a mention"
    return None
