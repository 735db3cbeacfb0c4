"""Figures a reader can trust: every number in an LLM sentence must appear in the text that call was given.

A figure is a number with its unit (72%, 2.69×, 4.23K, 7B); "72 %" and "72%", "2.69x", "2.69배" and
"2.69×", "72.0%" and "72%" are the same figure. A figure with a unit must appear with that unit; one
without a unit must appear as a number. Lone digits without a unit ("3가지 방법") are counts, not figures:
abstracts spell them out ("three methods") too often to demand them.
"""

from __future__ import annotations

import re

_FIGURE = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s?"
    r"(%|퍼센트|percent\b|×|배|x(?![A-Za-z])|times\b|-fold\b|[KMB](?![A-Za-z])|k(?![A-Za-z]))?",
)
_UNITS = {"%": "%", "퍼센트": "%", "percent": "%", "×": "×", "배": "×", "x": "×", "times": "×", "-fold": "×"}
_TEX = [("\\%", "%"), ("\\times", "×"), ("\\,", ""), ("$", ""), ("{", ""), ("}", ""), ("~", " ")]
_MULTIPLES = {"twice": "2", "double[sd]?": "2", "doubling": "2", "triple[sd]?": "3", "tripling": "3"}
_WORDS = "zero one two three four five six seven eight nine ten eleven twelve".split()


def _normalise(core: str, fraction: str | None, unit: str | None) -> tuple[str, str]:
    number = core.replace(",", "")
    fraction = (fraction or "").rstrip("0")
    if fraction:
        number += "." + fraction
    unit = unit or ""
    return number, _UNITS.get(unit.lower(), unit.upper())


def figures(text: str) -> list[tuple[str, str]]:
    """The figures in a text, normalised: (number, unit)."""
    for tex, plain in _TEX:
        text = text.replace(tex, plain)
    return [_normalise(*m.groups()) for m in _FIGURE.finditer(text)]


class FigurePool:
    """The figures of the texts one LLM call was given."""

    def __init__(self, sources: list[str]) -> None:
        self.with_unit: set[tuple[str, str]] = set()
        self.numbers: set[str] = set()
        for source in sources:
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

    def unsupported(self, sentence: str) -> list[str]:
        """The figures in `sentence` that none of the sources has."""
        missing = []
        for number, unit in figures(sentence):
            if not unit and len(number) == 1:
                continue  # a count ("3가지"), see the module docstring
            known = (number, unit) in self.with_unit if unit else number in self.numbers
            if not known:
                missing.append(number + unit)
        return missing
