import datetime as dt
import subprocess
import sys
import textwrap
import time
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from digest.clock import fixed
from digest.commands.run import run as run_latest
from digest.commands.schedule import build_scheduler
from digest.config import Config, load_config
from digest.cron import crontab_day_of_week, next_fire_times
from digest.lock import state_lock
from digest.logs import setup_logging
from digest.store import Store
from tests.conftest import RSS_CATEGORIES, SMALL_DAY, small_day_feed, write_config
from tests.fakes.http import Response

SEOUL = ZoneInfo("Asia/Seoul")


def test_default_cron_fires_weekdays_at_1030_seoul():
    monday = dt.datetime(2026, 11, 23, 0, 0, tzinfo=SEOUL)
    schedule = Config().schedule
    times = next_fire_times(schedule.cron, schedule.timezone, 6, now=monday)
    assert [t.strftime("%a %H:%M") for t in times] == [
        "Mon 10:30",
        "Tue 10:30",
        "Wed 10:30",
        "Thu 10:30",
        "Fri 10:30",
        "Mon 10:30",
    ]
    assert times[0] == dt.datetime(2026, 11, 23, 10, 30, tzinfo=SEOUL)
    # The defaults are not validated at load (that would import APScheduler for every command): here they are.
    weekly = next_fire_times(schedule.weekly_cron, schedule.timezone, 2, now=monday)
    assert [t.strftime("%a %H:%M") for t in weekly] == ["Sat 09:00", "Sat 09:00"]


@pytest.mark.parametrize(
    "field, expected",
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0,6", "sat,sun"),
        ("7", "sun"),
        ("5-7", "fri,sat,sun"),
        ("*/2", "tue,thu,sat,sun"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("*", "*"),
    ],
)
def test_crontab_weekdays_mean_what_they_mean_in_crontab(field, expected):
    assert crontab_day_of_week(field) == expected


@pytest.mark.parametrize(
    "zone, before, after",
    [
        # US spring forward 2026-03-08, fall back 2026-11-01: 08:30 local stays 08:30 local.
        ("America/New_York", dt.datetime(2026, 3, 6, 12, 0), dt.datetime(2026, 3, 10, 12, 0)),
        ("America/New_York", dt.datetime(2026, 10, 30, 12, 0), dt.datetime(2026, 11, 3, 12, 0)),
        # Europe: 2026-03-29 and 2026-10-25.
        ("Europe/Berlin", dt.datetime(2026, 3, 27, 12, 0), dt.datetime(2026, 3, 31, 12, 0)),
        ("Europe/Berlin", dt.datetime(2026, 10, 23, 12, 0), dt.datetime(2026, 10, 27, 12, 0)),
    ],
)
def test_fire_times_keep_local_time_across_dst(zone, before, after):
    tz = ZoneInfo(zone)
    times = next_fire_times("30 8 * * 1-5", zone, 3, now=before.replace(tzinfo=tz))
    assert [t.strftime("%a %H:%M") for t in times] == ["Mon 08:30", "Tue 08:30", "Wed 08:30"]
    offsets = {t.utcoffset() for t in times}
    assert len(offsets) == 1 and times[0].utcoffset() != before.replace(tzinfo=tz).utcoffset()
    assert times[-1] < after.replace(tzinfo=tz) + dt.timedelta(days=1)


def test_print_next_from_the_command_line(tmp_path, run_cli):
    config = write_config(
        tmp_path, schedule__cron="0 9 * * 1", schedule__timezone="Europe/Berlin", schedule__weekly_cron=None
    )
    result = run_cli("schedule", "--config", str(config), "--print-next", "2")
    lines = result.output.strip().splitlines()
    assert result.exit_code == 0 and len(lines) == 2
    assert all("Mon Europe/Berlin: " in line and "T09:00:00+0" in line for line in lines)


def test_print_next_shows_the_weekly_fires_beside_the_daily_ones(tmp_path, run_cli, monkeypatch):
    import digest.commands.schedule

    tuesday = dt.datetime(2026, 7, 7, 3, 0, tzinfo=dt.UTC)  # 12:00 KST, after that morning's fire
    monkeypatch.setitem(digest.commands.schedule.fire_lines.__kwdefaults__, "clock", fixed(tuesday))
    result = run_cli("schedule", "--config", str(write_config(tmp_path)), "--print-next", "6")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line[:25] for line in lines] == [
        "2026-07-08T10:30:00+09:00",
        "2026-07-09T10:30:00+09:00",
        "2026-07-10T10:30:00+09:00",
        "2026-07-11T09:00:00+09:00",
        "2026-07-13T10:30:00+09:00",
        "2026-07-14T10:30:00+09:00",
    ]
    # Saturday's fire builds the week whose last listing (Friday's) is out: the week that just ended.
    assert lines[3].endswith("Sat Asia/Seoul: weekly edition 2026-W28 (schedule.weekly_cron)")


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _runs(tmp_path):
    # Through the store, which creates the tables under the write lock if the first fire has not yet: a raw
    # connection could open the file between its creation and the first migration ("no such table: runs").
    store = Store(tmp_path / "output/digest.sqlite3")
    try:
        return [(r["status"], r["date"]) for r in reversed(store.recent_runs(1000))]
    finally:
        store.close()


