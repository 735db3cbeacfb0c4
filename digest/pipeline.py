"""The pipeline for one announcement date: fetch → store → classify → select → summarize → render → deliver.

This is the only module that knows the order of the stages. Each stage reads what the previous one
stored and stores what it made, so a re-run reuses everything and a failed run loses nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from digest import stages
from digest.classify import keyword_tiebreak
from digest.clock import SYSTEM_CLOCK, Clock
from digest.config import Config
from digest.edition import Edition, edition_of, report_folder
from digest.errors import DigestError, Terminated, describe_error
from digest.interests import Interests, weigh
from digest.models import Digest, Fetcher, Listing, LLMUsage
from digest.progress import Reporter
from digest.rank import must_reads, select, topic_counts
from digest.readers import Readers, reader_models
from digest.render import render_key, report_files_present, write_report
from digest.site import has_day, refresh_after_run
from digest.sources.clean import clean_listing, keep_announce_types
from digest.sources.compare import compare, source_name
from digest.store import Store
from digest.urls import day_url

log = logging.getLogger("digest.pipeline")


@dataclass
class RunResult:
    date: dt.date | None
    status: str  # ok | empty | skipped | failed
    message: str = ""
    report_dir: Path | None = None
    papers: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    usage: LLMUsage = field(default_factory=LLMUsage)
    catch_up_failed: list[dt.date] = field(default_factory=list)  # missed listings `digest run` could not build

    def problem(self) -> str | None:
        """The failure a run that built its date still reports (exit 1): missed listings it could not build."""
        if not self.catch_up_failed:
            return None
        return f"catching up missed listings failed for {', '.join(d.isoformat() for d in self.catch_up_failed)}"


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
    """The one definition of "built": a successful run is recorded for the edition (a one-row query) and
    its report (digest.json, what delivery reads back) is still on disk."""
    edition = edition_of(when)
    return store.is_built(edition) and (report_folder(config.output_dir, edition) / "digest.json").exists()


def run_date(
    config: Config, store: Store, options: RunOptions, fetch: Fetcher, reporter: Reporter | None = None
) -> RunResult:
    """Build (and deliver) the digest of one announcement date; records the run in the store."""
    reporter = reporter or Reporter()
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
        usage=result.usage,
        report_path=str(result.report_dir) if result.report_dir else None,
        error=None if result.status != "failed" else result.message,
    )
    return result


def _run(config: Config, store: Store, options: RunOptions, fetch: Fetcher, reporter: Reporter) -> RunResult:
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
    interests = Interests.from_config(config.interests)
    seen = weigh(listing.papers, assignments, interests)
    # What the readers' taps and own papers teach (nothing without them) joins the interests' relevance.
    readers = Readers.score(reader_models(config, store, options.clock), seen.shown, interests)
    relevance = readers.relevance(seen.relevance)
    must = must_reads(
        seen.shown,
        assignments,
        config.topic_names,
        config.report.must_reads,
        relevance=relevance,
        followed=seen.followed,
        max_followed=config.interests.max_followed,
    )
    # The must-reads are always among the selected, so each gets its Korean line from its topic's summary.
    chosen = select(config, seen.shown, assignments, must, relevance, keyword_tiebreak(config))
    sections = stages.summarize(store, listing, chosen, way, reporter)
    counts = topic_counts(config, seen.shown, assignments)
    digest = Digest(
        date=date,
        title=config.report.title,
        papers=seen.shown,
        relevance=relevance,
        **readers.digest_fields(sections, seen.relevance),
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
        key = render_key(digest, config.templates_override)
        report_dir = report_folder(config.output_dir, date)
        # A re-run of a built date whose report would come out the same renders nothing.
        current = (
            not options.force and store.report_key(date) == key and report_files_present(report_dir, digest.chart_name)
        )
        if not current:
            try:
                report_dir = write_report(digest, config.output_dir, config.templates_override)
            except OSError as exc:
                raise DigestError(f"report.output_dir: cannot write the report: {describe_error(exc)}") from None
            store.save_report_key(date, key)
        stage.detail = f"{report_dir}" + (" (unchanged)" if current else "")
    message = f"{date}: report written to {report_dir}"
    # The demo's day is not part of the archive; an unchanged report changes no page the site already has.
    if options.command != "demo" and not (current and has_day(config, date)):
        message += refresh_after_run(config, store, reporter)
    if options.deliver:
        message += _deliver(config, store, date, report_dir, options, reporter)
    return RunResult(date, "ok", message, report_dir, len(listing.papers), counts, llm.usage if llm else LLMUsage())


def _deliver(
    config: Config, store: Store, date: dt.date, report_dir: Path, options: RunOptions, reporter: Reporter
) -> str:
    from digest.deliver.dispatch import deliver_report

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
        stage.detail = f"{len(listing.papers)} papers announced {listing.date} ({source_name(listing.source)})"
    stale = bool(listing.papers) and options.date is None and _all_announced_before(store, listing)
    if listing.papers and options.date is None and not options.force:
        stored = store.load_listing(listing.date)
        if stored is not None and stored.source not in (listing.source, "demo") and stored.papers:
            store.record_source(listing)
            return stored, False, len(fetched.papers) - len(listing.papers), _compared(stored, listing)
    # A stale feed under a new date must not overwrite what is stored.
    if listing.papers and not stale:
        store.save_listing(listing)
    return listing, stale, len(fetched.papers) - len(listing.papers), None


def _compared(stored: Listing, other: Listing) -> str:
    """One line: does `other` carry the same papers as the listing stored (and built) for its date?"""
    found = compare(stored.source, (p.id for p in stored.papers), other.source, (p.id for p in other.papers))
    return f"{stored.date}: already built from {source_name(stored.source)}; {found.verdict()} " + (
        "(nothing rebuilt or re-sent)" if found.same else "(nothing rebuilt or re-sent; `digest status` shows it)"
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
