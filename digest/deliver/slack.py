"""Slack through incoming webhooks: the compact digest as Block Kit, one post (more only when Slack's limits
make it), every text escaped for mrkdwn so no paper or LLM text can make a link or a mention.

An incoming webhook cannot upload a file: the chart is an image block pointing at the published site
(site.base_url), or left out without one. Slack answers `ok`, or a short error text (`invalid_blocks`,
`no_text`, `channel_not_found`, …) that the failure line names.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from digest.config import Config
from digest.deliver.channels import ChannelError, Check, Prepared, content_hash
from digest.deliver.webhook import WebhookChannel, WebhookConfig
from digest.plugins import register_channel
from digest.render import CompactDigest, compact_digest
from digest.report import Report
from digest.text import plain_text

MAX_BLOCKS = 50  # a message
SECTION_CHARS = 3000  # a section's text
HEADER_CHARS = 150  # a header's plain text
MESSAGE_CHARS = 40_000  # every text of a message


class SlackConfig(WebhookConfig):
    """`delivery.slack`: `webhooks: [SLACK_WEBHOOK_LAB, {env: SLACK_WEBHOOK_VISION, topics: [...]}]`."""


def mrkdwn(text: str) -> str:
    """Text Slack shows as written: `&`, `<` and `>` as entities (a `<` would open a link or a mention)."""
    return plain_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, text: str) -> str:
    return f"<{url}|{mrkdwn(text)}>"  # the URL comes from arXiv metadata or site.base_url, never from text


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SECTION_CHARS)}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, SECTION_CHARS)}]}


def blocks_for(compact: CompactDigest, chart_url: str | None) -> list[dict]:
    """The compact digest as Block Kit blocks, in reading order."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(compact.heading, HEADER_CHARS), "emoji": True}},
        _context(mrkdwn(compact.subtitle)),
    ]
    if chart_url:
        blocks.append({"type": "image", "image_url": chart_url, "alt_text": "주제별 논문 수"})
    if compact.note:
        blocks.append(_context(mrkdwn(compact.note)))
    if compact.must_reads:
        blocks.append(_section(f"*{mrkdwn(compact.must_reads_title)}*"))
        for n, item in enumerate(compact.must_reads, start=1):
            byline = " · ".join(x for x in (item.paper.byline, item.topic) if x)
            text = f"{n}. *{_link(item.paper.url, item.paper.title)}*\n{mrkdwn(byline)}"
            text += f"\n{mrkdwn(item.line)}" if item.line else ""
            blocks.append(_section(text + (f"\n_💡 {mrkdwn(item.reason)}_" if item.reason else "")))
        blocks.append({"type": "divider"})
    blocks.append(_section(f"*{mrkdwn(compact.topics_title)}*"))
    for topic in compact.topics:
        change = f" ({topic.change})" if topic.change else ""
        gist = f"\n{mrkdwn(topic.gist)}" if topic.gist else ""
        blocks.append(_section(f"*▍{mrkdwn(topic.name)}* {topic.count}편{change}{gist}"))
    if compact.site_url:
        blocks.append(_section(_link(compact.site_url, "모든 논문과 주제별 요약 보기 →")))
    blocks.append(_context(mrkdwn(compact.footer)))
    return blocks


def _size(block: dict) -> int:
    return len(json.dumps(block, ensure_ascii=False))


def posts_for(compact: CompactDigest, chart_url: str | None) -> list[dict]:
    """The blocks as as few posts as Slack's limits allow (50 blocks, 40,000 characters a message)."""
    posts: list[list[dict]] = [[]]
    for block in blocks_for(compact, chart_url):
        current = posts[-1]
        if len(current) == MAX_BLOCKS or sum(map(_size, current)) + _size(block) > MESSAGE_CHARS:
            posts.append([])
        posts[-1].append(block)
    fallback = mrkdwn(f"{compact.heading} · {compact.subtitle}")
    return [{"text": fallback, "blocks": blocks, "unfurl_links": False, "unfurl_media": False} for blocks in posts]


@register_channel
class SlackChannel(WebhookChannel):
    """Each webhook gets the compact digest as one Block Kit post (more only when Slack's limits make it)."""

    name = "slack"
    config_model = SlackConfig
    settings: SlackConfig

    def __init__(self, config: Config, settings: SlackConfig) -> None:
        super().__init__(config, settings)

    def prepare(self, report: Report) -> Prepared:
        compact = compact_digest(report.digest)
        # The chart as the site publishes it beside the day's page: a webhook cannot upload files.
        chart_url = f"{compact.site_url}{report.digest.chart_name}" if compact.site_url else None
        posts = posts_for(compact, chart_url)
        return Prepared(content_hash(*(json.dumps(p, ensure_ascii=False) for p in posts)), len(posts), posts)

    def deliver(self, prepared: Prepared, target: str, *, start: int, on_sent: Callable[[int], None]) -> None:
        url = self.url(target)
        posts: list[dict] = prepared.payload  # type: ignore[assignment]
        for index in range(start, len(posts)):
            if index > start and self.settings.message_interval_seconds:
                self.clock.sleep(self.settings.message_interval_seconds)
            response = self.request("POST", target, url, json=posts[index])
            if response.status_code != 200 or response.text.strip() != "ok":
                said = " ".join(response.text.split())[:120] or response.reason_phrase
                where = f"post {index + 1}/{len(posts)}: " if index else ""
                raise ChannelError(f"{where}HTTP {response.status_code} {said}{_hint(said)}")
            on_sent(index + 1)

    def check(self) -> list[Check]:
        if not self.settings.targets():
            return [Check("slack", False, "delivery.slack.webhooks is empty")]
        checks = []
        for audience in self.settings.targets():
            target = audience.target
            try:
                url = self.url(target)
                # An empty post: Slack answers `no_text` and shows nothing, which says the URL works.
                response = self.request("POST", target, url, json={}, retries=0)
            except ChannelError as exc:
                checks.append(Check(f"slack {target}", False, str(exc)))
                continue
            said = " ".join(response.text.split())[:120]
            if response.status_code == 400 and said == "no_text":
                checks.append(Check(f"slack {target}", True, "ok (the webhook answers; nothing was posted)"))
            else:
                checks.append(Check(f"slack {target}", False, f"HTTP {response.status_code} {said}{_hint(said)}"))
        return checks


def _hint(said: str) -> str:
    """What to do about the error texts Slack's incoming webhooks answer."""
    hints = {
        "no_service": " (the webhook was removed or the URL is wrong: create one again and update the variable)",
        "invalid_token": " (the URL's token is wrong: copy the webhook URL again)",
        "channel_not_found": " (the channel is gone: point the webhook at another channel)",
        "channel_is_archived": " (the channel is archived)",
        "action_prohibited": " (a workspace admin restricted posting to this channel)",
        "no_team": " (the workspace is gone or the URL is wrong)",
    }
    return hints.get(said, "")
