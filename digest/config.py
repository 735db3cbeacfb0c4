"""Configuration: pydantic models that reject unknown keys, path resolution, secrets from the environment."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from digest.errors import ConfigError

OTHER = "Other"
CONFIG_ENV = "DIGEST_CONFIG"
DEFAULT_CONFIG_NAME = "config.yaml"

# arXiv holidays from arXiv's availability page (2025 and 2026); users add ad-hoc ones in config.
DEFAULT_HOLIDAYS = [
    "2025-01-01",
    "2025-01-20",
    "2025-06-19",
    "2025-07-06",
    "2025-09-01",
    "2025-11-27",
    "2025-12-25",
    "2025-12-30",
    "2026-01-01",
    "2026-01-19",
    "2026-06-19",
    "2026-07-03",
    "2026-09-07",
    "2026-11-26",
    "2026-12-25",
    "2026-12-29",
    "2026-12-31",
]


# Bounds of every timeout and wait: a typo (1e300) must be a config error, not a run that hangs or overflows.
MAX_TIMEOUT = 3600.0
MAX_INTERVAL = 300.0
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_name(value: str) -> str:
    """A *_env key names an environment variable; one that looks like a secret is refused without echoing it."""
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(
            "must be the NAME of an environment variable (like TELEGRAM_BOT_TOKEN) that holds the secret, "
            "not the secret itself"
        )
    return value


def _address(value: str, key: str) -> str:
    """One e-mail address, without CR/LF or other controls (a header injection) and with an @."""
    from email.utils import parseaddr

    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"{key} contains a line break or control character; one plain address per entry")
    _, address = parseaddr(value)
    if "@" not in address or any(ch.isspace() for ch in address):
        raise ValueError(f"{key}: {value!r} is not an e-mail address")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ReportConfig(Strict):
    title: str = "Daily Artificial Intelligence Insights : Papers"
    output_dir: Path = Path("output")
    max_papers_per_category: int = Field(5, ge=1, le=100)
    must_reads: int = Field(5, ge=0, le=20)  # 오늘의 핵심 논문 across all topics; 0 leaves the section out
    # With an LLM, each topic's summary call is offered this many top candidates and picks the
    # max_papers_per_category it features (the ranking's ties and batch drift matter less).
    summary_candidates: int = Field(12, ge=1, le=50)
    templates_dir: Path | None = None


ARXIV_SHOW_VALUES = (25, 50, 100, 250, 500, 1000, 2000)  # the page sizes arXiv's listing pages accept


class ArxivConfig(Strict):
    categories: list[str] = Field(default_factory=lambda: ["cs.AI", "cs.CL", "cs.CV", "cs.LG"], min_length=1)
    # The /list/<category>/new pages switch at the announcement (20:00 ET); None leaves only the RSS feed.
    listing_url: str | None = "https://arxiv.org/list/{category}/new?skip=0&show=2000"
    rss_url: str = "https://rss.arxiv.org/rss/{categories}"
    api_url: str = "https://export.arxiv.org/api/query"
    api_delay_seconds: float = Field(3.0, ge=0, le=MAX_INTERVAL)
    api_page_size: int = Field(2000, ge=1, le=2000)
    announce_types: list[Literal["new", "cross", "replace", "replace-cross"]] = Field(
        default_factory=lambda: ["new", "cross"], min_length=1
    )
    holidays: list[dt.date] = Field(default_factory=lambda: [dt.date.fromisoformat(d) for d in DEFAULT_HOLIDAYS])
    timeout_seconds: float = Field(60.0, gt=0, le=MAX_TIMEOUT)
    max_retries: int = Field(4, ge=0, le=20)
    backoff_seconds: float = Field(2.0, ge=0, le=MAX_INTERVAL)  # first wait between retries; doubles each time
    catch_up_days: int = Field(7, ge=0, le=60)  # `digest run` also builds listings it missed, this far back

    @field_validator("listing_url")
    @classmethod
    def _listing_url(cls, value: str | None) -> str | None:
        if value is not None and "{category}" not in value:
            raise ValueError("must contain {category} (one page per arXiv category), or be null")
        show = dict(parse_qsl(urlsplit(value or "").query)).get("show")
        if show is not None and show not in {str(v) for v in ARXIV_SHOW_VALUES}:
            values = ", ".join(str(v) for v in ARXIV_SHOW_VALUES[:-1]) + f" or {ARXIV_SHOW_VALUES[-1]}"
            raise ValueError(
                f"show={show} is not a page size arXiv accepts ({values}; anything else is HTTP 400): "
                "show=2000 reads the most, and a bigger category is read in pages"
            )
        return value

    @field_validator("categories")
    @classmethod
    def _category_names(cls, value: list[str]) -> list[str]:
        for cat in value:
            if not cat or any(ch.isspace() or ch == "+" for ch in cat):
                raise ValueError(f"not an arXiv category: {cat!r}")
        return value


class TopicConfig(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    keywords: list[str] = Field(default_factory=list)
    arxiv: list[str] = Field(default_factory=list)
    weight: float = Field(1.0, gt=0, le=10)  # offline classifier: how readily this topic wins a tie


DEFAULT_MODEL = "gpt-6-luna"  # OpenAI's replacement for gpt-4o-mini (shut down 2027-01-14); see README
# gpt-6-luna reasons at medium unless told otherwise; its hidden reasoning tokens are billed as output, and a
# digest's sorting and summarising needs little of it (docs/llm-servers.md has the cost of each effort).
DEFAULT_REASONING_EFFORT = "low"


class LLMConfig(Strict):
    base_url: str | None = None
    model: str = DEFAULT_MODEL
    api_key_env: str = "OPENAI_API_KEY"
    batch_size: int = Field(25, ge=1, le=500)
    concurrency: int = Field(4, ge=1, le=64)
    max_retries: int = Field(4, ge=0, le=20)
    timeout_seconds: float = Field(120.0, gt=0, le=MAX_TIMEOUT)
    # first wait between retries; doubles each time (Retry-After wins)
    backoff_seconds: float = Field(2.0, ge=0, le=MAX_INTERVAL)
    # Request parameters are sent only when set: reasoning models (gpt-5/6, o-series) refuse temperature.
    temperature: float | None = Field(None, ge=0, le=2)
    # Sent only when set: none | low | medium | high (OpenAI's reasoning models, DeepSeek, Gemini, vLLM). Left
    # out of the config: DEFAULT_REASONING_EFFORT for the default model, nothing for others; null: nothing.
    reasoning_effort: str | None = Field(None, min_length=1)
    max_output_tokens: int | None = Field(None, ge=1)  # sent as max_tokens, or max_completion_tokens where required
    extra_body: dict[str, Any] = Field(default_factory=dict)  # passed through as is (e.g. Ollama's options)
    # auto tries json_schema, then json_object, then plain text, and remembers what worked per server and model.
    structured_output: Literal["auto", "json_schema", "json_object", "text"] = "auto"

    @field_validator("api_key_env")
    @classmethod
    def _api_key_env_is_a_name(cls, value: str) -> str:
        return env_name(value)

    @model_validator(mode="after")
    def _default_effort(self) -> LLMConfig:
        if "reasoning_effort" not in self.model_fields_set and self.model == DEFAULT_MODEL:
            self.reasoning_effort = DEFAULT_REASONING_EFFORT
        return self


@dataclass(frozen=True)
class Audience:
    """One delivery target and the topics it gets (None: all of them)."""

    target: str
    topics: tuple[str, ...] | None = None

    @classmethod
    def of(cls, entry: str | BaseModel, key: str) -> Audience:
        if isinstance(entry, BaseModel):
            topics = getattr(entry, "topics", None)
            return cls(str(getattr(entry, key)), tuple(topics) if topics is not None else None)
        return cls(str(entry))


class ChannelConfig(Strict):
    """What every delivery channel's settings have (digest/plugins.py finds the channels): a switch and targets."""

    enabled: bool = False
    targets_key: ClassVar[str] = "targets"  # the key listing its targets, for messages

    def targets(self) -> list[Audience]:
        raise NotImplementedError


