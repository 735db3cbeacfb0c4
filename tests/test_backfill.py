"""End to end: `digest backfill` and `digest run --date` through the real CLI against the fake export API."""

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from digest.clock import Clock, fixed
from digest.commands.run import run as run_latest
from digest.config import load_config
from digest.sources.latest import rss_fetcher
from tests.conftest import RSS_CATEGORIES, SMALL_DAY, write_config
from tests.fakes.arxiv_api import FakeArxivApi

WEEK = ["--from", "2026-06-29", "--to", "2026-07-07"]  # Mon to the next Tue: a weekend and holiday Fri 07-03
LISTINGS = ["2026-06-29", "2026-06-30", "2026-07-01", "2026-07-02", "2026-07-03", "2026-07-07"]


@pytest.fixture
def api(server):
    fake = FakeArxivApi.week(limit=SMALL_DAY)
    server.route("/api/query", fake)
    return fake


@pytest.fixture
def config(tmp_path, server):
    return str(write_config(tmp_path, server.url))


def built(tmp_path: Path) -> list[str]:
    out = tmp_path / "output"
    return sorted(p.name for p in out.iterdir() if (p / "digest.md").exists()) if out.exists() else []


def windows(server) -> list[str]:
    return [r.query["search_query"][0].split("submittedDate:")[1] for r in server.requests]


def test_backfill_a_week_builds_exactly_its_listing_dates(tmp_path, server, api, config, run_cli):
    result = run_cli("backfill", "--config", config, *WEEK)
    assert result.exit_code == 0, result.output
    assert built(tmp_path) == LISTINGS
    lines = result.stdout.splitlines()
    assert len(lines) == 10  # one per calendar day, then the summary
    assert lines[0].startswith("[1/9] 2026-06-29: 10 papers, report written to ")
    assert lines[1].startswith("[2/9] 2026-06-30: 34 papers, report written to ")
    assert lines[5] == "[6/9] 2026-07-04 is a Saturday: arXiv announces nothing dated on weekends"
    assert lines[6] == "[7/9] 2026-07-05 is a Sunday: arXiv announces nothing dated on weekends"
    assert lines[7].startswith("[8/9] 2026-07-06: no arXiv announcement (holiday 2026-07-03 Fri")
    assert lines[-1] == (
        "backfill 2026-06-29 to 2026-07-07: 6 built (98 papers), 0 already built, 3 without announcement, 0 failed"
    )
    # One request per listing date; Tuesday 07-07 takes Thu 14:00 -> Mon 14:00 because Monday's was cancelled.
    assert windows(server) == [
        "[202606251800 TO 202606261800]",
        "[202606261800 TO 202606291800]",
        "[202606291800 TO 202606301800]",
        "[202606301800 TO 202607011800]",
        "[202607011800 TO 202607021800]",
        "[202607021800 TO 202607061800]",
    ]
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    assert db.execute("SELECT date, source FROM listings ORDER BY date").fetchall() == [(d, "api") for d in LISTINGS]
    assert [r[0] for r in db.execute("SELECT command FROM runs")] == ["backfill"] * 6


def test_second_backfill_does_nothing(tmp_path, server, api, config, run_cli):
    assert run_cli("backfill", "--config", config, *WEEK).exit_code == 0
    reports = {p: p.stat().st_mtime_ns for p in (tmp_path / "output").glob("*/digest.md")}
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    runs = db.execute("SELECT count(*) FROM runs").fetchone()[0]
    server.requests.clear()

    again = run_cli("backfill", "--config", config, *WEEK)
    assert again.exit_code == 0
    assert server.requests == []
    assert "[2/9] 2026-06-30: already built (34 papers), skipped; --force rebuilds it" in again.stdout
    assert again.stdout.splitlines()[-1] == (
        "backfill 2026-06-29 to 2026-07-07: 0 built (0 papers), 6 already built, 3 without announcement, 0 failed"
    )
    assert {p: p.stat().st_mtime_ns for p in reports} == reports
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == runs
    assert db.execute("SELECT count(*) FROM llm_calls").fetchone()[0] == 0


