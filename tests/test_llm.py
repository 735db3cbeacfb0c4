"""The LLM path end to end: the real CLI, a real arXiv day, and a local OpenAI-compatible server."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sqlite3
from pathlib import Path

import pytest

from digest.models import SECTION_TITLES
from digest.sources.clean import keep_announce_types
from digest.sources.demo import demo_fetcher
from digest.sources.rss import parse_feed
from digest.store import Store
from tests.conftest import SMALL_DAY, small_day_feed, write_config
from tests.fakes.openai_server import HOSTILE, INVENTED_ID, FakeOpenAI, estimate_tokens

DAY = "2026-06-30"
PAPERS = SMALL_DAY  # the small real day conftest serves: 50 papers, two batches of 25
BATCHES = math.ceil(PAPERS / 25)
FEED_IDS = set(re.findall(r"<link>https://arxiv.org/abs/([^<]+)</link>", small_day_feed().decode()))
# The day's papers in listing order (new submissions and cross-lists), as the classifier batches them.
LISTING = [p.id for p in keep_announce_types(parse_feed(small_day_feed()), ["new", "cross"]).papers]


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def setup(tmp_path, rss_server, fake):
    """Write a config that points the LLM at the fake; returns a function taking extra overrides."""

    def make(**overrides) -> Path:
        settings = {
            "llm__base_url": fake.url,
            "llm__backoff_seconds": 0.01,
            "llm__max_retries": 2,
            "llm__timeout_seconds": 5,
            **overrides,
        }
        return write_config(tmp_path, rss_server.url, **settings)

    return make


def report(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "output" / DAY
    return {name: (folder / name).read_text() for name in ("digest.md", "digest.html", "digest.json")}


def db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "output/digest.sqlite3")


def error_line(output: str) -> str:
    """The one error line (progress lines on stderr may precede it)."""
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and output.strip().splitlines()[-1] == errors[0], output
    return errors[0]


def non_empty_topics(data: dict) -> int:
    return sum(1 for name, n in data["counts"].items() if n and name != "Other")


def test_whole_day_costs_one_call_per_batch_and_one_per_topic(tmp_path, setup, fake, run_cli):
    result = run_cli("run", "--config", str(setup()))
    assert result.exit_code == 0, result.output
    files = report(tmp_path)
    data = json.loads(files["digest.json"])
    topics = non_empty_topics(data)
    assert fake.count("classify") == BATCHES == 2
    assert fake.count("summarize") == topics == len(data["summaries"])
    assert fake.count(status=None) == BATCHES + topics  # nothing else was asked

    # every paper was shown exactly once, with its id, and classified by the LLM
    sent = [i for c in fake.calls if c.purpose == "classify" for i in c.ids]
    assert sorted(sent) == sorted(p["id"] for p in data["papers"]) and len(set(sent)) == PAPERS
    assert {p["classified_by"] for p in data["papers"]} == {"llm"}
    assert all(1 <= p["importance"] <= 10 for p in data["papers"])
    assert all(s["method"] == "llm" for s in data["summaries"].values())
    assert "LLM 미사용" not in files["digest.md"]

    # the footer and digest.json show what the server says was spent
    prompt, completion = fake.tokens()
    assert data["llm"] == {
        "used": True,
        "model": "gpt-6-luna",
        "calls": BATCHES + topics,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "reasoning_tokens": fake.reasoning(),
        "refused_papers": 0,
    }
    assert 0 < fake.reasoning() < completion  # gpt-6-luna reasons (at low, the default), billed as output
    assert (
        files["digest.md"]
        .rstrip()
        .endswith(
            f"LLM gpt-6-luna: 호출 {BATCHES + topics}회, 토큰 {prompt + completion:,} "
            f"(입력 {prompt:,} / 출력 {completion:,})"
        )
    )


def test_classification_prompt_costs_about_the_papers_themselves(tmp_path, setup, fake, run_cli):
    assert run_cli("run", "--config", str(setup())).exit_code == 0
    papers = Store(tmp_path / "output/digest.sqlite3").load_listing(dt.date(2026, 6, 30)).papers
    own = sum(estimate_tokens(p.title) + estimate_tokens(p.abstract) for p in papers)
    spent = sum(c.prompt_tokens for c in fake.calls if c.purpose == "classify")
    assert spent <= 1.15 * own, (spent, own)
    # the topic list with descriptions goes once per batch, not once per paper
    body = json.loads(next(r.body for r in fake.http.requests if b"paper_topics" in r.body))
    assert body["messages"][0]["content"].count("quantization, pruning") == 1
    assert "quantization, pruning" not in body["messages"][1]["content"]


def test_summary_prompt_asks_for_the_five_korean_parts(setup, fake, run_cli):
    assert run_cli("run", "--config", str(setup())).exit_code == 0
    bodies = [json.loads(r.body) for r in fake.http.requests if b"topic_summary" in r.body]
    body = bodies[0]
    system = body["messages"][0]["content"]
    assert all(part in system for part in SECTION_TITLES)
    listed = [
        len(re.findall(r'^<paper id="\d{4}\.\d{5}">$', b["messages"][1]["content"], re.MULTILINE)) for b in bodies
    ]
    assert max(listed) == 12  # report.summary_candidates, for the topics that have more (it picks 5)
    schema = body["response_format"]["json_schema"]
    assert schema["strict"] is True and schema["schema"]["additionalProperties"] is False


def test_rerun_makes_no_calls_and_gives_the_same_report(tmp_path, setup, fake, run_cli):
    config = str(setup())
    assert run_cli("run", "--config", config).exit_code == 0
    first, calls = report(tmp_path), len(fake.calls)
    assert run_cli("run", "--config", config).exit_code == 0
    assert run_cli("run", "--config", config, "--date", DAY).exit_code == 0
    assert len(fake.calls) == calls
    assert report(tmp_path) == first
    status = run_cli("status", "--config", config).output.splitlines()
    assert "0 calls (all reused from the store)" in status[0]
    assert re.search(rf"LLM gpt-6-luna: {calls} calls, [\d,]+ tokens", status[-1])


def test_force_recomputes_through_the_llm(tmp_path, setup, fake, run_cli):
    config = str(setup())
    assert run_cli("run", "--config", config).exit_code == 0
    first, calls = report(tmp_path), len(fake.calls)
    assert run_cli("run", "--config", config, "--force").exit_code == 0
    assert len(fake.calls) == 2 * calls
    assert report(tmp_path) == first  # the fake answers deterministically


def test_answers_are_cached_by_input_even_when_stored_work_is_recomputed(tmp_path, setup, fake, run_cli):
    assert run_cli("run", "--config", str(setup())).exit_code == 0
    calls = len(fake.calls)
    # fewer papers per topic: the classification is reused, every summary input changes
    assert run_cli("run", "--config", str(setup(report__max_papers_per_category=3))).exit_code == 0
    assert fake.count("classify") == BATCHES and len(fake.calls) > calls
    # back to 5: those summaries' inputs were answered before, so nothing is asked
    calls = len(fake.calls)
    assert run_cli("run", "--config", str(setup())).exit_code == 0
    assert len(fake.calls) == calls


def test_transient_faults_are_retried_and_recorded(tmp_path, setup, fake, run_cli):
    fake.fail("429", purpose="classify", retry_after_ms=300)
    fake.fail("500", times=2)
    fake.fail("broken_json")
    fake.fail("refusal")
    fake.fail("schema_violation", purpose="summarize")
    fake.fail("blank", purpose="summarize")
    fake.fail("tool_calls", purpose="classify")
    result = run_cli("run", "--config", str(setup(llm__max_retries=8)))
    assert result.exit_code == 0, result.output
    data = json.loads(report(tmp_path)["digest.json"])
    assert {p["classified_by"] for p in data["papers"]} == {"llm"}
    assert data["llm"]["calls"] == BATCHES + non_empty_topics(data) + 8  # the retries are part of the cost
    outcomes = dict(db(tmp_path).execute("SELECT outcome, count(*) FROM llm_calls GROUP BY outcome").fetchall())
    ok = BATCHES + non_empty_topics(data)
    assert outcomes == {"ok": ok, "error": 3, "invalid": 2, "refused": 1, "empty": 1, "tool_calls": 1}
    # none of them is a format problem: the structured-output mode stays where it was
    assert db(tmp_path).execute("SELECT mode FROM llm_modes").fetchall() == [("json_schema",)]
    # the 429 asked for 300 ms; the same batch was not asked again before that
    limited = next(c for c in fake.calls if c.fault == "429")
    again = next(c for c in fake.calls if c.ids == limited.ids and c.at > limited.at)
    assert again.at - limited.at >= 0.3


def test_a_timeout_is_retried(tmp_path, setup, fake, run_cli):
    fake.fail("slow", seconds=0.6)
    result = run_cli("run", "--config", str(setup(llm__timeout_seconds=0.3)))
    assert result.exit_code == 0, result.output
    errors = [r[0] for r in db(tmp_path).execute("SELECT error FROM llm_calls WHERE outcome = 'error'")]
    assert len(errors) == 1 and errors[0].startswith("no answer within 0.3 s from http://127.0.0.1:")


def test_missing_ids_are_asked_again_and_invented_ids_ignored(tmp_path, setup, fake, run_cli):
    fake.fail("missing_ids", purpose="classify", drop=3)
    fake.fail("invented_ids", purpose="classify")
    result = run_cli("run", "--config", str(setup(llm__concurrency=1)))
    assert result.exit_code == 0, result.output
    asked = [c for c in fake.calls if c.purpose == "classify"]
    assert len(asked) == BATCHES + 1
    short = next(i for i, c in enumerate(asked) if c.fault == "missing_ids")
    assert asked[short + 1].ids == asked[short].ids[-3:]  # the three left out, asked alone
    data = json.loads(report(tmp_path)["digest.json"])
    assert {p["classified_by"] for p in data["papers"]} == {"llm"}
    assert INVENTED_ID not in {p["id"] for p in data["papers"]} and len(data["papers"]) == PAPERS


def test_a_paper_never_answered_falls_back_to_the_offline_classifier(tmp_path, setup, fake, run_cli):
    lost = LISTING[10]
    fake.fail("missing_ids", times=None, purpose="classify", match=f'id="{lost}"', ids=[lost])
    result = run_cli("run", "--config", str(setup(llm__max_retries=2)))
    assert result.exit_code == 0, result.output
    assert fake.count("classify") == BATCHES + 2  # asked twice more, alone
    papers = {p["id"]: p for p in json.loads(report(tmp_path)["digest.json"])["papers"]}
    assert papers[lost]["classified_by"] == "offline-fallback"
    assert sum(p["classified_by"] == "llm" for p in papers.values()) == PAPERS - 1


def test_hostile_llm_text_never_becomes_a_link_or_a_source(tmp_path, setup, fake, run_cli):
    fake.fail("hostile", times=None)
    result = run_cli("run", "--config", str(setup()))
    assert result.exit_code == 0, result.output
    files = report(tmp_path)
    for name, text in files.items():
        assert "evil.example" not in text, name
        assert "<script" not in text.lower() and "&lt;script" not in text.lower(), name
        assert f"arxiv.org/abs/{INVENTED_ID}" not in text, name
        assert set(re.findall(r"arxiv\.org/abs/([\w./-]+?)(?=[)\"<\s]|$)", text)) <= FEED_IDS, name
    assert "pwned" in files["digest.md"]  # the words stay, as text
    data = json.loads(files["digest.json"])
    md_links = re.findall(r"\]\(([^)]*)\)", files["digest.md"])
    assert md_links == [f"paper_{DAY}.png", *(f"https://arxiv.org/abs/{i}" for i in data["must_reads"])]
    hrefs = {h for h in re.findall(r'href="([^"]+)"', files["digest.html"]) if not h.startswith("#")}
    assert hrefs <= {f"https://arxiv.org/{kind}/{i}" for i in FEED_IDS for kind in ("abs", "pdf")}
    for summary in data["summaries"].values():
        assert set(summary["paper_lines"]) <= set(summary["selected"])
    assert HOSTILE["link"] not in files["digest.md"]


def test_summary_failure_exits_1_and_the_next_run_pays_only_for_it(tmp_path, setup, fake, run_cli):
    # One call at a time and the last topic failing: every other summary is answered before the failure
    # (with calls in flight, the run stops starting new ones at the first failure, which is timing-dependent).
    config = str(setup(llm__concurrency=1))
    fake.fail("500", times=None, purpose="summarize", match="주제: Model training technique")
    result = run_cli("run", "--config", config)
    assert result.exit_code == 1
    assert error_line(result.output) == (
        f"error: LLM summarize 'Model training technique' failed after 3 attempts: "
        f"HTTP 500 from {fake.url}/chat/completions: The server had an error"
    )
    assert not (tmp_path / "output" / DAY).exists()
    store = db(tmp_path)
    assert store.execute("SELECT count(*) FROM assignments").fetchone()[0] == PAPERS
    stored_topics = store.execute("SELECT count(*) FROM summaries").fetchone()[0]
    fake.clear_faults()
    before = len(fake.calls)
    assert run_cli("run", "--config", config).exit_code == 0
    assert [c.purpose for c in fake.calls[before:]] == ["summarize"]
    data = json.loads(report(tmp_path)["digest.json"])
    assert stored_topics == non_empty_topics(data) - 1
    status = run_cli("status", "--config", config).output.splitlines()
    failed = next(line for line in status if " failed " in line)
    assert "LLM gpt-6-luna: " in failed and "error: LLM summarize 'Model training technique'" in failed


def test_classification_failure_keeps_the_batches_answered(tmp_path, setup, fake, run_cli):
    config = str(setup(llm__concurrency=1))
    stuck = LISTING[30]  # in batch 2 of 2
    fake.fail("500", times=None, purpose="classify", match=f'id="{stuck}"')
    result = run_cli("run", "--config", config)
    assert result.exit_code == 1
    line = error_line(result.output)
    assert line == (
        f"error: LLM classify batch 2/2 failed after 3 attempts: HTTP 500 from "
        f"{fake.url}/chat/completions: The server had an error"
    )
    answered = db(tmp_path).execute("SELECT count(*) FROM assignments").fetchone()[0]
    assert answered == 25 * 1  # the batches before it; none after it was started
    fake.clear_faults()
    before = fake.count("classify")
    assert run_cli("run", "--config", config).exit_code == 0
    assert fake.count("classify") - before == math.ceil((PAPERS - answered) / 25)


def test_a_client_error_is_not_retried(tmp_path, setup, fake, run_cli):
    fake.fail("400")
    result = run_cli("run", "--config", str(setup(llm__concurrency=1)))
    assert result.exit_code == 1
    assert error_line(result.output) == (
        f"error: LLM classify batch 1/2 failed: HTTP 400 from {fake.url}/chat/completions: Bad request"
    )
    assert fake.count(status=None) == 1


def test_unreachable_server_fails_with_one_line(tmp_path, rss_server, run_cli):
    config = write_config(
        tmp_path,
        rss_server.url,
        llm__base_url="http://127.0.0.1:9/v1",
        llm__concurrency=1,
        llm__max_retries=1,
        llm__backoff_seconds=0.01,
    )
    result = run_cli("run", "--config", str(config))
    assert result.exit_code == 1
    assert error_line(result.output) == (
        "error: LLM classify batch 1/2 failed after 2 attempts: "
        "could not connect to http://127.0.0.1:9/v1/chat/completions"
    )


def test_calls_run_concurrently_up_to_the_limit(setup, fake, run_cli):
    fake.latency = 0.05
    assert run_cli("run", "--config", str(setup(llm__concurrency=3))).exit_code == 0
    assert fake.max_in_flight == 3


def test_without_key_or_base_url_the_run_is_offline_and_says_so_once(tmp_path, rss_server, fake, run_cli):
    result = run_cli("run", "--config", str(write_config(tmp_path, rss_server.url)))
    assert result.exit_code == 0
    log = (tmp_path / "output/digest.log").read_text()
    assert log.count("LLM 미사용: OPENAI_API_KEY is not set and llm.base_url is null") == 1
    assert not fake.calls
    assert report(tmp_path)["digest.md"].rstrip().endswith("LLM 미사용")


def test_the_key_is_sent_to_the_server_and_stored_nowhere(tmp_path, setup, fake, run_cli):
    secret = "sk-test-0123456789abcdef"
    fake.fail("500", times=None, purpose="summarize")
    result = run_cli("run", "--config", str(setup()), env={"OPENAI_API_KEY": secret})
    assert result.exit_code == 1 and secret not in result.output
    assert all(r.headers.get("Authorization") == f"Bearer {secret}" for r in fake.http.requests)
    for path in (tmp_path / "output").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_schema_sent_is_the_portable_strict_subset():
    from digest.llm import strict_schema
    from digest.prompts import classify_schema_model

    schema = strict_schema(classify_schema_model(["LLM", "Computer Vision"]))
    text = json.dumps(schema)
    for keyword in ("minimum", "maximum", "$ref", "title", "default"):
        assert f'"{keyword}"' not in text
    item = schema["properties"]["papers"]["items"]
    assert item["additionalProperties"] is False and item["required"] == ["id", "topic", "importance"]
    assert item["properties"]["topic"]["enum"] == ["LLM", "Computer Vision", "Other"]


# ----- the LLMs people use: each family of server, a slice of the real day -----

SLICE = 50


def day_slice(papers: int) -> bytes:
    """The real day's feed with only its first `papers` items (a fast day that is still real)."""
    return small_day_feed(papers)


