"""What the real world throws at an unattended server (issue 16): hostile feeds and LLM answers, failing
services, broken configs, kills. Each test runs the real CLI against the local fakes."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from tests.conftest import DATE, ENV, RSS_CATEGORIES, SMTP_PASSWORD, TOKEN, day_feed_2026_06_30, write_config
from tests.fakes.http import Response
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.smtp import USER, FakeSMTP

FEED = f"/rss/{RSS_CATEGORIES}"


def small_feed(count: int = 50, extra_items: str = "", pub_date: str | None = None, only: str | None = None) -> bytes:
    """The first `count` items of the real 2026-06-30 feed (plus `extra_items`), as arXiv serves it."""
    text = day_feed_2026_06_30().decode()
    head, _, rest = text.partition("<item>")
    items = ["<item>" + chunk for chunk in rest.split("<item>")]
    items[-1] = items[-1].split("</channel>")[0]
    chosen = items[:count]
    if only is not None:
        chosen = [re.sub(r"<arxiv:announce_type>\w+<", f"<arxiv:announce_type>{only}<", i) for i in chosen]
    if pub_date:
        head = re.sub(r"<pubDate>[^<]*</pubDate>", f"<pubDate>{pub_date}</pubDate>", head, count=1)
        head = re.sub(r"<lastBuildDate>[^<]*</lastBuildDate>", "", head)
    return (head + "".join(chosen) + extra_items + "\n  </channel>\n</rss>\n").encode()


def item(guid: str, title: str, link: str | None = None) -> str:
    return f"""<item>
      <title>{title}</title>
      <link>{link or "https://arxiv.org/abs/" + guid}</link>
      <description>arXiv:{guid}v1 Announce Type: new