def test_a_failing_date_does_not_stop_the_others(tmp_path, server, api, config, run_cli):
    api.fail(503, times=None, listing=dt.date(2026, 7, 1))
    result = run_cli("backfill", "--config", config, *WEEK)
    assert result.exit_code == 1
    assert built(tmp_path) == [d for d in LISTINGS if d != "2026-07-01"]
    assert (
        f"[3/9] 2026-07-01: failed: arXiv export API {server.url}/api/query for 2026-07-01: HTTP 503 after 3 attempt(s)"
    ) in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1].endswith("1 failed (2026-07-01)")

    api.faults.clear()
    server.requests.clear()
    retry = run_cli("backfill", "--config", config, *WEEK)
    assert retry.exit_code == 0
    assert windows(server) == ["[202606291800 TO 202606301800]"]  # only the date that failed
    assert built(tmp_path) == LISTINGS


def test_force_fetches_again(tmp_path, server, api, config, run_cli):
    assert run_cli("backfill", "--config", config, "--date", "2026-06-30").exit_code == 0
    server.requests.clear()
    result = run_cli("backfill", "--config", config, "--date", "2026-06-30", "--force")
    assert result.exit_code == 0 and len(server.requests) == 1
    assert "2026-06-30: 34 papers, report written to" in result.output


def test_backfill_of_a_day_without_announcement_makes_no_request(tmp_path, server, api, config, run_cli):
    result = run_cli("backfill", "--config", config, "--date", "2025-12-31")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        "[1/1] 2025-12-31: no arXiv announcement (holiday 2025-12-30 Tue, "
        "arxiv.holidays); its papers are in the 2026-01-01 listing"
    )
    assert server.requests == [] and built(tmp_path) == []


def test_run_with_a_past_date_uses_the_export_api(tmp_path, server, api, config, run_cli):
    result = run_cli("run", "--config", config, "--date", "2026-06-30", "--no-deliver")
    assert result.exit_code == 0, result.output
    assert built(tmp_path) == ["2026-06-30"]
    assert [r.path for r in server.requests] == ["/api/query"]  # no RSS request for a date the feed left
    assert "2026-06-30 · 수집 34편" in (tmp_path / "output/2026-06-30/digest.md").read_text()
    server.requests.clear()
    assert run_cli("run", "--config", config, "--date", "2026-06-30", "--no-deliver").exit_code == 0
    assert server.requests == []  # the stored listing is reused


@pytest.mark.parametrize(
    "date, line",
    [
        ("2026-07-04", "2026-07-04 is a Saturday: arXiv announces nothing dated on weekends"),
        (
            "2026-06-22",
            "2026-06-22: no arXiv announcement (holiday 2026-06-19 Fri, arxiv.holidays); "
            "its papers are in the 2026-06-23 listing",
        ),
    ],
)
def test_run_on_a_day_without_announcement_says_so_and_exits_0(tmp_path, server, config, run_cli, date, line):
    result = run_cli("run", "--config", config, "--date", date)
    assert (result.exit_code, result.stdout) == (0, line + "\n")
    assert server.requests == []


def test_run_on_a_future_date_is_bad_usage(tmp_path, server, config, run_cli):
    result = run_cli("run", "--config", config, "--date", "2099-01-05")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --date 2099-01-05: not announced yet (it appears 2099-01-04 20:00 ET")
    assert len(result.stderr.splitlines()) == 1 and server.requests == []


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "error: backfill: give --date D or --from D1 [--to D2]"),
        (["--from", "2026-07-03", "--to", "2026-07-01"], "error: backfill: --from 2026-07-03 is after --to 2026-07-01"),
        (
            ["--date", "2026-07-01", "--from", "2026-07-01"],
            "error: backfill: give either --date D or --from D1 --to D2, not both",
        ),
    ],
)
def test_backfill_usage_errors_are_one_line_and_exit_2(tmp_path, server, config, run_cli, args, message):
    result = run_cli("backfill", "--config", config, *args)
    assert (result.exit_code, result.stderr) == (2, message + "\n")
    assert server.requests == []


