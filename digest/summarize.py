"""Topic summaries in the five-part shape: the LLM's Korean synthesis, and the extractive fallback used without one."""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from typing import TYPE_CHECKING

from digest.config import TopicConfig
from digest.figures import FigurePool
from digest.ids import answer_id
from digest.models import LLMUsage, Paper, TopicSummary
from digest.text import strip_llm

if TYPE_CHECKING:
    from collections.abc import Callable

    from digest.llm import LLM, Answer
    from digest.prompts import PaperLine, SummaryAnswer

EXTRACTIVE = "extractive"
EXTRACTIVE_VERSION = 3  # part of the stored extractive summaries' setup key: bump when their shape changes
LLM_METHOD = "llm"
MAX_LINE_CHARS = 240
MAX_GIST_CHARS = 120
MAX_SENTENCE_CHARS = 1000  # an LLM sentence ten times a real one (~95 characters) is dropped before cleaning

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[$])")
_CONTRIBUTION = re.compile(
    r"\b(we (propose|present|introduce|develop|design|study|investigate|show)|this (paper|work))\b", re.IGNORECASE
)
# What a result sentence says: a measured gain, a comparison won, a number with a unit.
_RESULT = re.compile(
    r"\b(outperform\w*|surpass\w*|state-of-the-art|sota|improv\w*|achiev\w*|reduc\w*|speed-?ups?|gains?|"
    r"accuracy|f1|bleu|higher|lower|faster|fewer|better than)\b|\d+(\.\d+)?\s*(%|×|x\b|times|points?|pp\b)",
    re.IGNORECASE,
)
_OUTLOOK = re.compile(
    r"\b(future|enabl\w*|potential|pav\w* the way|promis\w*|open[- ]source|release\w*|publicly available|"
    r"implications?|opens? (up|new)|step toward\w*|practical|deploy\w*)\b",
    re.IGNORECASE,
)
# Background sentences (the state of the field, its problems) are not results nor an outlook.
_BACKGROUND = re.compile(
    r"\b(however|remains?|recent(ly)?|existing|have (shown|become|emerged)|has (shown|become|emerged)|"
    r"challeng\w*|limited|suffer\w*|struggle\w*|despite|although|typically|often|widely|increasingly|"
    r"we argue|traditional\w*|conventional\w*|historic\w*|trends?|poses?)\b",
    re.IGNORECASE,
)
# What a result means beyond the benchmark: who can use it, what it makes possible or cheaper.
_IMPACT = re.compile(
    r"\b(enabl\w*|practical\w*|deploy\w*|real-world|applications?|scal(able|es|ing)|cost\w*|efficien\w*|"
    r"clinical\w*|industr\w*|robust\w*|generali[sz]\w*|outperform\w*|improv\w*|reduc\w*)\b",
    re.IGNORECASE,
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_TOKEN = re.compile(r"[0-9.]*[A-Za-z][A-Za-z0-9\-]*[A-Za-z0-9]|[0-9][0-9.,]*|[.,;:!?()\[\]{}\"']")
# Words that end a noun phrase or carry no topic: function words, generic research vocabulary, and the
# adjectives and verbs every abstract uses ("fast", "features", "results").
_STOP = set(
    """a an the and or nor for with that this from are is was were be can could may might must shall should will
    would its it into than their these those which while where when who whom whose what how why have has had
    been being also such using used use uses based via over under more most other both each between not but all
    any new show shows shown showing paper papers work works approach approaches method methods model models
    result results propose proposes proposed present presents introduce introduces introduced framework
    frameworks task tasks data dataset datasets performance however existing across large we our us they them
    one two three four five first second third without within through well significant significantly further
    specific different various multiple often including given novel study studies problem problems learning
    only code available experiments experiment extensive extensively demonstrate demonstrates achieves achieve
    achieved remains remain key able thus then like many much less high higher low lower better best state art
    due fast faster features feature efficient effective effectively robust accurate simple strong stronger
    recent recently challenging challenge challenges important improve improves improved improving
    improvement improvements outperform outperforms outperforming benchmark benchmarks evaluation evaluate
    evaluated evaluations analysis analyses system systems technique techniques tool tools training trained
    train existing prior previous current art baseline baselines settings setting way ways time times level
    levels quality various several diverse wide widely real world real-world small smaller larger scale
    scales end end-to-end general generally specifically particular especially easily directly strategy
    strategies design designs designed capability capabilities ability abilities process processes information
    knowledge application applications domain domains set sets number numbers across among up out about
    above below after before during since until upon onto there here so if as at by in of on to do does done
    make makes making made provide provides provided providing enable enables enabling allow allows crucial
    critical comprehensive extensive limited limitation limitations potential future toward towards i e
    address addresses addressing leverage leverages leveraging utilize utilizes consider considers considered
    paradigm mechanism mechanisms module modules component components input inputs output outputs project
    page github website suffer suffers fail fails lack lacks rely relies require requires""".split()
)


def sentences(text: str) -> list[str]:
    """The abstract's sentences, without URLs; fragments left behind ("Code is available at") are dropped."""
    flat = re.sub(r"\s+", " ", _URL.sub("", text)).strip()
    return [s.strip() for s in _SENTENCE_SPLIT.split(flat) if len(s.strip()) > 40]


# Openers that lean on the sentence before ("Furthermore, we ..."): a sentence quoted alone reads better without.
_LEAD_IN = re.compile(
    r"^(?:furthermore|moreover|additionally|in addition|finally|specifically|here|to this end|"
    r"to (?:address|tackle|bridge|solve|overcome) (?:this|these|that|such)(?: \w+){0,2}|"
    r"in this (?:paper|work|study|letter)),\s+",
    re.IGNORECASE,
)


def standalone(sentence: str) -> str:
    """An abstract sentence without a lead-in that only makes sense after the sentence before it."""
    rest = _LEAD_IN.sub("", sentence, count=1)
    return rest[:1].upper() + rest[1:] if rest != sentence else sentence


def shorten(text: str, limit: int = MAX_LINE_CHARS) -> str:
    text = standalone(text.strip())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def short_name(paper: Paper) -> str:
    """What a paper is called after its title was given once: the name before a colon, else its first words."""
    head, colon, _ = paper.title.partition(":")
    if colon and 2 <= len(head.strip()) <= 40:
        return head.strip()
    words = paper.title.split()
    return " ".join(words[:6]) + ("…" if len(words) > 6 else "")


def _pick(paper: Paper, pattern: re.Pattern) -> str:
    """The first abstract sentence matching `pattern`, else the first that is not the field's background."""
    found = sentences(paper.abstract)
    for sentence in found:
        if pattern.search(sentence):
            return sentence
    if not found:
        return paper.title
    return next((sentence for sentence in found if not _BACKGROUND.search(sentence)), found[0])


def _best(paper: Paper, pattern: re.Pattern, used: set[str] = frozenset()) -> str | None:
    """The abstract sentence that matches `pattern` most and reads least like background; later wins ties
    (abstracts end with results and outlook). None when no sentence matches."""
    found = sentences(paper.abstract)
    scored = []
    for i, sentence in enumerate(found):
        if sentence in used:
            continue
        hits = len(pattern.findall(sentence))
        if not hits or i == 0 and len(found) > 2:  # the first sentence is the field's background
            continue
        scored.append((hits - 2 * len(_BACKGROUND.findall(sentence)), i, sentence))
    scored = [s for s in scored if s[0] > 0]
    return max(scored)[2] if scored else None


def _phrases(paper: Paper) -> dict[str, str]:
    return _text_phrases(f"{paper.title}. {paper.abstract}")


@functools.lru_cache(maxsize=4096)
def _text_phrases(text: str) -> dict[str, str]:
    """Noun-phrase-like terms of a text (lower-cased key -> surface form): runs of content words of one
    to three words; a single word only when it looks like a name (LLM, RAG, LoRA, vision-language).
    Cached: every topic's keywords are weighed against the same day."""
    found: dict[str, str] = {}
    run: list[str] = []

    def flush() -> None:
        for n in (1, 2, 3):
            for k in range(len(run) - n + 1):
                words = run[k : k + n]
                if n == 1 and not _named(words[0]):
                    continue
                if words[-1].lower().endswith(("ed", "ly")) or words[0].lower().endswith("ly"):
                    continue
                found.setdefault(" ".join(w.lower() for w in words), " ".join(words))
        run.clear()

    for token in _TOKEN.findall(_URL.sub(" ", text)):
        if not any(ch.isalpha() for ch in token) or token.lower() in _STOP or len(token) < 2:
            flush()
        else:
            run.append(token)
    flush()
    return found


def _named(word: str) -> bool:
    return sum(ch.isupper() for ch in word) >= 2 or ("-" in word and len(word) > 5)


def top_terms(members: list[Paper], corpus: list[Paper], limit: int = 6) -> list[tuple[str, int]]:
    """Phrases that recur in a topic's papers far more than in the rest of the day (a smoothed log-odds
    lift), so a topic's keywords say what sets it apart, not what every abstract says."""
    topic_df: Counter[str] = Counter()
    surface: dict[str, Counter[str]] = {}
    for paper in members:
        for key, form in _phrases(paper).items():
            topic_df[key] += 1
            surface.setdefault(key, Counter())[form] += 1
    member_ids = {p.id for p in members}
    rest_df: Counter[str] = Counter()
    for paper in corpus:
        if paper.id not in member_ids:
            rest_df.update(_phrases(paper).keys())
    n_topic, n_rest = max(len(members), 1), max(len(corpus) - len(member_ids), 1)
    floor = max(2, round(0.02 * n_topic))

    def score(term: str) -> float:
        p_topic = topic_df[term] / n_topic
        p_rest = (rest_df[term] + 0.5) / (n_rest + 1)
        return p_topic * math.log(p_topic / p_rest) * (1.2 if " " in term else 1.0)

    candidates = [t for t, n in topic_df.items() if n >= floor and score(t) > 0]
    chosen = _distinct(sorted(candidates, key=lambda t: (-score(t), t)), limit)
    return [(surface[t].most_common(1)[0][0], topic_df[t]) for t in chosen]


def _distinct(ranked: list[str], limit: int) -> list[str]:
    """The first `limit` terms of `ranked` that neither contain nor are contained in one taken before."""
    chosen: list[str] = []
    for term in ranked:
        if any(term in c or c in term for c in chosen):
            continue
        chosen.append(term)
        if len(chosen) == limit:
            break
    return chosen


def extractive_summary(topic: str, selected: list[Paper], members: list[Paper], corpus: list[Paper]) -> TopicSummary:
    """A five-part summary made only of sentences from the abstracts; the report labels it as such.

    `members` are all the topic's papers of the day, `corpus` the whole day (for distinctive keywords).
    Each title is given once (themes); later parts call a paper by its short name.
    """
    total = len(members)
    terms = top_terms(members, corpus)
    themes = [p.title for p in selected]
    keywords = (
        ["오늘 이 주제에서 다른 주제보다 두드러진 표현: " + ", ".join(f"{t} ({n}편)" for t, n in terms)]
        if terms
        else ["선정된 논문들 사이에 반복되는 핵심어가 뚜렷하지 않습니다."]
    )
    # Each abstract sentence serves one part only: the paper's line says what it does, the key points
    # what it measured, the impact what that makes possible, the outlook where it leads.
    contribution = {p.id: _pick(p, _CONTRIBUTION) for p in selected}
    used = set(contribution.values())

    def take(pattern: re.Pattern) -> list[str]:
        found = []
        for p in selected:
            if sentence := _best(p, pattern, used):
                used.add(sentence)
                found.append(f"{short_name(p)}: {shorten(sentence)}")
        return found

    key_points = take(_RESULT) or ["선정된 논문의 초록에 수치로 보고된 결과 문장이 없습니다."]
    ahead = take(_OUTLOOK)[:3]
    impact = take(_IMPACT)[:4] or ["선정된 논문의 초록에 응용이나 파급 효과를 말하는 문장이 없습니다."]
    outlook = [f"이 주제로 오늘 {total}편이 발표되었고, 중요도 순으로 {len(selected)}편을 골랐습니다.", *ahead]
    lines = {p.id: shorten(contribution[p.id], 200) for p in selected}
    named = "·".join(t for t, _ in terms[:3])
    gist = (
        f"두드러진 표현: {named} (초록 발췌)"
        if named
        else f"대표 논문: '{short_name(selected[0])}' (초록 발췌)"
        if selected
        else "초록 발췌"
    )
    return TopicSummary(topic, [themes, keywords, key_points, impact, outlook], lines, EXTRACTIVE, gist)


def llm_summary(
    llm: LLM,
    topic: TopicConfig | None,
    name: str,
    selected: list[Paper],
    members: list[Paper],
    feature: int | None = None,
    required: list[str] | tuple[str, ...] = (),
    leave_out: set[str] | frozenset[str] = frozenset(),
) -> tuple[TopicSummary, str | None]:
    """One structured call: the five parts in Korean and one line per featured paper.

    Returns the summary and the cache key of the answer. The answer is untrusted text: links and markup
    are stripped here (and escaped again per format at render time), lines for ids we did not send are
    dropped, and no id or link from it is ever used as a source. A sentence with a figure that is not in
    the text the call was given (or, naming a paper, not in that paper's) is dropped (counted in the
    ledger). Lines the answer left out are asked again; a paper still without one gets a sentence of its
    abstract, so no paper is shown without a line.

    `leave_out`: papers the server refused (its content filter): never sent, so the summary is still the
    LLM's; one the ranking features keeps its place with a sentence of its abstract. An answer cut at the
    output limit is asked once more without the extra candidates (the ranking's own pick only).
    """
    from digest.llm import LLMCallError

    held = [p for p in selected if p.id in leave_out]
    asked = [p for p in selected if p.id not in leave_out]
    context = [p for p in members if p.id not in leave_out]
    if not asked:  # every paper it would feature was refused: nothing to send
        return extractive_summary(name, selected, members, members), None
    feature = feature if feature and feature < len(selected) else None
    must_show = [p for p in held if p.id in required]
    pick = feature - len(must_show) if feature else None
    pick = pick if pick and pick < len(asked) else None
    try:
        answer, messages = _ask_summary(llm, topic, name, asked, context, pick, required, leave_out)
    except LLMCallError as exc:
        if exc.outcome != "cut" or pick is None:
            raise
        asked, pick = asked[:pick], None
        answer, messages = _ask_summary(llm, topic, name, asked, context, pick, required, leave_out, exc.spent)
    value: SummaryAnswer = answer.value
    sent = {p.id for p in asked}
    if pick:
        # The candidates the answer features (the required ones first), topped up in ranking order.
        picked = [i for i in (answer_id(x) for x in value.featured) if i in sent]
        order = list(dict.fromkeys([*required, *picked, *(p.id for p in asked)]))[:feature]
    elif feature:
        keep = sent | {p.id for p in must_show}
        order = [p.id for p in selected if p.id in keep][:feature]
    else:
        order = [p.id for p in selected]
    by_id = {p.id: p for p in selected}
    featured = [by_id[i] for i in order if i in by_id]
    pool = FigurePool([m["content"] for m in messages if m["role"] == "user"])
    removed = 0

    def trusted(text: str, about: str | None = None) -> str:
        nonlocal removed
        if len(text) > MAX_SENTENCE_CHARS:
            return ""  # not a sentence a reader wants, and never worth cleaning
        clean = strip_llm(text, sent)
        if clean and pool.unsupported(clean, about):
            removed += 1
            return ""
        return clean

    written = [p for p in featured if p.id in sent]
    sections = [[clean for s in part if (clean := trusted(s))] for part in value.sections()]
    lines = _accept_lines(value.paper_lines, written, {}, trusted)
    for round_ in range(1, llm.settings.max_retries + 1):
        missing = [p for p in written if p.id not in lines]
        if not missing:
            break
        try:
            items = _ask_lines(llm, name, missing, round_)
        except LLMCallError as exc:
            if exc.outcome not in ("cut", "filtered"):
                raise
            break  # the abstract's own sentence stands in (below)
        lines = _accept_lines(items, written, lines, trusted)
    if any(not part for part in sections) or len(lines) < len(featured):
        fallback = extractive_summary(name, featured, members, members)
        sections = [part or spare for part, spare in zip(sections, fallback.sections)]
        lines = {p.id: lines.get(p.id) or fallback.paper_lines[p.id] for p in featured}
    if removed and not answer.cached:
        llm.store.record_removed(answer.input_hash, llm.run_id, removed)
    gist = trusted(value.gist) or (sections[0][0] if sections[0] else "")
    summary = TopicSummary(
        name, sections, {p.id: lines[p.id] for p in featured}, LLM_METHOD, shorten(gist, MAX_GIST_CHARS)
    )
    return summary, answer.input_hash


def _ask_summary(
    llm: LLM,
    topic: TopicConfig | None,
    name: str,
    asked: list[Paper],
    context: list[Paper],
    pick: int | None,
    required: list[str] | tuple[str, ...],
    leave_out: set[str] | frozenset[str],
    carry: LLMUsage | None = None,
) -> tuple[Answer, list[dict[str, str]]]:
    from digest.prompts import SUMMARY_SCHEMA_NAME, SummaryAnswer, summary_messages

    must = [r for r in required if r not in leave_out]
    messages = summary_messages(topic, name, asked, context, pick, must)
    answer = llm.ask("summarize", repr(name), messages, SummaryAnswer, SUMMARY_SCHEMA_NAME, carry=carry)
    return answer, messages


def _ask_lines(llm: LLM, name: str, missing: list[Paper], round_: int) -> list:
    from digest.prompts import LINES_SCHEMA_NAME, LinesAnswer, lines_messages

    detail = f"{name!r} lines re-ask {round_} ({len(missing)} papers)"
    answer = llm.ask(
        "summarize", detail, lines_messages(name, missing), LinesAnswer, LINES_SCHEMA_NAME, reuse=round_ == 1
    )
    return answer.value.paper_lines


def _accept_lines(
    items: list[PaperLine], selected: list[Paper], lines: dict[str, str], trusted: Callable[[str, str], str]
) -> dict[str, str]:
    """`lines` plus the items that name a paper we sent and say something we can show (a line carries only
    its own paper's figures)."""
    sent = {p.id for p in selected}
    lines = dict(lines)
    for item in items:
        paper_id = answer_id(item.id)
        if paper_id in sent and paper_id not in lines and (clean := trusted(item.line, paper_id)):
            lines[paper_id] = clean
    return lines


# ----- the weekly edition -----

WEEK_EXTRACTIVE_VERSION = 1  # part of the stored weekly extractive summaries' key


def rising_terms(week: list[Paper], before: list[Paper], limit: int = 5) -> tuple[list[str], bool]:
    """The phrases of a topic's week that grew most against its weeks before (a smoothed log-odds lift of
    their share of papers), and True; with no papers before to compare with, the phrases that set the week's
    papers apart from the rest of the week's (top_terms) are for the caller to ask for instead: ([], False)."""
    if not week or not before:
        return [], False
    now: Counter[str] = Counter()
    surface: dict[str, Counter[str]] = {}
    for paper in week:
        for key, form in _phrases(paper).items():
            now[key] += 1
            surface.setdefault(key, Counter())[form] += 1
    then: Counter[str] = Counter()
    for paper in before:
        then.update(_phrases(paper).keys())
    n_now, n_then = len(week), len(before)
    floor = max(2, round(0.03 * n_now))

    def lift(term: str) -> float:
        p_now = now[term] / n_now
        p_then = (then[term] + 0.5) / (n_then + 1)
        return p_now * math.log(p_now / p_then) * (1.2 if " " in term else 1.0)

    ranked = sorted((t for t, n in now.items() if n >= floor and lift(t) > 0), key=lambda t: (-lift(t), t))
    return [surface[t].most_common(1)[0][0] for t in _distinct(ranked, limit)], True


def week_extractive_summary(
    topic: str, featured: list[Paper], lines: dict[str, str], count: int, before: float | None, rising: list[str]
) -> TopicSummary:
    """The week's three parts made only of what the dailies and the abstracts say; the report labels it."""
    average = f"지난 4주 평균 {before:.1f}편" if before is not None else "비교할 이전 주 기록 없음"
    moved = [f"이번 주 이 주제의 논문은 {count}편이다({average})."]
    if rising:
        moved.append("이번 주 더 자주 보인 표현: " + ", ".join(rising) + ".")
    standout = [f"{short_name(p)}: {shorten(lines[p.id], 200)}" for p in featured if lines.get(p.id)][:4]
    used: set[str] = set()
    questions = []
    for paper in featured:
        if sentence := _best(paper, _OUTLOOK, used):
            used.add(sentence)
            questions.append(f"{short_name(paper)}: {shorten(sentence)}")
    standout = standout or ["이번 주 주요 논문의 한 줄 요약이 없습니다."]
    questions = questions[:3] or ["이번 주 주요 논문의 초록에 남은 과제를 말하는 문장이 없습니다."]
    gist = f"이번 주 {count}편" + (f" (지난 4주 평균 {before:.1f}편)" if before is not None else "")
    gist += f" · 떠오른 표현: {', '.join(rising[:3])} (초록 발췌)" if rising else " (초록 발췌)"
    return TopicSummary(
        topic, [moved, standout, questions], {p.id: lines.get(p.id, "") for p in featured}, EXTRACTIVE, gist
    )


def week_llm_summary(
    llm: LLM,
    topic: str,
    featured: list[Paper],
    lines: dict[str, str],
    count: int,
    before: float | None,
    rising: list[str],
) -> tuple[TopicSummary, str]:
    """One structured call per topic: the week's three parts in Korean over the featured papers' titles and
    daily Korean lines. Untrusted text as in llm_summary: links and markup stripped, and a sentence whose
    figure is in none of its sources (the paper it names: its title, abstract and line; else every paper
    and the week's own counts) is dropped and counted. A part left empty is taken from the extractive week."""
    from digest.prompts import WEEK_SUMMARY_SCHEMA_NAME, WeekSummaryAnswer, week_summary_messages

    messages = week_summary_messages(topic, featured, lines, count, before, rising)
    answer = llm.ask("week", repr(topic), messages, WeekSummaryAnswer, WEEK_SUMMARY_SCHEMA_NAME)
    value: WeekSummaryAnswer = answer.value
    counts = f"{count}편 {before:.1f}편" if before is not None else f"{count}편"
    sources = [f'<paper id="{p.id}">\n{p.title}\n{p.abstract} {lines.get(p.id, "")}\n</paper>' for p in featured] + [
        counts
    ]
    pool = FigurePool(sources)
    sent = {p.id for p in featured}
    removed = 0

    def trusted(text: str) -> str:
        nonlocal removed
        if len(text) > MAX_SENTENCE_CHARS:
            return ""
        clean = strip_llm(text, sent)
        if clean and pool.unsupported(clean):
            removed += 1
            return ""
        return clean

    parts = [[clean for s in part if (clean := trusted(s))] for part in value.sections()]
    if any(not part for part in parts):
        spare = week_extractive_summary(topic, featured, lines, count, before, rising)
        parts = [part or extra for part, extra in zip(parts, spare.sections)]
    if removed and not answer.cached:
        llm.store.record_removed(answer.input_hash, llm.run_id, removed)
    gist = trusted(value.gist) or parts[0][0]
    summary = TopicSummary(
        topic, parts, {p.id: lines.get(p.id, "") for p in featured}, LLM_METHOD, shorten(gist, MAX_GIST_CHARS)
    )
    return summary, answer.input_hash
