"""The README's top section is what a new user follows to the letter: its steps are run here, against the
local fakes, and its systemd steps are read together with the unit file they install."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from tests.conftest import DATE, write_config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    """From `title` to the next heading of the same kind (a `## ` section, or a `**N. ` step)."""
    start = README.index(title)
    stop = "\n## " if title.startswith("## ") else "\n**"
    end = README.find(stop, start + 1)
    return README[start : end if end != -1 else None]


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.DOTALL)


def commands(text: str) -> list[list[str]]:
    return [shlex.split(line) for block in blocks(text, "bash") for line in block.splitlines() if line.strip()]


TELEGRAM = section("## 매일 아침 내 텔레그램으로").split("\n### ")[0]  # the six steps, not email and Actions


def test_following_the_telegram_steps_reaches_a_working_check_and_a_delivered_digest(
    tmp_path, rss_server, telegram, run_cli
):
    # Step 2: the shipped config.yaml with the README's lines, and the README's .env with a (fake) token.
    [snippet] = blocks(TELEGRAM, "yaml")
    readme_config = yaml.safe_load(snippet)
    chat = readme_config["delivery"]["telegram"]["chat_ids"][0]
    telegram.add_chat(chat, "내 연구실 논문")
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["delivery"]["telegram"].update(readme_config["delivery"]["telegram"])
    # What a test must change besides: the fakes' addresses, no LLM key (the offline path).
    local = yaml.safe_load(write_config(tmp_path, rss_server.url).read_text())
    config["arxiv"].update(local["arxiv"])
    config["site"] = {"enabled": False}
    config["delivery"]["telegram"]["api_url"] = telegram.url
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    [dotenv] = blocks(TELEGRAM, "dotenv")
    token_line = next(line for line in dotenv.splitlines() if line.startswith("TELEGRAM_BOT_TOKEN="))
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={telegram.token}\n")
    assert token_line.startswith("TELEGRAM_BOT_TOKEN=")

    steps = [c for c in commands(TELEGRAM) if c[0] == "digest"]
    assert steps == [["digest", "check"], ["digest", "run", "--no-deliver"], ["digest", "send", "--date", "2026-12-04"]]
    config_arg = ["--config", str(tmp_path / "config.yaml")]
    checked = run_cli(*steps[0][1:], *config_arg)  # step 3
    assert checked.exit_code == 0, checked.output
    assert f"telegram chat {chat}: ok (channel '내 연구실 논문')" in checked.output
    built = run_cli(*steps[1][1:], *config_arg)  # step 4
    assert built.exit_code == 0, built.output
    assert telegram.sent == []
    sent = run_cli(*steps[2][1:-1], DATE, *config_arg)  # "<that date>": the date the run built
    assert sent.exit_code == 0, sent.output
    methods = [s.method for s in telegram.for_chat(chat)]
    assert methods[0] == "sendPhoto" and "sendMessage" in methods
    assert telegram.for_chat(chat)[-1].filename == f"digest-{DATE}.html"  # the whole day, as a phone opens it


def test_the_systemd_steps_create_what_the_unit_file_needs():
    unit = (ROOT / "deploy/arxiv-digest.service").read_text()
    settings = dict(line.split("=", 1) for line in unit.splitlines() if re.match(r"^[A-Za-z]+=", line))
    user, home = settings["User"], settings["WorkingDirectory"]
    exec_start = shlex.split(settings["ExecStart"])
    venv = str(Path(exec_start[0]).parent.parent)
    config_path = exec_start[exec_start.index("--config") + 1]
    assert settings["EnvironmentFile"].lstrip("-") == f"{home}/.env" and config_path == f"{home}/config.yaml"

    steps = [c[1:] if c[0] == "sudo" else c for c in commands(section("**5. Every morning"))]
    assert ["useradd", "--system", "--home-dir", home, "--shell", "/usr/sbin/nologin", user] in steps
    assert ["python3", "-m", "venv", venv] in steps
    assert [f"{venv}/bin/pip", "install", "."] in steps
    assert ["cp", "config.yaml", ".env", f"{home}/"] in steps
    assert ["chown", "-R", f"{user}:", home] in steps
    assert ["chmod", "600", f"{home}/.env"] in steps
    assert ["-u", user, exec_start[0], "check", "--config", config_path] in steps  # checked as the service's user
    assert ["cp", "deploy/arxiv-digest.service", "/etc/systemd/system/"] in steps
    enable = next(s for s in steps if "enable" in s)
    assert enable[-1] == "arxiv-digest" and "--now" in enable
    order = [next(i for i, s in enumerate(steps) if s[0] == word) for word in ("useradd", "cp", "chown")]
    assert order == sorted(order)  # the user exists before chown, the files before their owner changes
