"""Delivery: send a built report to every enabled channel and target, exactly once per (edition, channel, target).

Every channel (digest/plugins.py) goes through one loop (_Job.run): a target is claimed in the ledger
(ledger.py), sent what its audience gets (all topics, or only its `topics`), and recorded as sent or failed.
One failing target never stops the others; when any failed, DeliveryError names them after all the others
were tried.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout
from jinja2 import TemplateError

from digest import plugins
from digest.config import Config
from digest.deliver import ledger
from digest.deliver.channels import Channel, ChannelError, Prepared
from digest.edition import Edition, edition_of
from digest.errors import BusyError, ConfigError, DeliveryError
from digest.progress import Reporter
from digest.render import for_audience
from digest.report import Report, load_report
from digest.store import Store

log = logging.getLogger("digest")

LOCK_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Outcome:
    channel: str
    target: str
    status: str  # sent | skipped | failed
    error: str | None = None


@dataclass
class DeliverySummary:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def line(self) -> str:
        parts = []
        for channel in dict.fromkeys(o.channel for o in self.outcomes):
            mine = [o for o in self.outcomes if o.channel == channel]
            if not mine:
                continue
            counts = [
                f"{status} {n}"
                for status in ("sent", "skipped", "empty", "failed")
                if (n := sum(1 for o in mine if o.status == status))
            ]
            parts.append(f"{channel} {', '.join(counts)}")
        return "; ".join(parts) or "nothing to deliver"


def enabled_channels(config: Config, channels: list[str] | None = None) -> list[str]:
    return [
        name
        for name in plugins.channels()
        if config.delivery.settings(name).enabled and (channels is None or name in channels)
    ]


def deliver_report(
    config: Config,
    store: Store,
    edition: Edition | dt.date,
    report_dir: Path,
    *,
    force: bool = False,
    channels: list[str] | None = None,
    reporter: Reporter | None = None,
    run_id: int | None = None,
) -> DeliverySummary:
    """Send the report of an edition (a day, or a week) in report_dir to every enabled channel (or only
    `channels`).

    Targets already sent this edition are skipped unless `force`. Raises DeliveryError naming the
    failed channel and targets once every target was tried."""
    reporter = reporter or Reporter()
    edition = edition_of(edition)
    label = edition.period
    wanted = enabled_channels(config, channels)
    if channels:
        for channel in channels:
            if channel not in wanted:
                raise ConfigError(f"delivery.{channel}.enabled is false: nothing to send on {channel}")
    if not wanted:
        switches = ", ".join(f"delivery.{name}.enabled" for name in plugins.channels())
        reporter.note(f"delivery: no channel enabled ({switches})")
        return DeliverySummary()
    report = load_report(report_dir, config.templates_override)
    if not store.keep_reserve():
        raise DeliveryError(
            f"{label}: nothing delivered: the disk holding {store.path} (state.path) is full, and a message sent now "
            "could not be recorded (the next run would send it again); free some space and run again"
        )
    summary = DeliverySummary()
    lock = FileLock(str(config.state_path) + ".deliver.lock")
    try:
        lock.acquire(timeout=LOCK_TIMEOUT_SECONDS)
    except Timeout:
        raise BusyError(
            f"another digest process has been delivering for {LOCK_TIMEOUT_SECONDS}s "
            f"(lock {lock.lock_file}); try again later"
        ) from None
    try:
        with reporter.stage("deliver") as stage:
            job = _Job(config, store, report, force, run_id, reporter)
            known = plugins.channels()
            for name in wanted:
                with known[name](config, config.delivery.settings(name)) as channel:
                    summary.outcomes += job.run(channel)
            stage.detail = summary.line()
    finally:
        lock.release()
    if summary.failed:
        nouns = {name: f" {c.target_noun}" if c.target_noun else "" for name, c in plugins.channels().items()}
        failures = "; ".join(f"{o.channel}{nouns.get(o.channel, '')} {o.target}: {o.error}" for o in summary.failed)
        error = DeliveryError(f"{label}: delivery failed for {failures}")
        error.date = edition  # type: ignore[attr-defined]  # lets the pipeline record the run's date
        raise error
    if not summary.count("sent") and summary.count("skipped"):
        reporter.note(
            f"{label}: already delivered to every target ({summary.line()}); `digest send {send_option(edition)}` "
            "or --force sends again"
        )
    return summary


def send_option(edition: Edition) -> str:
    """How `digest send` names an edition: --date 2026-06-30, or --week 2026-W27."""
    return f"--{'date' if edition.kind == 'day' else 'week'} {edition.period}"


class _Job:
    def __init__(
        self, config: Config, store: Store, report: Report, force: bool, run_id: int | None, reporter: Reporter
    ) -> None:
        self.config = config
        self.store = store
        self.report = report
        self.edition = report.digest.edition  # the ledger is kept per edition: a day or a week
        self.force = force
        self.run_id = run_id
        self.reporter = reporter
        self._audiences: dict[tuple[str, ...] | None, Report] = {}

    def _for(self, topics: tuple[str, ...] | None) -> Report:
        """The report narrowed to `topics`, rendered once however many targets want the same topics."""
        if topics not in self._audiences:
            self._audiences[topics] = for_audience(
                self.report, topics, self.config.report.must_reads, self.config.interests.max_followed
            )
        return self._audiences[topics]

    def _nothing_for(self, topics: tuple[str, ...] | None) -> str | None:
        """Why an audience gets nothing today (an empty digest is never sent), or None."""
        if self._for(topics).digest.papers:
            return None
        if not self.report.digest.papers and self.report.digest.excluded:
            return (
                f"nothing to send: interests.exclude left out all {len(self.report.digest.excluded)} papers of the day"
            )
        if topics is not None:
            return f"nothing to send: its topics ({', '.join(topics)}) have no papers today"
        return "nothing to send: the report has no papers"

    def _pending(self, channel: str, targets: list[str]) -> tuple[list[str], list[Outcome]]:
        todo, skipped = [], []
        for target in targets:
            old = ledger.row(self.store, self.edition, channel, target)
            if old is not None and old["status"] == "sent" and not self.force:
                skipped.append(Outcome(channel, target, "skipped"))
                papers = self.report.digest.listed
                if old["papers"] is not None and old["papers"] < papers:
                    self.reporter.note(
                        f"{channel} {target}: got this report with {old['papers']} papers, it now has "
                        f"{papers}; `digest send {send_option(self.edition)}` sends it all"
                    )
            else:
                todo.append(target)
        return todo, skipped

    def _fail_all(self, channel: str, targets: list[str], error: str) -> list[Outcome]:
        for target in targets:
            ledger.fail_unclaimed(self.store, self.edition, channel, target, error, self.run_id)
            log.error("%s %s: %s", channel, target, error)
        return [Outcome(channel, t, "failed", error) for t in targets]

    def _claim(self, channel: str, target: str, content: str, parts: int) -> ledger.Claim | None:
        claim = ledger.claim(
            self.store,
            self.edition,
            channel,
            target,
            content=content,
            parts=parts,
            force=self.force,
            run_id=self.run_id,
        )
        if claim is not None and claim.interrupted:
            self.reporter.note(
                f"{channel} {target}: a previous run stopped while sending this report "
                f"({'after part ' + str(claim.start) + ' of ' + str(parts) if claim.start else 'nothing confirmed'}); "
                "the part in flight may have arrived, sending it again"
            )
        elif claim is not None and claim.resumed:
            self.reporter.note(f"{channel} {target}: {claim.start} of {parts} parts arrived before; sending the rest")
        return claim

    def _failed(self, channel: str, target: str, error: str) -> Outcome:
        ledger.finish(self.store, self.edition, channel, target, "failed", error)
        log.error("%s %s: %s", channel, target, error)
        return Outcome(channel, target, "failed", error)

    def _sent(self, channel: str, target: str) -> Outcome:
        ledger.finish(self.store, self.edition, channel, target, "sent", papers=self.report.digest.listed)
        return Outcome(channel, target, "sent")

    def run(self, channel: Channel) -> list[Outcome]:
        """Every target of one channel: claim it in the ledger, send, record how it ended."""
        name, settings = channel.name, channel.settings
        audiences = {a.target: a for a in settings.targets()}
        if not audiences:
            return [Outcome(name, "(none)", "failed", f"delivery.{name}.{settings.targets_key} is empty")]
        todo, outcomes = self._pending(name, list(audiences))
        if not todo:
            return outcomes
        try:
            channel.open()
        except ChannelError as exc:
            return outcomes + self._fail_all(name, todo, str(exc))
        prepared: dict[tuple[str, ...] | None, Prepared] = {}
        for number, target in enumerate(todo):
            if self.store.space_low:  # the disk filled while sending: what was sent is recorded; stop here
                why = f"not sent: the disk holding {self.store.path} (state.path) filled up; free space and run again"
                return outcomes + self._fail_all(name, todo[number:], why)
            topics = audiences[target].topics
            try:
                empty = self._nothing_for(topics)
                if empty:
                    ledger.nothing_to_send(self.store, self.edition, name, target, empty, self.run_id)
                    self.reporter.note(f"{name} {target}: {empty}")
                    outcomes.append(Outcome(name, target, "empty", empty))
                    continue
                if topics not in prepared:
                    prepared[topics] = channel.prepare(self._for(topics))
            except TemplateError as exc:
                outcomes += self._fail_all(name, [target], str(exc))
                continue
            mine = prepared[topics]
            claim = self._claim(name, target, mine.content, mine.parts)
            if claim is None:
                outcomes.append(Outcome(name, target, "skipped"))
                continue
            try:
                channel.deliver(
                    mine,
                    target,
                    start=claim.start,
                    on_sent=lambda n, t=target: ledger.progress(self.store, self.edition, name, t, n),
                )
            except ChannelError as exc:
                outcomes.append(self._failed(name, target, channel.scrub(str(exc))))
                continue
            except Exception as exc:  # noqa: BLE001 - any failure is this target's, never the other targets'
                outcomes.append(self._failed(name, target, channel.scrub(_unexpected(exc))))
                continue
            except KeyboardInterrupt:  # SIGINT/SIGTERM: the parts confirmed so far are recorded; resume later
                self._failed(name, target, "interrupted while sending; the next run goes on from here")
                raise
            outcomes.append(self._sent(name, target))
        return outcomes


def _unexpected(exc: Exception) -> str:
    """One line for a failure no channel code foresaw (a library raising something odd): never a traceback."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
