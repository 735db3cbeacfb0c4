"""The command line: a thin click layer over pipeline.py. Maps project errors to one line and an exit code."""

from __future__ import annotations

import datetime as dt
import functools
import gc
import logging
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from digest import __version__
from digest.errors import ConfigError, DigestError, Terminated, describe_error
from digest.secrets import forget_all, scrub

if TYPE_CHECKING:
    from digest.config import Config
    from digest.pipeline import RunResult
    from digest.progress import Reporter

log = logging.getLogger("digest")
GC_THRESHOLD = 20_000  # allocations between young-generation collections (Python's default: 700)


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = ()
        return True


def setup_logging(config: Config | None = None) -> None:
    """Console logs (quiet on a terminal, where rich shows progress) and a rotating log file."""
    from logging.handlers import RotatingFileHandler

    root = logging.getLogger("digest")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.DEBUG)
    root.propagate = False
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING if sys.stderr.isatty() else logging.INFO)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    console.addFilter(_ScrubFilter())
    root.addHandler(console)
    if config is not None and config.log_path is not None:
        try:
            config.log_path.parent.mkdir(parents=True, exist_ok=True)
            file_handler = RotatingFileHandler(
                config.log_path, maxBytes=config.log.max_bytes, backupCount=config.log.backups, encoding="utf-8"
            )
        except OSError as exc:
            raise ConfigError(f"log.file: cannot write {config.log_path}: {exc}") from exc
        file_handler.setLevel(getattr(logging, config.log.level))
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        file_handler.addFilter(_ScrubFilter())
        root.addHandler(file_handler)


def fail(message: str, code: int) -> None:
    click.echo(f"error: {scrub(message)}", err=True)
    log.debug("exit %d: %s", code, scrub(message))
    sys.exit(code)


def _terminate_like_interrupt() -> None:
    """SIGTERM (systemd stop, docker stop, kill) raises Terminated where Ctrl+C raises KeyboardInterrupt."""

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread (an embedding program): leave its handlers alone
        pass


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn project errors into one line on stderr and the contract's exit code; no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _terminate_like_interrupt()
        try:
            return func(*args, **kwargs)
        except DigestError as exc:
            fail(str(exc), exc.exit_code)
        except Terminated:
            fail("interrupted by SIGTERM; stopped, the run is recorded as interrupted", 143)
        except KeyboardInterrupt:
            fail("interrupted by SIGINT (Ctrl+C); stopped, the run is recorded as interrupted", 130)
        except (OSError, sqlite3.Error) as exc:
            fail(describe_error(exc), 1)

    return wrapper


def load(config_path: Path | None, *, missing_ok: bool = False) -> Config:
    from digest.config import load_config

    config = load_config(config_path, missing_ok=missing_ok)
    forget_all()  # this config's secrets, not those of an earlier one in the same process
    config.register_secrets()
    setup_logging(config)
    return config


def reporter() -> Reporter:
    from digest.progress import Reporter, RichReporter

    return RichReporter() if sys.stderr.isatty() else Reporter()


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-06-30") from None


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file (default ./config.yaml, or $DIGEST_CONFIG).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="digest")
def cli() -> None:
    """arXiv 데일리 다이제스트: the day's new AI papers on arXiv as one Korean digest."""


def print_result(result: RunResult) -> None:
    click.echo(result.message)


@cli.command()
@config_option
@click.option("--date", callback=parse_date, help="Announcement date YYYY-MM-DD (default: the latest).")
@click.option("--no-deliver", is_flag=True, help="Build the report but send it nowhere.")
@click.option("--force", is_flag=True, help="Recompute everything and deliver again.")
@handle_errors
def run(config_path: Path | None, date: dt.date | None, no_deliver: bool, force: bool) -> None:
    """Fetch, classify, summarize, render and deliver one announcement date."""
    config = load(config_path)
    if date is not None:
        from digest.backfill import check_run_date

        reason = check_run_date(config, date)
        if reason:
            click.echo(reason)  # a weekend or a holiday: nothing to build, and not an error
            return
    print_result(run_latest(config, date=date, deliver=not no_deliver, force=force))