def test_scheduler_fires_the_real_run_and_survives_a_failure(tmp_path, server):
    route = f"/rss/{RSS_CATEGORIES}"
    server.route(route, [Response(503, b"down")] + [Response(200, small_day_feed())])
    config = load_config(write_config(tmp_path, server.url, arxiv__max_retries=0))
    setup_logging(config)
    scheduler = build_scheduler(
        lambda: run_latest(config, scheduled=True),
        cron="* * * * *",
        timezone="Asia/Seoul",
        misfire_grace_seconds=60,
        trigger=IntervalTrigger(seconds=0.25, timezone=SEOUL),  # the cron, fired four times a second
    )
    scheduler.start()
    try:
        assert _wait_for(lambda: [s for s, _ in _runs(tmp_path)][:2] == ["failed", "ok"]), _runs(tmp_path)
        # Later fires find the same listing already built: nothing is rebuilt or sent again.
        assert _wait_for(lambda: "skipped" in [s for s, _ in _runs(tmp_path)])
    finally:
        scheduler.shutdown(wait=True)
    assert (tmp_path / "output/2026-06-30/digest.md").exists()
    log = (tmp_path / "output/digest.log").read_text()
    assert "scheduled run failed: arXiv RSS feed" in log
    assert "already built; arXiv has announced nothing newer yet" in log


def test_second_run_waits_for_the_lock_then_says_so(tmp_path, rss_server, run_cli):
    config_path = write_config(tmp_path, rss_server.url, state__lock_timeout_seconds=0.2)
    config = load_config(config_path)
    with state_lock(config.state_path, 1):
        result = run_cli("run", "--config", str(config_path))
    assert result.exit_code == 1
    assert "another digest run is using" in result.output and "nothing was changed" in result.output
    assert rss_server.hits(f"/rss/{RSS_CATEGORIES}") == 0
    assert run_cli("run", "--config", str(config_path)).exit_code == 0


def test_lock_is_released_when_the_holder_dies(tmp_path):
    state = tmp_path / "s.sqlite3"
    code = (
        f"from digest.lock import state_lock; import os, pathlib\n"
        f"with state_lock(pathlib.Path({str(state)!r}), 1):\n    os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with state_lock(state, 0.5):
        pass


def test_stale_feed_is_not_a_new_digest(tmp_path, server, run_cli):
    feed = small_day_feed()
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, feed))
    config = write_config(tmp_path, server.url)
    assert run_cli("run", "--config", str(config)).exit_code == 0
    # The same batch served again under the next date, as a stale arXiv feed does.
    server.route(f"/rss/{RSS_CATEGORIES}", Response(200, feed.replace(b"Tue, 30 Jun 2026", b"Wed, 01 Jul 2026")))
    result = run_cli("run", "--config", str(config))
    assert result.exit_code == 0
    assert (
        f"2026-07-01: the feed looks stale (all {SMALL_DAY} papers were announced on an earlier date)" in result.output
    )
    assert not (tmp_path / "output/2026-07-01").exists()


def test_a_signal_while_the_scheduler_starts_still_stops_it():
    # The signal lands inside scheduler.start(), before the scheduler runs: it used to be lost (the process
    # then ran on, deaf to the signal it had been sent).
    code = textwrap.dedent(
        """
        import signal
        from digest.commands.schedule import build_scheduler, run_forever

        scheduler = build_scheduler(print, cron="* * * * *", timezone="Asia/Seoul", misfire_grace_seconds=60)
        start = scheduler.start

        def start_while_signalled(*args, **kwargs):
            signal.raise_signal(signal.SIGTERM)
            start(*args, **kwargs)

        scheduler.start = start_while_signalled
        run_forever(scheduler)
        print("stopped", scheduler.running)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert (done.returncode, done.stdout) == (0, "stopped False\n"), done.stderr


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_schedule_stops_cleanly_on_signal(tmp_path, sig):
    import signal

    config = write_config(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "schedule", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(
            lambda: (
                (tmp_path / "output/digest.log").exists()
                and "scheduler started" in (tmp_path / "output/digest.log").read_text()
            ),
            timeout=20,
        )
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert (
        "scheduler running: cron '30 10 * * 1-5', weekly edition '0 9 * * 6' in Asia/Seoul" in out
        and "scheduler stopped" in out
    )