@pytest.fixture
def slice_setup(tmp_path, server):
    """Like `setup`, with the first SLICE papers of the day and a fake of the given family."""
    from tests.conftest import RSS_CATEGORIES
    from tests.fakes.http import Response

    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, day_slice(SLICE), {"Content-Type": "application/rss+xml"}))
    fakes: list[FakeOpenAI] = []

    def make(fake: FakeOpenAI, **overrides) -> Path:
        fakes.append(fake)
        settings = {
            "llm__base_url": fake.url,
            "llm__backoff_seconds": 0.01,
            "llm__max_retries": 2,
            "llm__timeout_seconds": 5,
            "llm__batch_size": 10,
            "llm__concurrency": 2,
            **overrides,
        }
        return write_config(tmp_path, server.url, **settings)

    yield make


FAMILIES = {
    # family: the fake's settings, the mode the run ends in, papers per batch
    "openai": ({}, "json_schema", 10),
    "reasoning": ({"family": "reasoning"}, "json_schema", 10),
    "deepseek": ({"family": "deepseek"}, "json_object", 10),
    "ignorer": ({"family": "ignorer"}, "text", 10),
    "ollama": ({"context_limit": 4096}, "json_schema", 5),  # a batch that fits Ollama's default context
}


def assert_complete(tmp_path: Path, papers: int) -> dict:
    """Every paper classified by the LLM, every topic summarized by it, a line for every selected paper."""
    files = report(tmp_path)
    data = json.loads(files["digest.json"])
    assert len(data["papers"]) == papers
    assert {p["classified_by"] for p in data["papers"]} == {"llm"}
    assert len(data["summaries"]) == non_empty_topics(data)
    for summary in data["summaries"].values():
        assert summary["method"] == "llm"
        assert set(summary["paper_lines"]) == set(summary["selected"])
        assert all(line.strip() for line in summary["paper_lines"].values())
    assert not re.search(r"^ - .*: *$", files["digest.md"], re.MULTILINE)  # never "Title: " with nothing after
    return data


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_day_builds_completely_with_each_family_of_server(tmp_path, slice_setup, run_cli, family):
    settings, mode, batch = FAMILIES[family]
    with FakeOpenAI(**settings) as fake:
        config = str(
            slice_setup(fake, llm__max_output_tokens=8000, llm__batch_size=batch, llm__extra_body={"top_k": 20})
        )
        result = run_cli("run", "--config", config, env={"OPENAI_API_KEY": "sk-test"})
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, SLICE)
        topics = len(data["summaries"])
        step_down = 2  # concurrency: the calls in flight when the server first refuses a mode
        assert len(fake.calls) <= math.ceil(SLICE / batch) + topics + step_down
        assert fake.calls[-1].mode == ("text" if mode == "text" else mode)
        ledger = db(tmp_path)
        assert ledger.execute("SELECT mode FROM llm_modes").fetchone()[0] == mode
        assert ledger.execute("SELECT count(*) FROM llm_calls WHERE mode IS NULL").fetchone()[0] == 0
        if family == "reasoning":
            body = json.loads(fake.http.requests[-1].body)
            assert "temperature" not in body and body["max_completion_tokens"] == 8000 and body["top_k"] == 20
        # the next run starts in the remembered mode and pays for nothing it already has
        calls = len(fake.calls)
        assert run_cli("run", "--config", config, "--force").exit_code == 0
        assert len(fake.calls) - calls == math.ceil(SLICE / batch) + topics
        assert {c.mode for c in fake.calls[calls:]} == {mode}