def run_latest(
    config: Config, *, date: dt.date | None = None, deliver: bool = True, force: bool = False, scheduled: bool = False
) -> RunResult:
    """`digest run` and each scheduled fire: pipeline.run_latest, and one error line if catching up failed."""
    from digest import pipeline

    result = pipeline.run_latest(
        config,
        date=date,
        deliver=deliver,
        force=force,
        scheduled=scheduled,
        reporter=reporter(),
    )
    if result.catch_up_failed:
        print_result(result)
        raise DigestError(
            f"catching up missed listings failed for {', '.join(d.isoformat() for d in result.catch_up_failed)}"
        )
    return result


@cli.command()
@config_option
@click.option("--date", "one_date", callback=parse_date, help="One announcement date YYYY-MM-DD.")
@click.option("--from", "start", callback=parse_date, help="First date of a range.")
@click.option("--to", "end", callback=parse_date, help="Last date of a range (default: the latest listing).")
@click.option("--deliver", is_flag=True, help="Deliver each report built (default: deliver nothing).")
@click.option("--force", is_flag=True, help="Rebuild dates already built (fetches them again).")
@handle_errors
def backfill(
    config_path: Path | None,
    one_date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    deliver: bool,
    force: bool,
) -> None:
    """Build reports for past dates through the export API, one listing date at a time."""
    from digest import backfill as past
    from digest import pipeline
    from digest.lock import state_lock

    config = load(config_path)
    start, end = past.date_range(one_date, start, end, config=config)
    progress = reporter()
    outcomes = []
    with state_lock(config.state_path, config.state.lock_timeout_seconds, progress.note):
        store = pipeline.open_store(config)
        for position, total, outcome in past.backfill(
            config, store, start, end, force=force, deliver=deliver, reporter=progress
        ):
            click.echo(scrub(f"[{position}/{total}] {outcome.message}"))
            outcomes.append(outcome)
        store.close()
    click.echo(past.summary_line(start, end, outcomes))
    if any(o.kind == past.FAILED for o in outcomes):
        sys.exit(1)


def demo_config(config: Config) -> Config:
    """The demo's own folder and state under output/demo/: a later `digest run` finds the real state as
    the demo found it (on a fresh install: no date built, so nothing to catch up)."""
    demo_dir = config.output_dir / "demo"
    demo = config.model_copy(deep=True)
    demo.report.output_dir = demo_dir
    demo.state.path = demo_dir / "digest.sqlite3"
    return demo


@cli.command()
@config_option
@handle_errors
def demo(config_path: Path | None) -> None:
    """Run the whole pipeline offline on the real arXiv day bundled with the package (no key, no network)."""
    from digest import pipeline

    config = demo_config(load(config_path, missing_ok=True))
    store = pipeline.open_store(config)
    options = pipeline.RunOptions(force=True, deliver=False, use_llm=False, command="demo")
    result = pipeline.run_date(config, store, options, pipeline.demo_fetcher(), reporter())
    click.echo(f"demo: {result.papers} papers of arXiv's {result.date} announcement (bundled, offline)")
    click.echo(f"report: {result.report_dir / 'digest.md'}")
    click.echo(f"also:   {result.report_dir / 'digest.html'}, digest.json, paper_{result.date}.png")


