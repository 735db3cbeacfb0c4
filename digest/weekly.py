"""The weekly edition: the stored days of one ISO week as one Korean digest, with no arXiv request.

The week's papers are those of its built daily reports (what readers were shown), each once: a paper listed
on two days (a cross-list announced later) counts on its first day, and a replacement is never a new paper
of the week. Each topic gets the week's count against the average of the weeks before it, the phrases
rising most against them, and a synthesis of the week (one LLM call per topic, cached and reused like the
daily ones; offline, extracted sentences). The report goes through the daily's renderer (its own templates),
the same channels, audiences and exactly-once ledger, keyed `week:2026-W27`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from digest.classify import keyword_tiebreak, setup_key
from digest.config import OTHER, Config
from digest.edition import Edition, report_folder
from digest.errors import Terminated
from digest.interests import Interests
from digest.models import Assignment, Digest, LLMUsage, Paper, TopicSection, TopicSummary, Trend
from digest.pipeline import is_built
from digest.progress import Reporter
from digest.rank import TopicChoice, must_reads, select, topic_counts
from digest.readers import Readers, reader_models
from digest.render import render_key, report_files_present, write_report
from digest.report import read_digest_file
from digest.site import refresh_after_run
from digest.sources.calendar import ArxivCalendar
from digest.stages import stored_or_written
from digest.store import Store
from digest.summarize import (
    EXTRACTIVE,
    WEEK_EXTRACTIVE_VERSION,
    rising_terms,
    top_terms,
    week_extractive_summary,
    week_llm_summary,
)
from digest.urls import week_url

log = logging.getLogger("digest.weekly")

BEFORE_WEEKS = 4  # the weeks a topic's count is compared with
WEEK_PER_TOPIC = 2  # must-reads of the week per topic while other topics have candidates


@dataclass
class WeekResult:
    edition: Edition
    status: str  # ok | empty
    message: str
    report_dir: Path | None = None
    papers: int = 0
    usage: LLMUsage = field(default_factory=LLMUsage)


@dataclass
class WeekOptions:
    deliver: bool = True
    force: bool = False
    use_llm: bool = True


def last_complete_week(config: Config, now: dt.datetime) -> Edition:
    """The latest ISO week whose every listing date arXiv has announced by `now`: on Saturday (the default
    weekly fire) the week that just ended on Friday's listing; on a Wednesday, the week before."""
    calendar = ArxivCalendar.from_config(config)
    latest = calendar.latest_listing_date(now)
    week = Edition.week(latest)
    monday, sunday = week.span
    last_listing = max(calendar.listing_dates(monday, sunday), default=monday)
    return week if last_listing <= latest else Edition.week(monday - dt.timedelta(days=1))


@dataclass
class _Day:
    """One built day as the week reads it: its shown papers (with abstracts), their topics and lines."""

    date: dt.date
    digest: Digest
    abstracts: dict[str, str]


def _load_day(config: Config, store: Store, day: dt.date) -> _Day:
    path = report_folder(config.output_dir, day) / "digest.json"
    digest = read_digest_file(path)
    listing = store.load_listing(day)
    abstracts = {p.id: p.abstract for p in listing.papers} if listing else {}
    return _Day(day, digest, abstracts)


def _built_days(config: Config, store: Store, edition: Edition) -> list[dt.date]:
    return [day for day in edition.days() if is_built(config, store, day)]


def _week_papers(days: list[_Day]) -> tuple[list[Paper], dict[str, Assignment], dict[str, str], dict[str, int]]:
    """Each paper once (its first day), no replacements: the papers, their topics, their Korean lines, and
    their relevance as the days judged it."""
    papers: dict[str, Paper] = {}
    assignments: dict[str, Assignment] = {}
    lines: dict[str, str] = {}
    relevance: dict[str, int] = {}
    for day in days:
        for paper in day.digest.papers:
            if paper.id in papers or paper.announce_type.startswith("replace"):
                continue
            papers[paper.id] = Paper(
                paper.id,
                paper.title,
                day.abstracts.get(paper.id, ""),
                paper.authors,
                paper.categories,
                paper.announce_type,
            )
            assignments[paper.id] = day.digest.assignments[paper.id]
            lines[paper.id] = day.digest.line_for(paper.id)
            if paper.id in day.digest.relevance:
                relevance[paper.id] = day.digest.relevance[paper.id]
    return list(papers.values()), assignments, lines, relevance


