"""A channel another package provides is found through the `digest.channels` entry-point group, the way
simonw/llm finds plugins: a tiny package is really installed (pip, into a folder on PYTHONPATH), and the real
`digest` command validates its settings, checks it and sends through it, with nothing in digest/ naming it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import zipfile

import pytest
import yaml

from tests.conftest import DATE, SMALL_DAY

PLUGIN = '''
"""A channel that appends each report's counts to a file: one line per delivery."""

import json
from pathlib import Path

from digest.config import Audience, ChannelConfig
from digest.deliver.channels import Channel, ChannelError, Check, Prepared, content_hash
from digest.plugins import register_channel


class TinyFileConfig(ChannelConfig):
    targets_key = "paths"
    paths: list[str] = []

    def targets(self):
        return [Audience(p) for p in self.paths]


@register_channel
class TinyFileChannel(Channel):
    name = "tinyfile"
    config_model = TinyFileConfig

    def check(self):
        return [Check(f"tinyfile {p}", Path(p).parent.is_dir(), "ok (folder exists)") for p in self.settings.paths]

    def prepare(self, report):
        line = json.dumps({"date": report.date.isoformat(), "papers": len(report.digest.papers)})
        return Prepared(content_hash(line), 1, line)

    def deliver(self, prepared, target, *, start, on_sent):
        try:
            with open(target, "a", encoding="utf-8") as out:
                out.write(prepared.payload + "\\n")
        except OSError as exc:
            raise ChannelError(str(exc)) from None
        on_sent(1)
'''

DIST_INFO = "digest_tinyfile-0.1.dist-info"
WHEEL_FILES = {
    "digest_tinyfile.py": textwrap.dedent(PLUGIN),
    f"{DIST_INFO}/METADATA": "Metadata-Version: 2.1\nName: digest-tinyfile\nVersion: 0.1\n",
    f"{DIST_INFO}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    f"{DIST_INFO}/entry_points.txt": "[digest.channels]\ntinyfile = digest_tinyfile:TinyFileChannel\n",
}


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    """The package as its author would publish it (a wheel), installed by pip. A wheel needs no build step,
    so no build backend is downloaded: the tests stay offline."""
    wheel = tmp_path_factory.mktemp("dist") / "digest_tinyfile-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in WHEEL_FILES.items():
            archive.writestr(name, text)
        archive.writestr(
            f"{DIST_INFO}/RECORD", "".join(f"{name},,\n" for name in [*WHEEL_FILES, f"{DIST_INFO}/RECORD"])
        )
    target = tmp_path_factory.mktemp("site-packages")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    assert (target / "digest_tinyfile-0.1.dist-info" / "entry_points.txt").is_file()
    return target


def digest(target, *args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "digest", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_an_installed_channel_package_is_configured_checked_and_sent_exactly_once(
    tmp_path, installed_plugin, built_report
):
    inbox = tmp_path / "inbox.jsonl"
    config = tmp_path / "config.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["delivery"] = {"tinyfile": {"enabled": True, "paths": [str(inbox)]}}
    config.write_text(yaml.safe_dump(settings))

    checked = digest(installed_plugin, "check", "--config", str(config), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"tinyfile {inbox}: ok (folder exists)" in checked.stdout

    sent = digest(
        installed_plugin, "send", "--config", str(config), "--date", DATE, "--channel", "tinyfile", cwd=tmp_path
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "tinyfile sent 1" in sent.stdout
    assert [json.loads(line) for line in inbox.read_text().splitlines()] == [{"date": DATE, "papers": SMALL_DAY}]
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    assert db.execute("SELECT channel, target, status FROM deliveries").fetchall() == [("tinyfile", str(inbox), "sent")]

    again = digest(installed_plugin, "run", "--config", str(config), "--date", DATE, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(inbox.read_text().splitlines()) == 1  # the same ledger: exactly once


def test_without_the_package_its_settings_are_an_unknown_key(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"delivery": {"tinyfile": {"enabled": True}}}))
    result = digest(tmp_path, "check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "delivery.tinyfile: unknown key (channels are: telegram, email" in result.stderr