class ChatTarget(Strict):
    """A chat that gets only some topics: `{id: "-100123", topics: [Computer Vision]}`."""

    id: int | str
    topics: list[str] | None = None


class RecipientTarget(Strict):
    """A recipient that gets only some topics: `{address: "a@x.org", topics: [LLM]}`."""

    address: str
    topics: list[str] | None = None


class TelegramConfig(ChannelConfig):
    targets_key: ClassVar[str] = "chat_ids"
    api_url: str = "https://api.telegram.org"
    token_env: str = "TELEGRAM_BOT_TOKEN"
    chat_ids: list[int | str | ChatTarget] = Field(default_factory=list)
    timeout_seconds: float = Field(30.0, gt=0, le=MAX_TIMEOUT)
    max_retries: int = Field(4, ge=0, le=20)
    backoff_seconds: float = Field(2.0, ge=0, le=MAX_INTERVAL)  # first wait after a network error or 5xx; doubles

    def targets(self) -> list[Audience]:
        return [Audience.of(c, "id") for c in self.chat_ids]

    # Telegram allows about one message a second per chat (20 a minute in groups); 429s are honoured too.
    message_interval_seconds: float = Field(1.0, ge=0, le=MAX_INTERVAL)
    # A 429 asking for a longer wait fails that chat for this run at once (the next run resumes it): a
    # retry_after of a day must not hold the run, the state lock and the other channels for a day.
    max_retry_after_seconds: float = Field(300.0, ge=0, le=3600)
    # compact: must-reads and one line per topic in one message; full: every topic's synthesis as messages
    format: Literal["compact", "full"] = "compact"
    # 👍/👎/🔖 buttons under the digest; the taps are read back (getUpdates) and learned from (digest/learn.py)
    feedback: bool = True

    @property
    def reads_taps(self) -> bool:
        """Whether there are taps to read: buttons are sent to at least one chat."""
        return self.enabled and self.feedback and bool(self.chat_ids)

    @field_validator("token_env")
    @classmethod
    def _token_env_is_a_name(cls, value: str) -> str:
        return env_name(value)