Abstract: We study a hostile item that exists only to test the feed parser and the report.</description>
      <guid isPermaLink="false">oai:arXiv.org:{guid}</guid>
      <category>cs.LG</category>
      <pubDate>Tue, 30 Jun 2026 00:00:00 -0400</pubDate>
      <arxiv:announce_type>new</arxiv:announce_type>
      <dc:creator>Eve Mallory</dc:creator>
    </item>"""


def feed_route(server, body: bytes | list[Response]) -> None:
    server.route(FEED, body if isinstance(body, list) else Response(200, body, {"Content-Type": "application/rss+xml"}))


def error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, output
    return lines[0]


def delivery_settings(telegram, smtp, **more) -> dict:
    return {
        "delivery__telegram__enabled": True,
        "delivery__telegram__api_url": telegram.url,
        "delivery__telegram__chat_ids": [-1001, -1002],
        "delivery__telegram__message_interval_seconds": 0,
        "delivery__telegram__backoff_seconds": 0.01,
        "delivery__telegram__max_retries": 2,
        "delivery__email__enabled": True,
        "delivery__email__smtp_host": "127.0.0.1",
        "delivery__email__smtp_port": smtp.port,
        "delivery__email__security": "none",
        "delivery__email__username": USER,
        "delivery__email__recipients": ["a@example.com", "b@example.com"],
        "delivery__email__timeout_seconds": 5,
        **more,
    }


def deliveries(tmp_path) -> dict:
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    db.row_factory = sqlite3.Row
    return {(r["channel"], r["target"]): dict(r) for r in db.execute("SELECT * FROM deliveries")}


# ----- 1. truncated feeds -----


def test_a_feed_cut_mid_item_is_a_failed_fetch_not_a_smaller_day(tmp_path, server, run_cli):
    whole = small_feed(50)
    feed_route(server, whole[: whole.index(b"<item>") + len(whole) // 2])
    result = run_cli("run", "--config", str(write_config(tmp_path, server.url)))
    assert result.exit_code == 1
    line = error_line(result.output)
    assert line.startswith(f"error: arXiv RSS feed {server.url}{FEED}: malformed or truncated feed (")
    assert server.hits(FEED) == 3  # retried (1 + arxiv.max_retries), then failed
    assert not (tmp_path / "output" / DATE).exists()


def test_a_day_that_grew_after_delivery_shows_in_status_and_send_completes_it(
    tmp_path, server, telegram, smtp, run_cli
):
    feed_route(server, small_feed(20))
    config = str(write_config(tmp_path, server.url, **delivery_settings(telegram, smtp)))
    assert run_cli("run", "--config", config, env=ENV).exit_code == 0
    feed_route(server, small_feed(40))
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    assert "telegram -1001: got this report with 20 papers, it now has 40" in result.output
    status = run_cli("status", "--config", config).output
    assert (
        "delivery email a@example.com: sent (run #1; PARTIAL: it got 20 of the 40 papers now stored; "
        f"`digest send --date {DATE}` sends the whole day)"
    ) in status
    result = run_cli("send", "--config", config, "--date", DATE, env=ENV)
    assert result.exit_code == 0, result.output
    assert "40편" in smtp.received[-1].message["Subject"]
    assert "PARTIAL" not in run_cli("status", "--config", config).output


# ----- 2. retry_after is capped -----


def test_a_long_retry_after_fails_that_chat_at_once_and_the_others_go_on(tmp_path, server, telegram, smtp, run_cli):
    feed_route(server, small_feed(20))
    telegram.script("sendPhoto", 429, "Too Many Requests: retry after 86400", chat_id=-1001, retry_after=86400)
    config = str(write_config(tmp_path, server.url, **delivery_settings(telegram, smtp)))
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 1
    assert error_line(result.output) == (
        f"error: {DATE}: delivery failed for telegram chat -1001: HTTP 429 Too Many Requests: retry after 86400 "
        "(Telegram asks to wait 86400s, more than delivery.telegram.max_retry_after_seconds 300s: not waiting; "
        "the next run resumes this chat)"
    )
    assert telegram.calls.count(("sendPhoto", "-1001")) == 1  # no retry, no wait
    assert telegram.for_chat(-1002) and len(smtp.received) == 2
    result = run_cli("run", "--config", config, env=ENV)  # the next run resumes it
    assert result.exit_code == 0, result.output
    assert len(telegram.for_chat(-1001)) == len(telegram.for_chat(-1002))


# ----- 3. a delivery failure is that target's only -----


def test_a_token_with_a_trailing_carriage_return_still_delivers(tmp_path, server, telegram, smtp, run_cli):
    feed_route(server, small_feed(20))
    config = str(write_config(tmp_path, server.url, **delivery_settings(telegram, smtp)))
    result = run_cli("run", "--config", config, env={**ENV, "TELEGRAM_BOT_TOKEN": TOKEN + "\r\n"})
    assert result.exit_code == 0, result.output
    assert telegram.for_chat(-1001) and telegram.for_chat(-1002) and len(smtp.received) == 2


def test_a_non_ascii_smtp_password_logs_in_as_utf8(tmp_path, server, telegram, run_cli):
    password = "비밀번호-pässwörd-42"
    feed_route(server, small_feed(20))
    with FakeSMTP(password) as smtp:
        settings = delivery_settings(telegram, smtp, delivery__telegram__enabled=False)
        config = str(write_config(tmp_path, server.url, **settings))
        result = run_cli("run", "--config", config, env={"SMTP_PASSWORD": password})
        assert result.exit_code == 0, result.output
        assert [r.recipients for r in smtp.received] == [["a@example.com"], ["b@example.com"]]
        assert smtp.logins[0] == ("PLAIN", True)


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("delivery__email__recipients", ["a@x.org\r\nBcc: evil@evil.example"], "delivery.email.recipients"),
        ("delivery__email__sender", "digest@x.org\nBcc: evil@evil.example", "delivery.email.sender"),
    ],
)
def test_a_line_break_in_an_address_is_a_config_error(tmp_path, run_cli, key, value, named):
    config = write_config(tmp_path, **{key: value})
    result = run_cli("run", "--config", str(config))
    assert result.exit_code == 2
    line = error_line(result.output)
    assert f"{named}: " in line and "line break" in line and "\n" not in line.strip()


def test_an_unexpected_failure_of_one_recipient_leaves_the_others_and_no_row_sending(
    tmp_path, server, telegram, smtp, run_cli, monkeypatch
):
    import digest.deliver.email as email

    real = email.build_message

    def build(report, sender, recipient, body=None):
        if recipient == "a@example.com":
            raise UnicodeEncodeError("ascii", "é", 0, 1, "a library bug")
        return real(report, sender, recipient, body)

    monkeypatch.setattr(email, "build_message", build)
    feed_route(server, small_feed(20))
    config = str(write_config(tmp_path, server.url, **delivery_settings(telegram, smtp)))
    result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert error_line(result.output).startswith(
        f"error: {DATE}: delivery failed for email a@example.com: UnicodeEncodeError: 'ascii' codec"
    )
    rows = deliveries(tmp_path)
    assert rows[("email", "a@example.com")]["status"] == "failed"
    assert rows[("email", "b@example.com")]["status"] == "sent"
    assert rows[("telegram", "-1001")]["status"] == rows[("telegram", "-1002")]["status"] == "sent"


# ----- 4. LLM text cannot add links, handles or ids -----


def test_llm_text_reaches_no_channel_with_a_link_handle_command_or_foreign_id(
    tmp_path, server, telegram, smtp, run_cli
):
    feed_route(server, small_feed(50))
    with FakeOpenAI() as fake:
        fake.fail("hostile", times=None)
        settings = delivery_settings(telegram, smtp, llm__base_url=fake.url, llm__max_retries=1)
        config = str(write_config(tmp_path, server.url, **settings))
        result = run_cli("run", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "output" / DATE
    outputs = {
        "digest.md": (folder / "digest.md").read_text(),
        "digest.html": (folder / "digest.html").read_text(),
        "telegram": "\n".join(s.raw for s in telegram.for_chat(-1001)),
        "email": smtp.received[0].raw.decode("utf-8", "replace"),
    }
    assert "추가 정보:" in outputs["digest.md"]  # the hostile answer was used, cleaned
    for where, text in outputs.items():
        for hostile in ("evil.ru", "evil.shop", "a@evil.org", "@evil_bot", "#PWNED", "/start", "2401.99999"):
            assert hostile not in text, (where, hostile)
        assert "2402.00001" not in text, where


# ----- 5. ids from a feed follow arXiv's grammar -----


def test_an_item_whose_id_is_not_an_arxiv_id_is_skipped_with_a_warning(tmp_path, server, run_cli):
    hostile = item("2606.00010) [PWNED](http://evil.example/x", "Pwned paper") + item(
        "2606.00003&lt;/a&gt;&lt;b&gt;x", "Tagged paper"
    )
    feed_route(server, small_feed(20, hostile))
    result = run_cli("run", "--config", str(write_config(tmp_path, server.url)))
    assert result.exit_code == 0, result.output
    log = (tmp_path / "output/digest.log").read_text()
    assert "skipping an item whose id is not an arXiv id: '2606.00010) [PWNED](http://evil.example/x'" in log
    md = (tmp_path / "output" / DATE / "digest.md").read_text()
    assert "evil.example" not in md and "PWNED" not in md and "<b>" not in md
    assert json.loads((tmp_path / "output" / DATE / "digest.json").read_text())["total"] == 20


# ----- arXiv text normalised at fetch; bidi controls removed (4, 10) -----


def test_tex_and_bidi_controls_in_titles_are_plain_text_in_every_report(tmp_path, server, run_cli):
    titles = item("2606.99001", r"Decoding $2.69\times$ faster with \emph{sparse} heads and 11\% fewer~FLOPs") + item(
        "2606.99002", "Safe title \u202egpj.exe see https://arxiv.org/abs/2606.99002 after"
    )
    feed_route(server, small_feed(10, titles))
    result = run_cli("run", "--config", str(write_config(tmp_path, server.url)))
    assert result.exit_code == 0, result.output
    folder = tmp_path / "output" / DATE
    data = json.loads((folder / "digest.json").read_text())
    by_id = {p["id"]: p["title"] for p in data["papers"]}
    assert by_id["2606.99001"] == "Decoding 2.69× faster with sparse heads and 11% fewer FLOPs"
    assert "\u202e" not in by_id["2606.99002"]
    for name in ("digest.md", "digest.html", "digest.json"):
        text = (folder / name).read_text()
        assert "\u202e" not in text and "\\times" not in text and "\\emph" not in text


# ----- 10. smaller ones -----


def test_a_feed_of_only_replacements_says_so(tmp_path, server, run_cli):
    feed_route(server, small_feed(10, only="replace"))
    result = run_cli("run", "--config", str(write_config(tmp_path, server.url)))
    assert result.exit_code == 0
    assert f"{DATE}: arXiv announced only 10 paper(s) of other types (replacements)" in result.output
    assert "weekend or holiday" not in result.output


def test_a_listing_dated_after_tomorrow_is_refused(tmp_path, server, run_cli):
    feed_route(server, small_feed(10, pub_date="Tue, 01 Jul 2031 00:00:00 -0400"))
    result = run_cli("run", "--config", str(write_config(tmp_path, server.url)))
    assert result.exit_code == 1
    assert error_line(result.output) == (
        "error: the rss listing is dated 2031-07-01, after tomorrow (US Eastern): a wrong feed or a wrong clock; "
        "nothing built"
    )
    assert not (tmp_path / "output/2031-07-01").exists()


# ----- 6. reports: always one visible, leftovers recovered -----


def test_a_report_moved_aside_by_a_killed_run_is_restored_and_temp_folders_removed(tmp_path, server, run_cli):
    feed_route(server, small_feed(10))
    config = str(write_config(tmp_path, server.url))
    assert run_cli("run", "--config", config).exit_code == 0
    output = tmp_path / "output"
    before = (output / DATE / "digest.md").read_text()
    # What a kill leaves: the old report renamed aside (and not replaced), a half-written temporary folder.
    (output / DATE).rename(output / f".{DATE}-old-20260630120000000000")
    (output / f".{DATE}-k3j2h1").mkdir()
    (output / f".{DATE}-k3j2h1" / "digest.md").write_text("# half")
    feed_route(server, [Response(503, b"down")])
    result = run_cli("run", "--config", config)  # even a run that fails at fetch puts things right
    assert result.exit_code == 1
    assert (output / DATE / "digest.md").read_text() == before
    assert sorted(p.name for p in output.iterdir() if p.name.startswith(f".{DATE}")) == []


def test_a_rebuild_never_leaves_a_moment_without_a_report(tmp_path, monkeypatch):
    import datetime as dt
    import os
    import shutil
    from pathlib import Path

    from digest import render
    from digest.models import Assignment, Digest, Paper, TopicSection, TopicSummary

    paper = Paper("2606.00001", "A title", "An abstract.", ["Ann"], ["cs.LG"], "new")
    summary = TopicSummary("LLM", [["한 문장입니다."]] * 5, {paper.id: "한 줄 요약입니다."}, "extractive")
    digest = Digest(
        dt.date(2026, 6, 30),
        "Daily",
        [paper],
        {paper.id: Assignment(paper.id, "LLM", 5, "offline")},
        {paper.id},
        [TopicSection("LLM", [paper], summary, 1)],
        {"LLM": 1, "Other": 0},
    )
    final = render.write_report(digest, tmp_path)
    # A reader may look between any two file-system steps of the swap: look after each one.
    seen: list[tuple[str, bool]] = []

    def looking(step):
        def wrapped(*args, **kwargs):
            result = step(*args, **kwargs)
            seen.append((step.__name__, (final / "digest.md").exists()))
            return result

        return wrapped

    for owner, name in [(Path, "rename"), (Path, "replace"), (os, "rename"), (os, "replace"), (shutil, "rmtree")]:
        monkeypatch.setattr(owner, name, looking(getattr(owner, name)))
    monkeypatch.setattr(render, "_exchange", looking(render._exchange))
    render.write_report(digest, tmp_path)
    assert seen and all(there for _, there in seen), seen
    assert [p.name for p in tmp_path.iterdir()] == [DATE]

    # Where the atomic exchange is missing, the report is moved aside for a moment: this test sees that.
    seen.clear()
    monkeypatch.setattr(render, "_exchange", lambda a, b: False)
    render.write_report(digest, tmp_path)
    assert ("rename", False) in seen


# ----- 7. signals -----


def _foreground_signals() -> None:
    # A shell's background job (how a CI script may start the suite) ignores SIGINT and its children inherit
    # that; Ctrl+C reaches a foreground command with the default disposition, as here.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_run(tmp_path, config, signal_after_fetch_starts, server):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in ENV}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "run", "--config", config],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_foreground_signals,
    )
    deadline = time.monotonic() + 30
    while server.hits(FEED) == 0 and time.monotonic() < deadline:  # the run is in its fetch stage
        time.sleep(0.05)
    proc.send_signal(signal_after_fetch_starts)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


@pytest.fixture
def stalled_feed(server):
    import threading

    release = threading.Event()

    def stall(request):
        release.wait(20)
        return Response(503, b"released")

    server.route(FEED, stall)
    yield server
    release.set()


@pytest.mark.parametrize(
    ("signum", "code", "name", "said"), [(15, 143, "SIGTERM", "SIGTERM"), (2, 130, "SIGINT", "SIGINT (Ctrl+C)")]
)
def test_a_signal_stops_the_run_with_one_line_and_records_it_interrupted(
    tmp_path, stalled_feed, run_cli, signum, code, name, said
):
    config = str(write_config(tmp_path, stalled_feed.url))
    returncode, out, err = _start_run(tmp_path, config, signum, stalled_feed)
    assert returncode == code
    assert err.strip().splitlines()[-1] == f"error: interrupted by {said}; stopped, the run is recorded as interrupted"
    assert "Traceback" not in err
    status = run_cli("status", "--config", config).output
    assert f"interrupted | error: interrupted by {name}" in status


def test_a_run_left_running_by_a_killed_process_is_marked_on_the_next_start(tmp_path, stalled_feed, run_cli):
    config = str(write_config(tmp_path, stalled_feed.url))
    returncode, _, _ = _start_run(tmp_path, config, 9, stalled_feed)
    assert returncode == -9
    assert " running" in run_cli("status", "--config", config).output
    stalled_feed.route(FEED, Response(200, small_feed(10), {"Content-Type": "application/rss+xml"}))
    result = run_cli("run", "--config", config)
    assert result.exit_code == 0, result.output
    assert "run #1 was left 'running' by a process that is gone (killed?); marked interrupted" in result.output
    status = run_cli("status", "--config", config).output
    assert "interrupted | error: the process ended without finishing this run (killed or crashed)" in status
    assert " running" not in status


# ----- 8. the demo's own state -----


def test_the_demo_never_touches_the_real_state_so_the_first_run_catches_nothing_up(
    tmp_path, server, run_cli, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert run_cli("demo").exit_code == 0
    assert (tmp_path / "output/demo/digest.sqlite3").exists()
    assert (tmp_path / "output/demo" / DATE / "digest.md").exists()
    assert not (tmp_path / "output/digest.sqlite3").exists()
    feed_route(server, small_feed(10))
    config = write_config(tmp_path, server.url, arxiv__catch_up_days=7)
    result = run_cli("run", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert [r.path for r in server.requests] == [FEED]  # no export-API catch-up of the days since the demo
    status = run_cli("status", "--config", str(config)).output
    assert len([line for line in status.splitlines() if line.startswith("#")]) == 1


# ----- 9. error lines: the root cause first, never cut -----


def test_no_network_says_the_root_cause_first(tmp_path, run_cli):
    import socket

    try:
        socket.getaddrinfo("nonexistent.invalid", 80)
        pytest.skip("this machine resolves .invalid")
    except socket.gaierror as exc:
        cause = exc.strerror
    config = write_config(tmp_path, "http://nonexistent.invalid")
    result = run_cli("run", "--config", str(config), "--date", "2026-06-30")
    assert result.exit_code == 1
    assert error_line(result.output) == (
        f"error: arXiv export API http://nonexistent.invalid/api/query for 2026-06-30: {cause} (ConnectError)"
    )


# ----- 10. smaller ones -----


def test_an_html_page_from_the_export_api_is_a_failure_not_an_empty_day(tmp_path, server, run_cli):
    page = b"<!DOCTYPE html><html><head><title>Hotel WiFi</title></head><body>Log in</body></html>"
    server.route("/api/query", Response(200, page, {"Content-Type": "text/html"}))
    result = run_cli("run", "--config", str(write_config(tmp_path, server.url)), "--date", "2026-06-30")
    assert result.exit_code == 1
    assert error_line(result.output).startswith(
        f"error: arXiv export API {server.url}/api/query for 2026-06-30: not an Atom feed"
    )
    assert server.hits("/api/query") == 3


@pytest.mark.parametrize(
    ("template", "named"),
    [
        ("# {{ d.title | md }\n", "digest.md.j2 line 1: unexpected '}'"),
        ("# {{ no_such_thing.x }}\n", "digest.md.j2 line 1: 'no_such_thing' is undefined"),
    ],
)
def test_a_broken_template_is_exit_2_naming_the_file_and_line(tmp_path, server, run_cli, template, named):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl/digest.md.j2").write_text(template)
    feed_route(server, small_feed(10))
    result = run_cli("run", "--config", str(write_config(tmp_path, server.url, report__templates_dir="tpl")))
    assert result.exit_code == 2
    line = error_line(result.output)
    assert named in line and line.endswith("(report.templates_dir)")


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("arxiv__timeout_seconds", 1e300, "arxiv.timeout_seconds: Input should be less than or equal to 3600"),
        ("delivery__telegram__backoff_seconds", 1e9, "delivery.telegram.backoff_seconds: Input should be less"),
        ("state__lock_timeout_seconds", float("inf"), "state.lock_timeout_seconds: Input should be"),
    ],
)
def test_absurd_numbers_are_exit_2_naming_the_key(tmp_path, run_cli, key, value, named):
    result = run_cli("run", "--config", str(write_config(tmp_path, **{key: value})))
    assert result.exit_code == 2
    assert named in error_line(result.output)


def test_a_secret_pasted_into_an_env_key_is_refused_without_printing_it(tmp_path, run_cli):
    config = write_config(tmp_path, delivery__telegram__token_env=TOKEN)
    result = run_cli("run", "--config", str(config))
    assert result.exit_code == 2
    assert "delivery.telegram.token_env: must be the NAME of an environment variable" in error_line(result.output)
    assert TOKEN not in result.output and "AAH-fake" not in result.output


def test_a_tilde_in_a_path_is_the_home_folder(tmp_path, server, run_cli):
    feed_route(server, small_feed(10))
    home = tmp_path / "home"
    home.mkdir()
    config = write_config(tmp_path, server.url, report__output_dir="~/digests", state__path="~/digests/state.db")
    result = run_cli("run", "--config", str(config), env={"HOME": str(home)})
    assert result.exit_code == 0, result.output
    assert (home / "digests" / DATE / "digest.md").exists() and (home / "digests/state.db").exists()
    assert not (tmp_path / "~").exists()


def test_a_corrupt_state_database_is_named(tmp_path, run_cli):
    config = write_config(tmp_path)
    db = tmp_path / "output/digest.sqlite3"
    db.parent.mkdir()
    db.write_bytes(b"this is not sqlite at all, a disk error wrote this" * 100)
    result = run_cli("status", "--config", str(config))
    assert result.exit_code == 2
    assert error_line(result.output) == (
        f"error: state.path: {db} is not a usable SQLite database (file is not a database); restore it from a "
        "backup, or move it away to start afresh"
    )


def test_an_empty_state_database_beside_built_reports_is_refused(tmp_path, server, run_cli):
    feed_route(server, small_feed(10))
    config = str(write_config(tmp_path, server.url))
    assert run_cli("run", "--config", config).exit_code == 0
    db = tmp_path / "output/digest.sqlite3"
    for leftover in (tmp_path / "output").glob("digest.sqlite3-*"):
        leftover.unlink()
    db.write_bytes(b"")
    result = run_cli("run", "--config", config)
    assert result.exit_code == 2
    assert error_line(result.output) == (
        f"error: state.path: {db} is empty (0 bytes) but {tmp_path / 'output'} holds 1 built report(s) "
        f"(latest {DATE}): a fresh state would build and deliver them again. Restore the database from a "
        "backup, or delete the empty file to start afresh"
    )
    assert server.hits(FEED) == 1


def test_the_smtp_password_is_scrubbed_even_base64_encoded(tmp_path, server, run_cli):
    """A server that echoes the AUTH command in its refusal must not get the password into the output."""
    import base64
    import socketserver
    import threading

    class Echoing(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"220 echo ESMTP\r\n")
            for raw in self.rfile:
                line = raw.decode().strip()
                if line.upper().startswith(("EHLO", "HELO")):
                    self.wfile.write(b"250-echo\r\n250 AUTH PLAIN\r\n")
                elif line.upper().startswith("AUTH"):
                    self.wfile.write(f"535 5.7.8 rejected: {line}\r\n".encode())
                elif line.upper().startswith("QUIT"):
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 OK\r\n")

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echoing) as smtp_server:
        smtp_server.daemon_threads = True
        threading.Thread(target=smtp_server.serve_forever, daemon=True).start()
        feed_route(server, small_feed(10))
        settings = {
            "delivery__email__enabled": True,
            "delivery__email__smtp_host": "127.0.0.1",
            "delivery__email__smtp_port": smtp_server.server_address[1],
            "delivery__email__security": "none",
            "delivery__email__username": USER,
            "delivery__email__recipients": ["a@example.com"],
        }
        config = write_config(tmp_path, server.url, **settings)
        result = run_cli("run", "--config", str(config), env={"SMTP_PASSWORD": SMTP_PASSWORD})
        smtp_server.shutdown()
    assert result.exit_code == 1
    assert "login refused (535 5.7.8 rejected: AUTH PLAIN ***)" in error_line(result.output)
    blob = base64.b64encode(f"\0{USER}\0{SMTP_PASSWORD}".encode()).decode()
    everything = result.output + (tmp_path / "output/digest.log").read_text()
    assert SMTP_PASSWORD not in everything and blob not in everything
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    assert blob not in str(db.execute("SELECT * FROM deliveries").fetchall())