@cli.command()
@config_option
@click.option("--last", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many runs to show.")
@handle_errors
def status(config_path: Path | None, last: int) -> None:
    """Recent runs: date, papers, topics, LLM calls and tokens, deliveries and failures."""
    from digest.status import status_lines

    config = load(config_path)
    for line in status_lines(config, last):
        click.echo(line)


@cli.command()
@config_option
@click.option(
    "--print-next",
    "print_next",
    type=click.IntRange(1, 1000),
    default=None,
    help="Print the next N fire times, each with the listing date it builds, and exit.",
)
@handle_errors
def schedule(config_path: Path | None, print_next: int | None) -> None:
    """Run in the foreground, firing `digest run` on schedule.cron in schedule.timezone."""
    from digest.schedule import build_scheduler, fire_lines, next_fire_times, run_forever

    config = load(config_path)
    sched = config.schedule
    if print_next:
        for line in fire_lines(config, print_next):
            click.echo(line)
        return
    scheduler = build_scheduler(
        lambda: run_latest(config, scheduled=True),
        cron=sched.cron,
        timezone=sched.timezone,
        misfire_grace_seconds=sched.misfire_grace_seconds,
    )
    upcoming = next_fire_times(sched.cron, sched.timezone, 1)
    first = upcoming[0].isoformat() if upcoming else "never"

    def started() -> None:
        log.info("scheduler started: cron %r in %s, next run %s", sched.cron, sched.timezone, first)
        click.echo(f"scheduler running: cron '{sched.cron}' in {sched.timezone}; next run {first}. Ctrl+C stops.")

    run_forever(scheduler, started)
    click.echo("scheduler stopped")


def known_channels(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """--channel names checked against the channel registry (digest/plugins.py), not a fixed list."""
    from digest.plugins import channels

    known = channels()
    for name in value:
        if name not in known:
            raise click.BadParameter(f"{name!r} is not a channel (channels: {', '.join(known)})")
    return value


@cli.command()
@config_option
@click.option("--date", callback=parse_date, required=True, help="Announcement date YYYY-MM-DD of a built report.")
@click.option(
    "--channel",
    multiple=True,
    callback=known_channels,
    help="Only this channel (repeatable: telegram, email, or any registered one); default: every enabled channel.",
)
@handle_errors
def send(config_path: Path | None, date: dt.date, channel: tuple[str, ...]) -> None:
    """Deliver an existing report again, to every target (even those that already have it)."""
    from digest import pipeline
    from digest.deliver.dispatch import deliver_report
    from digest.edition import report_folder

    config = load(config_path)
    store = pipeline.open_store(config)
    summary = deliver_report(
        config,
        store,
        date,
        report_folder(config.output_dir, date),
        force=True,
        channels=list(channel) or None,
        reporter=reporter(),
    )
    click.echo(f"{date}: delivery: {summary.line()}")


@cli.command()
@config_option
@handle_errors
def check(config_path: Path | None) -> None:
    """Validate the config and reach each configured service once (LLM, Telegram, SMTP)."""
    from digest.check import run_checks

    config = load(config_path)
    click.echo(f"config: ok ({config.base_dir})")
    results = run_checks(config)
    for result in results:
        click.echo(scrub(result.line()))
    if not all(r.ok for r in results):
        sys.exit(1)


@cli.command()
@config_option
@click.option(
    "--serve",
    "port",
    type=click.IntRange(0, 65535),
    is_flag=False,
    flag_value=8000,
    default=None,
    help="Then preview the site on http://127.0.0.1:PORT (default 8000) until Ctrl+C.",
)
@handle_errors
def site(config_path: Path | None, port: int | None) -> None:
    """Build (incrementally) the static archive site from everything stored into site.dir."""
    from digest.site import build_site
    from digest.site.serve import serve

    config = load(config_path)
    click.echo(build_site(config).line())
    if port is not None:
        serve(config.site_dir, port, click.echo)


def main() -> None:
    # A run builds a few hundred thousand long-lived objects (the models of openai and pydantic, matplotlib)
    # and little cyclic garbage. Collecting less often saves about 0.3 s of imports; freezing the heap at
    # exit saves the 0.3 s the interpreter would spend collecting it on the way out (see bench/).
    gc.set_threshold(GC_THRESHOLD, 20, 20)
    try:
        cli.main(prog_name="digest", standalone_mode=True)
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
