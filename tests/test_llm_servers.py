"""Every LLM server people run, as it really answers (issue 22): the real CLI and a real arXiv day against the
OpenAI-compatible fake in each behaviour. A day builds completely in each (every paper classified by the LLM
but the one a content filter refuses, every topic summarised by the LLM, no draft answer anywhere) within
ceil(N/25) + topics + the few calls a split or a step down costs; out of quota, it stops with one line."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
from pathlib import Path

import pytest

from digest.config import OTHER
from digest.pipeline import keep_announce_types
from digest.sources.rss import parse_feed
from digest.topics import DEFAULT_TOPICS
from tests.conftest import SMALL_DAY, day_feed_2026_06_30, small_day_feed, write_config
from tests.fakes.openai_server import DRAFT_MARK, GROQ_FAILED, QUOTA, FakeOpenAI
from tests.test_llm import db, error_line
from tests.test_llm import report as files

DAY = "2026-06-30"
BATCHES = math.ceil(SMALL_DAY / 25)
LISTING = [p.id for p in keep_announce_types(parse_feed(small_day_feed()), ["new", "cross"]).papers]
TOPICS = [t["name"] for t in DEFAULT_TOPICS] + [OTHER]
FILTERED = LISTING[7]  # the paper whose text the content filter refuses (batch 1 of 2)
SPLIT = 2 * math.ceil(math.log2(25))  # the calls that halving a 25-paper batch down to one paper costs


def configure(tmp_path: Path, rss_url: str, fake: FakeOpenAI, **overrides) -> str:
    settings = {
        "llm__base_url": fake.url,
        "llm__backoff_seconds": 0.01,
        "llm__max_retries": 2,
        "llm__timeout_seconds": 5,
        **overrides,
    }
    return str(write_config(tmp_path, rss_url, **settings))


def assert_complete(tmp_path: Path, fake: FakeOpenAI, papers: int = SMALL_DAY, refused: tuple[str, ...] = ()) -> dict:
    """A complete report: every paper classified by the LLM with its final answer (never a draft), but the
    refused ones (offline, with the reason); every topic summarised by the LLM; no draft text anywhere."""
    report = files(tmp_path)
    data = json.loads(report["digest.json"])
    assert len(data["papers"]) == papers
    for paper in data["papers"]:
        if paper["id"] in refused:
            assert paper["classified_by"] == "offline-fallback"
            assert paper["fallback_reason"].startswith("refused by the LLM server (content filter): ")
        else:
            assert paper["classified_by"] == "llm", paper
            assert paper["topic"] == fake.topic_for(paper["id"], TOPICS)
            assert "fallback_reason" not in paper
    named = {name for name, n in data["counts"].items() if n and name != OTHER}
    assert set(data["summaries"]) == named
    for summary in data["summaries"].values():
        assert summary["method"] == "llm"
        assert set(summary["paper_lines"]) == set(summary["selected"])
    for name, text in report.items():
        assert DRAFT_MARK not in text, name
    assert data["llm"]["refused_papers"] == len(refused)
    return data


def calls_of(fake: FakeOpenAI, status: int | None = None) -> int:
    return fake.count(status=status)


# ----- thinking and where the answer is -----


@pytest.mark.parametrize("think", ["tags", "open"])
def test_a_draft_in_the_thinking_never_becomes_the_answer(tmp_path, rss_server, run_cli, think):
    with FakeOpenAI(think=think) as fake:
        result = run_cli("run", "--config", configure(tmp_path, rss_server.url, fake))
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, fake)
    # the drafts said Other with importance 1 for every paper: not one of them was taken
    assert {p["topic"] for p in data["papers"]} != {OTHER}
    assert calls_of(fake, None) == BATCHES + len(data["summaries"])
    # thinking is not prose around the JSON: the structured-output mode stays where it was
    assert db(tmp_path).execute("SELECT mode FROM llm_modes").fetchall() == [("json_schema",)]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning", "thinking_content"])
def test_an_answer_in_the_reasoning_field_is_used_and_said_once(tmp_path, rss_server, run_cli, field):
    with FakeOpenAI(answer_in=field) as fake:
        result = run_cli("run", "--config", configure(tmp_path, rss_server.url, fake))
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, fake)
    assert calls_of(fake, None) == BATCHES + len(data["summaries"])
    log = (tmp_path / "output/digest.log").read_text()
    assert log.count(f"answers with an empty content and the answer in '{field}'") == 1
    assert db(tmp_path).execute("SELECT mode FROM llm_modes").fetchall() == [("json_schema",)]


# ----- error bodies of every shape -----


@pytest.mark.parametrize("shape", ["gemini", "lmstudio", "string"])
def test_a_format_refusal_is_recognised_in_every_error_shape(tmp_path, rss_server, run_cli, shape):
    with FakeOpenAI(error_shape=shape, refuse_formats=("json_schema",)) as fake:
        result = run_cli("run", "--config", configure(tmp_path, rss_server.url, fake))
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, fake)
    refused = calls_of(fake, 400)
    assert 1 <= refused <= BATCHES  # the calls in flight when it first refused, once
    assert calls_of(fake, None) == BATCHES + len(data["summaries"]) + refused
    assert db(tmp_path).execute("SELECT mode FROM llm_modes").fetchall() == [("json_object",)]


@pytest.mark.parametrize(
    ("shape", "says"),
    [
        ("gemini", "Unsupported parameter: 'temperature' is not supported with this model."),
        ("lmstudio", "Unsupported parameter: 'temperature' is not supported with this model."),
        ("string", "Unsupported parameter: 'temperature' is not supported with this model."),
        ("html", "an HTML page ('400 Error')"),
    ],
)
def test_the_user_sees_the_servers_own_reason_in_every_error_shape(tmp_path, rss_server, run_cli, shape, says):
    with FakeOpenAI(family="reasoning", error_shape=shape) as fake:
        config = configure(tmp_path, rss_server.url, fake, llm__temperature=0.2, llm__concurrency=1)
        result = run_cli("run", "--config", config)
    assert result.exit_code == 1
    line = error_line(result.output)
    assert line.startswith(f"error: LLM classify batch 1/2 failed: HTTP 400 from {fake.url}/chat/completions: {says}")
    if shape != "html":  # the page carries no reason to read a parameter from
        assert line.endswith("which llm.temperature sends: set llm.temperature: null to leave it out")
    assert calls_of(fake, None) == 1


# ----- what one paper's content causes -----


@pytest.mark.parametrize("style", ["http", "finish"])
def test_a_content_filter_refusing_one_paper_costs_only_that_paper(tmp_path, rss_server, run_cli, style):
    with FakeOpenAI(content_filter=FILTERED, filter_style=style) as fake:
        config = configure(tmp_path, rss_server.url, fake)
        result = run_cli("run", "--config", config)
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, fake, refused=(FILTERED,))
        status = run_cli("status", "--config", config).output
    topics = len(data["summaries"])
    assert calls_of(fake, None) <= BATCHES + topics + SPLIT
    # it is left out of every summary call, so each topic is still summarised by the LLM
    assert not [c for c in fake.calls if c.purpose != "classify" and FILTERED in c.ids]
    refused = next(p for p in data["papers"] if p["id"] == FILTERED)
    assert ("content_filter" if style == "finish" else "content management policy") in refused["fallback_reason"]
    assert files(tmp_path)["digest.md"].rstrip().endswith("· LLM 서버 거부 1편 (오프라인 분류)")
    assert "1 papers refused by the LLM server (content filter), classified offline" in status
    # a refusal is no format problem
    assert db(tmp_path).execute("SELECT mode FROM llm_modes").fetchall() == [("json_schema",)]


def test_the_whole_day_builds_with_one_paper_refused(tmp_path, whole_day_rss_server, run_cli):
    papers = keep_announce_types(parse_feed(day_feed_2026_06_30()), ["new", "cross"]).papers
    with FakeOpenAI(content_filter=papers[300].id) as fake:
        result = run_cli("run", "--config", configure(tmp_path, whole_day_rss_server.url, fake))
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, fake, papers=len(papers), refused=(papers[300].id,))
    assert calls_of(fake, None) <= math.ceil(len(papers) / 25) + len(data["summaries"]) + SPLIT


def test_items_written_loosely_cost_one_re_ask_never_the_batch(tmp_path, rss_server, run_cli):
    with FakeOpenAI() as fake:
        fake.fail("sloppy_items", purpose="classify", match=f'id="{LISTING[0]}"')
        result = run_cli("run", "--config", configure(tmp_path, rss_server.url, fake, llm__concurrency=1))
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, fake)
    importance = {p["id"]: p["importance"] for p in data["papers"]}
    # 7.5 -> 8, "high" -> 8, "7" -> 7, 14 -> 10: read as plainly meant
    assert [importance[i] for i in (LISTING[0], LISTING[1], LISTING[2], LISTING[4])] == [8, 8, 7, 10]
    asked = [c for c in fake.calls if c.purpose == "classify"]
    assert len(asked) == BATCHES + 1 and asked[1].ids == [LISTING[3]]  # only the item without a score
    assert calls_of(fake, None) == BATCHES + 1 + len(data["summaries"])


def test_groq_json_validate_failed_now_and_then_is_drawn_again(tmp_path, rss_server, run_cli):
    with FakeOpenAI(validate_fail_every=3) as fake:
        result = run_cli("run", "--config", configure(tmp_path, rss_server.url, fake))
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, fake)
    failed = calls_of(fake, 400)
    assert failed >= 1 and calls_of(fake, None) == BATCHES + len(data["summaries"]) + failed
    errors = [r[0] for r in db(tmp_path).execute("SELECT error FROM llm_calls WHERE outcome = 'invalid'")]
    assert len(errors) == failed and all(GROQ_FAILED in e and "json_validate_failed" not in e for e in errors)
    assert data["llm"]["calls"] == calls_of(fake, None)  # the redraws are part of what the day cost


def test_a_cut_batch_is_asked_again_in_halves_never_identically(tmp_path, rss_server, run_cli):
    with FakeOpenAI() as fake:
        fake.fail("truncated", times=1, purpose="classify")
        fake.fail("truncated", times=1, purpose="summarize", match="후보")
        result = run_cli("run", "--config", configure(tmp_path, rss_server.url, fake, llm__concurrency=1))
        assert result.exit_code == 0, result.output
        data = assert_complete(tmp_path, fake)
    cut = [i for i, c in enumerate(fake.calls) if c.finish == "length"]
    assert len(cut) == 2
    first = fake.calls[cut[0]]
    assert [fake.calls[cut[0] + 1].ids, fake.calls[cut[0] + 2].ids] == [first.ids[:13], first.ids[13:]]
    bodies = [c.body for c in fake.calls]
    assert len(bodies) == len(set(bodies))  # no request was ever sent twice as it was
    assert calls_of(fake, None) == BATCHES + len(data["summaries"]) + 3


def test_an_answer_beyond_any_real_one_is_an_attempt_with_its_own_reason(tmp_path, rss_server, run_cli):
    with FakeOpenAI() as fake:
        fake.fail("flood", purpose="classify")
        result = run_cli("run", "--config", configure(tmp_path, rss_server.url, fake))
        assert result.exit_code == 0, result.output
        assert_complete(tmp_path, fake)
    rows = db(tmp_path).execute("SELECT outcome, error FROM llm_calls WHERE outcome != 'ok'").fetchall()
    assert len(rows) == 1 and rows[0][0] == "too_large"
    assert re.fullmatch(r"the answer is [\d,]+ characters, beyond the 200,000 any real answer .*", rows[0][1])


# ----- failing fast where waiting cannot help -----


def test_out_of_quota_stops_after_the_calls_in_flight(tmp_path, whole_day_rss_server, run_cli):
    with FakeOpenAI(quota_exhausted=True) as fake:
        config = configure(tmp_path, whole_day_rss_server.url, fake, llm__max_retries=4)
        result = run_cli("run", "--config", config)
        status = run_cli("status", "--config", config).output
    assert result.exit_code == 1
    line = error_line(result.output)
    assert "quota" in line and QUOTA in line and "add credit or raise its spending limit" in line
    assert calls_of(fake, None) <= 4  # llm.concurrency: the calls already in flight, none retried
    assert db(tmp_path).execute("SELECT count(*) FROM assignments").fetchone()[0] == 0
    assert " failed " in status and "quota" in status


@pytest.mark.parametrize(
    ("key", "model", "says"),
    [
        ("sk-wrong", "gpt-6-luna", "the server refused the key in OPENAI_API_KEY: set a valid key"),
        ("sk-test", "gpt-9-imaginary", "llm.model 'gpt-9-imaginary' is not a model this server serves"),
    ],
)
def test_a_refused_key_or_unknown_model_fails_at_once_naming_the_fix(tmp_path, rss_server, run_cli, key, model, says):
    with FakeOpenAI(keys=("sk-test",)) as fake:
        config = configure(tmp_path, rss_server.url, fake, llm__model=model, llm__max_retries=4)
        result = run_cli("run", "--config", config, env={"OPENAI_API_KEY": key})
    assert result.exit_code == 1
    assert says in error_line(result.output)
    assert calls_of(fake, None) <= BATCHES  # the calls in flight, none retried


# ----- cost: reasoning effort and reasoning tokens -----


def test_gpt6_luna_reasons_at_low_unless_told_and_null_sends_nothing(tmp_path, rss_server, run_cli):
    with FakeOpenAI() as fake:
        config = configure(tmp_path, rss_server.url, fake)
        assert run_cli("run", "--config", config).exit_code == 0
        data = assert_complete(tmp_path, fake)
        low = fake.reasoning()
        assert {json.loads(c.body)["reasoning_effort"] for c in fake.calls} == {"low"}
        ledger = db(tmp_path).execute("SELECT SUM(reasoning_tokens) FROM llm_calls").fetchone()[0]
        assert ledger == low == data["llm"]["reasoning_tokens"] > 0
        status = run_cli("status", "--config", config).output
        assert f"({low:,} of them reasoning)" in status

        before = len(fake.calls)
        null = configure(tmp_path, rss_server.url, fake, llm__reasoning_effort=None)
        assert run_cli("run", "--config", null, "--force").exit_code == 0
        assert all("reasoning_effort" not in json.loads(c.body) for c in fake.calls[before:])
        medium = sum(c.reasoning_tokens for c in fake.calls[before:])  # the model's own default
    assert medium > 3 * low


# ----- the ladder's memory and the cache key -----


def test_a_remembered_step_down_is_tried_upward_after_a_week(tmp_path, rss_server, run_cli):
    with FakeOpenAI(family="deepseek") as fake:
        config = configure(tmp_path, rss_server.url, fake)
        assert run_cli("run", "--config", config).exit_code == 0
        assert db(tmp_path).execute("SELECT mode FROM llm_modes").fetchall() == [("json_object",)]
        before = len(fake.calls)
        assert run_cli("run", "--config", config, "--force").exit_code == 0
        assert {c.mode for c in fake.calls[before:]} == {"json_object"}  # within the week: no step paid again

        week_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=8)).isoformat(timespec="seconds")
        with db(tmp_path) as ledger:
            ledger.execute("UPDATE llm_modes SET updated_at = ?", (week_ago,))
        fake.family = "openai"  # the server has learned json_schema since
        before = len(fake.calls)
        assert run_cli("run", "--config", config, "--force").exit_code == 0
        assert {c.mode for c in fake.calls[before:]} == {"json_schema"}
    assert db(tmp_path).execute("SELECT mode FROM llm_modes").fetchall() == [("json_schema",)]


def test_the_cache_key_covers_extra_body(tmp_path, rss_server, run_cli):
    with FakeOpenAI() as fake:
        off = {"llm__extra_body": {"chat_template_kwargs": {"enable_thinking": False}}}
        on = {"llm__extra_body": {"chat_template_kwargs": {"enable_thinking": True}}}
        assert run_cli("run", "--config", configure(tmp_path, rss_server.url, fake, **off)).exit_code == 0
        fewer = configure(tmp_path, rss_server.url, fake, report__max_papers_per_category=3, **off)
        assert run_cli("run", "--config", fewer).exit_code == 0  # summaries made again, for 3 papers each
        before = fake.count("summarize")
        # back to 5 papers: the same input as the first run's summaries, but thinking turned on
        assert run_cli("run", "--config", configure(tmp_path, rss_server.url, fake, **on)).exit_code == 0
        data = assert_complete(tmp_path, fake)
    # every summary is asked again (none taken from the answer cache, none from the stored summaries)
    assert fake.count("summarize") - before == len(data["summaries"])


def test_stored_work_is_asked_again_when_extra_body_changes(tmp_path, rss_server, run_cli):
    with FakeOpenAI() as fake:
        off = {"llm__extra_body": {"chat_template_kwargs": {"enable_thinking": False}}}
        on = {"llm__extra_body": {"chat_template_kwargs": {"enable_thinking": True}}}
        assert run_cli("run", "--config", configure(tmp_path, rss_server.url, fake, **off)).exit_code == 0
        first = len(fake.calls)
        again = run_cli("run", "--config", configure(tmp_path, rss_server.url, fake, **off))
        assert again.exit_code == 0 and len(fake.calls) == first  # the same settings: everything reused
        # thinking turned on, nothing else changed: the day's classifications and summaries are asked again
        assert run_cli("run", "--config", configure(tmp_path, rss_server.url, fake, **on)).exit_code == 0
        data = assert_complete(tmp_path, fake)
        remade = fake.calls[first:]
    assert {c.purpose for c in remade} == {"classify", "summarize"}
    assert sum(1 for c in remade if c.purpose == "summarize") == len(data["summaries"])


# ----- figures and prompts -----


def test_a_sentence_naming_a_paper_carries_only_that_papers_figures(tmp_path, rss_server, run_cli):
    with FakeOpenAI() as fake:
        fake.fail("swapped_figure", times=None, purpose="summarize")
        result = run_cli("run", "--config", configure(tmp_path, rss_server.url, fake))
        assert result.exit_code == 0, result.output
        assert_complete(tmp_path, fake)
    assert fake.swapped  # the fake wrote some: "A ... 72%" where 72% is B's
    text = files(tmp_path)["digest.json"]
    assert not [s for s in fake.swapped if s.split(" 논문은 ")[1][:20] in text]
    removed = db(tmp_path).execute("SELECT SUM(removed) FROM llm_calls").fetchone()[0]
    assert removed == len(fake.swapped)  # and nothing else: every other sentence keeps its own figures


def test_prompts_are_terse_korean_with_the_terms_researchers_use():
    from digest.prompts import LINES_SYSTEM, SUMMARY_SYSTEM

    for prompt in (SUMMARY_SYSTEM, LINES_SYSTEM):
        assert not re.search(r"(합니다|습니다|입니다|십시오)(?!\")", prompt)  # only where it says not to
    for term in ("fine-tuning", "attention", "in-context learning", "KV cache", "강화학습", "양자화", "지식 증류"):
        assert term in SUMMARY_SYSTEM


# ----- digest check -----


def test_check_asks_the_model_list_through_the_runs_own_client(tmp_path, run_cli):
    with FakeOpenAI() as fake:
        config = str(write_config(tmp_path, llm__base_url=fake.url, llm__backoff_seconds=0.01))
        result = run_cli("check", "--config", config)
    assert result.exit_code == 0, result.output
    models, chat = fake.http.requests
    assert (models.path, chat.path) == ("/v1/models", "/v1/chat/completions")
    assert models.headers["User-Agent"] == chat.headers["User-Agent"]
    assert models.headers["User-Agent"].startswith("OpenAI/Python")


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: a private CA as a company proxy or a lab server has."""
    cert, key = folder / "ca.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def fresh_tls(monkeypatch):
    from digest.net import tls_context

    tls_context.cache_clear()
    yield monkeypatch
    tls_context.cache_clear()


