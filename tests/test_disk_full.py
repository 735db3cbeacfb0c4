"""A disk that fills while the digest is being sent: what was sent is recorded (never sent again), the rest
is not sent, the run ends with one line naming the state's path, and the next run, with room again, sends
exactly what is missing. The disk is a real one: a 16 MB tmpfs mounted for the test (root only)."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ENV, write_config

DATE = "2026-06-30"


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"needs root to mount a small tmpfs ({mounted.stderr.decode().strip() or 'mount failed'})")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> None:
    """Write zeros until the file system says it is full (unbuffered: closing the file has nothing left to
    write, which would raise ENOSPC again)."""
    with (disk / "filler").open("wb", buffering=0) as out:
        try:
            while True:
                out.write(bytes(64 << 10))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_a_disk_filling_mid_delivery_records_what_was_sent_and_sends_the_rest_next_time(
    tmp_path, small_disk, rss_server, telegram, run_cli
):
    config = str(
        write_config(
            tmp_path,
            rss_server.url,
            report__output_dir=str(small_disk / "output"),
            state__path=str(small_disk / "output/digest.sqlite3"),
            log__file=str(small_disk / "output/digest.log"),
            delivery__telegram__enabled=True,
            delivery__telegram__api_url=telegram.url,
            delivery__telegram__chat_ids=[-1001, -1002],
            delivery__telegram__message_interval_seconds=0,
        )
    )
    built = run_cli("run", "--config", config, "--no-deliver", env=ENV)
    assert built.exit_code == 0, built.output
    assert (small_disk / "output/digest.sqlite3.reserve").stat().st_size == 1 << 20

    # The disk fills as soon as Telegram has taken the first chat's first message.
    telegram.after_send = lambda sent: (fill(small_disk), setattr(telegram, "after_send", None))
    result = run_cli("run", "--config", config, "--date", DATE, env=ENV)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    line = [x for x in result.output.splitlines() if x.startswith("error:")][0]
    assert line == (
        f"error: {DATE}: delivery failed for telegram chat -1002: not sent: the disk holding "
        f"{small_disk / 'output/digest.sqlite3'} (state.path) filled up; free space and run again"
    )
    first = telegram.for_chat(-1001)
    assert [s.method for s in first][0] == "sendPhoto" and first[-1].method == "sendDocument"  # all of it
    assert telegram.for_chat(-1002) == []
    db = sqlite3.connect(small_disk / "output/digest.sqlite3")
    assert dict(db.execute("SELECT target, status FROM deliveries").fetchall()) == {"-1001": "sent", "-1002": "failed"}
    status = run_cli("status", "--config", config, env=ENV).output
    assert "killed or crashed" not in status and " failed " in status

    (small_disk / "filler").unlink()
    again = run_cli("run", "--config", config, "--date", DATE, env=ENV)
    assert again.exit_code == 0, again.output
    assert len(telegram.for_chat(-1001)) == len(first)  # never twice
    assert len(telegram.for_chat(-1002)) == len(first)
    assert (small_disk / "output/digest.sqlite3.reserve").exists()


def test_a_full_disk_before_delivery_sends_nothing_and_says_where(tmp_path, small_disk, rss_server, telegram, run_cli):
    config = str(
        write_config(
            tmp_path,
            rss_server.url,
            report__output_dir=str(small_disk / "output"),
            state__path=str(small_disk / "output/digest.sqlite3"),
            delivery__telegram__enabled=True,
            delivery__telegram__api_url=telegram.url,
            delivery__telegram__chat_ids=[-1001],
        )
    )
    assert run_cli("run", "--config", config, "--no-deliver", env=ENV).exit_code == 0
    (small_disk / "output/digest.sqlite3.reserve").unlink()
    fill(small_disk)  # and no room to make the reserve again
    result = run_cli("run", "--config", config, "--date", DATE, env=ENV)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"the disk holding {small_disk / 'output/digest.sqlite3'} (state.path) is full" in result.output
    assert telegram.sent == []
