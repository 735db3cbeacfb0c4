"""Interests (relevance, followed authors, exclusions) and per-target topics in the config."""

from __future__ import annotations

import datetime as dt
import json
import re

from digest.config import Audience, load_config
from digest.interests import Interests, split_excluded
from digest.models import Paper
from digest.store import Store
from tests.conftest import write_config
from tests.fakes.openai_server import FakeOpenAI, estimate_tokens
from tests.fakes.smtp import USER, FakeSMTP
from tests.fakes.telegram import FakeTelegram

TOKEN = "7012345678:AAH-fake-token-for-interests"
SMTP_PASSWORD = "smtp-password-for-interests"


def paper(title: str, abstract: str = "", authors: list[str] | None = None, pid: str = "2606.00001") -> Paper:
    return Paper(pid, title, abstract, authors or ["A. Nobody"], ["cs.LG"], "new")


def test_followed_author_matches_with_middle_initials_accents_and_affiliations():
    interests = Interests(authors=("Yann LeCun", "Jurgen Schmidhuber"))
    assert interests.followed_author(paper("x", authors=["Ann Other", "Yann A. LeCun"])) == "Yann A. LeCun"
    assert interests.followed_author(paper("x", authors=["Jürgen Schmidhuber (IDSIA, KAUST)"]))
    assert interests.followed_author(paper("x", authors=["Yann Dauphin"])) is None


def test_a_followed_author_makes_a_paper_fully_relevant():
    interests = Interests(keywords=("speculative decoding",), authors=("Tri Dao",))
    assert interests.offline_relevance(paper("Unrelated vision paper", authors=["Tri Dao"])) == 10


def test_keyword_in_title_counts_more_than_in_abstract_and_is_case_and_hyphen_insensitive():
    interests = Interests(keywords=("speculative decoding", "kv cache"))
    in_title = interests.offline_relevance(paper("Faster Speculative-Decoding for LLMs"))
    in_abstract = interests.offline_relevance(paper("A method", "We use speculative decoding."))
    both = interests.offline_relevance(paper("Speculative decoding with a KV-cache", ""))
    nothing = interests.offline_relevance(paper("Image segmentation", "Masks and pixels."))
    assert both > in_title > in_abstract > nothing == 0


def test_exclude_matches_whole_words_and_stems_only():
    interests = Interests(exclude=("quantum", "protein*"))
    kept, excluded = split_excluded(
        [
            paper("Quantum circuits for learning", pid="2606.00001"),
            paper("Proteins folded by diffusion", pid="2606.00002"),
            paper("Quantization of LLMs", "Post-training quantization.", pid="2606.00003"),
        ],
        interests,
    )
    assert excluded == {"2606.00001", "2606.00002"}
    assert [p.id for p in kept] == ["2606.00003"]


def test_no_interests_means_relevance_is_not_active():
    assert not Interests().active
    assert Interests(keywords=("rl",)).active


def test_targets_with_topics_are_read_from_config(tmp_path):
    path = write_config(
        tmp_path,
        delivery__telegram__chat_ids=["-1001", {"id": "@vision", "topics": ["Computer Vision"]}],
        delivery__email__recipients=["all@example.org", {"address": "med@example.org", "topics": ["AI in Healthcare"]}],
    )
    config = load_config(path)
    assert config.delivery.telegram.targets() == [Audience("-1001"), Audience("@vision", ("Computer Vision",))]
    assert config.delivery.email.targets()[1] == Audience("med@example.org", ("AI in Healthcare",))


def test_unknown_topic_in_a_target_is_a_config_error_naming_the_key(tmp_path, run_cli):
    path = write_config(tmp_path, delivery__telegram__chat_ids=[{"id": "@vision", "topics": ["Computer Vison"]}])
    result = run_cli("run", "--config", str(path), "--no-deliver")
    assert result.exit_code == 2
    assert "delivery.telegram.chat_ids.0.topics: unknown topic 'Computer Vison'" in result.output


# ----- through the real CLI and the local fakes -----

DAY = "2026-06-30"


def _digest_json(tmp_path) -> dict:
    return json.loads((tmp_path / "output" / DAY / "digest.json").read_text())


def _texts(tmp_path) -> dict[str, str]:
    folder = tmp_path / "output" / DAY
    return {name: (folder / name).read_text() for name in ("digest.md", "digest.html", "email.html")}


def test_a_followed_authors_paper_is_the_first_must_read_everywhere(tmp_path, rss_server, run_cli):
    base = write_config(tmp_path, rss_server.url)
    assert run_cli("run", "--config", str(base), "--no-deliver").exit_code == 0
    before = _digest_json(tmp_path)
    # The least important paper of a summarized topic: it would never make the must-reads on its own.
    candidate = min(
        (p for p in before["papers"] if p["topic"] != "Other" and p["id"] not in before["must_reads"]),
        key=lambda p: p["importance"],
    )
    author = candidate["authors"][-1]
    with FakeTelegram(TOKEN) as telegram:
        telegram.add_chat(-1001)
        config = write_config(
            tmp_path,
            rss_server.url,
            interests__authors=[author],
            delivery__telegram__enabled=True,
            delivery__telegram__api_url=telegram.url,
            delivery__telegram__chat_ids=[-1001],
            delivery__telegram__message_interval_seconds=0,
        )
        result = run_cli("run", "--config", str(config), "--force", env={"TELEGRAM_BOT_TOKEN": TOKEN})
        assert result.exit_code == 0, result.output
        messages = [s for s in telegram.for_chat(-1001) if s.method == "sendMessage"]
    after = _digest_json(tmp_path)
    assert after["must_reads"][0] == candidate["id"]
    assert next(p for p in after["papers"] if p["id"] == candidate["id"])["followed_author"] is True
    must_section = _texts(tmp_path)["digest.md"].split("## 오늘의 핵심 논문", 1)[1]
    first_link = re.search(r"\]\(https://arxiv\.org/abs/([^)]+)\)", must_section).group(1)
    assert first_link == candidate["id"]
    first_message_link = re.search(r'href="https://arxiv\.org/abs/([^"]+)"', messages[0].raw).group(1)
    assert first_message_link == candidate["id"]


