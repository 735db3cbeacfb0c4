"""Delivery end to end: the real CLI, a small real day (50 papers), a local Bot API server and a real SMTP server."""

import json
import re
import sqlite3

import pytest

from digest.deliver.tghtml import to_plain
from tests.conftest import (
    CHATS,
    DATE,
    ENV,
    LLM_KEY,
    RECIPIENTS,
    SMALL_DAY,
    SMTP_PASSWORD,
    TOKEN,
    day_digest,
    write_config,
)
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.smtp import USER, FakeSMTP, self_signed_cert
from tests.fakes.telegram import utf16_len


def delivery_config(tmp_path, url, telegram, smtp, **more):
    settings = {
        "delivery__telegram__enabled": True,
        "delivery__telegram__api_url": telegram.url,
        "delivery__telegram__chat_ids": CHATS,
        "delivery__telegram__message_interval_seconds": 0,
        "delivery__telegram__backoff_seconds": 0.01,
        "delivery__telegram__max_retries": 2,
        "delivery__email__enabled": True,
        "delivery__email__smtp_host": "127.0.0.1",
        "delivery__email__smtp_port": smtp.port,
        "delivery__email__security": "none",
        "delivery__email__username": USER,
        "delivery__email__recipients": RECIPIENTS,
        "delivery__email__timeout_seconds": 5,
    }
    settings.update(more)
    return str(write_config(tmp_path, url, **settings))


def deliveries(tmp_path):
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    db.row_factory = sqlite3.Row
    return {(r["channel"], r["target"]): dict(r) for r in db.execute("SELECT * FROM deliveries")}


def test_full_day_reaches_two_chats_and_two_recipients_exactly_once(tmp_path, rss_server, telegram, smtp, run_cli):
    config = delivery_config(tmp_path, rss_server.url, telegram, smtp)
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    assert "delivery: telegram sent 2; email sent 2" in result.output
    report = tmp_path / "output" / DATE
    data = json.loads((report / "digest.json").read_text())
    chart = (report / f"paper_{DATE}.png").read_bytes()
    markdown = (report / "digest.md").read_text()

    assert not telegram.rejected
    for chat in CHATS:
        sent = telegram.for_chat(chat)
        # compact (the default): the chart, one message that holds the must-reads and every topic, the file
        assert [s.method for s in sent] == ["sendPhoto", "sendMessage", "sendDocument"]
        photo, message, document = sent
        assert photo.file == chart and photo.content_type == "image/png"
        assert photo.text.startswith("Daily Artificial Intelligence Insights") and f"{SMALL_DAY}편" in photo.text
        assert utf16_len(photo.text) <= 1024
        assert message.parse_mode == "HTML" and message.link_preview_options == {"is_disabled": True}
        assert 1 <= utf16_len(message.text) <= 4096
        assert message.text.startswith("⭐ 오늘의 핵심 논문")
        links = re.findall(r'href="(https://arxiv\.org/abs/[^"]+)"', message.raw)
        assert links == [f"https://arxiv.org/abs/{i}" for i in data["must_reads"]] and len(links) == 5
        for topic, summary in data["summaries"].items():  # one line per topic: name, count, gist
            assert f"▍{topic} {summary['total']}편 — {summary['gist']}" in message.text
        assert "LLM 미사용" in message.text
        # The whole day as one HTML file a phone's browser opens: every paper, each topic's synthesis, the chart inside.
        page = document.file.decode()
        assert document.filename == f"digest-{DATE}.html" and document.content_type == "text/html"
        assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page
        assert all(f"https://arxiv.org/abs/{p['id']}" in page for p in data["papers"])
        assert markdown  # the Markdown report stays on disk (and in the mail's text part)
    assert [s.text for s in telegram.for_chat(CHATS[0])] == [s.text for s in telegram.for_chat(CHATS[1])]

    assert sorted(r.recipients for r in smtp.received) == [[r] for r in RECIPIENTS]
    for received in smtp.received:
        mail = received.message
        assert mail["Subject"] == f"[arXiv 다이제스트] {DATE} · {SMALL_DAY}편"
        assert mail["To"] == received.recipients[0]
        # The phone-sized body and, with no site to link, the whole day attached as digest.html.
        assert mail.get_content_type() == "multipart/mixed"
        alternative, attachment = mail.get_payload()
        assert attachment.get_filename() == "digest.html" and "data:image/png;base64," in attachment.get_content()
        plain, related = alternative.get_payload()
        text = plain.get_content().replace("\r\n", "\n")
        assert plain.get_content_type() == "text/plain" and text.rstrip() == markdown.rstrip()
        assert related.get_content_type() == "multipart/related"
        body, image = related.get_payload()
        html_body = body.get_content()
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html_body and f'src="paper_{DATE}.png"' not in html_body
        assert html_body.replace("\r\n", "\n") == (report / "email.html").read_text().replace(
            f'src="paper_{DATE}.png"', f'src="cid:{cid}"'
        )
        assert image.get_content_type() == "image/png" and image.get_payload(decode=True) == chart
    assert smtp.logins and all(ok for _, ok in smtp.logins)

    rows = deliveries(tmp_path)
    assert {k: (v["status"], v["attempts"]) for k, v in rows.items()} == {
        **{("telegram", str(c)): ("sent", 1) for c in CHATS},
        **{("email", r): ("sent", 1) for r in RECIPIENTS},
    }

    calls, mails = len(telegram.delivery_calls), len(smtp.received)
    again = run_cli("run", "--config", config, "--date", DATE, env=ENV)
    assert again.exit_code == 0, again.output
    assert len(telegram.delivery_calls) == calls and len(smtp.received) == mails
    assert "already delivered to every target" in again.output