class EmailConfig(ChannelConfig):
    targets_key: ClassVar[str] = "recipients"
    smtp_host: str = "localhost"
    smtp_port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str = "SMTP_PASSWORD"
    sender: str = "digest@example.com"
    recipients: list[str | RecipientTarget] = Field(default_factory=list)
    timeout_seconds: float = Field(30.0, gt=0, le=MAX_TIMEOUT)
    ca_file: Path | None = None  # extra CA certificates (PEM) to trust, for a server with a private CA

    @field_validator("password_env")
    @classmethod
    def _password_env_is_a_name(cls, value: str) -> str:
        return env_name(value)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value, "the sender")

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list) -> list:
        for entry in value:  # "a@x.org", or an entry with an address (and topics)
            address = entry.get("address") if isinstance(entry, dict) else getattr(entry, "address", entry)
            if isinstance(address, str):
                _address(address, "a recipient")
        return value

    def targets(self) -> list[Audience]:
        return [Audience.of(r, "address") for r in self.recipients]


class DeliveryConfig(Strict):
    """One key per channel. Channels other than the built-in two are plugins (digest/plugins.py); their
    settings are validated by their own config model and found with settings(name)."""

    model_config = ConfigDict(extra="allow", validate_default=True)

    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    email: EmailConfig = Field(default_factory=EmailConfig)

    @model_validator(mode="after")
    def _registered_channels(self) -> DeliveryConfig:
        if not self.__pydantic_extra__:  # telegram and email only: no channel module to import
            return self
        from digest.plugins import channels, load_failure

        known = channels()
        for name, value in list((self.__pydantic_extra__ or {}).items()):
            if name not in known:
                broken = load_failure(name)
                if broken:
                    raise ValueError(f"delivery.{name}: the channel plugin {name!r} could not be loaded ({broken})")
                raise ValueError(f"delivery.{name}: unknown key (channels are: {', '.join(known)})")
            try:
                self.__pydantic_extra__[name] = known[name].config_model.model_validate(value or {})
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in (name, *err["loc"]))
                raise ValueError(f"delivery.{where}: {err['msg'].removeprefix('Value error, ')}") from None
        return self

    def settings(self, name: str) -> ChannelConfig:
        """A channel's settings; its config model's defaults (disabled) when the config does not name it."""
        from digest.plugins import channel as registered

        value = (
            getattr(self, name, None) if name in type(self).model_fields else (self.__pydantic_extra__ or {}).get(name)
        )
        if value is None:
            found = registered(name)
            if found is None:
                raise ConfigError(f"unknown delivery channel {name!r}")
            value = found.config_model()
        return value


