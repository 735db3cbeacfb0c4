"""Topic summaries in the five-part shape: the LLM's Korean synthesis, and the extractive fallback used without one."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from digest.config import TopicConfig
from digest.models import Paper, TopicSummary
from digest.text import answer_id, strip_llm

if TYPE_CHECKING:
    from digest.llm import LLM

EXTRACTIVE = "extractive"
LLM_METHOD = "llm"
MAX_LINE_CHARS = 240

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[$])")
_CONTRIBUTION = re.compile(
    r"\b(we (propose|present|introduce|develop|design|study|investigate|show)|this (paper|work))\b", re.IGNORECASE
)
_RESULT = re.compile(r"\b(outperform\w*|improv\w*|state-of-the-art|achiev\w*|reduc\w*|faster|gains?|%)", re.IGNORECASE)
_OUTLOOK = re.compile(
    r"\b(future|enabl\w*|potential|pav\w* the way|promis\w*|open[- ]source|release|available)\b", re.IGNORECASE
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]{2,}")
_STOP = set(
    """the and for with that this from are our can its into than their these those which while where when
    have has been being also such using used use based via over under more most other both each between
    not but all any new show shows paper work approach method methods model models results propose proposed
    approaches framework task tasks data performance however existing across large however, we it they
    them one two three first second without within through well significant significantly further specific
    different various multiple often while including given novel study problem problems learning only code
    available experiments extensive demonstrate achieves achieve existing remains key able thus then
    like many much less high low better best state art due""".split()
)


def sentences(text: str) -> list[str]:
    """The abstract's sentences, without URLs; fragments left behind ("Code is available at") are dropped."""
    flat = re.sub(r"\s+", " ", _URL.sub("", text)).strip()
    return [s.strip() for s in _SENTENCE_SPLIT.split(flat) if len(s.strip()) > 40]


def shorten(text: str, limit: int = MAX_LINE_CHARS) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _pick(paper: Paper, pattern: re.Pattern, fallback_index: int = 0) -> str:
    found = sentences(paper.abstract)
    for sentence in found:
        if pattern.search(sentence):
            return sentence
    if not found:
        return paper.title
    return found[min(fallback_index, len(found) - 1)]


def _doc_terms(paper: Paper) -> set[str]:
    words = [w.lower() for w in _WORD.findall(_URL.sub(" ", f"{paper.title}. {paper.abstract}"))]
    content = {w for w in words if w not in _STOP}
    bigrams = {f"{a} {b}" for a, b in zip(words, words[1:]) if a not in _STOP and b not in _STOP}
    return content | bigrams


def top_terms(members: list[Paper], corpus: list[Paper], limit: int = 8) -> list[tuple[str, int]]:
    """Terms that recur in a topic's papers more than in the whole day's (a lift over the background)."""
    topic_df: Counter[str] = Counter()
    for paper in members:
        topic_df.update(_doc_terms(paper))
    day_df: Counter[str] = Counter()
    for paper in corpus:
        day_df.update(_doc_terms(paper))
    n_topic, n_day = max(len(members), 1), max(len(corpus), 1)

    def lift(term: str) -> float:
        return topic_df[term] / n_topic - day_df[term] / n_day

    candidates = [t for t, n in topic_df.items() if n >= 2 and lift(t) > 0]
    ranked = sorted(candidates, key=lambda t: (-lift(t) * (1.3 if " " in t else 1.0), t))
    chosen: list[str] = []
    for term in ranked:
        if any(term in c or c in term for c in chosen):
            continue
        chosen.append(term)
        if len(chosen) == limit:
            break
    return [(t, topic_df[t]) for t in chosen]


