"""The LLM way of classifying and summarizing (stages.Way), and the LLM session of a run.

Each finished batch or topic is stored at once, with a link to the cached answer that produced it: a run
that fails half-way keeps what was answered, and the next run pays only for the rest. The links also let
a report rebuilt from the store show what its LLM content cost (calls and tokens), identical on re-runs.

A paper the server refuses (a content filter) is classified offline and left out of its topic's summary
call, so one paper's text never costs the day; a summary the filter refuses all the same is the extractive
one, said in the log.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from digest.chart import warm_up
from digest.classify import BatchResult, LLMClassifier, OfflineClassifier, setup_key
from digest.config import Config
from digest.interests import Interests
from digest.llm import LLM, LLMCallError, llm_enabled
from digest.models import Assignment, Paper, TopicSummary
from digest.progress import Reporter
from digest.store import Store
from digest.summarize import LLM_METHOD, extractive_summary, llm_summary

log = logging.getLogger("digest")


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


class LLMWay:
    """Classify and summarize through the LLM (see stages.Way); stages.py stores what it answers."""

    summary_method = LLM_METHOD

    def __init__(self, config: Config, llm: LLM, fallback: Callable[[], OfflineClassifier]) -> None:
        self.llm = llm
        interests = Interests.from_config(config.interests).prompt_lines()
        # Relevance is part of the answer: other interests are another question.
        asked = llm.fingerprint + (f"|{'|'.join(interests)}" if interests else "")
        self.fingerprint = setup_key(config.categories, LLMClassifier.method, asked)
        self.summary_fingerprint = llm.fingerprint
        self.concurrency = config.llm.concurrency
        self._topics = {t.name: t for t in config.categories}
        # Papers of this date the server refused: found by this run's classification, or stored by an earlier one.
        day = dt.date.fromisoformat(llm.date) if llm.date else None
        self._refused: set[str] = llm.store.refused_ids(day) if day else set()
        self._classifier = LLMClassifier(
            llm,
            config.categories,
            fallback,
            batch_size=config.llm.batch_size,
            concurrency=config.llm.concurrency,
            max_retries=config.llm.max_retries,
            interests=tuple(interests),
            refused=self._refused,
        )

    @property
    def classify_label(self) -> str:
        # Read when the stage ends: the structured-output mode may have stepped down during it.
        return f"LLM {self.llm.model} ({self.llm.mode})"

    summarize_label = classify_label

    def classify_all(self, papers: list[Paper], on_batch: Callable[[BatchResult], None]) -> list[Assignment]:
        def save(batch: BatchResult) -> None:
            # The chart's imports while the LLM answers; not before the first answer, when the CPU is
            # busy importing openai and sending the first wave.
            warm_up()
            on_batch(batch)

        return self._classifier.classify_all(papers, save)

    picks = True

    def summarize(
        self,
        name: str,
        selected: list[Paper],
        members: list[Paper],
        corpus: list[Paper],
        feature: int,
        required: list[str],
    ) -> tuple[TopicSummary, str | None]:
        warm_up()  # the chart's imports while the LLM answers (already done if classification asked it)
        try:
            return llm_summary(
                self.llm, self._topics.get(name), name, selected, members, feature, required, set(self._refused)
            )
        except LLMCallError as exc:
            if exc.outcome != "filtered":
                raise
            log.warning("%s; the topic gets the extractive summary instead", exc)
            return extractive_summary(name, selected[:feature] if feature else selected, members, corpus), None
