"""Discord through webhooks: the compact digest as embeds with the chart attached, within Discord's limits
(10 embeds, 4096 characters a description, 256 a title, 6000 across a message's embeds, 2000 of content),
every text escaped for Discord's Markdown, and `allowed_mentions` empty so no text can ping anyone.

Posted with `?wait=true`, so Discord answers the message it created (200) or an error object whose
`message` the failure line names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from digest.config import Config
from digest.deliver.channels import ChannelError, Check, Prepared, content_hash
from digest.deliver.webhook import WebhookChannel, WebhookConfig
from digest.plugins import register_channel
from digest.render import CompactDigest, compact_digest
from digest.report import Report
from digest.text import plain_text

MAX_EMBEDS = 10
DESCRIPTION_CHARS = 4096
TITLE_CHARS = 256
EMBEDS_CHARS = 6000  # titles, descriptions, fields and footers of one message's embeds together
CONTENT_CHARS = 2000
FOOTER_CHARS = 2048
COLOR = 0x3B6FB6
_MARKDOWN = re.compile(r"([\\*_~`|>\[\]()<#@-])")


class DiscordConfig(WebhookConfig):
    """`delivery.discord`: `webhooks: [DISCORD_WEBHOOK_STUDY, {env: ..., topics: [...]}]`."""


def escape(text: str) -> str:
    """Text Discord shows as written: no emphasis, masked link, heading, quote or mention syntax survives."""
    return _MARKDOWN.sub(r"\\\1", plain_text(text))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _pack(title: str, entries: list[str]) -> list[dict]:
    """Entries (one paper or topic each) into embeds of at most DESCRIPTION_CHARS, the first one titled."""
    embeds: list[dict] = []
    text = ""
    for entry in entries:
        entry = _cut(entry, DESCRIPTION_CHARS)
        if text and len(text) + 2 + len(entry) > DESCRIPTION_CHARS:
            embeds.append({"description": text, "color": COLOR})
            text = ""
        text = f"{text}\n\n{entry}" if text else entry
    if text:
        embeds.append({"description": text, "color": COLOR})
    if embeds:
        embeds[0]["title"] = _cut(title, TITLE_CHARS)
    return embeds


def _chars(embed: dict) -> int:
    return (
        len(embed.get("title", "")) + len(embed.get("description", "")) + len(embed.get("footer", {}).get("text", ""))
    )


def messages_for(compact: CompactDigest, chart_name: str) -> list[dict]:
    """The compact digest as webhook payloads: the first with the content line and the chart; as many more as
    the limits make it (10 embeds, 6000 characters of embeds a message)."""
    must = []
    for n, item in enumerate(compact.must_reads, start=1):
        byline = " · ".join(x for x in (item.paper.byline, item.topic) if x)
        entry = f"**{n}. [{escape(item.paper.title)}]({item.paper.url})**\n{escape(byline)}"
        entry += f"\n{escape(item.line)}" if item.line else ""
        must.append(entry + (f"\n*💡 {escape(item.reason)}*" if item.reason else ""))
    topics = []
    for topic in compact.topics:
        change = f" ({topic.change})" if topic.change else ""
        topics.append(
            f"**▍{escape(topic.name)}** {topic.count}편{change}" + (f"\n{escape(topic.gist)}" if topic.gist else "")
        )
    embeds = _pack(compact.must_reads_title, must) + _pack(compact.topics_title, topics)
    closing = [escape(x) for x in (compact.note,) if x]
    if compact.site_url:
        closing.append(f"[모든 논문과 주제별 요약 보기 →]({compact.site_url})")
    last: dict = {"color": COLOR, "footer": {"text": _cut(compact.footer, FOOTER_CHARS)}}
    if closing:
        last["description"] = _cut("\n".join(closing), DESCRIPTION_CHARS)
    embeds.append(last)
    if embeds:
        embeds[0]["image"] = {"url": f"attachment://{chart_name}"}
    messages: list[list[dict]] = [[]]
    for embed in embeds:
        current = messages[-1]
        if len(current) == MAX_EMBEDS or sum(map(_chars, current)) + _chars(embed) > EMBEDS_CHARS:
            messages.append([])
        messages[-1].append(embed)
    content = _cut(f"**{escape(compact.heading)}**\n{escape(compact.subtitle)}", CONTENT_CHARS)
    payloads = []
    for index, group in enumerate(messages):
        payload: dict = {"embeds": group, "allowed_mentions": {"parse": []}}
        if index == 0:
            payload["content"] = content
        payloads.append(payload)
    return payloads


@register_channel
class DiscordChannel(WebhookChannel):
    """Each webhook gets the compact digest as embeds, the chart attached to the first message."""

    name = "discord"
    config_model = DiscordConfig
    settings: DiscordConfig

    def __init__(self, config: Config, settings: DiscordConfig) -> None:
        super().__init__(config, settings)

    def prepare(self, report: Report) -> Prepared:
        payloads = messages_for(compact_digest(report.digest), report.digest.chart_name)
        chart = (report.digest.chart_name, report.chart)
        content = content_hash(*(json.dumps(p, ensure_ascii=False) for p in payloads), report.chart)
        return Prepared(content, len(payloads), (payloads, chart))

    def deliver(self, prepared: Prepared, target: str, *, start: int, on_sent: Callable[[int], None]) -> None:
        url = self.url(target)
        payloads, (chart_name, chart) = prepared.payload  # type: ignore[misc]
        for index in range(start, len(payloads)):
            if index > start and self.settings.message_interval_seconds:
                self.clock.sleep(self.settings.message_interval_seconds)
            payload = payloads[index]
            if index == 0:  # the chart, attached, shown by the first embed
                send = {
                    "data": {"payload_json": json.dumps(payload, ensure_ascii=False)},
                    "files": {"files[0]": (chart_name, chart, "image/png")},
                }
            else:
                send = {"json": payload}
            response = self.request("POST", target, url, params={"wait": "true"}, **send)
            if response.status_code not in (200, 204):
                where = f"message {index + 1}/{len(payloads)}: " if index else ""
                raise ChannelError(f"{where}HTTP {response.status_code} {_said(response)}")
            on_sent(index + 1)

    def check(self) -> list[Check]:
        if not self.settings.targets():
            return [Check("discord", False, "delivery.discord.webhooks is empty")]
        checks = []
        for audience in self.settings.targets():
            target = audience.target
            try:
                response = self.request("GET", target, self.url(target), retries=0)
            except ChannelError as exc:
                checks.append(Check(f"discord {target}", False, str(exc)))
                continue
            if response.status_code != 200:
                hint = " (the webhook was deleted or the URL is wrong)" if response.status_code in (401, 404) else ""
                checks.append(Check(f"discord {target}", False, f"HTTP {response.status_code} {_said(response)}{hint}"))
                continue
            info = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            name = info.get("name") if isinstance(info, dict) else None
            checks.append(Check(f"discord {target}", True, f"ok (webhook {name!r}, nothing was posted)"))
        return checks


def _said(response: object) -> str:
    """Discord's own reason: the error object's `message` (and its code), else the start of the body."""
    try:
        body = response.json()  # type: ignore[attr-defined]
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        code = f" (code {body['code']})" if body.get("code") else ""
        return f"{str(body['message'])[:200]}{code}"
    return " ".join(str(getattr(response, "text", "")).split())[:120]
