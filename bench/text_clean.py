"""How long cleaning takes on the worst text an answer can hold: long unbroken strings built to make a
backtracking pattern rescan the rest of the text at every position. Cleaning must grow linearly with the
text (an 80,000-character answer of this kind once took 297 s). Prints seconds per input and size.

    python bench/text_clean.py
"""

from __future__ import annotations

import time

from digest.llm import MAX_ANSWER_CHARS
from digest.text import normalize_arxiv, strip_llm

UNITS = ["a", "a.", "2401.", "x-", "_", "[", "![", "[a](", "<a", "a@", "@a.", "__a ", "www.", "\\(", "$a", " "]
SIZES = [10_000, 80_000, MAX_ANSWER_CHARS]


def seconds(clean: object, text: str) -> float:
    started = time.perf_counter()
    clean(text)
    return time.perf_counter() - started


def main() -> None:
    print(f"{'unit':>8} " + " ".join(f"{n:>10,}" for n in SIZES) + "   (seconds, strip_llm / normalize_arxiv)")
    worst = 0.0
    for unit in UNITS:
        cells = []
        for n in SIZES:
            text = unit * (n // len(unit))
            llm, arxiv = seconds(strip_llm, text), seconds(normalize_arxiv, text)
            worst = max(worst, llm, arxiv)
            cells.append(f"{llm:.2f}/{arxiv:.2f}")
        print(f"{unit!r:>8} " + " ".join(f"{c:>10}" for c in cells))
    print(f"slowest: {worst:.2f} s for {MAX_ANSWER_CHARS:,} characters")


if __name__ == "__main__":
    main()