@pytest.mark.skipif(subprocess.run(["which", "openssl"], capture_output=True).returncode != 0, reason="no openssl")
def test_check_trusts_a_private_ca_as_runs_do(tmp_path, run_cli, fresh_tls):
    import ssl

    cert, key = _certificate(tmp_path)
    with FakeOpenAI() as fake:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server = fake.http._server
        server.socket = context.wrap_socket(server.socket, server_side=True)
        url = fake.url.replace("http://", "https://")
        config = str(write_config(tmp_path, llm__base_url=url, llm__max_retries=0))
        untrusted = run_cli("check", "--config", config)
        assert untrusted.exit_code == 1 and f"llm: cannot reach {url}/models (ConnectError)" in untrusted.output

        from digest.net import tls_context

        tls_context.cache_clear()
        fresh_tls.setenv("SSL_CERT_FILE", str(cert))
        trusted = run_cli("check", "--config", config)
    assert trusted.exit_code == 0, trusted.output
    assert f"llm: ok ({url}, model gpt-6-luna, 1-paper call ok, structured output json_schema)" in trusted.output


def test_scores_are_read_as_plainly_meant():
    from digest.classify import read_score

    cases = {7.5: 8, 8.49: 8, "7": 7, " 6.5 ": 7, "high": 8, "Medium": 5, "low": 2, 14: 10, -3: 1, 0: 1}
    assert {value: read_score(value, 1, 10) for value in cases} == cases
    assert read_score("high", 0, 10) == 8 and read_score(0, 0, 10) == 0
    for unreadable in (None, True, [], "very", "seven", float("nan"), {"score": 7}):
        assert read_score(unreadable, 1, 10) is None