def test_one_failing_chat_and_recipient_do_not_stop_the_others_and_leak_no_secret(
    tmp_path, rss_server, telegram, smtp, run_cli
):
    smtp.refuse.add("b@example.com")
    with FakeOpenAI() as llm_server:  # the LLM path runs too, so its key is in play
        config = delivery_config(
            tmp_path,
            rss_server.url,
            telegram,
            smtp,
            delivery__telegram__chat_ids=[-1001, -100999],
            llm__base_url=llm_server.url,
        )
        _check_failing_run_and_recovery(tmp_path, config, telegram, smtp, run_cli)


def _check_failing_run_and_recovery(tmp_path, config, telegram, smtp, run_cli):
    env = {**ENV, "OPENAI_API_KEY": LLM_KEY}
    result = run_cli("run", "--config", config, env=env)
    assert result.exit_code == 1
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert error_lines == [
        f"error: {DATE}: delivery failed for telegram chat -100999: HTTP 400 Bad Request: chat not found; "
        f"email b@example.com: SMTP 127.0.0.1:{smtp.port} (none): recipient refused (550 5.1.1 no such user)"
    ]
    assert telegram.for_chat(-1001)[-1].method == "sendDocument"
    assert [r.recipients for r in smtp.received] == [["a@example.com"]]

    status = run_cli("status", "--config", config, env=env)
    assert "delivery telegram -100999: failed (run #1; HTTP 400 Bad Request: chat not found)" in status.output
    assert "delivery telegram -1001: sent" in status.output
    assert "delivery email b@example.com: failed (run #1; SMTP" in status.output

    written = [result.output.encode(), status.output.encode()]
    written += [p.read_bytes() for p in (tmp_path / "output").rglob("*") if p.is_file()]
    assert any(p.name == "digest.log" for p in (tmp_path / "output").rglob("*"))
    for secret in (TOKEN, SMTP_PASSWORD, LLM_KEY, TOKEN.split(":")[1]):
        assert not any(secret.encode() in blob for blob in written), secret

    # Fixed: the next run sends to the two failed targets only.
    telegram.add_chat(-100999)
    smtp.refuse.clear()
    before = {chat: len(telegram.for_chat(chat)) for chat in (-1001, -100999)}
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    assert len(telegram.for_chat(-1001)) == before[-1001]
    assert len(telegram.for_chat(-100999)) == len(telegram.for_chat(-1001))
    assert [r.recipients for r in smtp.received] == [["a@example.com"], ["b@example.com"]]