@pytest.mark.parametrize(
    ("settings", "mode"),
    [
        ({"family": "reasoning"}, "json_schema"),
        ({"family": "deepseek"}, "json_object"),
        ({"family": "ignorer"}, "text"),
        ({"context_limit": 16384}, "json_schema"),  # Ollama with OLLAMA_CONTEXT_LENGTH=16384
    ],
)
def test_the_whole_day_builds_in_each_mode(tmp_path, rss_server, run_cli, settings, mode):
    with FakeOpenAI(**settings) as fake:
        config = write_config(tmp_path, rss_server.url, llm__base_url=fake.url, llm__backoff_seconds=0.01)
        result = run_cli("run", "--config", str(config))
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, PAPERS)
        assert len(fake.calls) <= BATCHES + len(data["summaries"]) + 4  # llm.concurrency refusals, once
        assert db(tmp_path).execute("SELECT mode FROM llm_modes").fetchone()[0] == mode


def test_a_refused_parameter_names_the_config_key_that_sends_it(tmp_path, slice_setup, run_cli):
    with FakeOpenAI(family="reasoning") as fake:
        result = run_cli("run", "--config", str(slice_setup(fake, llm__temperature=0.2, llm__concurrency=1)))
    assert result.exit_code == 1
    assert error_line(result.output) == (
        f"error: LLM classify batch 1/5 failed: HTTP 400 from {fake.url}/chat/completions: Unsupported parameter: "
        "'temperature' is not supported with this model. — the server refuses 'temperature', which "
        "llm.temperature sends: set llm.temperature: null to leave it out"
    )
    assert len(fake.calls) == 1


