"""Faithful pictures of what Telegram, Slack and Discord show: a real day (the first 50 papers of 2026-06-30,
summarized by the local fake model in real-length Korean) is delivered to the local Telegram, Slack and Discord
fakes by the real `digest run`, and what each received is drawn as the app lays it out (Telegram's message
bubble with its inline keyboard, Slack's Block Kit in the light theme, Discord's embeds in the dark one), then
screenshotted at 390 px by headless Chromium.

    python bench/chat_mockups.py [--out docs]

Writes telegram-390.png, slack-390.png and discord-390.png (and the HTML beside them in a temporary folder).
"""

from __future__ import annotations

import argparse
import base64
import html
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from click.testing import CliRunner  # noqa: E402

from digest.cli import cli  # noqa: E402
from tests.browser import screenshot  # noqa: E402
from tests.conftest import RSS_CATEGORIES, small_day_feed, write_config  # noqa: E402
from tests.fakes.discord import FakeDiscord  # noqa: E402
from tests.fakes.http import FakeServer, Response  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.fakes.telegram import FakeTelegram, Sent  # noqa: E402

FONT = "-apple-system,'Apple SD Gothic Neo','Noto Sans CJK KR','Noto Sans KR',sans-serif"


def slack_mrkdwn(text: str) -> str:
    """Slack's mrkdwn as Slack shows it: <url|text> links, *bold*, entities; newlines as breaks."""
    out = html.escape(html.unescape(re.sub(r"<(https?://[^|>]+)\|([^>]*)>", "\x00\\1\x01\\2\x02", text)), quote=False)
    out = re.sub(r"\x00([^\x01]*)\x01([^\x02]*)\x02", r'<a href="\1">\2</a>', out)
    out = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w\\])_([^_\n]+)_(?!\w)", r"<i>\1</i>", out)
    return out.replace("\n", "<br>")


