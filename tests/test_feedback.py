"""The digest learns its reader, end to end through the real CLI and the Telegram fake: two real days run one
after another (2026-06-30, then 2026-07-01, through the fake export API), the first day's messages carry
👍/👎/🔖 buttons naming arXiv ids, a reader taps papers of one theme 👍 and of another 👎, and the second day
leads with more of the first theme than the same two days with no taps, and no more of the second."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3

import pytest

from tests.conftest import ENV, write_config
from tests.fakes.arxiv_api import FIXTURE_DAYS, FakeArxivApi, load_day

DAY1, DAY2 = "2026-06-30", "2026-07-01"
CHAT, STRANGER = -1001, -7777
READER, OTHER_READER = 501, 502
# A reader's themes, told by the title (what a reader taps on): agents liked, medical papers not.
LIKED = re.compile(r"\b(?:agent\w*|agentic)\b", re.IGNORECASE)
DISLIKED = re.compile(r"\b(?:medical|clinical|patient\w*|health\w*|disease\w*|radiolog\w*|surg\w*|patholog\w*)\b", re.I)
TEXTS = {r["id"]: r["title"] for name in FIXTURE_DAYS.values() for r in load_day(name)}


@pytest.fixture
def api(server):
    fake = FakeArxivApi.from_fixtures()
    server.route("/api/query", fake)
    return fake


def config_for(tmp_path, server, telegram, **more) -> str:
    telegram.add_chat(CHAT, "AI 논문 채널")
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = {
        "delivery__telegram__enabled": True,
        "delivery__telegram__api_url": telegram.url,
        "delivery__telegram__chat_ids": [CHAT],
        "delivery__telegram__message_interval_seconds": 0,
        **more,
    }
    return str(write_config(tmp_path, server.url, **settings))


def digest_json(config: str, day: str) -> dict:
    from pathlib import Path

    return json.loads((Path(config).parent / "output" / day / "digest.json").read_text())


def run(run_cli, config: str, day: str, *more: str):
    result = run_cli("run", "--config", config, "--date", day, *more, env=ENV)
    assert result.exit_code == 0, result.output
    return result


def picked(data: dict) -> list[str]:
    """The papers a reader meets first: the must-reads, then every topic's featured papers."""
    featured = [i for s in data["summaries"].values() for i in s["selected"]]
    return list(dict.fromkeys([*data["must_reads"], *featured]))


def of_theme(ids: list[str], theme: re.Pattern) -> int:
    return sum(1 for i in ids if theme.search(TEXTS[i]))


def buttons(telegram, chat=CHAT) -> list[dict]:
    return [b for s in telegram.for_chat(chat) for row in s.buttons for b in row]


