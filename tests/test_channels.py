"""A channel is one module and one config model: a webhook channel registered here, and nowhere else,
is validated by the config, checked by `digest check`, and delivered by `digest send --channel webhook`
through the same exactly-once ledger as Telegram and email."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import httpx
import pytest

from digest.config import Audience, ChannelConfig
from digest.deliver.channels import Channel, ChannelError, Check, Prepared, content_hash
from digest.plugins import register_channel
from digest.report import Report
from tests.conftest import DATE, SMALL_DAY, write_config
from tests.fakes.http import FakeServer, Response


class WebhookConfig(ChannelConfig):
    targets_key = "urls"
    urls: list[str] = []
    timeout_seconds: float = 5.0

    def targets(self) -> list[Audience]:
        return [Audience(url) for url in self.urls]


class WebhookChannel(Channel):
    """POSTs the day as JSON to each URL."""

    name = "webhook"
    config_model = WebhookConfig
    settings: WebhookConfig

    def check(self) -> list[Check]:
        checks = []
        for url in self.settings.urls:
            try:
                status = httpx.head(url, timeout=self.settings.timeout_seconds).status_code
            except httpx.HTTPError as exc:
                checks.append(Check(f"webhook {url}", False, type(exc).__name__))
                continue
            checks.append(Check(f"webhook {url}", status < 500, f"ok (HTTP {status})"))
        return checks

    def prepare(self, report: Report) -> Prepared:
        body = {"date": report.date.isoformat(), "papers": len(report.digest.papers), "counts": report.digest.counts}
        return Prepared(content_hash(json.dumps(body)), 1, body)

    def deliver(self, prepared: Prepared, target: str, *, start: int, on_sent: Callable[[int], None]) -> None:
        response = httpx.post(target, json=prepared.payload, timeout=self.settings.timeout_seconds)
        if response.status_code >= 300:
            raise ChannelError(f"HTTP {response.status_code}")
        on_sent(1)


@pytest.fixture
def webhook(monkeypatch):
    from digest import plugins

    # This test's registration goes with it: the registry as loaded (built-in channels and installed plugins)
    # is copied, and the copy restored afterwards.
    monkeypatch.setattr(plugins, "_channels", dict(plugins.channels()))
    register_channel(WebhookChannel)
    server = FakeServer()
    server.route("/hook", Response(200, "ok"))
    with server:
        yield server


def test_a_channel_registered_in_its_own_module_is_configured_checked_and_sent_exactly_once(
    tmp_path,
    rss_server,
    webhook,
    built_report,  # noqa: F811
    run_cli,
):
    url = f"{webhook.url}/hook"
    settings = {"delivery__webhook__enabled": True, "delivery__webhook__urls": [url]}
    config = str(write_config(tmp_path, rss_server.url, **settings))

    checked = run_cli("check", "--config", config)
    assert f"webhook {url}: ok (HTTP" in checked.output and "telegram: disabled" in checked.output

    sent = run_cli("send", "--config", config, "--date", DATE, "--channel", "webhook")
    assert sent.exit_code == 0, sent.output
    assert "webhook sent 1" in sent.output
    [post] = [r for r in webhook.requests if r.method == "POST"]
    assert json.loads(post.body) == {
        "date": DATE,
        "papers": SMALL_DAY,
        "counts": json.loads((built_report / "digest.json").read_text())["counts"],
    }
    db = sqlite3.connect(tmp_path / "output/digest.sqlite3")
    assert db.execute("SELECT channel, target, status FROM deliveries").fetchall() == [("webhook", url, "sent")]

    again = run_cli("run", "--config", config, "--date", DATE)
    assert again.exit_code == 0, again.output
    assert len([r for r in webhook.requests if r.method == "POST"]) == 1  # the ledger: exactly once


def test_a_config_naming_an_unregistered_channel_or_a_bad_setting_of_one_is_refused(tmp_path, webhook, run_cli):
    bad = run_cli("check", "--config", str(write_config(tmp_path, delivery__pager__enabled=True)))
    assert bad.exit_code == 2 and "config.yaml: delivery.pager: unknown key (channels are: " in bad.output
    wrong = run_cli(
        "check", "--config", str(write_config(tmp_path, delivery__webhook__urls="x", delivery__webhook__enabled=True))
    )
    assert wrong.exit_code == 2 and "config.yaml: delivery.webhook.urls" in wrong.output
    unknown = run_cli("send", "--config", str(write_config(tmp_path)), "--date", DATE, "--channel", "pager")
    assert unknown.exit_code == 2 and "'pager' is not a channel" in unknown.output
