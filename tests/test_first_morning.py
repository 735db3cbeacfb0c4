"""The first morning of a new user: each setup mistake is caught by `digest check` (or the first run) with one
line that names what is missing or wrong and the key or path to change, before any LLM call is paid for."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.fakes.openai_server import FakeOpenAI


def test_a_server_that_wants_a_key_when_none_is_set_is_told_so_not_that_the_key_was_refused(
    tmp_path, rss_server, run_cli
):
    with FakeOpenAI(keys=("sk-right-key-1234",)) as fake:
        config = str(write_config(tmp_path, rss_server.url, llm__base_url=fake.url))
        checked = run_cli("check", "--config", config)
        assert checked.exit_code == 1
        assert "this server wants an API key and OPENAI_API_KEY is not set" in checked.output
        assert "refused" not in checked.output
        run = run_cli("run", "--config", config, "--no-deliver")
        assert run.exit_code == 1
        assert "this server wants an API key and OPENAI_API_KEY is not set" in run.output
        assert "no-key" not in run.output


@pytest.fixture
def unwritable(tmp_path):
    """A folder this process cannot write: read-only permissions for a user, a read-only mount for root (whom
    permissions do not stop)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"root needs a read-only mount to be refused a write ({mounted.stderr.decode().strip()})")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_check_names_every_folder_a_run_could_not_write_before_anything_is_spent(tmp_path, unwritable, run_cli):
    config = str(
        write_config(
            tmp_path,
            report__output_dir=str(unwritable / "output"),
            state__path=str(unwritable / "digest.sqlite3"),
            log__file=None,
        )
    )
    checked = run_cli("check", "--config", config)
    assert checked.exit_code == 1
    lines = [line for line in checked.output.splitlines() if line.startswith("folders:")]
    why = "Permission denied" if os.geteuid() else "Read-only file system"
    assert lines == [
        f"folders: report.output_dir: cannot write {unwritable / 'output'} ({why}): give this user write "
        "access to it, or set report.output_dir to a folder it can write",
        f"folders: state.path: cannot write {unwritable} ({why}): give this user write access to it, or set "
        "state.path to a folder it can write",
    ]


def test_a_run_into_an_unwritable_folder_stops_before_fetching_or_calling_the_llm(
    tmp_path, unwritable, rss_server, run_cli
):
    with FakeOpenAI() as fake:
        config = str(
            write_config(
                tmp_path, rss_server.url, report__output_dir=str(unwritable / "output"), llm__base_url=fake.url
            )
        )
        result = run_cli("run", "--config", config)
        assert result.exit_code == 2
        assert result.output.strip().startswith(f"error: report.output_dir: cannot write {unwritable / 'output'} (")
        assert fake.calls == [] and rss_server.requests == []


def test_the_demo_builds_its_site_says_how_to_preview_it_and_status_points_at_it(tmp_path, run_cli, monkeypatch):
    import shutil

    shutil.copy(Path(__file__).resolve().parent.parent / "config.yaml", tmp_path / "config.yaml")
    monkeypatch.chdir(tmp_path)
    result = run_cli("demo")
    assert result.exit_code == 0, result.output
    demo_file = tmp_path / "output/demo/config.yaml"
    assert f"preview it: digest site --serve --config {demo_file}" in result.output
    assert (tmp_path / "output/demo/site/2026-06-30/index.html").is_file()
    assert not (tmp_path / "output/demo/digest.sqlite3-wal").exists()  # closed cleanly, one file
    status = run_cli("status")
    assert f"the demo keeps its own state and site: add --config {demo_file} to see them" in status.output
    demo_status = run_cli("status", "--config", str(demo_file))
    assert " demo " in demo_status.output and "532 papers" in demo_status.output
    site = run_cli("site", "--config", str(demo_file))
    assert site.exit_code == 0 and site.output.startswith("site: 1 day, ")
