"""arXiv identifiers, in one place: the grammar, the bare id, the id an LLM wrote, and their order.

New style `2605.01234` (YYMM, then 4 digits until 2014 and 5 since), old style `hep-th/9901001` and
`math.AG/0101001` (archive, optional subject class, YYMM and a 3-digit number); either may carry a version
(`v2`). arXiv assigns ids at announcement and never back-dates them, so a newer id is a later paper.
"""

from __future__ import annotations

import re

NEW_ID = r"\d{2}(?:0[1-9]|1[0-2])\.\d{4,5}"
# Old archive names are short words with at most one hyphen (hep-th, cond-mat, alg-geom): bounded, so a
# search over a long run of letters stays linear.
OLD_ID = r"[a-z]{1,8}(?:-[a-z]{1,8})?(?:\.[A-Z]{2})?/\d{2}(?:0[1-9]|1[0-2])\d{3}"
ARXIV_ID = rf"(?:{NEW_ID}|{OLD_ID})"  # for other patterns to embed (no groups)
_ID = re.compile(rf"({ARXIV_ID})(v\d+)?")
_PREFIX = re.compile(r"^(?:arxiv\s*:\s*|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)", re.IGNORECASE)


def is_arxiv_id(value: str) -> bool:
    """Whether `value` is an arXiv identifier (new or old style, with or without a version)."""
    return _ID.fullmatch(value) is not None


def strip_version(arxiv_id: str) -> str:
    """`2605.01234v2` -> `2605.01234`; anything that is not an id comes back stripped of spaces only."""
    value = arxiv_id.strip()
    m = _ID.fullmatch(value)
    return m.group(1) if m else value


def answer_id(raw: object) -> str:
    """An id as an LLM wrote it (` arXiv:2605.01234v2`, an abs link) as the bare id we sent (`2605.01234`)."""
    return strip_version(_PREFIX.sub("", str(raw).strip()))


def id_order(paper_id: str) -> tuple:
    """Sort key, oldest first: old-style ids (by archive, then number) before new-style ones (by YYMM, number).
    Sorting with reverse=True gives arXiv's own listing order, newest id first."""
    bare = strip_version(paper_id)
    if "/" in bare:
        archive, _, number = bare.rpartition("/")
        return (0, archive, int(number) if number.isdigit() else 0)
    month, _, number = bare.partition(".")
    return (1, int(month) if month.isdigit() else 0, int(number) if number.isdigit() else 0)