def extractive_summary(topic: str, selected: list[Paper], members: list[Paper], corpus: list[Paper]) -> TopicSummary:
    """A five-part summary made only of sentences from the abstracts; the report labels it as such.

    `members` are all the topic's papers of the day, `corpus` the whole day (for distinctive keywords).
    """
    total = len(members)
    terms = top_terms(members, corpus)
    themes = [f"{p.title}" for p in selected]
    keywords = (
        [", ".join(f"{t} ({n}편)" for t, n in terms)]
        if terms
        else ["선정된 논문들 사이에 반복되는 핵심어가 뚜렷하지 않습니다."]
    )
    contributions = [f"{p.title}: {shorten(_pick(p, _CONTRIBUTION))}" for p in selected]
    impact = [f"{p.title}: {shorten(_pick(p, _RESULT, fallback_index=-1))}" for p in selected]
    outlook = [f"이 주제로 오늘 {total}편이 발표되었고, 중요도 순으로 {len(selected)}편을 골랐습니다."]
    outlook += [shorten(_pick(p, _OUTLOOK, fallback_index=-1)) for p in selected[:2]]
    lines = {p.id: shorten(_pick(p, _CONTRIBUTION), 200) for p in selected}
    return TopicSummary(topic, [themes, keywords, contributions, impact, outlook], lines, EXTRACTIVE)


def llm_summary(
    llm: LLM, topic: TopicConfig | None, name: str, selected: list[Paper], members: list[Paper]
) -> tuple[TopicSummary, str]:
    """One structured call: the five parts in Korean and one line per selected paper.

    Returns the summary and the cache key of the answer. The answer is untrusted text: links and markup
    are stripped here (and escaped again per format at render time), lines for ids we did not send are
    dropped, and no id or link from it is ever used as a source. A sentence with a figure that is not in
    the text the call was given is dropped (counted in the ledger). Lines the answer left out are asked
    again; a paper still without one gets a sentence of its abstract, so no paper is shown without a line.
    """
    from digest.figures import FigurePool
    from digest.prompts import SUMMARY_SCHEMA_NAME, SummaryAnswer, summary_messages

    messages = summary_messages(topic, name, selected, members)
    answer = llm.ask("summarize", repr(name), messages, SummaryAnswer, SUMMARY_SCHEMA_NAME)
    value: SummaryAnswer = answer.value
    sent = {p.id for p in selected}
    pool = FigurePool([m["content"] for m in messages if m["role"] == "user"])
    removed = 0

    def trusted(text: str) -> str:
        nonlocal removed
        clean = strip_llm(text, sent)
        if clean and pool.unsupported(clean):
            removed += 1
            return ""
        return clean

    sections = [[clean for s in part if (clean := trusted(s))] for part in value.sections()]
    lines = _accept_lines(value.paper_lines, selected, {}, trusted)
    for round_ in range(1, llm.settings.max_retries + 1):
        missing = [p for p in selected if p.id not in lines]
        if not missing:
            break
        lines = _accept_lines(_ask_lines(llm, name, missing, round_), selected, lines, trusted)
    if any(not part for part in sections) or len(lines) < len(selected):
        fallback = extractive_summary(name, selected, members, members)
        sections = [part or spare for part, spare in zip(sections, fallback.sections)]
        lines = {p.id: lines.get(p.id) or fallback.paper_lines[p.id] for p in selected}
    if removed and not answer.cached:
        llm.store.record_removed(answer.input_hash, llm.run_id, removed)
    return TopicSummary(name, sections, {p.id: lines[p.id] for p in selected}, LLM_METHOD), answer.input_hash


def _ask_lines(llm: LLM, name: str, missing: list[Paper], round_: int) -> list:
    from digest.prompts import LINES_SCHEMA_NAME, LinesAnswer, lines_messages

    detail = f"{name!r} lines re-ask {round_} ({len(missing)} papers)"
    answer = llm.ask(
        "summarize", detail, lines_messages(name, missing), LinesAnswer, LINES_SCHEMA_NAME, reuse=round_ == 1
    )
    return answer.value.paper_lines


def _accept_lines(items: list, selected: list[Paper], lines: dict[str, str], trusted) -> dict[str, str]:
    """`lines` plus the items that name a paper we sent and say something we can show."""
    sent = {p.id for p in selected}
    lines = dict(lines)
    for item in items:
        paper_id = answer_id(item.id)
        if paper_id in sent and paper_id not in lines and (clean := trusted(item.line)):
            lines[paper_id] = clean
    return lines