class ScheduleConfig(Strict):
    # 10:30 KST: after arXiv's 20:00 ET announcement all year (09:00 KST under EDT, 10:00 under EST).
    cron: str = "30 10 * * 1-5"
    # The weekly edition (`digest week`), Saturday 09:00: the week's listings are all out by then; null: off.
    weekly_cron: str | None = "0 9 * * 6"
    timezone: str = "Asia/Seoul"
    # A fire that wakes late still runs within this; a fire that finds arXiv late waits this long for it.
    misfire_grace_seconds: int = Field(3600, ge=1, le=86400)
    retry_seconds: int = Field(300, ge=1)  # how often a fire asks again while arXiv has not announced yet

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            hint = timezone_hint(value)
            raise ValueError(f"unknown time zone {value!r}" + (f" (did you mean {hint!r}?)" if hint else "")) from exc
        return value

    @model_validator(mode="after")
    def _cron(self) -> ScheduleConfig:
        from digest.cron import cron_trigger

        for key, expr in (("cron", self.cron), ("weekly_cron", self.weekly_cron)):
            # A default is known to parse (tests/test_schedule.py checks): only a user's own expression pays
            # for importing APScheduler, which every command loading the config would otherwise do.
            if expr is None or expr == type(self).model_fields[key].default:
                continue
            try:
                cron_trigger(expr, self.timezone)
            except ValueError as exc:
                raise ValueError(
                    f"schedule.{key}: {expr!r} does not parse ({exc}); five fields, minute hour day month "
                    'weekday, as in crontab: "30 10 * * 1-5"'
                ) from exc
        return self


OWN_PAPER_FILES = (".bib", ".json")  # interests.papers files: BibTeX, CSL-JSON


class InterestsConfig(Strict):
    description: str | None = None  # free text for the LLM ("LLM inference on GPUs, Korean NLP")
    keywords: list[str] = Field(default_factory=list)  # raise relevance (LLM and offline)
    authors: list[str] = Field(default_factory=list)  # their papers lead the must-reads (up to max_followed)
    # How many followed authors' papers may lead the must-reads (the most important first): a common surname
    # must not turn "5 must-reads" into 200. The others still rank first within their topics.
    max_followed: int = Field(5, ge=0, le=50)
    exclude: list[str] = Field(default_factory=list)  # matching papers are left out of every report
    # Your own papers or library: arXiv ids, or paths of BibTeX / CSL-JSON (Zotero export) files; what the
    # digest learns from taps starts from them (digest/learn.py).
    papers: list[str] = Field(default_factory=list)


class StateConfig(Strict):
    path: Path = Path("output/digest.sqlite3")
    lock_timeout_seconds: float = Field(1800, ge=0, le=86400)  # how long a run waits for another one on the same state


class SiteConfig(Strict):
    enabled: bool = True  # `digest run` and `digest backfill` refresh the archive site after each report
    dir: Path = Path("output/site")
    base_url: str | None = None  # where the site is published; then Telegram and email link each day's page

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError(f"not an http(s) URL of a folder: {value!r}")
        return value.rstrip("/") + "/"


class LogConfig(Strict):
    file: Path | None = Path("output/digest.log")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: int = Field(1_000_000, ge=10_000, le=10**10)
    backups: int = Field(5, ge=0, le=1000)


def _default_topics() -> list[TopicConfig]:
    from digest.topics import DEFAULT_TOPICS

    return [TopicConfig(**t) for t in DEFAULT_TOPICS]


