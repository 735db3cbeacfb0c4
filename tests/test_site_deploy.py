"""deploy/github-actions-site.yml publishes what `digest site` builds, after each run of the digest workflow."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from digest.config import Config

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_pages_workflow_builds_the_site_after_the_digest_workflow_and_publishes_site_dir(run_cli, tmp_path):
    digest = yaml.safe_load((DEPLOY / "github-actions-digest.yml").read_text())
    site = yaml.safe_load((DEPLOY / "github-actions-site.yml").read_text())
    trigger = site[True]["workflow_run"]  # YAML reads the key `on` as True
    assert trigger["workflows"] == [digest["name"]] and trigger["types"] == ["completed"]
    assert site["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    steps = site["jobs"]["publish"]["steps"]
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore"))
    saved = next(s for s in digest["jobs"]["digest"]["steps"] if s.get("uses", "").startswith("actions/cache/save"))
    assert restore["with"]["path"] == saved["with"]["path"] == str(Config().report.output_dir)
    assert restore["with"]["restore-keys"] == saved["with"]["key"].split("$")[0]
    build = next(s for s in steps if "digest site" in s.get("run", ""))
    args = shlex.split(build["run"])
    assert args == ["digest", "site", "--config", "config.yaml"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == str(Config().site.dir)
    assert steps.index(build) < steps.index(upload) < steps.index(next(s for s in steps if s.get("id") == "deployment"))
    # the command it runs exists and builds site.dir from a config like the repository's
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    result = run_cli(*args[1:3], str(config))
    assert result.exit_code == 0, result.output
    assert (tmp_path / Config().site.dir / "index.html").exists()