def test_rate_limit_is_waited_out_and_a_rejected_format_is_sent_as_plain_text(
    tmp_path, rss_server, telegram, smtp, run_cli
):
    telegram.script("sendMessage", 429, "Too Many Requests: retry after 0", chat_id=-1001, retry_after=0, times=2)
    telegram.script(
        "sendMessage",
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
        chat_id=-1002,
    )
    config = delivery_config(tmp_path, rss_server.url, telegram, smtp, delivery__email__enabled=False)
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    first, second = telegram.for_chat(-1001), telegram.for_chat(-1002)
    assert [s.text for s in first] == [s.text for s in second]  # nothing lost or repeated
    assert telegram.calls.count(("sendMessage", "-1001")) == len(first) - 2 + 2  # two 429s, then accepted
    assert second[1].parse_mode is None and second[1].raw == to_plain(first[1].raw)
    assert all(s.parse_mode == "HTML" for s in second[2:-1])


def test_wrong_token_fails_telegram_without_printing_it(tmp_path, rss_server, telegram, smtp, run_cli):
    config = delivery_config(tmp_path, rss_server.url, telegram, smtp)
    result = run_cli("run", "--config", config, env={**ENV, "TELEGRAM_BOT_TOKEN": "123:wrong-token-value"})
    assert result.exit_code == 1
    assert "telegram chat -1001: HTTP 401 Unauthorized; telegram chat -1002: HTTP 401 Unauthorized" in result.output
    assert "wrong-token-value" not in result.output
    assert len(smtp.received) == 2  # email went out regardless


def test_a_run_that_stopped_midway_resumes_without_repeating_what_arrived(
    tmp_path, rss_server, telegram, smtp, run_cli
):
    telegram.script("sendMessage", 502, "Bad Gateway", chat_id=-1001, times=3)  # 1 + max_retries
    config = delivery_config(
        tmp_path, rss_server.url, telegram, smtp, delivery__email__enabled=False, delivery__telegram__format="full"
    )
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 1
    total = len(telegram.for_chat(-1002))
    assert "telegram chat -1001: message 1/" in result.output and "HTTP 502 Bad Gateway" in result.output
    assert [s.method for s in telegram.for_chat(-1001)] == ["sendPhoto"]
    assert deliveries(tmp_path)[("telegram", "-1001")]["parts_sent"] == 1
    status = run_cli("status", "--config", config).output
    assert f"delivery telegram -1001: failed (run #1; 1/{total} parts arrived; message 1/" in status

    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    assert "1 of" in result.output and "sending the rest" in result.output
    assert [s.text for s in telegram.for_chat(-1001)] == [s.text for s in telegram.for_chat(-1002)]
    assert len(telegram.for_chat(-1002)) == total  # the chat that had it got nothing more

    # A process killed mid-send leaves 'sending': the next run says so and goes on from the last confirmed part.
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    with db:
        db.execute("UPDATE deliveries SET status = 'sending', parts_sent = 5 WHERE target = '-1002'")
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    assert "telegram -1002: a previous run stopped while sending" in result.output
    assert len(telegram.for_chat(-1002)) == total + total - 5
    assert len(telegram.for_chat(-1001)) == total
    assert deliveries(tmp_path)[("telegram", "-1002")]["status"] == "sent"


def test_send_and_force_deliver_again(tmp_path, rss_server, telegram, smtp, run_cli):
    config = delivery_config(tmp_path, rss_server.url, telegram, smtp)
    assert run_cli("run", "--config", config, env=ENV).exit_code == 0
    per_chat = len(telegram.for_chat(-1001))
    result = run_cli("send", "--config", config, "--date", DATE, "--channel", "email", env=ENV)
    assert result.exit_code == 0, result.output
    assert f"{DATE}: delivery: email sent 2" in result.output
    assert len(smtp.received) == 4 and len(telegram.for_chat(-1001)) == per_chat
    assert deliveries(tmp_path)[("email", "a@example.com")]["attempts"] == 2

    assert run_cli("run", "--config", config, "--force", env=ENV).exit_code == 0
    assert len(telegram.for_chat(-1001)) == 2 * per_chat and len(smtp.received) == 6

    missing = run_cli("send", "--config", config, "--date", "2026-06-29", env=ENV)
    assert missing.exit_code == 1 and "no complete report in" in missing.output
    disabled = run_cli(
        "send",
        "--config",
        delivery_config(tmp_path, rss_server.url, telegram, smtp, delivery__email__enabled=False),
        "--date",
        DATE,
        "--channel",
        "email",
        env=ENV,
    )
    assert disabled.exit_code == 2 and "delivery.email.enabled is false" in disabled.output


