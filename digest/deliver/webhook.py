"""What Slack's and Discord's channels share: webhooks named by environment variables (a webhook URL is a
secret: whoever has it can post), the settings, and one POST on the shared retry policy.

A target is the name of the environment variable that holds its URL (`SLACK_WEBHOOK_LAB`), never the URL:
it is what the ledger, `digest status` and every error line show. The URL and its secret parts are handed
to the one scrubber (digest/secrets.py) as soon as they are read.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, ClassVar

import httpx
from pydantic import Field, field_validator

from digest.config import MAX_INTERVAL, MAX_TIMEOUT, Audience, ChannelConfig, Config, Strict, env_name
from digest.deliver.channels import Channel, ChannelError
from digest.net import http_client, retry_after, retryable_status
from digest.retry import SYSTEM_CLOCK, Clock, retrying
from digest.secrets import add, scrub

log = logging.getLogger("digest")


class WebhookTarget(Strict):
    """A webhook that gets only some topics: `{env: SLACK_WEBHOOK_VISION, topics: [Computer Vision]}`."""

    env: str
    topics: list[str] | None = None

    @field_validator("env")
    @classmethod
    def _env_is_a_name(cls, value: str) -> str:
        return env_name(value)


class WebhookConfig(ChannelConfig):
    """A webhook channel's settings: the variables holding the URLs, and how patiently to post."""

    targets_key: ClassVar[str] = "webhooks"
    webhooks: list[str | WebhookTarget] = Field(default_factory=list)
    timeout_seconds: float = Field(30.0, gt=0, le=MAX_TIMEOUT)
    max_retries: int = Field(4, ge=0, le=20)
    backoff_seconds: float = Field(2.0, ge=0, le=MAX_INTERVAL)  # first wait after a network error or 5xx
    # A 429 asking for a longer wait fails that target for this run at once (the next run resumes it).
    max_retry_after_seconds: float = Field(300.0, ge=0, le=3600)
    message_interval_seconds: float = Field(1.0, ge=0, le=MAX_INTERVAL)  # between the posts of one target

    @field_validator("webhooks")
    @classmethod
    def _names(cls, value: list) -> list:
        for entry in value:
            if isinstance(entry, str):
                env_name(entry)
        return value

    def targets(self) -> list[Audience]:
        return [Audience.of(w, "env") if isinstance(w, WebhookTarget) else Audience(w) for w in self.webhooks]


class WebhookError(Exception):
    """A post that failed; the text names the target's variable, never its URL."""

    def __init__(self, message: str, status: int = 0, *, retryable: bool = False, wait: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.wait = wait


def secret_parts(url: str) -> list[str]:
    """A webhook URL and the parts of its path that carry the secret (ids and token), for the scrubber."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url).strip("/")
    segments = path.split("/")
    return [url, *("/".join(segments[i:]) for i in range(2, len(segments))), segments[-1]]


class WebhookChannel(Channel):
    """A channel that posts to webhook URLs read from the environment."""

    target_noun = "webhook"
    settings: WebhookConfig

    def __init__(self, config: Config, settings: WebhookConfig, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__(config, settings)
        self.clock = clock
        self._client: httpx.Client | None = None

    def url(self, target: str) -> str:
        """The URL in the environment variable `target`; ChannelError when it is not set."""
        url = self.config.secret(target)
        if not url:
            raise ChannelError(f"{target} is not set (environment or .env): it holds the webhook's URL")
        add(*secret_parts(url))
        if not re.match(r"^https?://", url):
            raise ChannelError(f"{target} does not hold a webhook URL (it should start with https://)")
        return url

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = http_client(self.settings.timeout_seconds, follow_redirects=False)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def request(self, method: str, target: str, url: str, *, retries: int | None = None, **send: Any) -> httpx.Response:
        """One request on the shared retry policy: network errors and 5xx with backoff, a 429 after the wait
        it asks (Retry-After, or Discord's `retry_after`), one asking longer than max_retry_after_seconds
        failing at once; any other answer is returned for the channel to read."""
        cfg = self.settings

        def once() -> httpx.Response:
            try:
                response = self.client.request(method, url, **send)
            except httpx.HTTPError as exc:
                raise WebhookError(f"{type(exc).__name__}: {scrub(str(exc)) or 'no answer'}", retryable=True) from None
            if response.status_code == 429:
                wait = _asked_wait(response)
                if wait is not None and wait > cfg.max_retry_after_seconds:
                    raise WebhookError(
                        f"HTTP 429 rate limited: the service asks to wait {wait:.0f}s, more than "
                        f"delivery.{self.name}.max_retry_after_seconds {cfg.max_retry_after_seconds:g}s: not "
                        "waiting; the next run resumes this target",
                        429,
                    )
                raise WebhookError("HTTP 429 rate limited", 429, retryable=True, wait=wait)
            if response.status_code >= 500 and retryable_status(response.status_code):
                raise WebhookError(f"HTTP {response.status_code}", response.status_code, retryable=True)
            return response

        policy = retrying(
            retries=cfg.max_retries if retries is None else retries,
            backoff=cfg.backoff_seconds,
            retryable=lambda exc: isinstance(exc, WebhookError) and exc.retryable,
            server_wait=lambda exc: getattr(exc, "wait", None),
            max_wait=cfg.max_retry_after_seconds,
            clock=self.clock,
            what=f"{self.name} {target}",
        )
        try:
            return policy(once)
        except WebhookError as exc:
            raise ChannelError(scrub(str(exc))) from None


def _asked_wait(response: httpx.Response) -> float | None:
    """Retry-After (Slack, Discord), else Discord's `retry_after` in the JSON body (seconds, a float)."""
    wait = retry_after(response.headers)
    if wait is not None:
        return wait
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return None
    value = body.get("retry_after") if isinstance(body, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
