"""The classify and summarize stages: one function each, whichever way does the work (offline or an LLM).

A way is a small object: a `fingerprint` (the setup key its stored results are filed under, so work made
one way or with one model is never reused for another), `classify_all(papers, on_batch)` and
`summarize(name, selected, members, corpus)`. The stage functions own what both ways share: reusing what
the store has, storing each result as it arrives, progress, and the summary's key, which names the
selected papers as well as the topic's members (a summary is written about the papers it lists).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from digest.classify import BatchResult, OfflineClassifier, offline_classifier, setup_key
from digest.config import Config
from digest.edition import Edition
from digest.models import Assignment, Listing, Paper, TopicSection, TopicSummary
from digest.progress import Reporter
from digest.rank import TopicChoice
from digest.store import Store
from digest.summarize import EXTRACTIVE, EXTRACTIVE_VERSION, extractive_summary

if TYPE_CHECKING:
    from digest.llm import LLM


Chosen = list[TopicChoice]


class Way(Protocol):
    llm: LLM | None  # the run's LLM session (its usage goes into the report), None offline
    fingerprint: str  # what produced the stored assignments (topics, method, model, prompt version)
    summary_method: str  # llm | extractive
    summary_fingerprint: str  # what produces summaries, before the papers are named (model, prompt version)
    classify_label: str  # for progress lines: "offline", "LLM gpt-4o-mini"
    summarize_label: str
    concurrency: int  # summaries made at once
    picks: bool  # whether summarize chooses the featured papers among more candidates

    def classify_all(self, papers: list[Paper], on_batch: Callable[[BatchResult], None]) -> list[Assignment]: ...

    def summarize(
        self,
        name: str,
        selected: list[Paper],
        members: list[Paper],
        corpus: list[Paper],
        feature: int,
        required: list[str],
    ) -> tuple[TopicSummary, str | None]:
        """The topic's summary and the cache key of the LLM answer behind it (None offline). When `selected`
        holds more than `feature` papers, the summary features `feature` of them (`required` among them):
        its paper_lines name exactly the featured papers, best first."""
        ...


class OfflineWay:
    """The keyword classifier and extractive summaries: no network, no key."""

    llm = None
    summary_method = EXTRACTIVE
    summary_fingerprint = f"extractive-{EXTRACTIVE_VERSION}"
    classify_label = "offline"
    summarize_label = "extractive (no LLM)"
    concurrency = 1
    picks = False

    def __init__(self, config: Config, classifier: OfflineClassifier) -> None:
        self._classifier = classifier
        self.fingerprint = setup_key(config.categories, classifier.method, classifier.fingerprint)

    def classify_all(self, papers: list[Paper], on_batch: Callable[[BatchResult], None]) -> list[Assignment]:
        fresh = self._classifier.classify_all(papers)
        on_batch(BatchResult(fresh))
        return fresh

    def summarize(
        self,
        name: str,
        selected: list[Paper],
        members: list[Paper],
        corpus: list[Paper],
        feature: int,
        required: list[str],
    ) -> tuple[TopicSummary, str | None]:
        return extractive_summary(name, selected, members, corpus), None


def choose_way(
    config: Config, store: Store, *, use_llm: bool, force: bool, date: dt.date, run_id: int | None, reporter: Reporter
) -> Way:
    """The LLM way when it is configured and wanted, else the offline one (the reason is said once)."""
    from digest import llm_stages

    llm = llm_stages.session(config, store, use_llm=use_llm, force=force, date=date, run_id=run_id, reporter=reporter)
    # The offline classifier also learns from the LLM's topics of earlier dates. The LLM way falls back on it
    # only for papers the LLM leaves unplaced: made then, once, if ever.
    offline = functools.cache(lambda: offline_classifier(config, store, date))
    return OfflineWay(config, offline()) if llm is None else llm_stages.LLMWay(config, llm, offline)


def classify(store: Store, listing: Listing, way: Way, reporter: Reporter) -> dict[str, Assignment]:
    """Every paper's topic and importance: stored ones reused, the rest classified and stored batch by batch."""
    stored = store.load_assignments(listing.date, way.fingerprint)
    todo = [p for p in listing.papers if p.id not in stored]
    with reporter.stage("classify", total=len(listing.papers)) as stage:
        stage.advance(len(listing.papers) - len(todo))

        def save(batch: BatchResult) -> None:
            with store.transaction():
                store.save_assignments(listing.date, batch.assignments, way.fingerprint)
                if batch.hashes:
                    store.link_assignments(listing.date, batch.hashes)
            stage.advance(len(batch.assignments))

        fresh = way.classify_all(todo, save) if todo else []
        fallback = sum(1 for a in fresh if a.method == "offline-fallback")
        stage.detail = (
            f"{len(listing.papers)} papers ({len(todo)} new, {len(listing.papers) - len(todo)} reused), "
            f"{way.classify_label}" + (f", {fallback} by the offline fallback" if fallback else "")
        )
    return {**stored, **{a.paper_id: a for a in fresh}}


