"""`interests.papers`: the readers' own papers or library, as papers to learn from (digest/learn.py).

Each entry is an arXiv id, read once through the export API and then kept in the state database, or a file:
BibTeX (`.bib`, through bibtexparser) or CSL-JSON (`.json`, what Zotero's "Export Collection" writes), read
whenever it changed. An entry of a file with an arXiv id but no abstract gets the abstract from arXiv too.
A file or an API that cannot be read costs the digest those papers, never the run: one warning line.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from digest.clock import SYSTEM_CLOCK, Clock
from digest.config import Config
from digest.ids import answer_id, is_arxiv_id, strip_version
from digest.models import Paper
from digest.store import Store
from digest.text import normalize_arxiv

log = logging.getLogger("digest")

_ARXIV_IN_TEXT = re.compile(r"(?:arxiv\.org/(?:abs|pdf)/|arxiv[:.]\s*)([^\s,;}]+)", re.IGNORECASE)


class OwnPapersError(ValueError):
    """A file of interests.papers that cannot be read: the message names it and why."""


def own_papers(config: Config, store: Store, clock: Clock = SYSTEM_CLOCK, *, fetch: bool = True) -> list[Paper]:
    """Every paper of interests.papers with a title (and, as far as known, an abstract); without `fetch`, only
    the arXiv ids already read (the weekly edition asks arXiv nothing)."""
    if not config.interests.papers:
        return []
    found: list[Paper] = []
    ids: list[str] = []
    for source in config.own_paper_sources():
        if isinstance(source, str):
            ids.append(source)
            continue
        try:
            papers, more_ids = read_library(source)
        except OwnPapersError as exc:
            log.warning("interests.papers: %s; learning without it", exc)
            continue
        found += papers
        ids += more_ids
    return found + _arxiv_papers(config, store, ids, clock, fetch)


def _arxiv_papers(config: Config, store: Store, ids: list[str], clock: Clock, fetch: bool) -> list[Paper]:
    """The papers of these ids: stored ones as they are, the others from the export API (then stored)."""
    stored = store.own_papers()
    missing = [i for i in dict.fromkeys(ids) if i not in stored]
    if missing and fetch:
        from digest.errors import describe_error
        from digest.sources.api import make_client, to_paper

        try:
            entries = make_client(config, clock).by_ids(missing)
        except Exception as exc:  # noqa: BLE001 - arXiv being down costs these papers until the next run
            log.warning(
                "interests.papers: the export API could not be read (%s); next run tries again", describe_error(exc)
            )
            entries = []
        fetched = [to_paper(e, config.arxiv.categories) for e in entries]
        fetched = [p for p in fetched if p.id in missing]
        store.save_own_papers(fetched, "arxiv")
        stored.update({p.id: p for p in fetched})
        if len(fetched) < len(missing):
            unknown = sorted(set(missing) - {p.id for p in fetched})
            log.warning("interests.papers: arXiv has no paper %s", ", ".join(unknown[:5]))
    return [stored[i] for i in dict.fromkeys(ids) if i in stored]


def read_library(path: Path) -> tuple[list[Paper], list[str]]:
    """A BibTeX or CSL-JSON file's entries: those with a title and abstract as papers, and the arXiv ids of
    those without an abstract (to read from arXiv). OwnPapersError names the file and what is wrong."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise OwnPapersError(f"{path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    rows = _bibtex(path, text) if path.suffix.lower() == ".bib" else _csl_json(path, text)
    papers, ids = [], []
    for key, title, abstract, arxiv_id in rows:
        title = normalize_arxiv(title.replace("{", "").replace("}", ""))
        abstract = normalize_arxiv(abstract.replace("{", "").replace("}", ""), one_line=False)
        if title and abstract:
            papers.append(Paper(arxiv_id or key, title, abstract, [], [], "new"))
        elif arxiv_id:
            ids.append(arxiv_id)
    if not papers and not ids:
        raise OwnPapersError(f"{path}: no entry with a title and an abstract or an arXiv id")
    return papers, ids


def _arxiv_id(*values: object) -> str | None:
    for value in values:
        if not value:
            continue
        text = str(value)
        candidate = _ARXIV_IN_TEXT.search(text)
        bare = answer_id(candidate.group(1) if candidate else text).removesuffix(".pdf")
        if is_arxiv_id(bare):
            return strip_version(bare)
    return None


def _bibtex(path: Path, text: str) -> list[tuple[str, str, str, str | None]]:
    import bibtexparser

    library = bibtexparser.parse_string(text)
    if not library.entries and library.failed_blocks:
        raise OwnPapersError(f"{path}: not BibTeX this parser can read ({len(library.failed_blocks)} broken entries)")
    rows = []
    for entry in library.entries:
        fields = {k.lower(): str(f.value) for k, f in entry.fields_dict.items()}
        arxiv = fields.get("eprint") if "arxiv" in fields.get("archiveprefix", "arxiv").lower() else None
        rows.append(
            (entry.key, fields.get("title", ""), fields.get("abstract", ""), _arxiv_id(arxiv, fields.get("url")))
        )
    return rows


def _csl_json(path: Path, text: str) -> list[tuple[str, str, str, str | None]]:
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise OwnPapersError(f"{path}: not JSON ({exc})") from None
    if isinstance(items, dict):  # one item, or {"items": [...]}
        items = items.get("items", [items])
    if not isinstance(items, list):
        raise OwnPapersError(f"{path}: not CSL-JSON (a list of items)")
    rows = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        key = str(item.get("id") or item.get("citation-key") or f"item-{n}")
        arxiv = _arxiv_id(item.get("number"), item.get("URL"), item.get("DOI"), item.get("archive_location"))
        rows.append((key, str(item.get("title") or ""), str(item.get("abstract") or ""), arxiv))
    return rows