def test_korean_and_scaled_figure_forms_are_the_same_figure():
    from digest.figures import FigurePool

    pool = FigurePool(["gains 3.2 points over 100K examples with a 1.5B model on 3,000 tasks, up 12%"])
    assert pool.unsupported("10만 개 예제와 15억 파라미터 모델로 3천 개 과제에서 3.2%p, 12% 향상") == []
    assert pool.unsupported("100,000개 예제, 1.5 billion 파라미터, 3.2 pp, 12%p") == []
    assert pool.unsupported("20만 개 예제, 1.6B 모델, 4.2%p, 3만큼 좋다") == ["20만", "1.6B", "4.2%p"]


def test_the_modes_bench_prints_calls_tokens_and_the_users_line(capsys):
    from bench.llm_modes import main

    assert main(["--papers", "30", "--modes", "openai,effort,insufficient"]) == 0
    out = capsys.readouterr().out
    low = re.search(r"^openai .* (\d+) +0 +[\d,]+ +[\d,]+ +([\d,]+)  LLM gpt-6-luna: 호출 \1회", out, re.M)
    assert low and int(low.group(2).replace(",", "")) > 0
    assert re.search(r"^insufficient_quota +[1-4] .*error: LLM classify batch [12]/2 failed: .*quota", out, re.M)
    low_cost, medium_cost = (float(x) for x in re.findall(r"effort (?:low|medium) *: \$([\d.]+) a day", out))
    assert medium_cost > low_cost