def test_taps_on_one_day_lead_the_next_with_what_the_reader_liked(tmp_path, server, api, telegram, run_cli):
    config = config_for(tmp_path / "taps", server, telegram, delivery__telegram__format="full", site__enabled=True)
    run(run_cli, config, DAY1)
    day1 = digest_json(config, DAY1)
    sent = buttons(telegram)
    assert sent, "the first day's messages carry buttons"
    data = {b["callback_data"] for b in sent}
    assert all(len(d.encode()) <= 64 and re.fullmatch(r"fb:[lds]:\d{4}\.\d{5}", d) for d in data)
    featured = [i for s in day1["summaries"].values() for i in s["selected"]]
    assert {d.split(":")[2] for d in data} == set(featured)  # one row per featured paper, in full
    assert {b["text"][0] for b in sent} == {"👍", "👎", "🔖"}

    liked = [i for i in featured if LIKED.search(TEXTS[i]) and not DISLIKED.search(TEXTS[i])]
    disliked = [i for i in featured if DISLIKED.search(TEXTS[i]) and not LIKED.search(TEXTS[i])]
    assert len(liked) >= 3 and len(disliked) >= 2, (len(liked), len(disliked))
    queries = [telegram.press(CHAT, f"fb:l:{i}", user_id=READER) for i in liked]
    queries += [telegram.press(CHAT, f"fb:d:{i}", user_id=READER) for i in disliked]
    saved = telegram.press(CHAT, f"fb:s:{liked[0]}", user_id=OTHER_READER)
    # A tap from a chat the config does not send to (an old message, another group): answered, not counted.
    telegram.add_chat(STRANGER, "다른 방", kind="group")
    stranger = telegram.press(STRANGER, f"fb:l:{disliked[0]}", user_id=READER, forged=True)

    result = run(run_cli, config, DAY2)
    answers = {a.query_id: a for a in telegram.answers}
    assert sorted(answers) == sorted([*queries, saved, stranger])  # each tap answered exactly once
    assert len(telegram.answers) == len(answers)
    assert {answers[q].text for q in queries[: len(liked)]} == {"👍 반영했어요"}
    assert {answers[q].text for q in queries[len(liked) :]} == {"👎 반영했어요"}
    assert answers[saved].text == "🔖 저장했어요" and answers[stranger].text == ""
    assert f"feedback: {len(queries) + 1} tap(s) recorded (-1001 {len(queries) + 1})" in result.output
    assert "1 ignored" in result.output

    # The same two days with no taps, in a folder of their own.
    quiet = config_for(tmp_path / "quiet", server, telegram, delivery__telegram__feedback=False)
    run(run_cli, quiet, DAY1, "--no-deliver")
    run(run_cli, quiet, DAY2, "--no-deliver")
    learned, baseline = digest_json(config, DAY2), digest_json(quiet, DAY2)
    assert of_theme(picked(learned), LIKED) > of_theme(picked(baseline), LIKED)
    assert of_theme(picked(learned), DISLIKED) <= of_theme(picked(baseline), DISLIKED)
    assert of_theme(learned["must_reads"], LIKED) > of_theme(baseline["must_reads"], LIKED)
    # Nothing is hidden by the model: both days hold the same papers.
    assert {p["id"] for p in learned["papers"]} == {p["id"] for p in baseline["papers"]}
    # digest.json carries each paper's learned score; a must-read raised by it says why.
    scores = {p["id"]: p["learned"] for p in learned["papers"]}  # every paper, once there is a model
    assert any(s and s > 0 for s in scores.values()) and any(s and s < 0 for s in scores.values())
    assert all("learned" not in p for p in baseline["papers"])
    reasons = [p["why"] for p in learned["papers"] if p["id"] in learned["must_reads"] and p.get("why")]
    assert any(r.startswith("👍한 ‘") and r.endswith("’와 비슷") for r in reasons), reasons
    md = (tmp_path / "taps/output" / DAY2 / "digest.md").read_text()
    assert "💡 👍한 ‘" in md
    assert "💡 👍한 ‘" in (tmp_path / "taps/output/site" / DAY2 / "index.html").read_text()  # the site's day page
    assert "💡 👍한 ‘" in (tmp_path / "taps/output" / DAY2 / "email.html").read_text()

    # A re-run answers nothing again and counts nothing again.
    polls = len(telegram.polls)
    run(run_cli, config, DAY2)
    assert len(telegram.answers) == len(answers) and len(telegram.polls) == polls + 1
    assert telegram.polls[-1]["offset"] > 0 and telegram.pending_updates == 0  # asked past the taps: confirmed
    assert telegram.polls[-1]["allowed_updates"] == ["callback_query"]