def test_no_deliver_sends_nothing(tmp_path, rss_server, telegram, smtp, run_cli):
    config = delivery_config(tmp_path, rss_server.url, telegram, smtp)
    assert run_cli("run", "--config", config, "--no-deliver", env=ENV).exit_code == 0
    assert not telegram.delivery_calls and not smtp.received


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    made = self_signed_cert(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("no openssl command to make a test certificate")
    return made


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls_verifies_the_server_certificate(tmp_path, cert, security, run_cli, built_report):
    with FakeSMTP(SMTP_PASSWORD, security=security, cert=cert) as server:
        settings = {
            "delivery__email__enabled": True,
            "delivery__email__smtp_host": "127.0.0.1",
            "delivery__email__smtp_port": server.port,
            "delivery__email__security": security,
            "delivery__email__username": USER,
            "delivery__email__recipients": ["a@example.com"],
            "delivery__email__timeout_seconds": 5,
        }
        untrusted = str(write_config(tmp_path, **settings))
        result = run_cli("send", "--config", untrusted, "--date", DATE, env=ENV)
        assert result.exit_code == 1
        assert "TLS failed" in result.output and "CERTIFICATE_VERIFY_FAILED" in result.output
        assert not server.received

        trusted = str(write_config(tmp_path, **settings, delivery__email__ca_file=str(cert[0])))
        result = run_cli("send", "--config", trusted, "--date", DATE, env=ENV)
        assert result.exit_code == 0, result.output
        assert [r.recipients for r in server.received] == [["a@example.com"]]
        assert server.logins == [(server.logins[0][0], True)]


def test_a_715_paper_day_with_real_length_korean_fits_a_phone_in_compact_and_stays_valid_in_full(
    tmp_path, telegram, smtp, run_cli
):
    """The 715-paper day (no real day has 715 in the fixtures: bench/days.py composes it from the real
    2026-06-30 and 2026-07-01 papers) through the LLM path, against the fake writing real-length Korean."""
    from bench.days import CATEGORIES, synthetic_day
    from tests.fakes.http import FakeServer, Response
    from tests.fakes.telegram import parse_html

    day = synthetic_day(715)
    date = day.date.isoformat()
    with FakeServer() as rss, FakeOpenAI() as llm_server:
        rss.route(f"/rss/{CATEGORIES}", Response(200, day.feed, {"Content-Type": "application/rss+xml"}))
        settings = {
            "delivery__email__enabled": False,
            "delivery__telegram__chat_ids": [CHATS[0]],
            "llm__base_url": llm_server.url,
            "site__base_url": "https://digest.example/",
        }
        config = delivery_config(tmp_path, rss.url, telegram, smtp, **settings)
        result = run_cli("run", "--config", config, env={**ENV, "OPENAI_API_KEY": LLM_KEY})
        assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "output" / date / "digest.json").read_text())
    assert len(data["papers"]) == 715 and data["llm"]["used"]

    sent = telegram.for_chat(CHATS[0])
    methods = [s.method for s in sent]
    assert methods[0] == "sendPhoto" and methods[-1] == "sendDocument" and methods.count("sendPhoto") == 1
    messages = sent[1:-1]
    assert 1 <= len(messages) <= 2 and all(s.method == "sendMessage" for s in messages)
    assert sum(utf16_len(m.text) for m in messages) <= 6000
    first_links = re.findall(r'href="([^"]+)"', messages[0].raw)
    assert [f"https://arxiv.org/abs/{i}" for i in data["must_reads"]] == first_links[:5]
    assert f"https://digest.example/{date}/" in "".join(m.raw for m in messages)
    for topic, summary in data["summaries"].items():
        assert summary["gist"] and f"▍{topic} {summary['total']}편 — {summary['gist']}" in messages[0].text
    assert not telegram.rejected

    full = delivery_config(
        tmp_path, "http://127.0.0.1:9", telegram, smtp, **settings, delivery__telegram__format="full"
    )
    before = len(sent)
    result = run_cli("send", "--config", full, "--date", date, "--channel", "telegram", env=ENV)
    assert result.exit_code == 0, result.output
    again = telegram.for_chat(CHATS[0])[before:]
    assert not telegram.rejected
    assert again[0].method == "sendPhoto" and again[-1].method == "sendDocument"
    messages = again[1:-1]
    for m in messages:  # valid for Telegram: its entities parse, and the text fits
        assert parse_html(m.raw) == m.text and 1 <= utf16_len(m.text) <= 4096
    assert messages[0].text.startswith("⭐ 오늘의 핵심 논문")
    for topic in data["summaries"]:  # each topic starts a message, its synthesis folded
        starts = [m for m in messages if m.text.startswith(f"▍{topic} (")]
        assert len(starts) == 1 and "<blockquote expandable>" in starts[0].raw