def test_a_summary_the_filter_refuses_all_the_same_is_the_extractive_one(tmp_path, rss_server, run_cli):
    # The day was classified before the filter (an earlier run stored it), so the paper is not known as
    # refused: its topic's summary call carries it and is refused. That topic gets the extractive summary.
    with FakeOpenAI() as fake:
        fake.fail("500", times=None, purpose="summarize")
        config = configure(tmp_path, rss_server.url, fake)
        assert run_cli("run", "--config", config).exit_code == 1
        fake.clear_faults()
        fake.content_filter = FILTERED
        result = run_cli("run", "--config", config)
        assert result.exit_code == 0, result.output
    data = json.loads(files(tmp_path)["digest.json"])
    topic = next(p["topic"] for p in data["papers"] if p["id"] == FILTERED)
    methods = {name: s["method"] for name, s in data["summaries"].items()}
    assert methods.pop(topic) == "extractive" and set(methods.values()) == {"llm"}
    log = (tmp_path / "output/digest.log").read_text()
    assert f"LLM summarize '{topic}' failed" in log and "the topic gets the extractive summary instead" in log


def test_a_filter_refusing_many_papers_stops_the_run_instead_of_a_day_classified_offline(tmp_path, rss_server, run_cli):
    with FakeOpenAI(content_filter=tuple(LISTING[:12:2])) as fake:
        result = run_cli("run", "--config", configure(tmp_path, rss_server.url, fake, llm__concurrency=1))
    assert result.exit_code == 1
    line = error_line(result.output)
    assert line.startswith("error: LLM classify: the server's content filter refused 6 papers (more than 5 of ")
    assert "it refuses the day's papers, not one — check the filter of the deployment" in line
