"""The pipeline for one announcement date: fetch → store → classify → select → summarize → render → deliver.

This is the only module that knows the order of the stages. Each stage reads what the previous one
stored and stores what it made, so a re-run reuses everything and a failed run loses nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from digest import stages
from digest.clock import SYSTEM_CLOCK, Clock
from digest.config import OTHER, Config
from digest.edition import Edition, edition_of, report_folder
from digest.errors import ConfigError, FetchError, Terminated
from digest.ids import is_arxiv_id
from digest.interests import Interests, weigh
from digest.models import Assignment, Digest, Listing, LLMUsage, Paper
from digest.progress import Reporter
from digest.rank import must_reads
from digest.render import recover_reports, write_report
from digest.site import day_url, refresh_after_run
from digest.store import Store
from digest.text import normalize_paper

DEMO_FEED = "demo-2026-06-30.xml.gz"
SOURCE_NAMES = {"listing": "the listing pages", "rss": "the RSS feed", "api": "the export API", "demo": "the demo"}

log = logging.getLogger("digest.pipeline")

# A fetcher answers "the listing for this date" (None = the latest announcement).
Fetcher = Callable[[dt.date | None], Listing]


@dataclass
class RunResult:
    date: dt.date | None
    status: str  # ok | empty | skipped | failed
    message: str = ""
    report_dir: Path | None = None
    papers: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    usage: LLMUsage = field(default_factory=LLMUsage)
    catch_up_failed: list[dt.date] = field(default_factory=list)  # missed listings run_latest could not build


@dataclass
class RunOptions:
    date: dt.date | None = None
    force: bool = False
    deliver: bool = True
    use_llm: bool = True
    command: str = "run"  # recorded in the runs table; changes nothing else
    # The latest listing is left alone when its edition is built already (a scheduled fire); a manual run
    # rebuilds it from the store instead (no LLM call), to pick up a changed template or config.
    skip_if_built: bool = False
    run_id: int | None = None  # set by run_date; deliveries record which run sent them
    clock: Clock = SYSTEM_CLOCK  # what "today" is when a fetched listing's date is checked


def is_built(config: Config, store: Store, when: Edition | dt.date) -> bool:
    """The one definition of "built": a successful run is recorded for the edition and its report
    (digest.json, what delivery reads back) is still on disk."""
    edition = edition_of(when)
    return (
        edition.key in store.built_editions() and (report_folder(config.output_dir, edition) / "digest.json").exists()
    )


def run_latest(
    config: Config,
    *,
    date: dt.date | None = None,
    deliver: bool = True,
    force: bool = False,
    scheduled: bool = False,
    reporter: Reporter | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> RunResult:
    """`digest run` and each scheduled fire, under the state lock: first the listing dates an earlier
    latest-run missed (through the export API), then the latest listing (or `date`). `clock` says what
    "now" is: which listing is the latest, which dates were missed. A `scheduled` fire leaves a built
    listing alone and waits for a late arXiv; a manual run rebuilds it from the store."""
    from digest.lock import state_lock

    reporter = reporter or Reporter()
    with state_lock(config.state_path, config.state.lock_timeout_seconds, reporter.note):
        store = open_store(config)
        try:
            missed = catch_up(config, store, deliver=deliver, reporter=reporter, clock=clock) if date is None else []
            command = "schedule" if scheduled else "run"
            options = RunOptions(
                date=date, force=force, deliver=deliver, command=command, skip_if_built=scheduled, clock=clock
            )
            fetch = latest_fetcher(config, clock, wait=scheduled)
            result = run_date(config, store, options, fetch, reporter)
        finally:
            store.close()
    result.catch_up_failed = missed
    return result


def catch_up(
    config: Config, store: Store, *, deliver: bool, reporter: Reporter, clock: Clock = SYSTEM_CLOCK
) -> list[dt.date]:
    """Build the listing dates the latest-run path missed (see backfill.catch_up_range); the dates that failed."""
    from digest.backfill import FAILED, backfill, catch_up_range

    window = catch_up_range(config, store, clock)
    if window is None:
        return []
    failed = []
    for _, _, outcome in backfill(config, store, *window, deliver=deliver, reporter=reporter, clock=clock):
        reporter.note(f"catch-up: {outcome.message}")
        if outcome.kind == FAILED:
            failed.append(outcome.date)
    return failed


def open_store(config: Config) -> Store:
    """The state database; an empty one beside delivered reports is refused (it would send them all again)."""
    path = config.state_path
    if path.is_file() and path.stat().st_size == 0:
        built = sorted(config.output_dir.glob("????-??-??/digest.json")) if config.output_dir.is_dir() else []
        if built:
            raise ConfigError(
                f"state.path: {path} is empty (0 bytes) but {config.output_dir} holds {len(built)} built "
                f"report(s) (latest {built[-1].parent.name}): a fresh state would build and deliver them "
                "again. Restore the database from a backup, or delete the empty file to start afresh"
            )
    return Store(path)


def latest_date(config: Config, now: dt.datetime) -> dt.date:
    """The listing date a run for the latest listing gets at `now`: the listing pages switch at the
    announcement (20:00 ET), the RSS feed only at midnight ET (then its date may have no listing)."""
    from digest.sources.calendar import ArxivCalendar, rss_feed_date

    if config.arxiv.listing_url is None:
        return rss_feed_date(now)
    return ArxivCalendar.from_config(config).latest_listing_date(now)


def latest_fetcher(config: Config, clock: Clock = SYSTEM_CLOCK, *, wait: bool = False) -> Fetcher:
    """The latest listing from arXiv's listing pages; the RSS feed (then the API) when they fail.

    With `wait` (a scheduled fire), pages that still show an older listing than the calendar says is
    out (arXiv is late) are asked again every `schedule.retry_seconds`, for at most
    `schedule.misfire_grace_seconds`, rather than sending the previous listing as the new one.
    """
    from digest.sources.calendar import ArxivCalendar

    fallback = rss_fetcher(config, clock)
    if config.arxiv.listing_url is None:
        return fallback
    listing_url = config.arxiv.listing_url
    now, pause = clock.now, clock.sleep
    arxiv_calendar = ArxivCalendar.from_config(config)

    def pages() -> Listing:
        from digest.sources.listing import fetch_pages

        return fetch_pages(
            listing_url,
            config.arxiv.categories,
            delay=config.arxiv.api_delay_seconds,
            timeout=config.arxiv.timeout_seconds,
            max_retries=config.arxiv.max_retries,
            backoff=config.arxiv.backoff_seconds,
            clock=clock,
            calendar=arxiv_calendar,
        )

    def fetch(date: dt.date | None) -> Listing:
        from digest.sources.listing import ListingMismatch

        expected = arxiv_calendar.latest_listing_date(now())
        if date is not None and date != expected:
            return fallback(date)
        deadline = now() + dt.timedelta(seconds=config.schedule.misfire_grace_seconds) if wait else now()

        def wait_a_little() -> None:
            pause(min(config.schedule.retry_seconds, (deadline - now()).total_seconds()))

        while True:
            try:
                listing = pages()
            except FetchError as exc:
                if isinstance(exc, ListingMismatch) and now() < deadline:
                    log.info("%s; asking again in %d s", exc, config.schedule.retry_seconds)
                    wait_a_little()
                    continue
                log.warning("%s; using the RSS feed instead", exc)
                return fallback(date)
            if listing.date >= expected:
                return listing
            if now() >= deadline:
                break
            log.info(
                "the listing pages still show %s: arXiv has not announced %s yet; asking again in %d s (until %s)",
                listing.date,
                expected,
                config.schedule.retry_seconds,
                _utc(deadline),
            )
            wait_a_little()
        if wait:
            log.warning(
                "arXiv has not announced %s by %s; the listing pages still show %s",
                expected,
                _utc(deadline),
                listing.date,
            )
        else:
            log.info("the listing pages still show %s: arXiv has not announced %s yet", listing.date, expected)
        return listing if date is None else fallback(date)

    return fetch


def rss_fetcher(config: Config, clock: Clock = SYSTEM_CLOCK) -> Fetcher:
    """The latest listing from the RSS feed; a date the feed no longer (or not yet) carries from the export API."""
    from digest.sources.calendar import rss_feed_date

    api: list[Fetcher] = []

    def past(date: dt.date) -> Listing:
        # Made on first use: most runs never need the export API.
        if not api:
            from digest.sources.api import api_fetcher

            api.append(api_fetcher(config, clock=clock))
        return api[0](date)

    def fetch(date: dt.date | None) -> Listing:
        from digest.sources.rss import feed_url, fetch_listing

        # The feed switches at midnight ET, so it can only carry today's (ET) date.
        if date is not None and date != rss_feed_date(clock.now()):
            return past(date)
        listing = fetch_listing(
            feed_url(config.arxiv.rss_url, config.arxiv.categories),
            timeout=config.arxiv.timeout_seconds,
            max_retries=config.arxiv.max_retries,
            backoff=config.arxiv.backoff_seconds,
            clock=clock,
        )
        if date is not None and listing.date != date:
            return past(date)  # a stale feed
        return listing

    return fetch


def _utc(when: dt.datetime) -> str:
    return f"{when.astimezone(dt.UTC):%H:%M} UTC"


def demo_fetcher() -> Fetcher:
    """The real arXiv day bundled with the package (cs.AI+cs.CL+cs.CV+cs.LG, 2026-06-30), parsed like the feed."""

    def fetch(date: dt.date | None) -> Listing:
        listing = demo_listing()
        return Listing(listing.date, list(listing.papers), listing.source)

    return fetch


@functools.cache
def demo_listing() -> Listing:
    """Parsed once a process (most of a second): `digest check` takes its one paper from it too."""
    from digest.sources.rss import parse_feed

    data = resources.files("digest.data").joinpath(DEMO_FEED).read_bytes()
    return parse_feed(gzip.decompress(data), source="demo")


def keep_announce_types(listing: Listing, types: list[str]) -> Listing:
    return Listing(listing.date, [p for p in listing.papers if p.announce_type in types], listing.source)


def clean_listing(listing: Listing, now: dt.datetime | None = None) -> Listing:
    """What every source's listing goes through before anything is stored: a plausible date, ids that are
    arXiv ids (an item with another id is skipped with a warning), and titles, abstracts and authors
    normalised for reading (TeX to text, no control or bidi characters)."""
    from digest.sources.calendar import ET

    today = (now or dt.datetime.now(dt.UTC)).astimezone(ET).date()
    if listing.date > today + dt.timedelta(days=1):
        raise FetchError(
            f"the {listing.source} listing is dated {listing.date}, after tomorrow (US Eastern): "
            "a wrong feed or a wrong clock; nothing built"
        )
    papers: dict[str, Paper] = {}
    for paper in listing.papers:
        if not is_arxiv_id(paper.id):
            log.warning(
                "%s listing %s: skipping an item whose id is not an arXiv id: %r",
                listing.source,
                listing.date,
                paper.id[:80],
            )
            continue
        papers.setdefault(paper.id, normalize_paper(paper))
    return Listing(listing.date, list(papers.values()), listing.source)


def run_date(
    config: Config, store: Store, options: RunOptions, fetch: Fetcher, reporter: Reporter | None = None
) -> RunResult:
    """Build (and deliver) the digest of one announcement date; records the run in the store."""
    reporter = reporter or Reporter()
    for dead in store.mark_dead_runs():
        reporter.note(f"run #{dead} was left 'running' by a process that is gone (killed?); marked interrupted")
    run_id = store.start_run(options.command, options.date)
    options = replace(options, run_id=run_id)
    try:
        result = _run(config, store, options, fetch, reporter)
    except BaseException as exc:
        # A delivery failure happens after the date is known: record it so `digest status` shows the deliveries.
        date = getattr(exc, "date", None) or options.date
        stopped = isinstance(exc, KeyboardInterrupt)
        signal_name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        store.finish_run(
            run_id,
            "interrupted" if stopped else "failed",
            date=date,
            error=f"interrupted by {signal_name}" if stopped else (str(exc)[:500] or type(exc).__name__),
            **store.run_usage(run_id),
        )
        raise
    store.finish_run(
        run_id,
        result.status,
        date=result.date,
        papers=result.papers,
        counts=result.counts,
        llm_model=result.usage.model,
        llm_calls=result.usage.calls,
        prompt_tokens=result.usage.prompt_tokens,
        completion_tokens=result.usage.completion_tokens,
        report_path=str(result.report_dir) if result.report_dir else None,
        error=None if result.status != "failed" else result.message,
    )
    return result


def _run(config: Config, store: Store, options: RunOptions, fetch: Fetcher, reporter: Reporter) -> RunResult:
    if config.output_dir.is_dir():
        recover_reports(config.output_dir)  # what a run killed while writing a report left behind
    listing, stale, left_out, other_source = _fetch(config, store, options, fetch, reporter)
    if not listing.papers:
        when = listing.date.isoformat()
        if left_out:
            return RunResult(
                listing.date,
                "empty",
                f"{when}: arXiv announced only {left_out} paper(s) of other types (replacements) for these "
                f"categories, none of arxiv.announce_types ({', '.join(config.arxiv.announce_types)}); nothing built",
            )
        if listing.source == "api":
            # The calendar says this is a listing date (cli checked), yet the API has nothing for it.
            return RunResult(
                listing.date,
                "empty",
                f"{when}: the export API has no papers for this listing date "
                "yet (not indexed yet, or an arXiv closure missing from arxiv.holidays); "
                "nothing built, try again later",
            )
        return RunResult(listing.date, "empty", f"{when}: no announcement on arXiv (weekend or holiday)")
    date = listing.date
    if options.date is None and not options.force:
        built = is_built(config, store, date)
        nothing_new = _nothing_new(listing, stale, built and options.skip_if_built)
        if other_source and built:
            nothing_new = other_source  # the same date again, from another source: never a second digest
        if nothing_new:
            report_dir = report_folder(config.output_dir, date)
            if options.deliver and built:
                # Targets a previous fire could not reach get the built report now; the others nothing.
                nothing_new += _deliver(config, store, date, report_dir, options, reporter)
            return RunResult(date, "skipped", nothing_new, report_dir if built else None, len(listing.papers))
    if options.force:
        store.clear_date(date)

    way = stages.choose_way(
        config, store, use_llm=options.use_llm, force=options.force, date=date, run_id=options.run_id, reporter=reporter
    )
    llm = way.llm
    assignments = stages.classify(store, listing, way, reporter)
    seen = weigh(listing.papers, assignments, Interests.from_config(config.interests))
    must = must_reads(
        seen.shown,
        assignments,
        config.topic_names,
        config.report.must_reads,
        relevance=seen.relevance,
        followed=seen.followed,
    )
    # The must-reads are always among the selected, so each gets its Korean line from its topic's summary.
    chosen = select(config, seen.shown, assignments, must, seen.relevance)
    sections = stages.summarize(store, listing, chosen, way, reporter)
    counts = topic_counts(config, seen.shown, assignments)
    digest = Digest(
        date=date,
        title=config.report.title,
        papers=seen.shown,
        relevance=seen.relevance,
        followed=seen.followed,
        excluded=seen.excluded,
        assignments=assignments,
        selected={p.id for s in sections for p in s.papers},
        sections=sections,
        counts=counts,
        usage=store.edition_usage(date, [s.name for s in sections], llm.model) if llm else LLMUsage(),
        llm_used=llm is not None,
        must_reads=must,
        site_url=day_url(config, date),
    )
    with reporter.stage("render") as stage:
        report_dir = write_report(digest, config.output_dir, config.templates_override)
        stage.detail = str(report_dir)
    message = f"{date}: report written to {report_dir}"
    if options.command != "demo":  # the demo's day is not part of the archive
        message += refresh_after_run(config, store, reporter)
    if options.deliver:
        message += _deliver(config, store, date, report_dir, options, reporter)
    return RunResult(date, "ok", message, report_dir, len(listing.papers), counts, llm.usage if llm else LLMUsage())


def _deliver(
    config: Config, store: Store, date: dt.date, report_dir: Path, options: RunOptions, reporter: Reporter
) -> str:
    from digest.deliver import deliver_report

    delivered = deliver_report(
        config, store, date, report_dir, force=options.force, reporter=reporter, run_id=options.run_id
    )
    return f"; delivery: {delivered.line()}" if delivered.outcomes else ""


def _fetch(
    config: Config, store: Store, options: RunOptions, fetch: Fetcher, reporter: Reporter
) -> tuple[Listing, bool, int, str | None]:
    """The date's listing (stored, or fetched and stored), whether the latest feed is stale (every one
    of its papers was already announced on an earlier date: a feed still serving an older batch), how
    many announced papers arxiv.announce_types left out, and, when the latest listing's date is already
    stored from another source (the listing pages in the morning, the RSS feed later), a line comparing
    the two; the stored listing is then kept as it is."""
    if options.date is not None and not options.force:
        stored = store.load_listing(options.date)
        if stored is not None:
            reporter.note(f"{options.date}: using the {len(stored.papers)} papers already stored")
            return stored, False, 0, None
    with reporter.stage("fetch") as stage:
        fetched = clean_listing(fetch(options.date), options.clock.now())
        listing = keep_announce_types(fetched, config.arxiv.announce_types)
        stage.detail = f"{len(listing.papers)} papers announced {listing.date} ({SOURCE_NAMES.get(listing.source)})"
    stale = bool(listing.papers) and options.date is None and _all_announced_before(store, listing)
    if listing.papers and options.date is None and not options.force:
        stored = store.load_listing(listing.date)
        if stored is not None and stored.source not in (listing.source, "demo") and stored.papers:
            store.record_source(listing)
            return stored, False, len(fetched.papers) - len(listing.papers), compare_sources(stored, listing)
    # A stale feed under a new date must not overwrite what is stored.
    if listing.papers and not stale:
        store.save_listing(listing)
    return listing, stale, len(fetched.papers) - len(listing.papers), None


def compare_sources(stored: Listing, other: Listing) -> str:
    """One line: does `other` carry the same papers as the stored listing of its date?"""
    first, later = SOURCE_NAMES.get(stored.source, stored.source), SOURCE_NAMES.get(other.source, other.source)
    mine, theirs = {p.id for p in stored.papers}, {p.id for p in other.papers}
    if mine == theirs:
        return (
            f"{stored.date}: already built from {first}; {later} carries the same {len(mine)} papers "
            "(nothing rebuilt or re-sent)"
        )
    return (
        f"{stored.date}: already built from {first} ({len(mine)} papers); {later} differs: "
        f"{len(theirs - mine)} papers only there, {len(mine - theirs)} missing there "
        "(nothing rebuilt or re-sent; `digest status` shows it)"
    )


def _all_announced_before(store: Store, listing: Listing) -> bool:
    """Every paper of this listing is already stored under another listing date."""
    ids = [p.id for p in listing.papers]
    earlier = [d for d in store.listing_dates_of(ids).values() if d != listing.date.isoformat()]
    return len(earlier) == len(ids)


def _nothing_new(listing: Listing, stale: bool, built_and_skipped: bool) -> str | None:
    """Why the latest feed needs no new digest, or None: every paper is old news, or its date is built
    already and the caller asked to skip built dates (RunOptions.skip_if_built)."""
    date = listing.date.isoformat()
    if built_and_skipped:
        return f"{date}: already built; arXiv has announced nothing newer yet"
    if stale:
        return (
            f"{date}: the feed looks stale (all {len(listing.papers)} papers were announced on an earlier date); "
            "nothing new to send"
        )
    return None


def select(
    config: Config,
    papers: list[Paper],
    assignments: dict[str, Assignment],
    must: list[str] | None = None,
    relevance: dict[str, int] | None = None,
) -> list[stages.TopicChoice]:
    """Per non-empty topic in config order: its top `max_papers_per_category` papers by importance plus
    relevance to the interests (plus any must-read of the topic that did not make it), and all of them.

    Ties (an LLM gives many papers a 7) go to the paper the offline classifier scores higher for that topic,
    then to feed order: not to whichever was announced first."""
    from digest.classify import OfflineClassifier, offline_rank

    limit = config.report.max_papers_per_category
    depth = max(limit, config.report.summary_candidates)  # how far down the candidates reach
    wanted = set(must or ())
    relevance = relevance or {}
    # Keyword scores only: the learned model (trained on construction) is not needed here.
    offline = OfflineClassifier(config.categories, config.arxiv.categories, shipped=False)
    chosen = []
    for name in config.topic_names:
        members = [p for p in papers if assignments[p.id].topic == name]
        if not members:
            continue
        importance = {p.id: assignments[p.id].importance + relevance.get(p.id, 0) for p in members}
        # Only papers that can make the cut (or the candidates) need the (slower) offline score.
        cut = sorted(importance.values(), reverse=True)[min(depth, len(members)) - 1]
        tiebreak = {p.id: offline_rank(p, offline.scores(p).get(name, 0.0)) for p in members if importance[p.id] >= cut}
        ranked = [
            p
            for _, p in sorted(
                enumerate(members), key=lambda ip: (-importance[ip[1].id], -tiebreak.get(ip[1].id, 0), ip[0])
            )
        ]
        top = ranked[:limit]
        top += [p for p in ranked[limit:] if p.id in wanted]
        candidates = top + [p for p in ranked[:depth] if p not in top]
        required = [p.id for p in top if p.id in wanted]
        chosen.append(stages.TopicChoice(name, top, members, candidates, required))
    return chosen


def topic_counts(config: Config, papers: list[Paper], assignments: dict[str, Assignment]) -> dict[str, int]:
    counts = {name: 0 for name in [*config.topic_names, OTHER]}
    for p in papers:
        counts[assignments[p.id].topic] = counts.get(assignments[p.id].topic, 0) + 1
    return counts