def summary_key(way: Way, selected: list[Paper], members: list[Paper], picked: list[Paper] | None = None) -> str:
    """The stored summary's key: the way that writes it and exactly which papers it is about (and, when it
    picks among candidates, the ranking's pick it starts from: how many to feature and which must stay)."""
    ids = ",".join(p.id for p in selected) + "|" + ",".join(p.id for p in members)
    if picked is not None and picked != selected:
        ids += "|" + ",".join(p.id for p in picked)
    prefix = f"{way.summary_fingerprint}|" if way.summary_fingerprint else ""
    return setup_key([], way.summary_method, prefix + ids)


def summarize(store: Store, listing: Listing, chosen: Chosen, way: Way, reporter: Reporter) -> list[TopicSection]:
    """One summary per chosen topic: stored ones reused, the rest written (up to `way.concurrency` at once)."""
    done = stored_or_written(
        store,
        listing.date,
        chosen,
        key_of=lambda c: summary_key(way, c.offered(way.picks), c.members, c.selected),
        write=lambda c: way.summarize(
            c.name, c.offered(way.picks), c.members, listing.papers, len(c.selected), c.required
        ),
        concurrency=way.concurrency,
        reporter=reporter,
        label=way.summarize_label,
    )
    return [TopicSection(c.name, _featured(c, done[c.name], way), done[c.name], len(c.members)) for c in chosen]


def stored_or_written(
    store: Store,
    edition: Edition | dt.date,
    chosen: Chosen,
    *,
    key_of: Callable[[TopicChoice], str],
    write: Callable[[TopicChoice], tuple[TopicSummary, str | None]],
    concurrency: int,
    reporter: Reporter,
    label: str,
) -> dict[str, TopicSummary]:
    """Each chosen topic's summary by name: the one stored under key_of(choice), or write(choice) (up to
    `concurrency` at once), each stored as it arrives so an interrupted run keeps what it paid for."""
    from digest.llm import in_parallel

    done: dict[str, TopicSummary] = {}
    todo: list[tuple[TopicChoice, str]] = []
    for choice in chosen:
        key = key_of(choice)
        stored = store.load_summary(edition, choice.name, key)
        if stored is not None:
            done[choice.name] = stored
        else:
            todo.append((choice, key))
    with reporter.stage("summarize", total=len(chosen)) as stage:
        stage.advance(len(done))

        def save(index: int, result: tuple[TopicSummary, str | None]) -> None:
            summary, input_hash = result
            choice, key = todo[index]
            with store.transaction():
                store.save_summary(edition, summary, key)
                if input_hash:
                    store.link_summary(edition, choice.name, input_hash)
            done[choice.name] = summary
            stage.advance()

        in_parallel([functools.partial(write, choice) for choice, _ in todo], concurrency, save)
        stage.detail = f"{len(chosen)} topics ({len(todo)} new), {label}"
    return done


def _featured(choice: TopicChoice, summary: TopicSummary, way: Way) -> list[Paper]:
    """The papers the summary features: those its paper_lines name, in its order (the LLM picked them
    among the candidates), else the ranking's selection."""
    offered = {p.id: p for p in choice.offered(way.picks)}
    named = [offered[i] for i in summary.paper_lines if i in offered]
    return named if len(named) == len(choice.selected) else choice.selected