def test_max_tokens_refused_switches_to_max_completion_tokens_once(tmp_path, slice_setup, run_cli):
    with FakeOpenAI(family="reasoning", models=("my-reasoner",)) as fake:
        config = slice_setup(fake, llm__model="my-reasoner", llm__max_output_tokens=6000, llm__concurrency=1)
        result = run_cli("run", "--config", str(config))
        assert result.exit_code == 0, result.output
        assert_complete(tmp_path, SLICE)
    bodies = [json.loads(r.body) for r in fake.http.requests]
    assert "max_tokens" in bodies[0] and all("max_completion_tokens" in b for b in bodies[1:])
    assert [c.status for c in fake.calls].count(400) == 1


def test_a_prompt_cut_by_the_context_window_stops_with_the_fix(tmp_path, slice_setup, run_cli):
    with FakeOpenAI(context_limit=2048) as fake:
        result = run_cli("run", "--config", str(slice_setup(fake, llm__batch_size=25, llm__concurrency=1)))
    assert result.exit_code == 1
    line = error_line(result.output)
    assert line.startswith("error: LLM classify batch 1/2 failed: the server read only 2,048 of about ")
    assert "context window cut the prompt" in line and "OLLAMA_CONTEXT_LENGTH" in line and "llm.batch_size" in line
    assert len(fake.calls) == 1  # the same prompt would be cut again


