"""The deployment recipes in deploy/ must match this project's commands, config and secrets."""

import datetime as dt
import shlex
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from digest.config import Config
from digest.cron import next_fire_times

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_github_workflow_runs_at_1030_kst_on_weekdays_with_the_right_secrets():
    workflow = yaml.safe_load((DEPLOY / "github-actions-digest.yml").read_text())
    cron = workflow[True]["schedule"][0]["cron"]  # YAML reads the key `on` as True
    monday = dt.datetime(2026, 11, 23, tzinfo=ZoneInfo("UTC"))
    fires = next_fire_times(cron, "UTC", 5, now=monday)
    assert [f.astimezone(ZoneInfo("Asia/Seoul")).strftime("%a %H:%M") for f in fires] == [
        "Mon 10:30",
        "Tue 10:30",
        "Wed 10:30",
        "Thu 10:30",
        "Fri 10:30",
    ]
    steps = workflow["jobs"]["digest"]["steps"]
    run_step = next(s for s in steps if "digest run" in s.get("run", ""))
    assert shlex.split(run_step["run"]) == ["digest", "run", "--config", "config.yaml"]
    defaults = Config()
    assert set(run_step["env"]) == {
        defaults.llm.api_key_env,
        defaults.delivery.telegram.token_env,
        defaults.delivery.email.password_env,
    }
    cached = [s["with"]["path"] for s in steps if "cache" in s.get("uses", "")]
    assert cached == [str(defaults.report.output_dir)] * 2 and str(defaults.state.path).startswith("output/")


def test_systemd_unit_runs_the_scheduler(run_cli, tmp_path):
    unit = (DEPLOY / "arxiv-digest.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    args = shlex.split(exec_start.removeprefix("ExecStart="))
    assert args[0].endswith("/bin/digest") and args[1:3] == ["schedule", "--config"]
    assert "KillSignal=SIGTERM" in unit
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    result = run_cli(*args[1:3], str(config), "--print-next", "1")
    assert result.exit_code == 0 and "Asia/Seoul" in result.output
