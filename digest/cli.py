"""The command line: click only. Each command parses its options, calls one function in digest/commands/,
prints what it returns, and maps project errors to one line and the contract's exit code."""

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
from digest.errors import DigestError, Terminated, describe_error
from digest.secrets import forget_all, scrub

if TYPE_CHECKING:
    from digest.config import Config
    from digest.edition import Edition
    from digest.progress import Reporter

log = logging.getLogger("digest")
GC_THRESHOLD = 20_000  # allocations between young-generation collections (Python's default: 700)


def say(line: str) -> None:
    """One line to stdout, scrubbed of every secret this process knows."""
    click.echo(scrub(line))


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
    from digest.logs import setup_logging

    config = load_config(config_path, missing_ok=missing_ok)
    forget_all()  # this config's secrets, not those of an earlier one in the same process
    config.register_secrets()
    setup_logging(config)
    return config


def reporter() -> Reporter:
    from digest.progress import Reporter, RichReporter

    return RichReporter() if sys.stderr.isatty() else Reporter()


def parse_week(ctx: click.Context, param: click.Parameter, value: str | None) -> Edition | None:
    if value is None:
        return None
    from digest.edition import Edition

    try:
        return Edition.week_named(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-06-30") from None


def known_channels(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """--channel names checked against the channel registry (digest/plugins.py), not a fixed list."""
    from digest.plugins import channels

    known = channels()
    for name in value:
        if name not in known:
            raise click.BadParameter(f"{name!r} is not a channel (channels: {', '.join(known)})")
    return value


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


@cli.command()
@config_option
@click.option("--date", callback=parse_date, help="Announcement date YYYY-MM-DD (default: the latest).")
@click.option("--no-deliver", is_flag=True, help="Build the report but send it nowhere.")
@click.option("--force", is_flag=True, help="Recompute everything and deliver again.")
@handle_errors
def run(config_path: Path | None, date: dt.date | None, no_deliver: bool, force: bool) -> None:
    """Fetch, classify, summarize, render and deliver one announcement date."""
    from digest.commands.run import run as run_command

    result = run_command(load(config_path), date=date, deliver=not no_deliver, force=force, reporter=reporter())
    say(result.message)
    if result.problem():
        raise DigestError(result.problem())


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
    from digest.commands.backfill import backfill_command, date_range

    config = load(config_path)
    start, end = date_range(one_date, start, end, config=config)
    if not backfill_command(config, start, end, force=force, deliver=deliver, reporter=reporter(), say=say):
        sys.exit(1)


@cli.command()
@config_option
@handle_errors
def demo(config_path: Path | None) -> None:
    """Run the whole pipeline offline on the real arXiv day bundled with the package (no key, no network)."""
    from digest.commands.demo import demo as demo_command

    _, lines = demo_command(load(config_path, missing_ok=True), reporter())
    for line in lines:
        say(line)


@cli.command()
@config_option
@click.option("--week", "edition", callback=parse_week, help="ISO week YYYY-Www (default: the last complete week).")
@click.option("--no-deliver", is_flag=True, help="Build the weekly edition but send it nowhere.")
@click.option("--force", is_flag=True, help="Write its syntheses again and deliver again.")
@handle_errors
def week(config_path: Path | None, edition: Edition | None, no_deliver: bool, force: bool) -> None:
    """The weekly edition from the stored days (no arXiv request): must-reads, trends, a synthesis per topic."""
    from digest.commands.week import week as week_command

    result = week_command(load(config_path), edition, deliver=not no_deliver, force=force, reporter=reporter())
    say(result.message)


@cli.command()
@config_option
@handle_errors
def feedback(config_path: Path | None) -> None:
    """Read the readers' pending 👍/👎/🔖 taps from Telegram now (runs and the scheduler read them too)."""
    from digest.commands.feedback import FEEDBACK_OFF
    from digest.commands.feedback import feedback as feedback_command
    from digest.deliver.channels import ChannelError

    try:
        found = feedback_command(load(config_path))
    except ChannelError as exc:
        fail(str(exc), 1)
    say(FEEDBACK_OFF if found is None else found.line())


@cli.command()
@config_option
@click.option("--last", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many runs to show.")
@handle_errors
def status(config_path: Path | None, last: int) -> None:
    """Recent runs: date, papers, topics, LLM calls and tokens, deliveries and failures."""
    from digest.commands.status import status_lines

    for line in status_lines(load(config_path), last):
        say(line)


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
    from digest.commands.schedule import fire_lines
    from digest.commands.schedule import schedule as schedule_command

    config = load(config_path)
    if print_next:
        for line in fire_lines(config, print_next):
            say(line)
        return
    schedule_command(config, reporter(), say)


@cli.command()
@config_option
@click.option("--date", callback=parse_date, help="Announcement date YYYY-MM-DD of a built report.")
@click.option("--week", "edition", callback=parse_week, help="ISO week YYYY-Www of a built weekly edition.")
@click.option(
    "--channel",
    multiple=True,
    callback=known_channels,
    help="Only this channel (repeatable: telegram, email, or any installed one); default: every enabled channel.",
)
@handle_errors
def send(config_path: Path | None, date: dt.date | None, edition: Edition | None, channel: tuple[str, ...]) -> None:
    """Deliver an existing report (a day's, or a week's) again, to every target (even those that have it)."""
    from digest.commands.send import send as send_command

    if (date is None) == (edition is None):
        raise click.UsageError("give either --date YYYY-MM-DD or --week YYYY-Www")
    when = edition or date
    summary = send_command(load(config_path), when, list(channel) or None, reporter())
    say(f"{getattr(when, 'period', when)}: delivery: {summary.line()}")


@cli.command()
@config_option
@handle_errors
def check(config_path: Path | None) -> None:
    """Validate the config and reach each configured service once (LLM, Telegram, SMTP)."""
    from digest.commands.check import run_checks

    config = load(config_path)
    say(f"config: ok ({config.base_dir})")
    results = run_checks(config)
    for result in results:
        say(result.line())
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
    from digest.commands.site import site as site_command

    site_command(load(config_path), port, say)


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
