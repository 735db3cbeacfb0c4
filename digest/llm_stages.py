"""The classify and summarize stages on the LLM path, as pipeline.py calls them.

Each finished batch or topic is stored at once, with a link to the cached answer that produced it: a run
that fails half-way keeps what was answered, and the next run pays only for the rest. The links also let
a report rebuilt from the store show what its LLM content cost (calls and tokens), identical on re-runs.
"""

from __future__ import annotations

import datetime as dt
import functools

from digest.chart import warm_up
from digest.classify import BatchResult, LLMClassifier, offline_classifier, setup_key
from digest.config import Config
from digest.llm import LLM, in_parallel, llm_enabled
from digest.models import Assignment, Listing, LLMUsage, Paper, TopicSection, TopicSummary
from digest.progress import Reporter
from digest.store import Store
from digest.summarize import LLM_METHOD, llm_summary

Chosen = list[tuple[str, list[Paper], list[Paper]]]  # topic, selected papers, all its papers


def session(
    config: Config, store: Store, *, use_llm: bool, force: bool, date: dt.date, run_id: int | None, reporter: Reporter
) -> LLM | None:
    """The LLM for this run, or None for the offline path (said once, with the reason)."""
    enabled, why = llm_enabled(config)
    if not use_llm:
        reporter.note("LLM 미사용: this command runs offline — offline classifier and extractive summaries")
        return None
    if not enabled:
        reporter.note(why)
        return None
    return LLM(config, store, run_id=run_id, date=date, force=force)


def classify(config: Config, store: Store, listing: Listing, reporter: Reporter, llm: LLM) -> dict[str, Assignment]:
    setup = setup_key(config.categories, LLMClassifier.method, f"{llm.model}|{llm.prompt_version}")
    stored = store.load_assignments(listing.date, setup)
    todo = [p for p in listing.papers if p.id not in stored]
    classifier = LLMClassifier(
        llm,
        config.categories,
        offline_classifier(config, store, listing.date),
        batch_size=config.llm.batch_size,
        concurrency=config.llm.concurrency,
        max_retries=config.llm.max_retries,
    )
    with reporter.stage("classify", total=len(listing.papers)) as stage:
        stage.advance(len(listing.papers) - len(todo))

        def save(batch: BatchResult) -> None:
            # The chart's imports while the LLM answers; not before the first answer, when the CPU is
            # busy importing openai and sending the first wave.
            warm_up()
            with store.transaction():
                store.save_assignments(listing.date, batch.assignments, setup)
                link_assignments(store, listing.date, batch.hashes)
            stage.advance(len(batch.assignments))

        fresh = classifier.classify_all(todo, save)
        fallback = sum(1 for a in fresh if a.method == "offline-fallback")
        stage.detail = (
            f"{len(listing.papers)} papers ({len(todo)} new, {len(listing.papers) - len(todo)} reused), "
            f"LLM {llm.model} ({llm.mode})" + (f", {fallback} by the offline fallback" if fallback else "")
        )
    return {**stored, **{a.paper_id: a for a in fresh}}


def summarize(
    config: Config, store: Store, listing: Listing, chosen: Chosen, reporter: Reporter, llm: LLM
) -> list[TopicSection]:
    topics = {t.name: t for t in config.categories}
    done: dict[str, TopicSummary] = {}
    todo: list[tuple[str, list[Paper], list[Paper], str]] = []
    for name, papers, members in chosen:
        ids = ",".join(p.id for p in papers) + "|" + ",".join(p.id for p in members)
        setup = setup_key([], LLM_METHOD, f"{llm.model}|{llm.prompt_version}|{ids}")
        stored = store.load_summary(listing.date, name, setup)
        if stored is not None:
            done[name] = stored
        else:
            todo.append((name, papers, members, setup))
    if todo:
        warm_up()  # the chart's imports while the LLM answers (already done if classification asked it)
    with reporter.stage("summarize", total=len(chosen)) as stage:
        stage.advance(len(done))

        def save(index: int, result: tuple[TopicSummary, str]) -> None:
            summary, input_hash = result
            name, setup = todo[index][0], todo[index][3]
            with store.transaction():
                store.save_summary(listing.date, summary, setup)
                link_summary(store, listing.date, name, input_hash)
            done[name] = summary
            stage.advance()

        jobs = [
            functools.partial(llm_summary, llm, topics.get(name), name, papers, members)
            for name, papers, members, _ in todo
        ]
        in_parallel(jobs, config.llm.concurrency, save)
        stage.detail = f"{len(chosen)} topics ({len(todo)} new), LLM {llm.model} ({llm.mode})"
    return [TopicSection(name, papers, done[name], len(members)) for name, papers, members in chosen]


# ----- what the LLM content cost: links from stored work to cached answers -----


def link_assignments(store: Store, date: dt.date, hashes: dict[str, str]) -> None:
    with store.transaction() as db:
        db.executemany(
            "UPDATE assignments SET llm_hash = ? WHERE date = ? AND paper_id = ?",
            [(h, date.isoformat(), paper_id) for paper_id, h in hashes.items()],
        )


def link_summary(store: Store, date: dt.date, topic: str, input_hash: str) -> None:
    with store.transaction() as db:
        db.execute(
            "UPDATE summaries SET llm_hash = ? WHERE date = ? AND topic = ?", (input_hash, date.isoformat(), topic)
        )


def digest_usage(store: Store, date: dt.date, topics: list[str], model: str) -> LLMUsage:
    """Calls and tokens behind this date's stored assignments and the given topics' summaries, including
    retries, counted once per answer: the same figures however many times the report is rebuilt."""
    marks = ",".join("?" * len(topics)) or "NULL"
    row = store.query(
        f"""SELECT COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt,
                   COALESCE(SUM(completion_tokens), 0) AS completion
            FROM llm_cache WHERE input_hash IN (
                SELECT llm_hash FROM assignments WHERE date = ? AND llm_hash IS NOT NULL
                UNION SELECT llm_hash FROM summaries WHERE date = ? AND llm_hash IS NOT NULL
                      AND topic IN ({marks}))""",
        (date.isoformat(), date.isoformat(), *topics),
    )[0]
    return LLMUsage(model, row["calls"], row["prompt"], row["completion"])


def run_usage(store: Store, run_id: int) -> dict:
    """This run's calls and tokens from the ledger, as `runs` columns (failed attempts included)."""
    row = store.query(
        """SELECT MAX(model) AS model, COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt,
                  COALESCE(SUM(completion_tokens), 0) AS completion FROM llm_calls WHERE run_id = ?""",
        (run_id,),
    )[0]
    if not row["calls"]:
        return {}
    return {
        "llm_model": row["model"],
        "llm_calls": row["calls"],
        "prompt_tokens": row["prompt"],
        "completion_tokens": row["completion"],
    }