class Config(Strict):
    report: ReportConfig = Field(default_factory=ReportConfig)
    arxiv: ArxivConfig = Field(default_factory=ArxivConfig)
    categories: list[TopicConfig] = Field(default_factory=_default_topics, min_length=1)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    interests: InterestsConfig = Field(default_factory=InterestsConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    site: SiteConfig = Field(default_factory=SiteConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    log: LogConfig = Field(default_factory=LogConfig)

    # Where the config file lives; relative paths and the .env file are resolved against it.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    @field_validator("categories")
    @classmethod
    def _unique_topics(cls, value: list[TopicConfig]) -> list[TopicConfig]:
        names = [t.name for t in value]
        for name in names:
            if name == OTHER:
                raise ValueError(f"{OTHER!r} is added automatically; do not list it")
            if names.count(name) > 1:
                raise ValueError(f"topic {name!r} is listed twice")
        return value

    @model_validator(mode="after")
    def _audience_topics(self) -> Config:
        """A target's `topics` must name configured topics: a typo would silently send it nothing."""
        known = {t.name for t in self.categories}
        d = self.delivery
        # The channels this config names (a registered one it does not name has no targets to check).
        named: dict[str, ChannelConfig] = {"telegram": d.telegram, "email": d.email, **(d.__pydantic_extra__ or {})}
        for channel, settings in named.items():
            for i, target in enumerate(settings.targets()):
                if target.topics is not None and not target.topics:
                    raise ValueError(
                        f"delivery.{channel}.{settings.targets_key}.{i}.topics: an empty list would send nothing; "
                        "name at least one topic, or leave `topics` out for all of them"
                    )
                unknown = [t for t in (target.topics or ()) if t not in known]
                if unknown:
                    raise ValueError(
                        f"delivery.{channel}.{settings.targets_key}.{i}.topics: unknown topic {unknown[0]!r} "
                        f"(topics are: {', '.join(sorted(known))})"
                    )
        return self

    @model_validator(mode="after")
    def _own_papers(self) -> Config:
        """interests.papers: each an arXiv id or a BibTeX / CSL-JSON file that exists (relative to the config)."""
        for i, (entry, source) in enumerate(zip(self.interests.papers, self.own_paper_sources(), strict=True)):
            if isinstance(source, str):
                continue
            if source.suffix.lower() not in OWN_PAPER_FILES:
                raise ValueError(
                    f"interests.papers.{i}: {entry!r} is neither an arXiv id (2401.12345) nor a "
                    f"{' or '.join(OWN_PAPER_FILES)} file (BibTeX, or CSL-JSON as Zotero exports it)"
                )
            if not source.is_file():
                raise ValueError(f"interests.papers.{i}: no file {source}")
        return self

    def own_paper_sources(self) -> list[str | Path]:
        """interests.papers, each as the bare arXiv id it names (str) or the file it names (Path, relative to
        the config's folder)."""
        from digest.ids import answer_id, is_arxiv_id, strip_version

        return [
            strip_version(bare) if is_arxiv_id(bare := answer_id(entry)) else self.resolve(Path(entry))
            for entry in self.interests.papers
        ]

    @property
    def topic_names(self) -> list[str]:
        return [t.name for t in self.categories]

    def resolve(self, path: Path) -> Path:
        path = path.expanduser()  # `output_dir: ~/digest` means the home folder, not a folder named "~"
        return path if path.is_absolute() else (self.base_dir / path)

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.report.output_dir)

    @property
    def templates_override(self) -> Path | None:
        """report.templates_dir resolved, or None for the built-in templates."""
        return self.resolve(self.report.templates_dir) if self.report.templates_dir else None

    @property
    def site_dir(self) -> Path:
        return self.resolve(self.site.dir)

    @property
    def state_path(self) -> Path:
        return self.resolve(self.state.path)

    @property
    def log_path(self) -> Path | None:
        return self.resolve(self.log.file) if self.log.file else None

    def secret(self, env_name: str) -> str | None:
        """A secret from the environment, else from a `.env` file beside the config."""
        # Surrounding whitespace is never part of a secret: a token file saved with CRLF leaves a "\r".
        value = (os.environ.get(env_name) or "").strip()
        if value:
            return value
        env_file = self.base_dir / ".env"
        if env_file.is_file():
            from dotenv import dotenv_values

            return (dotenv_values(env_file).get(env_name) or "").strip() or None
        return None

    def register_secrets(self) -> None:
        """Feed every secret this config names to the one scrubber (digest/secrets.py)."""
        from digest import secrets

        for name in (self.llm.api_key_env, self.delivery.telegram.token_env):
            secrets.add_secret(self.secret(name))
        secrets.add_secret(self.secret(self.delivery.email.password_env), self.delivery.email.username)


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME)


def _format_loc(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if p not in ("function-after",)) or "(top level)"


# Time-zone abbreviations people write, and the zone each means (only when the name itself is not a zone).
_ZONE_ABBREVIATIONS = {
    "KST": "Asia/Seoul",
    "JST": "Asia/Tokyo",
    "ET": "America/New_York",
    "EDT": "America/New_York",
    "PT": "America/Los_Angeles",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "CEST": "Europe/Berlin",
    "BST": "Europe/London",
    "IST": "Asia/Kolkata",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "AEST": "Australia/Sydney",
}


