"""Slack and Discord: a real day, written by the fake model in real-length Korean, reaches an incoming
webhook of each (local fakes that answer and validate like the services) exactly once, within their limits,
with the must-reads linked, nothing injectable and no webhook secret anywhere."""

from __future__ import annotations

import json
import sqlite3

import pytest

from digest.models import Paper
from digest.render import CompactDigest, MustRead, TopicLine
from tests.conftest import write_config
from tests.fakes.discord import FakeDiscord, Message
from tests.fakes.discord import _problem as discord_problem
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import FakeSlack
from tests.fakes.slack import _block_problem as slack_problem

DATE = "2026-06-30"


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def discord():
    with FakeDiscord() as fake:
        yield fake


@pytest.fixture
def llm():
    with FakeOpenAI() as fake:
        yield fake


def chat_config(tmp_path, rss_server, llm, **more) -> str:
    return str(
        write_config(
            tmp_path,
            rss_server.url,
            llm__base_url=llm.url,
            delivery__slack__enabled=True,
            delivery__slack__webhooks=[
                "SLACK_WEBHOOK_LAB",
                {"env": "SLACK_WEBHOOK_VISION", "topics": ["Computer Vision"]},
            ],
            delivery__slack__message_interval_seconds=0,
            delivery__slack__backoff_seconds=0.01,
            delivery__discord__enabled=True,
            delivery__discord__webhooks=["DISCORD_WEBHOOK_STUDY"],
            delivery__discord__message_interval_seconds=0,
            delivery__discord__backoff_seconds=0.01,
            **more,
        )
    )


def webhook_env(slack, discord) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "sk-test-chat",
        "SLACK_WEBHOOK_LAB": slack.add_webhook("lab"),
        "SLACK_WEBHOOK_VISION": slack.add_webhook("vision"),
        "DISCORD_WEBHOOK_STUDY": discord.add_webhook("study"),
    }


def test_a_real_day_reaches_slack_and_discord_once_within_their_limits(
    tmp_path, rss_server, llm, slack, discord, run_cli
):
    env = webhook_env(slack, discord)
    config = chat_config(tmp_path, rss_server, llm)
    result = run_cli("run", "--config", config, env=env)
    assert result.exit_code == 0, result.output
    assert "delivery: slack sent 2; discord sent 1" in result.output
    assert slack.rejected == [] and discord.rejected == []
    data = json.loads((tmp_path / "output" / DATE / "digest.json").read_text())
    must = [f"https://arxiv.org/abs/{i}" for i in data["must_reads"]]

    lab = [p for p in slack.posts if "lab-" in p.webhook]
    assert len(lab) == 1 and [b["type"] for b in lab[0].blocks][:2] == ["header", "context"]
    assert all(url in lab[0].links for url in must)  # every must-read, linked
    for topic, summary in data["summaries"].items():  # a line per topic: count and gist, in Korean
        assert f"*▍{topic}* {summary['total']}편\n{summary['gist']}" in lab[0].text
    assert lab[0].body["unfurl_links"] is False and lab[0].mentions == []
    vision = [p for p in slack.posts if "vision-" in p.webhook][0]
    assert "▍Computer Vision" in vision.text and "▍LLM " not in vision.text  # its audience only

    [message] = discord.messages
    [(name, chart)] = message.files.values()
    assert name == f"paper_{DATE}.png" and chart == (tmp_path / "output" / DATE / name).read_bytes()
    assert message.payload["embeds"][0]["image"]["url"] == f"attachment://{name}"
    assert message.payload["allowed_mentions"] == {"parse": []} and message.pings == []
    assert all(url in message.links for url in must)
    assert "⭐ 오늘의 핵심 논문" in message.text and "📚 주제별 오늘" in message.text

    again = run_cli("run", "--config", config, "--date", DATE, env=env)
    assert again.exit_code == 0, again.output
    assert len(slack.posts) == 2 and len(discord.messages) == 1  # exactly once per (edition, channel, target)

    secrets = [value for key, value in env.items() if "WEBHOOK" in key]
    tokens = [url.rsplit("/", 1)[1] for url in secrets]
    seen = result.output + again.output + (tmp_path / "output/digest.log").read_text()
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    rows = json.dumps([list(r) for r in db.execute("SELECT * FROM deliveries").fetchall()])
    assert not any(s in seen or s in rows for s in secrets + tokens)
    assert {r[0] for r in db.execute("SELECT target FROM deliveries WHERE channel != 'telegram'")} == {
        "SLACK_WEBHOOK_LAB",
        "SLACK_WEBHOOK_VISION",
        "DISCORD_WEBHOOK_STUDY",
    }


def test_text_from_papers_or_the_llm_cannot_link_or_mention(tmp_path, rss_server, llm, slack, discord, run_cli):
    llm.fail("hostile", times=None, purpose="summarize")
    env = webhook_env(slack, discord)
    result = run_cli("run", "--config", chat_config(tmp_path, rss_server, llm), env=env)
    assert result.exit_code == 0, result.output
    links = [u for p in slack.posts for u in p.links] + [u for m in discord.messages for u in m.links]
    assert links and all(u.startswith("https://arxiv.org/abs/") for u in links)
    assert all(p.mentions == [] for p in slack.posts) and all(m.pings == [] for m in discord.messages)
    assert "evil" not in " ".join(p.text for p in slack.posts) + " ".join(m.text for m in discord.messages)