def test_a_cut_summary_is_asked_once_without_the_extra_candidates(tmp_path, slice_setup, run_cli):
    with FakeOpenAI() as fake:
        fake.fail("truncated", times=1, purpose="summarize", match="후보")  # only a prompt offering candidates
        result = run_cli("run", "--config", str(slice_setup(fake, llm__concurrency=1)))
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, SLICE)
    cut = next(i for i, c in enumerate(fake.calls) if c.finish == "length")
    again = fake.calls[cut + 1]
    # never the identical request: the topic is asked again with only the ranking's own pick
    assert again.topic == fake.calls[cut].topic and again.body != fake.calls[cut].body
    assert again.ids == fake.calls[cut].ids[: len(again.ids)] and len(again.ids) < len(fake.calls[cut].ids)
    assert data["summaries"][again.topic]["selected"] == again.ids
    assert len(fake.calls) == math.ceil(SLICE / 10) + len(data["summaries"]) + 1


def test_a_summary_cut_off_again_says_which_limit_to_raise(tmp_path, slice_setup, run_cli):
    with FakeOpenAI() as fake:
        fake.fail("truncated", times=None, purpose="summarize")
        result = run_cli("run", "--config", str(slice_setup(fake, llm__max_output_tokens=900, llm__concurrency=1)))
    assert result.exit_code == 1
    assert error_line(result.output).endswith(
        "failed: the answer was cut off at the output limit (finish_reason=length): "
        "raise llm.max_output_tokens (now 900) (or lower llm.reasoning_effort)"
    )
    bodies = [c.body for c in fake.calls if c.purpose == "summarize"]
    assert len(bodies) == len(set(bodies))  # no request was sent twice as it was


