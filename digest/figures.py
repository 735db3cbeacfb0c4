"""Figures a reader can trust: every number in an LLM sentence must appear in the text that call was given,
and a sentence that names a paper may only carry that paper's figures ("A는 … 72%" when 72% is B's is dropped).

A figure is a number with its unit (72%, 2.69×, 4.23K, 7B, 3.2%p); "72 %" and "72%", "2.69x", "2.69배" and
"2.69×", "72.0%" and "72%" are the same figure. Scales are multiplied out, so `10만` = `100,000` = `100K`,
`15억` = `1.5B` = `1.5 billion`, `3천` = `3,000`. Percentage points (`3.2%p`, `3.2 pp`, `3.2 points`)
are their own unit, also found as `3.2%` in an abstract (which often writes a gain in points that way). A
figure with a unit must appear with that unit; one without a unit must appear as a number. Lone digits
without a unit ("3가지 방법") are counts, not figures: abstracts spell them out ("three methods") too often
to demand them.

Which paper a sentence names is read from the call's own prompt: each `<paper id>` block's title gives its
cues (the name before a colon, the title's start, distinctive tokens such as `LLaMA-3` or `FlashAttention`)
and its figures. A sentence naming no paper keeps the pooled rule: any figure of the call's texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

_FIGURE = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s?"
    r"(%\s?p(?![A-Za-z])|%\s?포인트|퍼센트\s?포인트|percentage[ -]points?\b|points?\b|pp\b|p\.p\.|%|퍼센트|percent\b"
    r"|×|배|x(?![A-Za-z])|times\b|-fold\b"
    r"|[KMBT](?![A-Za-z])|k(?![A-Za-z])|thousand\b|million\b|billion\b|trillion\b|천|만(?!큼)|억|조(?![가-힣]))?",
)
_POINTS = (
    "%p",
    "% p",
    "%포인트",
    "% 포인트",
    "퍼센트포인트",
    "퍼센트 포인트",
    "percentage point",
    "point",
    "pp",
    "p.p.",
)
_UNITS = {"%": "%", "퍼센트": "%", "percent": "%", "×": "×", "배": "×", "x": "×", "times": "×", "-fold": "×"}
_SCALES = {
    "k": 10**3,
    "thousand": 10**3,
    "천": 10**3,
    "만": 10**4,
    "m": 10**6,
    "million": 10**6,
    "억": 10**8,
    "b": 10**9,
    "billion": 10**9,
    "t": 10**12,
    "trillion": 10**12,
    "조": 10**12,
}
_TEX = [("\\%", "%"), ("\\times", "×"), ("\\,", ""), ("$", ""), ("{", ""), ("}", ""), ("~", " ")]
_MULTIPLES = {"twice": "2", "double[sd]?": "2", "doubling": "2", "triple[sd]?": "3", "tripling": "3"}
_WORDS = "zero one two three four five six seven eight nine ten eleven twelve".split()
# A paper block of our own prompts (digest/prompts.py `_paper`): its id, its title line, its abstract.
_PAPER = re.compile(r'<paper id="([^"\n]{1,100})">\n([^\n]*)\n(.*?)\n</paper>', re.DOTALL)
# Name-like tokens of a title: LLaMA-3, GPT-4o, FlashAttention, ViT-B/16's ViT-B.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
# Acronyms of a whole field rather than of one paper: a sentence using them names no paper.
_GENERIC = frozenset(
    "LLM LLMS VLM VLMS MLLM MLLMS LVLM LVLMS AI AGI RL NLP GPU GPUS CPU CNN CNNS GNN GNNS DNN RNN RAG SOTA API "
    "QA VQA KV COT MOE SFT RLHF DPO PPO GRPO LORA ML ASR TTS OCR".split()
)
PREFIX_CHARS = 24  # a sentence quoting a title's first this many characters names that paper
_PREFIX = "\x00"  # marks a title-start cue: matched case-folded, anywhere


def _normalise(core: str, fraction: str | None, unit: str | None) -> tuple[str, str]:
    number = core.replace(",", "")
    fraction = (fraction or "").rstrip("0")
    if fraction:
        number += "." + fraction
    unit = (unit or "").strip()
    lowered = unit.lower()
    if lowered.startswith(_POINTS):
        return number, "pp"
    scale = _SCALES.get(lowered)
    if scale is not None:
        try:
            value = (Decimal(number) * scale).normalize()
        except InvalidOperation:
            return number, unit
        return format(value, "f"), "#"  # a scaled figure: compared as a number, never a lone count
    return number, _UNITS.get(lowered, unit.upper())


def figures(text: str) -> list[tuple[str, str]]:
    """The figures in a text, normalised: (number, unit); a scaled one's unit is "#" (compared as a number)."""
    return [fig for fig, _ in _found(text)]