def test_a_429_is_waited_out_and_one_asking_too_long_fails_that_target_only(
    tmp_path, rss_server, llm, slack, discord, run_cli
):
    env = webhook_env(slack, discord)
    slack.rate_limit(retry_after=1)  # honoured: the first post waits a second and goes through
    discord.rate_limit(retry_after=7200)  # two hours: more than max_retry_after_seconds
    result = run_cli("run", "--config", chat_config(tmp_path, rss_server, llm), env=env)
    assert result.exit_code == 1
    assert len(slack.posts) == 2 and discord.messages == []
    line = [x for x in result.output.splitlines() if x.startswith("error:")][0]
    assert line.startswith(f"error: {DATE}: delivery failed for discord webhook DISCORD_WEBHOOK_STUDY: HTTP 429")
    assert "more than delivery.discord.max_retry_after_seconds 300s" in line


def test_check_reaches_each_webhook_without_posting_and_names_a_missing_one(
    tmp_path, rss_server, llm, slack, discord, run_cli
):
    env = webhook_env(slack, discord)
    del env["SLACK_WEBHOOK_VISION"]
    result = run_cli("check", "--config", chat_config(tmp_path, rss_server, llm), env=env)
    assert result.exit_code == 1
    assert "slack SLACK_WEBHOOK_LAB: ok (the webhook answers; nothing was posted)" in result.output
    assert "slack SLACK_WEBHOOK_VISION: SLACK_WEBHOOK_VISION is not set (environment or .env)" in result.output
    assert "discord DISCORD_WEBHOOK_STUDY: ok (webhook 'study', nothing was posted)" in result.output
    assert slack.posts == [] and discord.messages == []
    assert env["SLACK_WEBHOOK_LAB"] not in result.output


def test_send_again_on_one_channel(tmp_path, rss_server, llm, slack, discord, run_cli):
    env = webhook_env(slack, discord)
    config = chat_config(tmp_path, rss_server, llm)
    assert run_cli("run", "--config", config, env=env).exit_code == 0
    again = run_cli("send", "--config", config, "--date", DATE, "--channel", "discord", env=env)
    assert again.exit_code == 0, again.output
    assert len(discord.messages) == 2 and len(slack.posts) == 2


def test_a_digest_too_large_for_one_post_is_split_within_every_limit():
    from digest.deliver.discord import messages_for
    from digest.deliver.slack import posts_for

    sentence = "효율과 일반화를 함께 잡으려는 시도가 두드러졌고, 같은 병목을 서로 다른 방향에서 다루는 논문이 늘었다. "
    paper = Paper("2606.00001", "A Title *with* [brackets] & a < b > c @everyone " * 3, "", ["Kim"], ["cs.LG"], "new")
    compact = CompactDigest(
        heading="Daily Artificial Intelligence Insights : Papers · 2026-06-30 " * 5,
        subtitle="2026-06-30 · arXiv 새 논문 2000편",
        must_reads_title="⭐ 오늘의 핵심 논문",
        must_reads=[MustRead(paper, "LLM", sentence * 3)] * 20,
        topics_title="📚 주제별 오늘",
        topics=[TopicLine(f"Topic {n}", 40, "+5%", sentence * 4) for n in range(60)],
        note="",
        site_url="https://lab.example/digest/2026-06-30/",
        footer="2026-06-30 · 수집 2000편 · " + "Topic 40 · " * 60,
    )
    posts = posts_for(compact, "https://lab.example/digest/2026-06-30/paper_2026-06-30.png")
    assert len(posts) > 1 and all(slack_problem(p["blocks"]) is None for p in posts)
    assert all(len(json.dumps(p, ensure_ascii=False)) <= 40_000 for p in posts)
    messages = messages_for(compact, "paper_2026-06-30.png")
    files = {"files[0]": ("paper_2026-06-30.png", b"png")}
    assert len(messages) > 1
    assert all(discord_problem(m, files if i == 0 else {}) is None for i, m in enumerate(messages))
    shown = Message("/x", messages[0], files)
    assert "A Title *with* [brackets] & a < b > c @everyone" in shown.text and shown.pings == []
    slack_text = next(p for p in posts if len(p["blocks"]) > 5)
    from tests.fakes.slack import Post

    assert "A Title *with* [brackets] & a < b > c @everyone" in Post("/x", slack_text).text


def test_the_weekly_edition_reaches_them_too(tmp_path, server, slack, discord, run_cli):
    from tests.fakes.arxiv_api import FakeArxivApi

    server.route("/api/query", FakeArxivApi.week(limit=20))
    env = {k: v for k, v in webhook_env(slack, discord).items() if k != "OPENAI_API_KEY"}  # offline
    config = str(
        write_config(
            tmp_path,
            server.url,
            delivery__slack__enabled=True,
            delivery__slack__webhooks=["SLACK_WEBHOOK_LAB"],
            delivery__discord__enabled=True,
            delivery__discord__webhooks=["DISCORD_WEBHOOK_STUDY"],
        )
    )
    built = run_cli("backfill", "--config", config, "--from", "2026-06-29", "--to", "2026-07-01", env=env)
    assert built.exit_code == 0, built.output
    result = run_cli("week", "--config", config, "--week", "2026-W27", env=env)
    assert result.exit_code == 0, result.output
    assert "delivery: slack sent 1; discord sent 1" in result.output
    [post], [message] = slack.posts, discord.messages
    assert "주간 2026-W27" in post.text and "⭐ 이번 주 핵심 논문" in post.text
    assert message.payload["embeds"][0]["title"] == "⭐ 이번 주 핵심 논문"
    assert list(message.files.values())[0][0] == "paper_2026-W27.png"