def test_compact_takes_a_second_message_only_when_4096_characters_cannot_hold_it(tmp_path):
    from digest.deliver.telegram import render_parts
    from digest.report import Report
    from tests.fakes.telegram import parse_html

    def messages(digest):
        report = Report(digest, "# md", "<html></html>", b"png")
        parts = render_parts(report, fmt="compact")
        assert [p.method for p in parts][0] == "sendPhoto" and parts[-1].method == "sendDocument"
        return [p.text for p in parts[1:-1]]

    digest = day_digest(n_papers=120)
    assert len(messages(digest)) == 1
    for section in digest.sections:  # gists far longer than asked: the topic lines overflow one message
        section.summary.gist = "오늘 이 주제는 " + "비용을 줄이면서 일반화 성능을 높이려는 연구가 중심을 이룹니다 " * 9
    long = messages(digest)
    assert len(long) == 2
    for text in long:
        assert 0 < utf16_len(parse_html(text)) <= 4096
    assert all(f"https://arxiv.org/abs/{i}" in long[0] for i in digest.must_reads)


def test_a_chat_that_wants_some_topics_gets_those_and_must_reads_drawn_from_them(tmp_path):
    from digest.deliver.telegram import render_parts
    from digest.render import for_audience
    from digest.report import Report

    digest = day_digest(n_papers=200)
    report = for_audience(Report(digest, "# md", "<html></html>", b"png"), ["Computer Vision"], 5)
    [message] = [p.text for p in render_parts(report, fmt="compact")[1:-1]]
    vision = {p.id for s in digest.sections if s.name == "Computer Vision" for p in s.papers}
    links = re.findall(r'href="https://arxiv\.org/abs/([^"]+)"', message)
    assert len(links) == 5 and set(links) <= vision  # five must-reads, all from the one topic it wants
    text = to_plain(message)
    assert "▍Computer Vision " in text
    assert not any(f"▍{s.name} " in text for s in digest.sections if s.name != "Computer Vision")


def test_a_big_day_mails_a_phone_sized_body_and_attaches_every_paper_unless_the_site_has_them(tmp_path):
    from digest.deliver.email import build_message
    from digest.render import environment, render_email_html, render_html
    from digest.report import Report

    for site in (None, "https://digest.example/2026-06-30/"):
        digest = day_digest(n_papers=532, site_url=site)
        full = render_html(digest, environment())
        body = render_email_html(digest, environment())
        mail = build_message(Report(digest, "# md", full, b"png", body), "d@example.com", "r@example.com")
        html_part = next(p for p in mail.walk() if p.get_content_type() == "text/html" and not p.get_filename())
        assert len(html_part.get_content().encode()) <= 90_000
        attached = [p.get_filename() for p in mail.walk() if p.get_filename() == "digest.html"]
        if site:  # the body points to the site's day page; nothing attached
            assert attached == [] and site in html_part.get_content()
        else:
            assert attached == ["digest.html"] and "첨부한 <strong>digest.html</strong>에" in html_part.get_content()