MALFORMED = {
    "html": "the server answered 200 with an HTML page instead of a chat completion",
    "json_list": "the server answered 200 with a JSON list, not an object",
    "null_message": "the answer's message is null",
    "string_tokens": "the answer's token counts are not numbers",
    "choices_nope": "the answer's 'choices' is not a list ('nope')",
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_200_is_a_retried_fault_with_its_reason(tmp_path, slice_setup, run_cli, kind):
    with FakeOpenAI() as fake:
        fake.fail(kind, times=1, purpose="classify")
        result = run_cli("run", "--config", str(slice_setup(fake)))
        assert result.exit_code == 0, result.output
        assert_complete(tmp_path, SLICE)
        rows = db(tmp_path).execute("SELECT outcome, error FROM llm_calls WHERE outcome != 'ok'").fetchall()
        assert rows == [("invalid", MALFORMED[kind])]

        fake.fail(kind, times=None, purpose="summarize")
        result = run_cli("run", "--config", str(slice_setup(fake, llm__concurrency=1)), "--force")
    assert result.exit_code == 1
    assert error_line(result.output).endswith(f"failed after 3 attempts: {MALFORMED[kind]}")
    assert "Traceback" not in result.output


def test_figures_not_in_the_abstracts_never_reach_the_report(tmp_path, slice_setup, run_cli):
    from tests.fakes.openai_server import INVENTED_FIGURES

    with FakeOpenAI() as fake:
        fake.fail("invented_figure", times=None, purpose="summarize")
        config = str(slice_setup(fake))
        result = run_cli("run", "--config", config)
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, SLICE)
        asked_lines = fake.count("lines")
    files = report(tmp_path)
    for name, text in files.items():
        for figure in INVENTED_FIGURES:
            assert figure not in text and figure.replace("×", "x") not in text, name
    # the figures the abstracts do carry are kept
    assert re.search(r"\d+(\.\d+)? ?% 수준의 개선", files["digest.md"])
    # each summary lost its three invented sentences, and the invented line was asked again
    removed = dict(db(tmp_path).execute("SELECT detail, removed FROM llm_calls WHERE removed > 0").fetchall())
    assert set(removed) == {repr(t) for t in data["summaries"]} and set(removed.values()) == {4}
    assert asked_lines == len(data["summaries"])
    status = run_cli("status", "--config", config).output
    assert f"{4 * len(data['summaries'])} sentences removed for figures not in the abstracts (" in status


