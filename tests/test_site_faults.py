"""The archive site under the faults an unattended server meets: a report it cannot read, a character XML
forbids, two builds at once, a build killed with -9, and a preview asked for files that are not the site's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from filelock import FileLock

from digest.config import load_config
from digest.errors import root_cause
from digest.site import build_site
from digest.site.serve import make_server
from tests.site_days import build_days, fixture_days


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The three fixture days built offline once, copied by each test that changes them."""
    folder = tmp_path_factory.mktemp("site-faults")
    build_days(folder, fixture_days(), llm=False)
    return folder


@pytest.fixture
def folder(built, tmp_path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(built, copy)
    return copy


def digest_json(folder: Path, day: str) -> Path:
    return folder / "output" / day / "digest.json"


def test_a_report_it_cannot_read_is_skipped_with_one_line_and_the_rest_is_built(folder, run_cli):
    site = folder / "output/site"
    kept = (site / "2026-06-30/index.html").read_text()
    truncated = digest_json(folder, "2026-06-30")
    truncated.write_bytes(truncated.read_bytes()[:5000])
    newer = digest_json(folder, "2026-07-01")
    data = json.loads(newer.read_text())
    newer.write_text(json.dumps({**data, "schema_version": 99}))
    (site / "2026-04-21/index.html").unlink()  # a page the build must write again, past the broken days

    result = run_cli("site", "--config", str(folder / "config.yaml"))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("site: 3 days, ")
    assert lines[1].startswith(
        f"warning: site: skipped 2026-06-30: {truncated}: not a digest.json this version can read (JSONDecodeError: "
    ) and lines[1].endswith("; rebuild it with `digest run --date 2026-06-30 --force`")
    assert lines[2] == (
        f"error: site: skipped 2026-07-01: {newer}: schema_version 99 is newer than this version reads (2); "
        "a newer arxiv-digest wrote it; rebuild it with `digest run --date 2026-07-01 --force`"
    )
    assert "Traceback" not in result.output
    assert (site / "2026-04-21/index.html").is_file()  # built though later days could not be read
    assert (site / "2026-06-30/index.html").read_text() == kept  # the last good page stays
    index = (site / "index.html").read_text()
    assert all(f"{day}/index.html" in index for day in ("2026-04-21", "2026-06-30", "2026-07-01"))


def test_a_report_never_built_into_the_site_and_unreadable_is_left_out(folder, run_cli):
    broken = folder / "output/2026-07-02"
    broken.mkdir()
    (broken / "digest.json").write_text('{"schema_version": 2, "date": "2026-07-02", "papers": [{"id"')
    result = run_cli("site", "--config", str(folder / "config.yaml"))
    assert result.exit_code == 1 and "site: skipped 2026-07-02: " in result.output
    site = folder / "output/site"
    assert not (site / "2026-07-02").exists()
    assert "2026-07-02" not in (site / "index.html").read_text()
    assert result.output.startswith("site: 3 days, ")


def test_the_run_that_refreshes_the_site_says_what_it_skipped_and_succeeds(folder, rss_server, run_cli):
    from tests.conftest import write_config

    digest_json(folder, "2026-04-21").write_text("{")
    config = write_config(folder, rss_server.url, site__enabled=True)
    result = run_cli("run", "--config", str(config), "--no-deliver", "--force")
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if line.startswith("2026-06-30: ")]
    assert len(said) == 1 and "1 report(s) it cannot read skipped (see the log)" in said[0]


def test_a_character_xml_forbids_never_breaks_the_feed(folder):
    # A report written before titles were cleaned of U+FFFE/U+FFFF: the feed must still be well-formed.
    path = digest_json(folder, "2026-07-01")
    data = json.loads(path.read_text())
    data["papers"][0]["title"] = "Robust\ufffe Planning\uffff under \x0bUncertainty"
    first = data["papers"][0]["id"]
    data["must_reads"] = [first, *[i for i in data["must_reads"] if i != first]][:5]
    path.write_text(json.dumps(data, ensure_ascii=False))
    build_site(load_config(folder / "config.yaml"))

    raw = (folder / "output/site/feed.xml").read_bytes()
    ET.fromstring(raw)  # expat refuses the document if one forbidden character is left
    feed = feedparser.parse(raw)
    assert not feed.bozo and "Robust Planning under Uncertainty" in feed.entries[0].summary