def _trends(
    config: Config, store: Store, edition: Edition, papers: list[Paper], assignments: dict[str, Assignment]
) -> dict[str, Trend]:
    """Each topic's count this week, its average over the BEFORE_WEEKS weeks before (those with a built
    day), and the phrases rising most against them."""
    monday = edition.span[0]
    before_papers: list[Paper] = []
    before_topics: dict[str, str] = {}
    weeks_seen = 0
    for back in range(1, BEFORE_WEEKS + 1):
        week = Edition.week(monday - dt.timedelta(weeks=back))
        days = [_load_day(config, store, d) for d in _built_days(config, store, week)]
        if not days:
            continue
        weeks_seen += 1
        found, topics, _, _ = _week_papers(days)
        before_papers += found
        before_topics.update({p.id: topics[p.id].topic for p in found})
    trends = {}
    for name in [*config.topic_names, OTHER]:
        members = [p for p in papers if assignments[p.id].topic == name]
        earlier = [p for p in before_papers if before_topics[p.id] == name]
        average = sum(1 for p in before_papers if before_topics[p.id] == name) / weeks_seen if weeks_seen else None
        rising, compared = rising_terms(members, earlier)
        if not compared and members:
            rising = [term for term, _ in top_terms(members, papers, limit=5)]
        trends[name] = Trend(len(members), average, rising, compared)
    return trends


def build_week(
    config: Config,
    store: Store,
    edition: Edition,
    options: WeekOptions,
    reporter: Reporter | None = None,
) -> WeekResult:
    """Build (and deliver) one week's edition from the stored days; records the run."""
    reporter = reporter or Reporter()
    run_id = store.start_run("week", edition)
    try:
        result = _build(config, store, edition, options, reporter, run_id)
    except BaseException as exc:
        stopped = isinstance(exc, KeyboardInterrupt)
        error = f"interrupted by {'SIGTERM' if isinstance(exc, Terminated) else 'SIGINT'}" if stopped else str(exc)
        store.finish_run(run_id, "interrupted" if stopped else "failed", date=edition, error=error[:500])
        raise
    store.finish_run(
        run_id,
        result.status,
        date=edition,
        papers=result.papers,
        usage=result.usage,
        report_path=str(result.report_dir) if result.report_dir else None,
    )
    return result