def test_a_summary_that_leaves_out_a_line_is_asked_for_it(tmp_path, slice_setup, run_cli):
    with FakeOpenAI() as fake:
        fake.fail("missing_ids", times=None, purpose="summarize")
        result = run_cli("run", "--config", str(slice_setup(fake)))
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, SLICE)
    assert fake.count("lines") == len(data["summaries"])
    asked = [c for c in fake.calls if c.purpose == "lines"]
    assert all(len(c.ids) == 1 for c in asked)  # only the paper left out


def test_importance_ties_go_to_the_higher_offline_score():
    from digest.classify import OfflineClassifier, keyword_tiebreak, offline_rank
    from digest.config import Config
    from digest.models import Assignment
    from digest.rank import select

    config = Config()
    papers = keep_announce_types(demo_fetcher()(None), ["new", "cross"]).papers
    offline = OfflineClassifier(config.categories, config.arxiv.categories)
    topics = {a.paper_id: a.topic for a in offline.classify_all(papers)}
    tied = {p.id: Assignment(p.id, topics[p.id], 7, "llm") for p in papers}  # every paper a 7
    chosen = select(config, papers, tied, tiebreak=keyword_tiebreak(config))
    for topic in chosen:
        ranks = {p.id: offline_rank(p, offline.scores(p)[topic.name]) for p in topic.members}
        best = sorted(ranks.values(), reverse=True)[: len(topic.selected)]
        assert [ranks[p.id] for p in topic.selected] == best, topic.name
    assert any(t.selected != t.members[: len(t.selected)] for t in chosen)


def test_figures_are_compared_after_normalising_units_and_tex():
    from digest.figures import FigurePool

    pool = FigurePool(
        ["Qwen2.5-7B reaches 72\\% (72.0 %) with a 2.69x speedup on 4.23K prompts at 600+ FPS, twice as fast"]
    )
    assert pool.unsupported("정확도 72%와 2.69배 속도 향상, 4.23K 프롬프트, 600 FPS, 7B 모델, 2배 빠름") == []
    assert pool.unsupported("정확도 73%와 2.7× 향상, 4.23M 토큰, 3가지 방법") == ["73%", "2.7×", "4.23M"]
