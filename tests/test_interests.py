"""Interests (relevance, followed authors, exclusions) and per-target topics in the config."""

from __future__ import annotations

from digest.config import Audience, load_config
from digest.interests import Interests, split_excluded
from digest.models import Paper
from tests.conftest import write_config


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