def test_backfill_up_to_the_future_stops_at_the_latest_listing(tmp_path, server, api, config, run_cli):
    result = run_cli("backfill", "--config", config, "--from", "2099-01-02", "--to", "2099-01-05")
    assert result.exit_code == 0
    assert "[4/4] 2099-01-05: not announced yet" in result.output
    assert result.stdout.splitlines()[-1].endswith("2 not announced yet, 0 failed")
    assert server.requests == []


def _morning_of(day: str) -> Clock:
    return fixed(dt.datetime.fromisoformat(f"{day}T09:00:00-04:00"))


def test_the_feeds_own_date_comes_from_the_feed(tmp_path, rss_server, api, config):
    fetch = rss_fetcher(load_config(Path(config)), clock=_morning_of("2026-06-30"))
    listing = fetch(dt.date(2026, 6, 30))
    assert (listing.source, len(listing.papers)) == ("rss", SMALL_DAY)
    assert [r.path for r in rss_server.requests] == [f"/rss/{RSS_CATEGORIES}"]


def test_a_stale_feed_falls_back_to_the_export_api(tmp_path, rss_server, api, config):
    fetch = rss_fetcher(load_config(Path(config)), clock=_morning_of("2026-07-01"))
    listing = fetch(dt.date(2026, 7, 1))  # the feed still carries 2026-06-30
    assert (listing.source, listing.date, len(listing.papers)) == ("api", dt.date(2026, 7, 1), 32)
    assert [r.path for r in rss_server.requests] == [f"/rss/{RSS_CATEGORIES}", "/api/query"]


def test_run_catches_up_listings_the_feed_never_showed(tmp_path, server, api, run_cli):
    """At 11:00 KST the feed still shows the previous ET day; on Monday it is empty, so Friday's listing
    would be lost. `digest run` builds such missed listings through the export API, oldest first."""
    from tests.conftest import fixture_bytes
    from tests.fakes.http import Response

    config = str(write_config(tmp_path, server.url, arxiv__catch_up_days=7))
    assert run_cli("backfill", "--config", config, "--date", "2026-06-30").exit_code == 0
    # Mon 2026-07-06 11:00 KST = Sun 07-05 22:00 ET: the feed is empty (weekend), Thu 07-02 and Fri 07-03 are missed.
    sunday_evening_et = fixed(dt.datetime(2026, 7, 5, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4))))
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, fixture_bytes("rss-physics-2025-12-31-empty-holiday.xml")))
    result = run_latest(load_config(Path(config)), clock=sunday_evening_et)
    assert (result.status, result.catch_up_failed) == ("empty", []), result.message
    assert built(tmp_path) == ["2026-06-30", "2026-07-01", "2026-07-02", "2026-07-03"]
    runs = (
        sqlite3.connect(tmp_path / "output/digest.sqlite3")
        .execute("SELECT date FROM runs WHERE status = 'ok' ORDER BY id")
        .fetchall()
    )
    assert [r[0] for r in runs] == ["2026-06-30", "2026-07-01", "2026-07-02", "2026-07-03"]  # oldest first
    # The next fire has nothing left to catch up: no request to the export API.
    requests = len(server.requests)
    assert run_latest(load_config(Path(config)), clock=sunday_evening_et).catch_up_failed == []
    assert [r.path for r in server.requests[requests:]] == [f"/rss/{RSS_CATEGORIES}"]


def test_fresh_install_does_not_catch_up(tmp_path, server, api, rss_server, run_cli):
    config = str(write_config(tmp_path, server.url, arxiv__catch_up_days=7))
    assert run_cli("run", "--config", config).exit_code == 0
    assert [r.path for r in server.requests] == [f"/rss/{RSS_CATEGORIES}"]


def test_run_on_a_listing_date_the_api_has_not_indexed_says_so(tmp_path, server, config, run_cli):
    server.route("/api/query", FakeArxivApi())  # answers, but knows no paper: the index lags
    result = run_cli("run", "--config", config, "--date", "2026-07-01")
    assert result.exit_code == 0
    assert "2026-07-01: the export API has no papers for this listing date yet" in result.output
    assert "weekend or holiday" not in result.output
    assert built(tmp_path) == []