@pytest.fixture
def preview(folder):
    """The project folder as the site folder (`site.dir: "."`), built and served."""
    (folder / ".env").write_text("TELEGRAM_BOT_TOKEN=7012345678:secret\n")
    config_path = folder / "config.yaml"
    text = config_path.read_text().replace("site:\n", "site:\n  dir: .\n", 1)
    assert "dir: ." in text
    config_path.write_text(text)
    build_site(load_config(config_path))
    server = make_server(folder, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_preview_serves_the_sites_files_and_nothing_else(preview, folder):
    for page in ("/", "/index.html", "/2026-06-30/", "/2026-06-30/index.html", "/feed.xml", "/search/meta.json"):
        assert status(preview + page) == 200, page
    abstracts = next((folder / "2026-06-30").glob("abs-*.json")).name
    assert status(f"{preview}/2026-06-30/{abstracts}") == 200  # beside its page
    shard = next(p for p in (folder / "search").rglob("*.json") if p.parent.name != "search")
    assert status(f"{preview}/{shard.relative_to(folder).as_posix()}") == 200
    for private in (
        "/.env",
        "/config.yaml",
        "/digest.sqlite3",
        "/.manifest.json",
        "/output/2026-06-30/digest.json",
        "/2026-06-30/../.env",
        "/%2e%65nv",
        "/assets/",  # no folder listings
        "/search/",
    ):
        assert status(preview + private) == 404, private


def test_a_second_build_waits_for_the_first_and_then_says_so(folder, run_cli):
    config = folder / "config.yaml"
    config.write_text(config.read_text() + "\nstate:\n  lock_timeout_seconds: 0.5\n")
    lock = FileLock(str(folder / "output/.site-cache/build.lock"))
    with lock:
        result = run_cli("site", "--config", str(config))
    assert result.exit_code == 1
    assert result.output == (
        f"error: another site build is using {folder / 'output/site'} (waited 0.5s); nothing was changed\n"
    )


def digest_cli(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "digest", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def copy_days(folder: Path, count: int) -> None:
    """`count` more report folders, each a copy of 2026-06-30 under a later date (enough for the workers)."""
    import datetime as dt

    source = folder / "output/2026-06-30"
    for n in range(count):
        day = (dt.date(2026, 8, 3) + dt.timedelta(days=n)).isoformat()
        target = folder / "output" / day
        shutil.copytree(source, target)
        data = json.loads((target / "digest.json").read_text())
        (target / "digest.json").write_text(json.dumps({**data, "date": day}, ensure_ascii=False))


def test_two_builds_at_once_both_finish_without_a_traceback(folder):
    copy_days(folder, 8)
    shutil.rmtree(folder / "output/site")
    builds = [digest_cli("site", "--config", "config.yaml", cwd=folder) for _ in range(2)]
    outputs = [b.communicate(timeout=300) for b in builds]
    assert [b.returncode for b in builds] == [0, 0], outputs
    assert all("Traceback" not in out + err for out, err in outputs)
    assert sorted(out.split(",")[0] for out, _ in outputs) == ["site: 11 days"] * 2
    assert not list((folder / "output/site").rglob("*.tmp"))


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's bookkeeping is left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to find the worker processes")
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the site builds in worker processes only on 2+ CPUs")
def test_a_build_killed_with_9_leaves_no_worker_behind(folder):
    copy_days(folder, 24)
    shutil.rmtree(folder / "output/site")
    build = digest_cli("site", "--config", "config.yaml", cwd=folder)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while not workers and build.poll() is None and time.monotonic() < deadline:
        workers = children(build.pid)
        time.sleep(0.01)
    assert workers, "the build finished before its workers could be seen"
    build.send_signal(signal.SIGKILL)
    build.wait(timeout=10)
    deadline = time.monotonic() + 20
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(w) for w in workers)
    again = digest_cli("site", "--config", "config.yaml", cwd=folder)  # and the next build is not blocked
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0 and out.startswith("site: 27 days"), out + err


def test_the_cause_of_a_worker_failure_is_its_reason_not_its_traceback():
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as pool, pytest.raises(OSError) as failed:
        list(pool.map(open, ["/nonexistent/folder/page.html"]))
    assert root_cause(failed.value) == "No such file or directory"


def test_the_temporary_files_a_killed_build_left_are_swept_by_the_next(folder, run_cli):
    day = folder / "output/site/2026-06-30"
    left = [day / ".index.html.k3j9x2.tmp", folder / "output/site/.feed.xml.a81b0q.tmp"]
    for path in left:
        path.write_text("<html>half a page")
    result = run_cli("site", "--config", str(folder / "config.yaml"))
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in left) and not list((folder / "output/site").rglob("*.tmp"))


def test_a_day_left_out_is_not_the_previous_day_of_the_next(folder, run_cli):
    broken = folder / "output/2026-06-29"  # between 2026-04-21 and 2026-06-30, never built, unreadable
    broken.mkdir()
    (broken / "digest.json").write_text('{"schema_version": 2, "date": "2026-06-29", "pap')
    config = str(folder / "config.yaml")
    for _ in range(2):  # and a second build keeps it so
        result = run_cli("site", "--config", config)
        assert result.exit_code == 1 and "site: skipped 2026-06-29: " in result.output
        page = (folder / "output/site/2026-06-30/index.html").read_text()
        assert 'href="../2026-04-21/index.html" rel="prev"' in page and "2026-06-29" not in page
