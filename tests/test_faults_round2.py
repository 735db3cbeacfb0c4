"""The second round of unattended faults (audiences, interests, state), each through the real CLI: what used
to be sent empty, flagged wrongly or written silently now says so in one line and sends nothing wrong."""

from __future__ import annotations

import json
import sqlite3

from digest.interests import Interests
from digest.models import Assignment, Paper
from digest.rank import must_reads
from tests.conftest import DATE, ENV, SMALL_DAY, write_config


def delivery(telegram, **more) -> dict:
    return {
        "delivery__telegram__enabled": True,
        "delivery__telegram__api_url": telegram.url,
        "delivery__telegram__chat_ids": [-1001],
        "delivery__telegram__message_interval_seconds": 0,
        **more,
    }


def test_a_target_with_an_empty_topics_list_is_refused_naming_the_key(tmp_path, run_cli):
    config = write_config(tmp_path, delivery__telegram__chat_ids=[{"id": -1001, "topics": []}])
    result = run_cli("run", "--config", str(config), "--no-deliver")
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        "delivery.telegram.chat_ids.0.topics: an empty list would send nothing; "
        "name at least one topic, or leave `topics` out for all of them"
    )


def test_a_day_interests_exclude_empties_is_not_sent_and_status_says_why(tmp_path, rss_server, telegram, run_cli):
    # Every title has a letter "a" in a word: excluding a few common words leaves nothing.
    config = str(
        write_config(tmp_path, rss_server.url, interests__exclude=["a*", "e*", "i*", "o*", "*"], **delivery(telegram))
    )
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    assert telegram.sent == []
    assert f"-1001: nothing to send: interests.exclude left out all {SMALL_DAY} papers of the day" in result.output
    status = run_cli("status", "--config", config, env=ENV).output
    assert (
        f"delivery telegram -1001: empty (run #1; nothing to send: interests.exclude left out all {SMALL_DAY}" in status
    )


def test_an_audience_whose_topics_are_empty_today_gets_nothing_and_the_others_their_digest(
    tmp_path, rss_server, telegram, run_cli
):
    from digest.topics import DEFAULT_TOPICS

    topics = [*DEFAULT_TOPICS, {"name": "Astronomy", "keywords": ["exoplanet", "galaxy cluster"]}]
    telegram.add_chat(-1003)
    chats = [-1001, {"id": -1003, "topics": ["Astronomy"]}]
    config = str(
        write_config(
            tmp_path, rss_server.url, categories=topics, **delivery(telegram, delivery__telegram__chat_ids=chats)
        )
    )
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    counts = json.loads((tmp_path / "output" / DATE / "digest.json").read_text())["counts"]
    assert counts["Astronomy"] == 0 and sum(counts.values()) == SMALL_DAY
    assert telegram.for_chat(-1001)
    assert telegram.for_chat(-1003) == []
    assert "-1003: nothing to send: its topics (Astronomy) have no papers today" in result.output


def test_an_exclusion_does_not_make_status_call_every_delivery_partial(tmp_path, rss_server, telegram, run_cli):
    config = str(write_config(tmp_path, rss_server.url, interests__exclude=["quantum"], **delivery(telegram)))
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    assert "제외" in result.output or telegram.sent  # delivered
    status = run_cli("status", "--config", config, env=ENV).output
    assert "PARTIAL" not in status and "delivery telegram -1001: sent" in status


def test_a_followed_initial_matches_that_initial_only_and_follow_ups_lead_up_to_a_cap():
    interests = Interests(authors=("Y. Liu",))
    by = {
        name: Paper(f"2606.0000{i}", "t", "", [name], ["cs.LG"], "new")
        for i, name in enumerate(["Yang Liu", "Y. Liu", "Wei Liu", "Liu Yang", "Yuki Liuzzi"])
    }
    assert [n for n, p in by.items() if interests.followed_author(p)] == ["Yang Liu", "Y. Liu", "Liu Yang"]

    papers = [Paper(f"2606.{i:05d}", f"paper {i}", "", ["Wei Liu"], ["cs.LG"], "new") for i in range(40)]
    assignments = {
        p.id: Assignment(p.id, "LLM" if i % 2 else "Computer Vision", 1 + i % 10, "llm") for i, p in enumerate(papers)
    }
    followed = frozenset(p.id for p in papers[:30])  # a common surname: 30 papers "by" a followed author
    picked = must_reads(papers, assignments, ["LLM", "Computer Vision"], 5, followed=followed, max_followed=3)
    assert len(picked) == 5 and sum(1 for i in picked if i in followed) >= 3
    lead = picked[:3]
    assert all(i in followed for i in lead)
    assert [assignments[i].importance for i in lead] == sorted((assignments[i].importance for i in lead), reverse=True)


def test_a_database_a_newer_version_wrote_is_refused_with_the_version_it_needs(tmp_path, rss_server, run_cli):
    config = str(write_config(tmp_path, rss_server.url))
    assert run_cli("run", "--config", config, "--no-deliver").exit_code == 0
    path = tmp_path / "output/digest.sqlite3"
    db = sqlite3.connect(path)
    db.execute("INSERT INTO migrations (name, applied_at, version) VALUES ('m099_future_table', 'x', '9.4.0')")
    db.commit()
    runs = db.execute("SELECT count(*) FROM runs").fetchone()
    db.close()
    for command in (["run", "--date", DATE, "--no-deliver"], ["status"]):
        result = run_cli(*command, "--config", config)
        assert result.exit_code == 2
        assert (
            f"state.path: {path} was written by a newer version of arxiv-digest (it has m099_future_table"
            in result.output
        )
        assert "it needs arxiv-digest 9.4.0 or newer" in result.output
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM runs").fetchone() == runs  # nothing written