def _build(
    config: Config,
    store: Store,
    edition: Edition,
    options: WeekOptions,
    reporter: Reporter,
    run_id: int,
) -> WeekResult:
    from digest import llm_stages

    monday, sunday = edition.span
    calendar = ArxivCalendar.from_config(config)
    listing_dates = calendar.listing_dates(monday, sunday)
    built = _built_days(config, store, edition)
    if not built:
        return WeekResult(
            edition,
            "empty",
            f"{edition.period}: no day of this week is built yet (its listing dates: "
            f"{', '.join(d.isoformat() for d in listing_dates) or 'none'}); "
            f"`digest backfill --from {monday} --to {sunday}` builds them",
        )
    missing = [d for d in listing_dates if d not in built]
    if missing:
        reporter.note(
            f"{edition.period}: built from {len(built)} of its {len(listing_dates)} listing dates; not built: "
            f"{', '.join(d.isoformat() for d in missing)} (`digest backfill --date D` builds one)"
        )
    with reporter.stage("week") as stage:
        days = [_load_day(config, store, day) for day in built]
        papers, assignments, lines, day_relevance = _week_papers(days)
        followed = frozenset(i for day in days for i in day.digest.followed) & {p.id for p in papers}
        trends = _trends(config, store, edition, papers, assignments)
        stage.detail = f"{len(papers)} papers of {len(built)} days"
    # The taps read since the days were built count too (the days' relevance already holds what was learned
    # then); no arXiv request, so own papers not read yet wait for the next daily run.
    interests = Interests.from_config(config.interests)
    readers = Readers.score(reader_models(config, store, fetch=False), papers, interests)
    relevance = readers.relevance(day_relevance)
    must = must_reads(
        papers,
        assignments,
        config.topic_names,
        config.report.must_reads,
        per_topic=WEEK_PER_TOPIC,
        relevance=relevance,
        followed=followed,
        max_followed=config.interests.max_followed,
    )
    chosen = select(config, papers, assignments, must, relevance, keyword_tiebreak(config))
    if options.force:
        store.clear_summaries(edition)
    llm = llm_stages.session(
        config, store, use_llm=options.use_llm, force=options.force, date=monday, run_id=run_id, reporter=reporter
    )
    sections = _summaries(config, store, edition, chosen, lines, trends, llm, reporter)
    counts = topic_counts(config, papers, assignments)
    digest = Digest(
        date=monday,
        title=config.report.title,
        papers=papers,
        assignments=assignments,
        selected={p.id for s in sections for p in s.papers},
        sections=sections,
        counts=counts,
        usage=store.edition_usage(edition, [s.name for s in sections], llm.model, assignments=False)
        if llm
        else LLMUsage(),
        llm_used=llm is not None,
        must_reads=must,
        relevance=relevance,
        **readers.digest_fields(sections, day_relevance),
        followed=followed,
        site_url=week_url(config, edition),
        week=edition,
        days=built,
        trends=trends,
    )
    with reporter.stage("render") as stage:
        key = render_key(digest, config.templates_override)
        report_dir = report_folder(config.output_dir, edition)
        current = (
            not options.force
            and store.report_key(edition) == key
            and report_files_present(report_dir, digest.chart_name)
        )
        if not current:
            report_dir = write_report(digest, config.output_dir, config.templates_override)
            store.save_report_key(edition, key)
        stage.detail = f"{report_dir}" + (" (unchanged)" if current else "")
    message = f"{edition.period}: weekly edition of {len(papers)} papers ({len(built)} days) written to {report_dir}"
    if not current:  # the week's page on the site shows the edition (and Slack links its chart there)
        message += refresh_after_run(config, store, reporter)
    if options.deliver:
        from digest.deliver.dispatch import deliver_report

        delivered = deliver_report(
            config, store, edition, report_dir, force=options.force, reporter=reporter, run_id=run_id
        )
        message += f"; delivery: {delivered.line()}" if delivered.outcomes else ""
    usage = llm.usage if llm else LLMUsage()
    return WeekResult(edition, "ok", message, report_dir, len(papers), usage)


def _summaries(
    config: Config,
    store: Store,
    edition: Edition,
    chosen: list[TopicChoice],
    lines: dict[str, str],
    trends: dict[str, Trend],
    llm: object,
    reporter: Reporter,
) -> list[TopicSection]:
    """One synthesis per topic with papers: stored ones reused, the rest written (up to llm.concurrency at once)."""
    from digest.prompts import WEEK_PROMPT_VERSION

    model = getattr(llm, "model", None)
    way = f"llm|{llm.fingerprint}|{WEEK_PROMPT_VERSION}" if llm else f"{EXTRACTIVE}-week-{WEEK_EXTRACTIVE_VERSION}"

    def key_of(choice: TopicChoice) -> str:
        trend = trends[choice.name]
        asked = "|".join(f"{p.id}:{lines.get(p.id, '')}" for p in choice.selected)
        return setup_key([], way, f"{asked}|{trend.count}|{trend.before}|{','.join(trend.rising)}")

    def write(choice: TopicChoice) -> tuple[TopicSummary, str | None]:
        trend = trends[choice.name]
        mine = {p.id: lines.get(p.id, "") for p in choice.selected}
        if llm is None:
            return week_extractive_summary(
                choice.name, choice.selected, mine, trend.count, trend.before, trend.rising
            ), None
        return week_llm_summary(llm, choice.name, choice.selected, mine, trend.count, trend.before, trend.rising)

    done = stored_or_written(
        store,
        edition,
        chosen,
        key_of=key_of,
        write=write,
        concurrency=config.llm.concurrency if llm else 1,
        reporter=reporter,
        label=f"LLM {model}" if llm else "extractive",
    )
    return [TopicSection(c.name, c.selected, done[c.name], len(c.members)) for c in chosen]