def _found(text: str) -> list[tuple[tuple[str, str], str]]:
    for tex, plain in _TEX:
        text = text.replace(tex, plain)
    return [(_normalise(*m.groups()), m.group(0).strip()) for m in _FIGURE.finditer(text)]


class _Known:
    """The figures of some texts: with their units, and every number."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.with_unit: set[tuple[str, str]] = set()
        self.numbers: set[str] = set()
        for source in texts:
            for number, unit in figures(source):
                self.with_unit.add((number, unit))
                self.numbers.add(number)
            for i, word in enumerate(_WORDS):
                if re.search(rf"\b{word}\b", source, re.IGNORECASE):
                    self.numbers.add(str(i))
                if re.search(rf"\b{word}[- ]?fold\b", source, re.IGNORECASE):
                    self.with_unit.add((str(i), "×"))
            for word, times in _MULTIPLES.items():
                if re.search(rf"\b{word}\b", source, re.IGNORECASE):
                    self.with_unit.add((times, "×"))

    def has(self, number: str, unit: str) -> bool:
        if unit == "pp":
            return (number, "pp") in self.with_unit or (number, "%") in self.with_unit
        if unit and unit != "#":
            return (number, unit) in self.with_unit
        return number in self.numbers


def title_cues(titles: dict[str, str]) -> dict[str, set[str]]:
    """For each paper (id -> title), the words by which a sentence names it; a cue two papers share names
    neither."""
    cues: dict[str, set[str]] = {}
    for paper_id, title in titles.items():
        found: set[str] = set()
        head, colon, _ = title.partition(":")
        if colon and 3 <= len(head.strip()) <= 40:
            found.add(head.strip())
        if len(title) >= 12:
            found.add(_PREFIX + title[:PREFIX_CHARS].casefold())
        for token in _NAME.findall(title):
            upper = sum(ch.isupper() for ch in token)
            mixed = any(ch.isdigit() for ch in token) and upper
            if len(token) >= 3 and (upper >= 2 or mixed) and token.upper() not in _GENERIC:
                found.add(token)
        cues[paper_id] = found
    counts: dict[str, int] = {}
    for found in cues.values():
        for cue in found:
            counts[cue] = counts.get(cue, 0) + 1
    return {paper_id: {c for c in found if counts[c] == 1} for paper_id, found in cues.items()}


def _mentions(sentence: str, folded: str, cue: str) -> bool:
    """Whether the sentence names `cue`: a title's start anywhere (case-folded), a name as a word of its own
    ("LoRA" is not named by "QLoRA"; a Korean particle may follow: "FlashAttention은")."""
    if cue.startswith(_PREFIX):
        return cue[1:] in folded
    start = sentence.find(cue)
    while start >= 0:
        end = start + len(cue)
        before = sentence[start - 1] if start else " "
        after = sentence[end] if end < len(sentence) else " "
        if not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum()):
            return True
        start = sentence.find(cue, start + 1)
    return False


class FigurePool:
    """The figures of the texts one LLM call was given: pooled, and per paper of the call's prompt."""

    def __init__(self, sources: list[str]) -> None:
        self.pooled = _Known(sources)
        blocks = [m.groups() for source in sources for m in _PAPER.finditer(source)]
        self.papers = {paper_id: _Known([title, abstract]) for paper_id, title, abstract in blocks}
        self.cues = title_cues({paper_id: title for paper_id, title, _ in blocks})

    def named(self, sentence: str) -> list[str]:
        """The papers of the call that `sentence` names."""
        folded = sentence.casefold()
        return [pid for pid, cues in self.cues.items() if any(_mentions(sentence, folded, c) for c in cues)]

    def unsupported(self, sentence: str, about: str | None = None) -> list[str]:
        """The figures in `sentence` that its sources do not have: the papers it names (or `about`, the paper a
        line is written for), else any text of the call."""
        named = [about] if about in self.papers else self.named(sentence)
        known = [self.papers[n] for n in named] if named else [self.pooled]
        missing = []
        for (number, unit), surface in _found(sentence):
            if not unit and len(number) == 1:
                continue  # a count ("3가지"), see the module docstring
            if not any(k.has(number, unit) for k in known):
                missing.append(surface)
        return missing
