"""The archive's search index: static JSON files that a small script (assets/search.js) reads.

Why not one file: a year is about 150,000 papers; a phone must not download megabytes to find one. So the
index is cut twice:

- by time, one *segment* per month (`search/2026-07/`): a new day rewrites only its month, and the page
  reads the newest month first and stops as soon as it has a page of results;
- by token prefix inside a month: every word starting with the same key ("con" for Latin words, the first
  two syllables for Korean) sits in the same one of BUCKETS files (`b17.json`, chosen by a hash of the key),
  so a query word fetches one small file per month.

Documents (title, authors, topic, Korean line) sit in small numbered files (`d12.json`, DOCS_PER_FILE each),
fetched only for the results shown. Tokenizing is the same here and in search.js (keep them in step):
lowercase, accents dropped (NFKD, marks removed, NFC again so Hangul syllables stay whole), split on anything
that is not a letter or digit. Matching is by prefix, which also finds Korean words with their particles
(모델 finds 모델을). A query word shorter than its shard key (3 letters for Latin, 2 syllables otherwise)
matches whole words only.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from digest.render import author_list

DOCS_PER_FILE = 64
BUCKETS = 64  # posting files per month: few files to write, each a few KB to fetch
LATIN_KEY = 3  # Latin words are keyed by their first three letters, others (Hangul, CJK) by two characters
OTHER_KEY = 2
STOPWORDS = frozenset(
    "a an and are as at be by for from in into is it its of on or our over the this to via we with without".split()
)
_WORD = re.compile(r"[^\W_]+")


@functools.cache
def _marks() -> dict[int, None]:
    """Marks (Unicode category M, as \\p{M} in search.js) of the Basic Multilingual Plane, deleted by
    str.translate. Made on first use (a scan of 64k code points): most runs index only ASCII text."""
    return {cp: None for cp in range(0x300, 0x10000) if unicodedata.category(chr(cp)).startswith("M")}


def fold(text: str) -> str:
    """Lowercase without accents (Müller -> muller), Hangul syllables kept whole."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return unicodedata.normalize("NFC", decomposed.translate(_marks()))


def tokens(text: str) -> list[str]:
    """The indexed words of a text (see the module docstring)."""
    words = []
    for word in _WORD.findall(fold(text)):
        if word in STOPWORDS or (word.isascii() and len(word) < 2):
            continue
        words.append(word)
    return words


def shard_key(token: str) -> str:
    return token[: LATIN_KEY if token[0].isascii() else OTHER_KEY]


def bucket_name(key: str) -> str:
    """The posting file of a key: FNV-1a (32 bit) over its code points, modulo BUCKETS (search.js: bucketOf)."""
    h = 0x811C9DC5
    for ch in key:
        h = ((h ^ ord(ch)) * 0x01000193) & 0xFFFFFFFF
    return f"b{h % BUCKETS}"


def segment_of(date: str) -> str:
    return date[:7]


def doc_text(doc: list) -> str:
    """What a document is found by: its title, all its authors, its Korean line."""
    _date, _id, title, authors, _topic, line, _imp = doc
    return f"{title} {authors} {line}"


def doc_tokens(doc: list) -> list[str]:
    """The distinct indexed words of a document, sorted (what a day's cache keeps)."""
    return sorted(set(tokens(doc_text(doc))))


def write_segment(folder: Path, docs: list[list], topics: list[str], words: list[list[str]] | None = None) -> int:
    """Write one month's posting and document files into folder (replacing what was there); returns bytes.

    docs: [date, id, title, authors, topic, Korean line, importance], in date order; words: doc_tokens of
    each, when already known.
    """
    postings: dict[str, list[int]] = defaultdict(list)
    for number, doc in enumerate(docs):
        for token in words[number] if words is not None else doc_tokens(doc):
            postings[token].append(number)
    shards: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for token, numbers in postings.items():
        # Gaps instead of numbers: short digits, so a file stays small.
        shards[bucket_name(shard_key(token))][token] = [numbers[0], *(b - a for a, b in zip(numbers, numbers[1:]))]
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    written = 0
    for name, table in shards.items():
        written += _write_json(folder / f"{name}.json", table)
    topic_index = {name: i for i, name in enumerate(topics)}
    for start in range(0, len(docs), DOCS_PER_FILE):
        rows = [
            [d[0], d[1], d[2], short_authors(d[3]), topic_index.get(d[4], -1), d[5], d[6]]
            for d in docs[start : start + DOCS_PER_FILE]
        ]
        written += _write_json(folder / f"d{start // DOCS_PER_FILE}.json", rows)
    return written


def short_authors(authors: str, keep: int = 3) -> str:
    return author_list([a for a in authors.split(", ") if a], keep)


def write_meta(path: Path, segments: Iterable[tuple[str, int]], topics: list[str], topic_slugs: list[str]) -> None:
    """search/meta.json: the months newest first with their document counts, and the topics."""
    meta = {
        "docs_per_file": DOCS_PER_FILE,
        "buckets": BUCKETS,
        "latin_key": LATIN_KEY,
        "other_key": OTHER_KEY,
        "stopwords": sorted(STOPWORDS),
        "segments": [{"name": name, "docs": n} for name, n in segments],
        "topics": topics,
        "topic_slugs": topic_slugs,
    }
    _write_json(path, meta)


def _write_json(path: Path, data: object) -> int:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))