def test_exclude_removes_matching_papers_from_every_output_but_digest_json(tmp_path, rss_server, run_cli):
    with FakeTelegram(TOKEN) as telegram, FakeSMTP(SMTP_PASSWORD) as smtp:
        telegram.add_chat(-1001)
        config = write_config(
            tmp_path,
            rss_server.url,
            interests__exclude=["quantum", "diffusion"],
            delivery__telegram__enabled=True,
            delivery__telegram__api_url=telegram.url,
            delivery__telegram__chat_ids=[-1001],
            delivery__telegram__message_interval_seconds=0,
            delivery__email__enabled=True,
            delivery__email__smtp_host="127.0.0.1",
            delivery__email__smtp_port=smtp.port,
            delivery__email__security="none",
            delivery__email__username=USER,
            delivery__email__recipients=["a@example.com"],
        )
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD}
        result = run_cli("run", "--config", str(config), env=env)
        assert result.exit_code == 0, result.output
        sent = [s.raw for s in telegram.for_chat(-1001)] + [
            s.file.decode("utf-8") for s in telegram.for_chat(-1001) if s.filename.endswith(".md")
        ]
        mails = [
            part.get_content()
            for received in smtp.received
            for part in received.message.walk()
            if part.get_content_maintype() == "text"
        ]
        assert mails
    data = _digest_json(tmp_path)
    excluded = data["excluded"]
    assert excluded, "the small day has papers about quantum or diffusion"
    assert all(p["excluded"] for p in excluded)
    assert not {p["id"] for p in excluded} & {p["id"] for p in data["papers"]}
    assert not {p["id"] for p in excluded} & set(data["must_reads"])
    outputs = [*_texts(tmp_path).values(), *sent, *mails]
    for paper in excluded:
        for text in outputs:
            assert paper["id"] not in text and paper["title"][:60] not in text
    assert f"제외 {len(excluded)}편" in _texts(tmp_path)["digest.md"]
    assert sum(data["counts"].values()) == len(data["papers"])


def test_the_llm_answers_relevance_in_the_same_classification_calls(tmp_path, rss_server, run_cli):
    with FakeOpenAI() as fake:
        config = write_config(
            tmp_path,
            rss_server.url,
            llm__base_url=fake.url,
            llm__backoff_seconds=0.01,
            interests__keywords=["language model"],
            interests__description="LLM inference and evaluation",
        )
        assert run_cli("run", "--config", str(config), "--no-deliver").exit_code == 0
        classify_calls = [c for c in fake.calls if c.purpose == "classify"]
    data = _digest_json(tmp_path)
    assert len(classify_calls) == -(-len(data["papers"]) // 25)  # no extra call for relevance
    papers = Store(tmp_path / "output/digest.sqlite3").load_listing(dt.date(2026, 6, 30)).papers
    own = sum(estimate_tokens(p.title) + estimate_tokens(p.abstract) for p in papers)
    assert sum(c.prompt_tokens for c in classify_calls) <= 1.15 * own  # the interests go once per batch
    relevant = [p for p in data["papers"] if "language model" in p["title"].lower()]
    assert relevant and all(p["relevance"] >= 9 for p in relevant)
    assert all(0 <= p["relevance"] <= 10 for p in data["papers"])


def test_the_summary_call_picks_its_featured_papers_among_the_top_candidates(tmp_path, whole_day_rss_server, run_cli):
    with FakeOpenAI() as fake:
        fake.fail("feature_reversed", times=None, purpose="summarize")  # the model picks the last candidates
        config = write_config(tmp_path, whole_day_rss_server.url, llm__base_url=fake.url, llm__backoff_seconds=0.01)
        assert run_cli("run", "--config", str(config), "--no-deliver").exit_code == 0
        summary_calls = [c for c in fake.calls if c.purpose == "summarize"]
    data = _digest_json(tmp_path)
    assert len(summary_calls) == len(data["summaries"])  # the pick costs no extra call
    importance = {p["id"]: p["importance"] for p in data["papers"]}
    big = {name: s for name, s in data["summaries"].items() if s["total"] > 12}
    assert big, "the whole day has topics with more than 12 papers"
    for summary in big.values():
        assert len(summary["selected"]) == 5 and set(summary["paper_lines"]) == set(summary["selected"])
    # The model's pick is honoured: some featured paper ranks below a paper of its topic that was left out.
    assert any(
        min(importance[i] for i in s["selected"])
        < max(importance[p["id"]] for p in data["papers"] if p["topic"] == name and p["id"] not in s["selected"])
        for name, s in big.items()
    )
    # The must-reads always stay featured, whatever the model picks.
    for paper_id in data["must_reads"]:
        topic = next(p["topic"] for p in data["papers"] if p["id"] == paper_id)
        assert paper_id in data["summaries"][topic]["selected"]