def slack_page(post_bodies: list[dict], chart: bytes) -> str:
    rows = []
    for body in post_bodies:
        for block in body["blocks"]:
            kind = block["type"]
            if kind == "header":
                rows.append(f'<div class="h">{html.escape(block["text"]["text"])}</div>')
            elif kind == "section":
                rows.append(f'<div class="s">{slack_mrkdwn(block["text"]["text"])}</div>')
            elif kind == "context":
                rows.append(f'<div class="c">{slack_mrkdwn(block["elements"][0]["text"])}</div>')
            elif kind == "divider":
                rows.append("<hr>")
            elif kind == "image":
                data = base64.b64encode(chart).decode()
                rows.append(f'<img src="data:image/png;base64,{data}" alt="{html.escape(block["alt_text"])}">')
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{{margin:0;background:#fff;font-family:{FONT};color:#1d1c1d;font-size:15px;line-height:1.46;}}
.msg{{display:flex;gap:8px;padding:12px 12px 16px}} .av{{width:36px;height:36px;border-radius:6px;background:#3b6fb6;
color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center;flex:none}}
.who b{{font-weight:900}} .who span{{color:#616061;font-size:12px;margin-left:4px}}
.h{{font-size:18px;font-weight:900;margin:4px 0}} .s{{margin:6px 0;word-break:keep-all}}
.c{{color:#616061;font-size:13px;margin:4px 0}} a{{color:#1264a3;text-decoration:none}}
img{{max-width:100%;border-radius:6px;margin:6px 0}} hr{{border:0;border-top:1px solid #ddd;margin:8px 0}}
</style></head><body><div class="msg"><div class="av">aD</div><div><div class="who"><b>arxiv-digest</b>
<span>앱 10:30</span></div>{"".join(rows)}</div></div></body></html>"""


def discord_markdown(text: str) -> str:
    """Discord's Markdown as Discord shows it: [text](url), **bold**, backslash escapes."""
    out = re.sub(r"(?<!\\)\[((?:\\.|[^\]\\])*)(?<!\\)\]\((https?://[^)\s]+)\)", "\x00\\2\x01\\1\x02", text)
    out = re.sub(r"\\(.)", r"\1", out)
    out = html.escape(out, quote=False)
    out = re.sub(r"\x00([^\x01]*)\x01([^\x02]*)\x02", r'<a href="\1">\2</a>', out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<i>\1</i>", out)
    return out.replace("\n", "<br>")


def discord_page(payloads: list[dict], chart: bytes) -> str:
    parts = []
    for payload in payloads:
        if payload.get("content"):
            parts.append(f'<div class="content">{discord_markdown(payload["content"])}</div>')
        for embed in payload.get("embeds", []):
            inner = ""
            if embed.get("title"):
                inner += f'<div class="t">{html.escape(embed["title"])}</div>'
            if embed.get("description"):
                inner += f'<div class="d">{discord_markdown(embed["description"])}</div>'
            if embed.get("image"):
                data = base64.b64encode(chart).decode()
                inner += f'<img src="data:image/png;base64,{data}">'
            if embed.get("footer"):
                inner += f'<div class="f">{html.escape(embed["footer"]["text"])}</div>'
            parts.append(f'<div class="e">{inner}</div>')
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{{margin:0;background:#313338;font-family:{FONT};color:#dbdee1;font-size:15px;line-height:1.375}}
.msg{{display:flex;gap:10px;padding:12px}} .av{{width:40px;height:40px;border-radius:50%;background:#5865f2;flex:none}}
.who b{{color:#f2f3f5}} .who span{{font-size:11px;background:#5865f2;color:#fff;border-radius:3px;padding:0 4px;
margin-left:4px}} .content{{margin:2px 0 6px;word-break:keep-all}}
.e{{background:#2b2d31;border-left:4px solid #3b6fb6;border-radius:4px;padding:8px 12px 12px;margin:6px 0;
word-break:keep-all}} .t{{font-weight:700;color:#f2f3f5;margin:4px 0}} .d{{font-size:14px}}
.f{{font-size:12px;color:#b5bac1;margin-top:8px}} a{{color:#00a8fc;text-decoration:none}}
img{{max-width:100%;border-radius:4px;margin-top:8px}}
</style></head><body><div class="msg"><div class="av"></div><div style="min-width:0">
<div class="who"><b>arxiv-digest</b><span>앱</span></div>{"".join(parts)}</div></div></body></html>"""


def telegram_page(sent: list[Sent], chart: bytes) -> str:
    """The chart photo with its caption, then the compact message with its 👍/👎/🔖 keyboard, as Telegram's
    Android and iOS apps lay out a channel post: the text in a bubble, the buttons in rows under it, each row
    split evenly, a title too long for its button cut with an ellipsis."""
    bubbles = []
    for message in sent:
        if message.method == "sendDocument":
            continue
        body = message.raw.strip().replace("\n", "<br>")  # Telegram's HTML subset renders as it is, lines kept
        if message.method == "sendPhoto":
            data = base64.b64encode(chart).decode()
            body = f'<img src="data:image/png;base64,{data}"><div class="cap">{body}</div>'
        rows = "".join(
            '<div class="row">' + "".join(f'<div class="btn">{html.escape(b["text"])}</div>' for b in row) + "</div>"
            for row in message.buttons
        )
        bubbles.append(f'<div class="bubble">{body}</div>' + (f'<div class="kb">{rows}</div>' if rows else ""))
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body{{margin:0;background:#a7c08e;font-family:{FONT};font-size:15px;line-height:1.38;color:#000;padding:8px}}
.bubble{{background:#fff;border-radius:12px;padding:7px 10px 8px;margin:8px 0 2px;word-break:keep-all;
overflow-wrap:anywhere;box-shadow:0 1px 1px rgba(0,0,0,.15)}} .bubble img{{width:100%;border-radius:8px;display:block}}
.cap{{margin-top:6px}} a{{color:#168acd;text-decoration:none}} blockquote{{margin:4px 0;border-left:3px solid #168acd;
padding-left:8px}} .kb{{margin:2px 0 8px}} .row{{display:flex;gap:2px;margin-top:2px}}
.btn{{flex:1 1 0;min-width:0;background:rgba(60,90,50,.45);color:#fff;border-radius:8px;padding:9px 6px;
text-align:center;font-size:14px;font-weight:500;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}}
</style></head><body>{"".join(bubbles)}</body></html>"""


def trim(png: Path, width: int) -> None:
    """The screenshot cut to the phone's width and to where the page's content ends."""
    from PIL import Image

    with Image.open(png) as image:
        image = image.convert("RGB").crop((0, 0, width, image.height))
        background = image.getpixel((1, image.height - 1))
        rows = [y for y in range(image.height) if any(image.getpixel((x, y)) != background for x in range(0, width, 3))]
        image.crop((0, 0, width, min(image.height, (rows[-1] if rows else image.height) + 12))).save(png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeServer() as rss, FakeOpenAI() as llm:
        with FakeSlack() as slack, FakeDiscord() as discord, FakeTelegram("7012345678:mockups") as telegram:
            telegram.add_chat(-1001, "AI 논문 채널")
            folder = Path(tmp)
            rss.route(
                f"/rss/{RSS_CATEGORIES}", Response(200, small_day_feed(), {"Content-Type": "application/rss+xml"})
            )
            config = write_config(
                folder,
                rss.url,
                llm__base_url=llm.url,
                delivery__slack__enabled=True,
                delivery__slack__webhooks=["SLACK_WEBHOOK_LAB"],
                delivery__discord__enabled=True,
                delivery__discord__webhooks=["DISCORD_WEBHOOK_STUDY"],
                delivery__telegram__enabled=True,
                delivery__telegram__api_url=telegram.url,
                delivery__telegram__chat_ids=[-1001],
                delivery__telegram__message_interval_seconds=0,
                # A reader's keywords: the must-reads they raise say why ("💡 키워드 ‘agent’").
                interests__keywords=["agent", "kv cache"],
            )
            env = {
                "OPENAI_API_KEY": "sk-mockups",
                "SLACK_WEBHOOK_LAB": slack.add_webhook("lab"),
                "DISCORD_WEBHOOK_STUDY": discord.add_webhook("study"),
                "TELEGRAM_BOT_TOKEN": telegram.token,
            }
            result = CliRunner().invoke(cli, ["run", "--config", str(config)], env=env)
            if result.exit_code != 0:
                raise SystemExit(result.output)
            chart = next((folder / "output").glob("*/paper_*.png")).read_bytes()
            pages = {
                "telegram": telegram_page(telegram.for_chat(-1001), chart),
                "slack": slack_page([p.body for p in slack.posts], chart),
                "discord": discord_page([m.payload for m in discord.messages], chart),
            }
            args.out.mkdir(parents=True, exist_ok=True)
            for name, page in pages.items():
                source = folder / f"{name}.html"
                source.write_text(page, encoding="utf-8")
                target = screenshot(source, (args.out / f"{name}-390.png").resolve(), 390, 2400)
                trim(target, 390)
                print(f"{name}: {target}")


if __name__ == "__main__":
    main()