def test_a_second_tap_replaces_the_first_and_status_counts_taps_per_chat(tmp_path, server, api, telegram, run_cli):
    config = config_for(tmp_path, server, telegram)
    run(run_cli, config, DAY1)
    first = digest_json(config, DAY1)["must_reads"][0]
    telegram.press(CHAT, f"fb:l:{first}", user_id=READER)
    telegram.press(CHAT, f"fb:d:{first}", user_id=READER)  # 👍 then 👎 = 👎
    telegram.post_message(CHAT, "좋은 논문 감사합니다")  # not a tap: skipped
    result = run_cli("feedback", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("feedback: 2 tap(s) recorded (-1001 2)")
    assert run_cli("feedback", "--config", config, env=ENV).output.strip().endswith("feedback: no new taps")
    with sqlite3.connect(tmp_path / "output/digest.sqlite3") as db:
        assert db.execute("SELECT chat, user_id, paper_id, verdict FROM feedback").fetchall() == [
            ("-1001", READER, first, "dislike")
        ]
    status = run_cli("status", "--config", config, env=ENV).output
    assert "feedback: chat -1001: 👎 1 (1 taps)" in status
    assert "learned model (the whole digest, chats -1001): 1 tapped papers + 0 own papers" in status


def test_compact_buttons_one_row_per_must_read_readable_on_a_phone(tmp_path, server, api, telegram, run_cli):
    config = config_for(tmp_path, server, telegram)
    run(run_cli, config, DAY1)
    data = digest_json(config, DAY1)
    messages = [s for s in telegram.for_chat(CHAT) if s.method == "sendMessage"]
    rows = messages[0].buttons
    assert [row[0]["callback_data"] for row in rows] == [f"fb:l:{i}" for i in data["must_reads"]]
    for n, row in enumerate(rows, start=1):
        assert [b["text"].split()[0] for b in row] == ["👍", "👎", "🔖"]
        assert row[0]["text"].startswith(f"👍 {n}. ") and row[1]["text"] == f"👎 {n}" and row[2]["text"] == f"🔖 {n}"
        assert len(row[0]["text"]) <= len(f"👍 {n}. ") + 12  # a short title: three buttons share a 390 px row
    assert all(not s.buttons for s in messages[1:])


def test_feedback_off_sends_no_buttons_and_reads_nothing(tmp_path, server, api, telegram, run_cli):
    config = config_for(tmp_path, server, telegram, delivery__telegram__feedback=False)
    run(run_cli, config, DAY1)
    assert telegram.sent and not buttons(telegram)
    assert [m for m, _ in telegram.calls if m in ("getUpdates", "answerCallbackQuery")] == []
    result = run_cli("feedback", "--config", config, env=ENV)
    assert result.exit_code == 0 and "feedback: off" in result.output


def test_a_webhook_on_the_bot_is_one_warning_and_the_day_is_still_sent(tmp_path, server, api, telegram, run_cli):
    config = config_for(tmp_path, server, telegram)
    telegram.webhook = "https://example.org/hook"
    result = run(run_cli, config, DAY1)
    assert "the bot has a webhook" in result.output and "Traceback" not in result.output
    assert telegram.for_chat(CHAT)
    alone = run_cli("feedback", "--config", config, env=ENV)
    assert alone.exit_code == 1 and "deleteWebhook" in alone.output
    assert [m for m, _ in telegram.calls].count("getUpdates") == 2  # a 409 is not asked again
    check = run_cli("check", "--config", config, env=ENV)
    assert "telegram feedback: the bot has a webhook" in check.output and check.exit_code != 0


def test_interests_papers_from_ids_bibtex_and_zotero_json_are_read_once_and_learned_from(
    tmp_path, server, api, telegram, run_cli
):
    day = load_day(FIXTURE_DAYS[dt.date(2026, 6, 30)])
    agents = [r for r in day if LIKED.search(f"{r['title']} {r['abstract']}")][:6]
    (tmp_path / "mine.bib").write_text(
        "\n".join(
            f"@article{{p{n},\n  title = {{{r['title']}}},\n  abstract = {{{r['abstract']}}},\n  year = {{2026}}\n}}"
            for n, r in enumerate(agents[:2])
        )
    )
    (tmp_path / "zotero.json").write_text(
        json.dumps(
            [
                {
                    "id": "z1",
                    "type": "article",
                    "title": agents[2]["title"],
                    "URL": f"https://arxiv.org/abs/{agents[2]['id']}v1",
                }
            ]
        )
    )
    config = config_for(tmp_path, server, telegram, interests__papers=[agents[3]["id"], "mine.bib", "zotero.json"])
    assert run_cli("check", "--config", config, env=ENV).output.count("interests.papers: ok") == 3
    run(run_cli, config, DAY2, "--no-deliver")
    asked = len([r for r in server.requests if "id_list" in r.query])
    assert asked == 1  # the ids (one configured, one from the Zotero file) read together
    with sqlite3.connect(tmp_path / "output/digest.sqlite3") as db:
        assert {r[0] for r in db.execute("SELECT key FROM own_papers")} == {agents[2]["id"], agents[3]["id"]}
    learned = digest_json(config, DAY2)
    assert any(p.get("learned", 0) > 0 for p in learned["papers"])
    assert any(p.get("why", "").startswith("내 논문 ‘") for p in learned["papers"])
    run(run_cli, config, DAY2, "--no-deliver", "--force")
    assert len([r for r in server.requests if "id_list" in r.query]) == asked  # read once, then kept
    status = run_cli("status", "--config", config, env=ENV).output
    assert "learned model (the whole digest, chats -1001): 0 tapped papers + 4 own papers" in status


def test_the_scheduler_answers_a_tap_between_fires_and_still_stops_on_sigterm(tmp_path, server, telegram):
    import os
    import signal
    import subprocess
    import sys
    import time

    config = config_for(tmp_path, server, telegram)
    telegram.max_poll_seconds = 1.0  # Telegram holds a long poll up to its timeout; the fake answers sooner
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "schedule", "--config", config],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )
    try:
        deadline = time.monotonic() + 30
        while not telegram.polls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert telegram.polls and telegram.polls[0]["timeout"] > 0  # a long poll, not a busy loop
        query = telegram.press(CHAT, "fb:l:2606.30949", user_id=READER, forged=True)
        while not telegram.answers and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(a.query_id, a.text) for a in telegram.answers] == [(query, "👍 반영했어요")]
        time.sleep(2.5)  # a few more polls, none of them answering the tap again
        assert len(telegram.answers) == 1 and len(telegram.polls) < 10
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "scheduler stopped" in out
    with sqlite3.connect(tmp_path / "output/digest.sqlite3") as db:
        assert db.execute("SELECT paper_id, verdict FROM feedback").fetchall() == [("2606.30949", "like")]


