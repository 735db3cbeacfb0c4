"""The weekly edition, end to end through the real CLI: three listing dates of ISO week 2026-W27 backfilled
through the fake export API (the real days 06-30 and 07-01, and 06-29 a stand-in made of 07-01's first papers,
so those papers are announced twice that week), then `digest week --week 2026-W27` from the store alone."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import CHATS, ENV, RECIPIENTS, SMALL_DAY, write_config
from tests.fakes.arxiv_api import FakeArxivApi
from tests.fakes.openai_server import FakeOpenAI

WEEK = "2026-W27"
DAYS = ["2026-06-29", "2026-06-30", "2026-07-01"]


@pytest.fixture
def api(server):
    fake = FakeArxivApi.week(limit=SMALL_DAY)
    server.route("/api/query", fake)
    return fake


def week_config(tmp_path, server, telegram, smtp, **more) -> str:
    settings = {
        "delivery__telegram__enabled": True,
        "delivery__telegram__api_url": telegram.url,
        "delivery__telegram__chat_ids": CHATS,
        "delivery__telegram__message_interval_seconds": 0,
        "delivery__email__enabled": True,
        "delivery__email__smtp_host": "127.0.0.1",
        "delivery__email__smtp_port": smtp.port,
        "delivery__email__security": "none",
        "delivery__email__username": "digest",
        "delivery__email__recipients": RECIPIENTS,
        **more,
    }
    return str(write_config(tmp_path, server.url, **settings))


def backfill_three_days(run_cli, config: str) -> dict[str, dict]:
    result = run_cli("backfill", "--config", config, "--from", DAYS[0], "--to", DAYS[-1])
    assert result.exit_code == 0, result.output
    return {day: json.loads((config_dir(config) / "output" / day / "digest.json").read_text()) for day in DAYS}


def config_dir(config: str):
    from pathlib import Path

    return Path(config).parent


def test_a_week_of_stored_days_becomes_one_korean_edition_sent_once_to_every_target(
    tmp_path, server, api, telegram, smtp, run_cli
):
    with FakeOpenAI() as llm:
        config = week_config(tmp_path, server, telegram, smtp, llm__base_url=llm.url)
        env = {**ENV, "OPENAI_API_KEY": "sk-test-week"}
        days = backfill_three_days(lambda *a: run_cli(*a, env=env), config)
        requests_before, calls_before = len(server.requests), len(llm.calls)

        result = run_cli("week", "--config", config, "--week", WEEK, env=env)
        assert result.exit_code == 0, result.output
        assert len(server.requests) == requests_before  # no arXiv request: the stored days only

        folder = tmp_path / "output" / "weeks" / WEEK
        data = json.loads((folder / "digest.json").read_text())
        assert data["kind"] == "week" and data["edition"] == f"week:{WEEK}" and data["days"] == DAYS
        ids = [i for day in days.values() for i in (p["id"] for p in day["papers"])]
        assert len(ids) > len(set(ids))  # 06-29's stand-ins are announced again on 07-01
        assert data["total"] == len(set(ids)) == sum(data["counts"].values())  # each paper once
        for name, summary in data["summaries"].items():  # a Korean synthesis per topic, by the LLM
            assert summary["method"] == "llm" and list(summary["sections"]) == [
                "이번 주 흐름",
                "눈에 띄는 결과",
                "열린 질문",
            ]
            assert all(re.search("[가-힣]", s) for part in summary["sections"].values() for s in part)
            assert data["trends"][name]["count"] == data["counts"][name]
        week_calls = [c for c in llm.calls[calls_before:] if c.status == 200]
        assert len(week_calls) == len(data["summaries"]) and all(c.purpose == "week" for c in week_calls)
        assert len(data["must_reads"]) == 5
        topics = [next(p["topic"] for p in data["papers"] if p["id"] == i) for i in data["must_reads"]]
        assert max(topics.count(t) for t in topics) <= 2  # at most two per topic
        for name in ("digest.md", "digest.html", "email.html", f"paper_{WEEK}.png"):
            assert (folder / name).is_file()
        assert "## " in (folder / "digest.md").read_text() and "이번 주 핵심 논문" in (folder / "digest.md").read_text()

        for chat in CHATS:  # one photo, one compact message, the week as one page
            sent = telegram.for_chat(chat)[-3:]
            assert [s.method for s in sent] == ["sendPhoto", "sendMessage", "sendDocument"]
            assert f"주간 {WEEK}" in sent[0].text and "⭐ 이번 주 핵심 논문" in sent[1].text
            assert sent[2].filename == f"digest-{WEEK}.html"
            # 👍/👎/🔖 under the week's must-reads, as under the day's
            assert [row[0]["callback_data"] for row in sent[1].buttons] == [f"fb:l:{i}" for i in data["must_reads"]]
        mails = smtp.received[-len(RECIPIENTS) :]
        assert sorted(m.recipients[0] for m in mails) == sorted(RECIPIENTS)
        assert all(m.message["Subject"] == f"[arXiv 주간 다이제스트] {WEEK} · {data['total']}편" for m in mails)

        sent_before, mails_before, calls_before = len(telegram.sent), len(smtp.received), len(llm.calls)
        again = run_cli("week", "--config", config, "--week", WEEK, env=env)
        assert again.exit_code == 0, again.output
        assert (len(telegram.sent), len(smtp.received), len(llm.calls)) == (sent_before, mails_before, calls_before)

        resent = run_cli("send", "--config", config, "--week", WEEK, "--channel", "email", env=env)
        assert resent.exit_code == 0, resent.output
        assert len(smtp.received) == mails_before + len(RECIPIENTS)


def test_without_an_llm_the_week_is_a_labelled_offline_edition(tmp_path, server, api, telegram, smtp, run_cli):
    config = week_config(tmp_path, server, telegram, smtp)
    backfill_three_days(lambda *a: run_cli(*a, env=ENV), config)
    result = run_cli("week", "--config", config, "--week", WEEK, "--no-deliver", env=ENV)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "output" / "weeks" / WEEK
    data = json.loads((folder / "digest.json").read_text())
    assert all(s["method"] == "extractive" for s in data["summaries"].values())
    assert "LLM 미사용" in (folder / "digest.md").read_text() and "LLM 미사용" in (folder / "email.html").read_text()
    assert telegram.sent == [] and smtp.received == []


def test_a_week_with_nothing_built_says_how_to_build_it(tmp_path, server, telegram, smtp, run_cli):
    result = run_cli("week", "--config", week_config(tmp_path, server, telegram, smtp), "--week", "2026-W20")
    assert result.exit_code == 0
    assert "2026-W20: no day of this week is built yet" in result.output
    assert "digest backfill --from 2026-05-11 --to 2026-05-17" in result.output
    bad = run_cli("week", "--config", week_config(tmp_path, server, telegram, smtp), "--week", "2026-W60")
    assert bad.exit_code == 2 and "2026 has no week 60" in bad.output


def test_each_topic_is_compared_with_the_weeks_before_it(tmp_path, server, api, telegram, smtp, run_cli):
    config = week_config(tmp_path, server, telegram, smtp)
    result = run_cli("backfill", "--config", config, "--from", "2026-06-29", "--to", "2026-07-07", env=ENV)
    assert result.exit_code == 0, result.output
    for week in (WEEK, "2026-W28"):
        built = run_cli("week", "--config", config, "--week", week, "--no-deliver", env=ENV)
        assert built.exit_code == 0, built.output
    before = json.loads((tmp_path / "output/weeks" / WEEK / "digest.json").read_text())
    after = json.loads((tmp_path / "output/weeks/2026-W28/digest.json").read_text())
    assert after["days"] == ["2026-07-07"]  # holiday Fri 07-03: Mon 07-06 has no listing
    for name, trend in after["trends"].items():
        # Of the four weeks before W28 only W27 is built: its count is the average.
        assert trend["before"] == before["counts"][name]
    rising = [t for t in after["trends"].values() if t["rising"]]
    assert rising and all(t["compared"] for t in rising)  # against the weeks before, not the week's other topics
    assert "지난 4주 평균" in (tmp_path / "output/weeks/2026-W28/digest.md").read_text()


def test_the_weeks_page_on_the_site_leads_with_the_weekly_edition(tmp_path, server, api, telegram, smtp, run_cli):
    config = week_config(tmp_path, server, telegram, smtp, site__enabled=True, site__base_url="https://me.example/d/")
    backfill_three_days(lambda *a: run_cli(*a, env=ENV), config)
    page = tmp_path / "output/site/weeks" / WEEK / "index.html"
    assert "이번 주 핵심 논문" not in page.read_text()  # the days alone: no edition yet

    result = run_cli("week", "--config", config, "--week", WEEK, "--no-deliver", env=ENV)
    assert result.exit_code == 0, result.output
    assert "; site: " in result.output  # the run refreshed the site
    data = json.loads((tmp_path / "output/weeks" / WEEK / "digest.json").read_text())
    html = page.read_text()
    order = [html.index(s) for s in ("이번 주 핵심 논문", f'src="paper_{WEEK}.png"', "이번 주의 날짜", "이번 주 종합")]
    assert order == sorted(order)  # must-reads, the trend chart, then the days and each topic's synthesis
    chart = tmp_path / "output/site/weeks" / WEEK / f"paper_{WEEK}.png"
    assert chart.read_bytes() == (tmp_path / "output/weeks" / WEEK / f"paper_{WEEK}.png").read_bytes()
    picks = html[html.index("이번 주 핵심 논문") : html.index(f'src="paper_{WEEK}.png"')]
    for paper_id in data["must_reads"]:  # each links its paper on the day page that first listed it
        assert re.search(rf'href="\.\./\.\./2026-0[67]-\d\d/index\.html#{re.escape(paper_id)}"', picks), paper_id
    for name, summary in data["summaries"].items():
        section = html[html.index(f">{name} <small>이번 주 {data['counts'][name]}편") :]
        assert all(heading in section[:4000] for heading in summary["sections"])