def test_a_chat_and_a_recipient_with_topics_get_only_those_and_the_others_the_whole_day_each_once(
    tmp_path, rss_server, telegram, smtp, run_cli
):
    vision = "Computer Vision"
    config = delivery_config(
        tmp_path,
        rss_server.url,
        telegram,
        smtp,
        delivery__telegram__chat_ids=[{"id": CHATS[0], "topics": [vision]}, CHATS[1]],
        delivery__email__recipients=[{"address": RECIPIENTS[0], "topics": [vision]}, RECIPIENTS[1]],
    )
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    assert "delivery: telegram sent 2; email sent 2" in result.output
    report = tmp_path / "output" / DATE
    data = json.loads((report / "digest.json").read_text())
    n_vision = data["counts"][vision]
    vision_ids = {p["id"] for p in data["papers"] if p["topic"] == vision}
    others = [t for t, n in data["counts"].items() if t != vision and n]
    assert 0 < n_vision < SMALL_DAY and others

    photo, message, document = telegram.for_chat(CHATS[0])
    assert f"arXiv 새 논문 {n_vision}편" in photo.text
    assert photo.text.strip().splitlines()[-1] == f"{vision} {n_vision}"  # the counts line: only its topic
    assert f"▍{vision} " in message.text and not any(f"▍{t} " in message.text for t in others)
    links = re.findall(r'href="https://arxiv\.org/abs/([^"]+)"', message.raw)
    assert links and set(links) <= vision_ids
    narrowed = document.file.decode()
    assert vision in narrowed and all(f"https://arxiv.org/abs/{i}" in narrowed for i in vision_ids)
    assert not any(f"https://arxiv.org/abs/{p['id']}" in narrowed for p in data["papers"] if p["topic"] != vision)
    whole = telegram.for_chat(CHATS[1])
    assert all(f"https://arxiv.org/abs/{p['id']}" in whole[2].file.decode() for p in data["papers"])
    assert all(f"▍{t} " in whole[1].text for t in others)

    mails = {r.recipients[0]: r.message for r in smtp.received}
    assert sorted(mails) == sorted(RECIPIENTS)
    mine = mails[RECIPIENTS[0]]
    assert mine["Subject"] == f"[arXiv 다이제스트] {DATE} · {vision} {n_vision}편"
    alternative, attached = mine.get_payload()
    plain, related = alternative.get_payload()
    assert vision in plain.get_content() and not any(f"## {t}" in plain.get_content() for t in others)
    whole_day = attached.get_content()  # the attached day is the recipient's topics too
    assert all(f"https://arxiv.org/abs/{i}" in whole_day for i in vision_ids)
    html_body = related.get_payload()[0].get_content()
    assert vision in html_body and not any(f"{t} " in html_body for t in others if len(t) > 3)
    assert mails[RECIPIENTS[1]]["Subject"] == f"[arXiv 다이제스트] {DATE} · {SMALL_DAY}편"

    rows = deliveries(tmp_path)
    assert {k: (v["status"], v["attempts"]) for k, v in rows.items()} == {
        **{("telegram", str(c)): ("sent", 1) for c in CHATS},
        **{("email", r): ("sent", 1) for r in RECIPIENTS},
    }
    calls, sent_mails = len(telegram.delivery_calls), len(smtp.received)
    again = run_cli("run", "--config", config, "--date", DATE, env=ENV)
    assert again.exit_code == 0, again.output
    assert len(telegram.delivery_calls) == calls and len(smtp.received) == sent_mails


def test_a_digest_json_from_a_newer_version_is_refused_in_one_line_and_nothing_is_sent(
    tmp_path, built_report, telegram, smtp, run_cli
):
    path = built_report / "digest.json"
    data = json.loads(path.read_text())
    assert data["schema_version"] == 2
    path.write_text(json.dumps({**data, "schema_version": 3}))
    config = delivery_config(tmp_path, "http://127.0.0.1:9", telegram, smtp)
    result = run_cli("send", "--config", config, "--date", DATE, env=ENV)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "schema_version 3 is newer than this version reads (2)" in result.output
    assert not telegram.delivery_calls and not smtp.received