def test_with_no_taps_and_no_papers_of_your_own_nothing_changes(tmp_path, server, api, telegram, run_cli):
    on = config_for(tmp_path / "on", server, telegram)
    off = config_for(tmp_path / "off", server, telegram, delivery__telegram__feedback=False)
    run(run_cli, on, DAY1, "--no-deliver")
    run(run_cli, off, DAY1, "--no-deliver")
    a, b = digest_json(on, DAY1), digest_json(off, DAY1)
    assert picked(a) == picked(b) and a["must_reads"] == b["must_reads"]
    assert not any("learned" in p for p in a["papers"])


def test_a_chat_with_its_own_topics_learns_from_its_own_taps(tmp_path, server, api, telegram, run_cli):
    mine = {"id": -1002, "topics": ["LLM", "General AI"]}
    telegram.add_chat(-1002, "LLM 스터디")
    config = config_for(tmp_path, server, telegram, delivery__telegram__chat_ids=[CHAT, mine])
    run(run_cli, config, DAY1)
    tapped = [b["callback_data"] for b in buttons(telegram, -1002) if b["callback_data"].startswith("fb:l:")]
    for data in tapped[:3]:
        telegram.press(-1002, data, user_id=READER)
    run(run_cli, config, DAY2)
    data = digest_json(config, DAY2)
    # The whole-digest audience (chat -1001) learned nothing; the LLM/General AI chat has a view of its own.
    assert not any("learned" in p for p in data["papers"])
    assert list(data["audiences"]) == ["General AI|LLM"]
    view = data["audiences"]["General AI|LLM"]
    assert any(r > 0 for r in view["relevance"].values()) and view["why"]
    assert all(v.startswith("👍한 ‘") for v in view["why"].values())