def timezone_hint(value: str) -> str | None:
    """The IANA zone someone who wrote `value` most likely means: KST -> Asia/Seoul, seoul -> Asia/Seoul."""
    import difflib
    from zoneinfo import available_timezones

    text = value.strip()
    if text.upper() in _ZONE_ABBREVIATIONS:
        return _ZONE_ABBREVIATIONS[text.upper()]
    zones = sorted(available_timezones())
    by_lower = {z.lower(): z for z in zones}
    if text.lower() in by_lower:
        return by_lower[text.lower()]
    by_city = {z.rsplit("/", 1)[-1].lower().replace("_", " "): z for z in zones if "/" in z}
    city = text.lower().replace("_", " ")
    if city in by_city:
        return by_city[city]
    close = difflib.get_close_matches(text, zones, n=1, cutoff=0.75) or difflib.get_close_matches(
        city, list(by_city), n=1, cutoff=0.8
    )
    if not close:
        return None
    return close[0] if close[0] in zones else by_city[close[0]]


# Keys people write for a secret: secrets never live in this file.
_SECRET_KEYS = {
    ("llm", "api_key"): ("the API key", "llm.api_key_env", "OPENAI_API_KEY"),
    ("llm", "key"): ("the API key", "llm.api_key_env", "OPENAI_API_KEY"),
    ("delivery", "telegram", "token"): ("the bot token", "delivery.telegram.token_env", "TELEGRAM_BOT_TOKEN"),
    ("delivery", "telegram", "bot_token"): ("the bot token", "delivery.telegram.token_env", "TELEGRAM_BOT_TOKEN"),
    ("delivery", "email", "password"): ("the SMTP password", "delivery.email.password_env", "SMTP_PASSWORD"),
}
# Keys people guess, and the one that exists.
_GUESSED_KEYS = {
    "chat_id": "chat_ids",
    "chat": "chat_ids",
    "recipient": "recipients",
    "to": "recipients",
    "webhook": "webhooks",
    "topic": "topics",
    "category": "categories",
    "author": "authors",
    "keyword": "keywords",
    "host": "smtp_host",
    "port": "smtp_port",
    "tz": "timezone",
    "time_zone": "timezone",
    "url": "base_url",
    "output": "output_dir",
    "dir": "output_dir",
}


def _unknown_key_hint(loc: tuple) -> str:
    """What to write instead of an unknown key: where its secret goes, or the key it most likely meant."""
    import difflib

    path = tuple(str(p) for p in loc if not isinstance(p, int))
    if path in _SECRET_KEYS:
        what, key, default = _SECRET_KEYS[path]
        return (
            f": {what} is never written in config.yaml; put it in the environment variable {key} names "
            f"({default} by default) or in a .env file beside config.yaml"
        )
    allowed = _allowed_keys(loc)
    name = str(loc[-1])
    guess = _GUESSED_KEYS.get(name.lower())
    if guess not in allowed:
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        guess = close[0] if close else None
    return f" (did you mean {guess!r}?)" if guess else (f" (keys here: {', '.join(allowed)})" if allowed else "")


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys the model at `loc`'s parent accepts (channel plugins' settings included)."""
    model: Any = Config
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            if model is DeliveryConfig:
                from digest.plugins import channel

                found = channel(str(part))
                model = found.config_model if found else None
                continue
            return []
        model = _model_of(field.annotation)
    fields = getattr(model, "model_fields", None) or {}
    return [name for name in fields if name != "base_dir"]


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside an annotation (list[ChatTarget | str] -> ChatTarget), else None."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def load_config(path: Path | None = None, *, missing_ok: bool = False) -> Config:
    """Read and validate a config file. Raises ConfigError naming the path or the key.

    With missing_ok and no file at the default path, the built-in defaults (same as the shipped
    config.yaml) are used, rooted at the current directory.
    """
    explicit = path is not None
    path = Path(path) if explicit else default_config_path()
    if not path.exists():
        if missing_ok and not explicit:
            return Config(base_dir=Path.cwd())
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    raw.pop("base_dir", None)
    try:
        return Config(**raw, base_dir=path.resolve().parent)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = _format_loc(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _unknown_key_hint(tuple(err["loc"]))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        # A check of a whole section (or of the whole config) names the key it found wrong in its message.
        names_its_key = not err["loc"] or msg.startswith((f"{key}.", f"{key}:"))
        where = "" if names_its_key else f"{key}: "
        raise ConfigError(f"{path}: {where}{msg}{more}") from exc
