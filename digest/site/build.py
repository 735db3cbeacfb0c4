"""Build the static archive site from the report folders (digest.json) and the store (abstracts).

Incremental: every page is written only when the hash of its inputs changed (the manifest `.manifest.json`
in site.dir remembers them). A day's inputs are its digest.json, the day before it (the page links it), the
templates and the config that shows on pages. What a day contributes to the other pages (its must-reads,
top papers per topic, search words) is cached in `output/.site-cache/` (DATE.json, DATE.docs.json), so a
refresh after one new day reads that one digest.json in full and only the small caches of the others.

The site never calls a model: it shows what the reports hold.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from digest.config import OTHER, Config
from digest.edition import built_reports
from digest.errors import DigestError
from digest.models import SECTION_TITLES, WEEK_SECTION_TITLES, Assignment, Digest, Paper, byline
from digest.render import author_list, plain_text
from digest.report import read_digest_file
from digest.site import search
from digest.site.svg import topic_rows_svg
from digest.urls import anchor, topic_slugs

if TYPE_CHECKING:
    from collections.abc import Callable

    from digest.store import Store

T = TypeVar("T")

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
ASSETS = HERE / "assets"
CACHE_FORMAT = 3  # 3: must-reads carry their reason (`why`)
WEEK_TOP = 10  # papers per topic on a week page
TOPIC_DAY_TOP = 3  # papers per day on a topic page
TOPIC_DETAIL_DAYS = 60  # days with their papers on a topic page; older days are one line each
FEED_DAYS = 60
CHART_WEEKS = 8
AUTHORS_SHOWN = 6
MAX_WORKERS = 2  # processes for a large build (day pages, search months); the machine may be small
PARALLEL_FROM = 6  # fewer days or months than this are built in this process (no start-up cost)
MANIFEST = ".manifest.json"  # in site.dir: every file the last build wrote, with the hash of its inputs
LOCK = "build.lock"  # in the site cache: one build at a time per output folder
# Characters XML 1.0 does not allow: one in a title would make feed.xml unreadable to every feed reader.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class SiteResult:
    site_dir: Path
    days: int
    written: int
    total: int
    seconds: float
    skipped: dict[str, str] = field(default_factory=dict)  # date -> why its digest.json could not be read

    def line(self) -> str:
        return (
            f"site: {self.days} day{'s' if self.days != 1 else ''}, {self.written} of {self.total} pages rewritten "
            f"in {self.seconds:.1f}s "
            f"({self.site_dir})"
        )

    def skipped_lines(self) -> list[str]:
        """One line per report left out (a day's page built before is kept as it was)."""
        return [
            f"site: skipped {what}: {why}; rebuild it with `{_rebuild(what)}`" for what, why in self.skipped.items()
        ]


def _rebuild(what: str) -> str:
    week = what.removeprefix("weeks/")
    return f"digest week --week {week} --force" if week != what else f"digest run --date {what} --force"


def _sha(*parts: str | bytes) -> str:
    h = hashlib.sha1()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _code_version() -> str:
    """Changes whenever a template, an asset or this package's code changes: then every page is rebuilt."""
    files = sorted([*TEMPLATES.glob("*.j2"), *ASSETS.iterdir(), *HERE.glob("*.py")])
    return _sha(*(f.read_bytes() for f in files))


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # LLM text is data: no links or markup survive, then autoescape escapes it (as digest.html does).
    env.filters["plain"] = plain_text
    env.filters["anchor"] = anchor
    env.globals["dict"] = dict
    return env


def report_days(output_dir: Path, kind: str = "day") -> list[tuple[str, Path]]:
    """(period, digest.json) of every report folder of one kind, oldest first."""
    return [(edition.period, folder / "digest.json") for edition, folder in built_reports(output_dir, kind)]


class Writer:
    """Writes a file when its input hash differs from the manifest's (or the file is missing)."""

    def __init__(self, site: Path) -> None:
        self.site = site
        self.written = 0
        self.total = 0
        try:
            self.previous = json.loads((site / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.previous = {}
        self.current: dict[str, str] = {}

    def forget(self, rel: str) -> None:
        """Undo a fresh(rel) that answered False: the caller will not write rel after all."""
        if self.current.pop(rel, None) is not None:
            self.total -= 1
            self.written -= 1

    def rekey(self, rel: str, key: str) -> bool:
        """fresh(rel, key) for a rel already asked about with another key (the answer for that one undone)."""
        old = self.current.pop(rel, None)
        if old is not None:
            self.total -= 1
            self.written -= not (self.previous.get(rel) == old and (self.site / rel).exists())
        return self.fresh(rel, key)

    def keep(self, rel: str) -> bool:
        """Keep rel as the last build wrote it (its input cannot be read now); False when there is none."""
        if rel not in self.previous or not (self.site / rel).exists():
            return False
        self.total += 1
        self.current[rel] = self.previous[rel]
        return True

    def fresh(self, rel: str, key: str) -> bool:
        """True when rel is up to date for key; otherwise the caller writes it (and calls done)."""
        self.total += 1
        self.current[rel] = key
        if self.previous.get(rel) == key and (self.site / rel).exists():
            return True
        self.written += 1
        return False

    def write(self, rel: str, text: str | bytes) -> None:
        write_file(self.site / rel, text)

    def save(self) -> None:
        for rel in set(self.previous) - set(self.current):
            _remove(self.site / rel, self.site)
        self.write(MANIFEST, json.dumps(self.current, indent=0, sort_keys=True))


def write_file(path: Path, content: str | bytes) -> None:
    """Write through a temporary file of its own name and a rename: a reader never sees half a page, and
    two writers never share a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content.encode("utf-8") if isinstance(content, str) else content)
        os.chmod(tmp, 0o644)  # a page is public; mkstemp makes it private to the owner
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sweep_temporary_files(site: Path) -> None:
    """The temporary files (write_file's) a killed build left: under the build lock nobody else writes one."""
    for leftover in site.rglob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def _remove(path: Path, site: Path) -> None:
    """A page whose day, week, topic or month disappeared: its folder goes with it (abstracts, shards)."""
    if path.name in ("index.html", ".key") and path.parent != site:
        shutil.rmtree(path.parent, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# ----- reading one day -----


def _lines(digest: Digest) -> dict[str, str]:
    """Korean one-line summaries by paper id, from every topic's summary."""
    return {i: line for s in digest.sections for i, line in s.summary.paper_lines.items()}


def _topic_order(digest: Digest, known: list[str]) -> list[str]:
    names = [n for n, c in digest.counts.items() if c]
    present = {a.topic for a in digest.assignments.values()}
    ordered = [n for n in known if n in present or n in names]
    return ordered + sorted(present - set(ordered))


@dataclass(slots=True)
class Row:
    """A paper as the day page shows it, with its texts ready (attribute access keeps Jinja fast)."""

    id: str
    anchor: str
    title: str
    url: str
    authors: str  # the first AUTHORS_SHOWN names, then how many more
    first: str  # the first author, "외" when there are more
    topic: str
    importance: int
    category: str
    line: str  # the Korean line, stripped of links and markup ("" when none)
    reason: str = ""  # why a must-read was picked (digest/readers.py), "" when there is nothing to say

    @classmethod
    def of(cls, p: Paper, a: Assignment, line: str, reason: str = "") -> Row:
        return cls(
            p.id,
            anchor(p.id),
            p.title,
            p.url,
            author_list(p.authors, AUTHORS_SHOWN),
            byline(p.authors),
            a.topic,
            a.importance,
            p.primary_category,
            plain_text(line) if line else "",
            reason,
        )


def _lite(p: Paper, a: Assignment, line: str, why: str = "") -> dict:
    first = byline(p.authors)
    return {
        "id": p.id,
        "title": p.title,
        "first": first,
        "imp": a.importance,
        "line": line,
        "topic": a.topic,
        "why": why,
    }


def _titled(digest: Digest) -> dict[str, dict]:
    """Each topic's summary with its section headings, as the pages show it."""
    titles = WEEK_SECTION_TITLES if digest.week else SECTION_TITLES
    return {
        s.name: {"sections": dict(zip(titles, s.summary.sections, strict=False)), "method": s.summary.method}
        for s in digest.sections
    }


def read_day(digest: Digest, known_topics: list[str]) -> tuple[dict, list[list], dict]:
    """From one day's digest: the summary other pages use, the search documents, and the day page's context."""
    date = digest.date.isoformat()
    lines = _lines(digest)
    topics = _topic_order(digest, known_topics)
    of = digest.assignments
    by_topic: dict[str, list[tuple[int, Paper]]] = defaultdict(list)
    for position, p in enumerate(digest.papers):
        by_topic[of[p.id].topic].append((position, p))
    ranked = {t: [p for _, p in sorted(by_topic[t], key=lambda ip: (-of[ip[1].id].importance, ip[0]))] for t in topics}
    papers = {p.id: p for p in digest.papers}
    must = [papers[i] for i in digest.must_reads if i in papers]
    gist = {}
    for s in digest.sections:
        if s.summary.gist:
            gist[s.name] = s.summary.gist
        elif s.summary.sections and s.summary.sections[0]:
            gist[s.name] = s.summary.sections[0][0]
    summary = {
        "format": CACHE_FORMAT,
        "date": date,
        "total": len(digest.papers),
        "counts": {t: len(by_topic[t]) for t in topics},
        "llm": digest.llm_used,
        "must": [_lite(p, of[p.id], lines.get(p.id, ""), digest.reasons.get(p.id, "")) for p in must],
        "top": {t: [_lite(p, of[p.id], lines.get(p.id, "")) for p in ranked[t][:WEEK_TOP]] for t in topics},
        "gist": {t: gist[t] for t in topics if t in gist},
    }
    docs = [
        [date, p.id, p.title, ", ".join(p.authors), of[p.id].topic, lines.get(p.id, ""), of[p.id].importance]
        for p in digest.papers
    ]
    page = {
        "topics": topics,
        "ranked": {t: [Row.of(p, of[p.id], lines.get(p.id, "")) for p in ranked[t]] for t in topics},
        "must": [Row.of(p, of[p.id], lines.get(p.id, ""), digest.reasons.get(p.id, "")) for p in must],
        "summaries": _titled(digest),
    }
    return summary, docs, page


def _abstracts(store: Store | None, date: str) -> dict[str, str]:
    if store is None:
        return {}
    listing = store.load_listing(dt.date.fromisoformat(date))
    if listing is None:
        return {}
    return {p.id: " ".join(p.abstract.split()) for p in listing.papers}


def _open_store(config: Config) -> Store | None:
    """The state database for the abstracts, if there is one (the site never creates it)."""
    from digest.store import open_store

    return open_store(config) if config.state_path.is_file() else None


# ----- the build -----


class SiteBuilder:
    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        self.store = store
        self.site = config.site_dir
        self.cache = config.output_dir / ".site-cache"
        self.env = environment()
        self.known = [*config.topic_names, OTHER]
        self.slugs = topic_slugs(self.known)
        self.skipped: dict[str, str] = {}  # what could not be read: a date or weeks/2026-W27 -> why
        self.context_key = _sha(
            _code_version(), config.report.title, json.dumps(self.known), config.site.base_url or ""
        )

    def slug(self, topic: str) -> str:
        if topic not in self.slugs:
            self.slugs = topic_slugs([*self.slugs, topic])
        return self.slugs[topic]

    def render(self, name: str, root: str, **context: object) -> str:
        return self.env.get_template(name).render(
            root=root,
            site_title=self.config.report.title,
            slug=self.slug,
            base_url=self.config.site.base_url,
            **context,
        )

    def build(self) -> SiteResult:
        started = time.monotonic()
        self.site.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        _sweep_temporary_files(self.site)
        writer = Writer(self.site)
        days = report_days(self.config.output_dir)
        summaries: dict[str, dict] = {}
        day_keys: dict[str, str] = {}
        previous = None
        todo = []
        hashes = self._file_hashes(days)
        for date, path in days:
            key = self._day_key(hashes[date], previous)
            day_keys[date] = key
            cached = self._cached(date, key) if writer.fresh(f"{date}/index.html", key) else None
            if cached is None:
                todo.append((date, str(path), key, previous))
            else:
                summaries[date] = cached
            previous = date
        for built, unreadable in self._jobs(_day_job, todo):
            summaries.update(built)
            self.skipped.update(unreadable)
        for date in list(self.skipped):
            self._keep_day(writer, date, summaries, day_keys)
        self._relink_after_left_out(writer, days, hashes, summaries, day_keys, {t[0] for t in todo})
        summaries = dict(sorted(summaries.items()))
        self._publish_charts(writer, days, summaries)
        self._build_search(writer, summaries, day_keys)
        self._build_weeks(writer, summaries, day_keys)
        self._build_topics(writer, summaries, day_keys)
        self._build_index(writer, summaries, day_keys)
        self._build_feed(writer, summaries, day_keys)
        self._build_static(writer)
        writer.save()
        seconds = time.monotonic() - started
        return SiteResult(self.site, len(summaries), writer.written, writer.total, seconds, self.skipped)

    def _day_key(self, digest_hash: str, previous: str | None) -> str:
        """What a day page is made from: its digest.json, the day its "←" links, and the site's context."""
        return _sha(self.context_key, digest_hash, previous or "")

    def _relink_after_left_out(
        self,
        writer: Writer,
        days: list[tuple[str, Path]],
        hashes: dict[str, str],
        summaries: dict[str, dict],
        day_keys: dict[str, str],
        built_now: set[str],
    ) -> None:
        """A day left out (unreadable, never built) must not be the "←" of the day after it: that day's page
        points at the last day the site has (built again if it does not yet, or was just built otherwise)."""
        dates = [date for date, _ in days]
        redo = []
        for i, (date, path) in enumerate(days):
            if i == 0 or dates[i - 1] in summaries or date not in summaries or date in self.skipped:
                continue
            previous = next((d for d in reversed(dates[:i]) if d in summaries), None)
            key = self._day_key(hashes[date], previous)
            day_keys[date] = key
            fresh = writer.rekey(f"{date}/index.html", key)
            if fresh and date in built_now:  # just written with the left-out day as its "←": again
                writer.written += 1
            if not fresh or date in built_now:
                redo.append((date, str(path), key, previous))
        for built, _ in self._jobs(_day_job, redo):
            summaries.update(built)

    def _keep_day(self, writer: Writer, date: str, summaries: dict[str, dict], day_keys: dict[str, str]) -> None:
        """A day whose digest.json cannot be read now: its page stays as the last build made it (and what it
        gave the other pages with it), or, never built, it is left out."""
        rel = f"{date}/index.html"
        writer.forget(rel)
        cached = self._cached(date, None)
        if cached is not None and (self.cache / f"{date}.docs.json").is_file() and writer.keep(rel):
            summaries[date] = cached
        else:
            day_keys.pop(date, None)

    def _cached(self, date: str, key: str | None) -> dict | None:
        """What an earlier build read from this day, if it was built with `key` (any key: None)."""
        try:
            cached = json.loads((self.cache / f"{date}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cached["summary"] if key is None or cached.get("key") == key else None

    def _publish_charts(self, writer: Writer, days: list[tuple[str, Path]], summaries: dict[str, dict]) -> None:
        """Each report's chart beside its page (site/2026-06-30/paper_2026-06-30.png, the same for a week):
        Slack's image block and anyone sharing a day link it from there."""
        reports = [(d, p) for d, p in days if d in summaries]
        reports += [(f"weeks/{w}", p) for w, p in report_days(self.config.output_dir, "week")]
        for folder, path in reports:
            name = f"paper_{folder.removeprefix('weeks/')}.png"
            chart = path.parent / name
            try:
                stamp = _stamp(chart)
            except OSError:
                continue  # a report from before charts were kept: nothing to publish
            if not writer.fresh(f"{folder}/{name}", stamp):
                writer.write(f"{folder}/{name}", chart.read_bytes())

    def _file_hashes(self, days: list[tuple[str, Path]]) -> dict[str, str]:
        """The content hash of each digest.json, read again only when its size or mtime changed."""
        index = self.cache / "hashes.json"
        try:
            known = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        hashes, fresh = {}, {}
        for date, path in days:
            st = path.stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
            entry = known.get(date)
            digest = entry[1] if entry and entry[0] == stamp else _sha(path.read_bytes())
            hashes[date] = digest
            fresh[date] = [stamp, digest]
        if fresh != known:
            write_file(index, json.dumps(fresh))
        return hashes

    def _jobs(self, job: Callable[[Config, list, SiteBuilder | None], T], items: list) -> list[T]:
        """Run job(config, chunk) over items: in worker processes when there is enough work, else here."""
        workers = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
        if len(items) < PARALLEL_FROM or workers < 2:
            return [job(self.config, items, self)] if items else []
        from concurrent.futures import ProcessPoolExecutor

        chunks = [items[i::workers] for i in range(workers)]
        with ProcessPoolExecutor(max_workers=workers, initializer=_end_with, initargs=(os.getpid(),)) as pool:
            return list(pool.map(job, [self.config] * workers, chunks))

    def _docs(self, date: str) -> tuple[list[list], list[list[str]]]:
        cached = json.loads((self.cache / f"{date}.docs.json").read_text(encoding="utf-8"))
        return cached["docs"], cached["words"]

    def _build_day(self, date: str, digest: Digest, key: str, previous: str | None) -> dict:
        summary, docs, page = read_day(digest, self.known)
        abstracts = _abstracts(self.store, date)  # digest.json does not carry them
        for topic in page["topics"]:
            members = {p.id: abstracts[p.id] for p in page["ranked"][topic] if abstracts.get(p.id)}
            write_file(self.site / f"{date}/abs-{self.slug(topic)}.json", json.dumps(members, ensure_ascii=False))
        html = self.render(
            "day.html.j2",
            "../",
            date=date,
            summary=summary,
            previous=previous,
            week=iso_week(date),
            has_abstracts=bool(abstracts),
            **page,
        )
        write_file(self.site / f"{date}/index.html", html)
        words = [search.doc_tokens(doc) for doc in docs]
        write_file(self.cache / f"{date}.docs.json", json.dumps({"docs": docs, "words": words}, ensure_ascii=False))
        write_file(self.cache / f"{date}.json", json.dumps({"key": key, "summary": summary}, ensure_ascii=False))
        return summary

    def _build_search(self, writer: Writer, summaries: dict[str, dict], day_keys: dict[str, str]) -> None:
        months: dict[str, list[str]] = defaultdict(list)
        for date in summaries:
            months[search.segment_of(date)].append(date)
        topics = self._all_topics(summaries)
        segments, todo = [], []
        for month, dates in sorted(months.items(), reverse=True):
            segments.append((month, sum(summaries[d]["total"] for d in dates)))
            rel = f"search/{month}/.key"
            key = _sha(self.context_key, json.dumps(topics), *(day_keys[d] for d in dates))
            if not writer.fresh(rel, key):
                todo.append((month, dates, topics, key))
        self._jobs(_segment_job, todo)
        rel = "search/meta.json"
        if not writer.fresh(rel, _sha(self.context_key, json.dumps(segments), json.dumps(topics))):
            (self.site / "search").mkdir(parents=True, exist_ok=True)
            search.write_meta(self.site / rel, segments, topics, [self.slug(t) for t in topics])

    def _all_topics(self, summaries: dict[str, dict]) -> list[str]:
        seen = {t for s in summaries.values() for t in s["counts"]}
        return [t for t in self.known if t in seen] + sorted(seen - set(self.known))

    def _build_weeks(self, writer: Writer, summaries: dict[str, dict], day_keys: dict[str, str]) -> None:
        weeks: dict[str, list[str]] = defaultdict(list)
        for date in summaries:
            weeks[iso_week(date)].append(date)
        editions = dict(report_days(self.config.output_dir, "week"))
        names = sorted(weeks)
        for i, week in enumerate(names):
            dates = weeks[week]
            prev_week = names[i - 1] if i else None
            next_week = names[i + 1] if i + 1 < len(names) else None
            rel = f"weeks/{week}/index.html"
            edition = editions.get(week)
            stamp = _stamp(edition) if edition else ""
            if writer.fresh(
                rel, _sha(self.context_key, prev_week or "", next_week or "", stamp, *(day_keys[d] for d in dates))
            ):
                continue
            days = [summaries[d] for d in dates]
            top: dict[str, list[dict]] = {}
            for topic in self._all_topics({d: summaries[d] for d in dates}):
                # A paper announced on two days of the week (a cross-list listed again) is shown once, on its first.
                pool = {p["id"]: dict(p, date=s["date"]) for s in reversed(days) for p in s["top"].get(topic, [])}
                top[topic] = sorted(pool.values(), key=lambda p: (-p["imp"], p["date"]))[:WEEK_TOP]
            weekly = self._weekly(week, edition, dates) if edition else None
            # The edition counts each paper once; without it, the days' counts are summed.
            counts = weekly["counts"] if weekly else {t: sum(s["counts"].get(t, 0) for s in days) for t in top}
            writer.write(
                rel,
                self.render(
                    "week.html.j2",
                    "../../",
                    week=week,
                    week_label=week_label(week),
                    days=days,
                    top=top,
                    counts=counts,
                    prev_week=prev_week,
                    next_week=next_week,
                    weekly=weekly,
                ),
            )

    def _weekly(self, week: str, path: Path, dates: list[str]) -> dict | None:
        """What the weekly edition adds to its week's page: the must-reads, the trend chart and each topic's
        synthesis with its count against the weeks before. None (with the page as before) if unreadable."""
        try:
            digest = read_digest_file(path)
        except DigestError as exc:
            self.skipped[f"weeks/{week}"] = str(exc)
            return None
        first_day: dict[str, str] = {}
        for date in sorted(dates, reverse=True):  # a paper listed on two days links its first
            first_day.update((doc[1], date) for doc in self._docs(date)[0])
        lines = _lines(digest)
        papers = {p.id: p for p in digest.papers}
        must = [
            dict(
                _lite(papers[i], digest.assignments[i], lines.get(i, ""), digest.reasons.get(i, "")), date=first_day[i]
            )
            for i in digest.must_reads
            if i in papers and i in first_day
        ]
        titled = _titled(digest)
        topics = {
            s.name: {
                "trend": digest.trends.get(s.name),
                "sections": titled[s.name]["sections"],
                "method": s.summary.method,
            }
            for s in digest.sections
        }
        chart = path.parent / digest.chart_name
        chart_name = digest.chart_name if chart.is_file() else None
        return {"must": must, "topics": topics, "chart": chart_name, "counts": digest.counts}

    def _chart(self, chart_id: str, summaries: dict[str, dict], topics: list[str], title: str) -> Markup:
        dates = sorted(summaries)
        if not dates:
            return Markup("")
        since = (dt.date.fromisoformat(dates[-1]) - dt.timedelta(weeks=CHART_WEEKS)).isoformat()
        window = [d for d in dates if d > since]
        rows = [(t, [summaries[d]["counts"].get(t, 0) for d in window]) for t in topics]
        rows = [(t, counts) for t, counts in rows if any(counts)]
        return topic_rows_svg(chart_id, title, window, rows)

    def _build_topics(self, writer: Writer, summaries: dict[str, dict], day_keys: dict[str, str]) -> None:
        for topic in self._all_topics(summaries):
            dates = [d for d in sorted(summaries, reverse=True) if summaries[d]["counts"].get(topic)]
            slug = self.slug(topic)
            rel = f"topics/{slug}/index.html"
            if writer.fresh(rel, _sha(self.context_key, topic, *(day_keys[d] for d in dates))):
                continue
            days = [summaries[d] for d in dates]
            total = sum(s["counts"][topic] for s in days)
            chart = self._chart(f"chart-{slug}", summaries, [topic], f"{topic} 일별 논문 수 (최근 {CHART_WEEKS}주)")
            writer.write(
                rel,
                self.render(
                    "topic.html.j2",
                    "../../",
                    topic=topic,
                    days=days,
                    total=total,
                    chart=chart,
                    top_n=TOPIC_DAY_TOP,
                    detail=TOPIC_DETAIL_DAYS,
                ),
            )

    def _build_index(self, writer: Writer, summaries: dict[str, dict], day_keys: dict[str, str]) -> None:
        if not writer.fresh("index.html", _sha(self.context_key, *day_keys.values())):
            dates = sorted(summaries, reverse=True)
            topics = self._all_topics(summaries)
            weeks: dict[str, list[dict]] = defaultdict(list)
            for d in dates:
                weeks[iso_week(d)].append(summaries[d])
            chart = self._chart("chart-topics", summaries, topics, f"주제별 일별 논문 수 (최근 {CHART_WEEKS}주)")
            totals = {t: sum(s["counts"].get(t, 0) for s in summaries.values()) for t in topics}
            writer.write(
                "index.html",
                self.render(
                    "index.html.j2",
                    "",
                    latest=summaries[dates[0]] if dates else None,
                    weeks=list(weeks.items()),
                    week_label=week_label,
                    topics=topics,
                    totals=totals,
                    chart=chart,
                    chart_weeks=CHART_WEEKS,
                ),
            )

    def _build_feed(self, writer: Writer, summaries: dict[str, dict], day_keys: dict[str, str]) -> None:
        dates = sorted(summaries, reverse=True)[:FEED_DAYS]
        if writer.fresh("feed.xml", _sha(self.context_key, *(day_keys[d] for d in dates))):
            return
        feed = self.env.get_template("feed.xml.j2").render(
            site_title=self.config.report.title,
            base_url=self.config.site.base_url,
            days=[summaries[d] for d in dates],
            feed_id=feed_id(self.config.site.base_url, None),
            entry_id=lambda d: feed_id(self.config.site.base_url, d),
        )
        writer.write("feed.xml", _NOT_XML.sub("", feed))  # reports written before text.py dropped them

    def _build_static(self, writer: Writer) -> None:
        if not writer.fresh("search.html", self.context_key):
            writer.write("search.html", self.render("search.html.j2", ""))
        for asset in sorted(ASSETS.iterdir()):
            rel = f"assets/{asset.name}"
            if not writer.fresh(rel, self.context_key):
                writer.write(rel, asset.read_text(encoding="utf-8"))
        if not writer.fresh(".nojekyll", "1"):  # GitHub Pages: serve the files as they are
            writer.write(".nojekyll", "")


def _day_job(
    config: Config, items: list[tuple], builder: SiteBuilder | None = None
) -> tuple[dict[str, dict], dict[str, str]]:
    """Build day pages (in a worker process, or here with the caller's builder): the summaries of the days
    built, and why each day that could not be read was not (the others are built all the same)."""
    own = builder is None
    if own:
        builder = SiteBuilder(config, _open_store(config))
    built, unreadable = {}, {}
    try:
        for date, path, key, previous in items:
            try:
                digest = read_digest_file(Path(path))
            except DigestError as exc:
                unreadable[date] = str(exc)
                continue
            built[date] = builder._build_day(date, digest, key, previous)
        return built, unreadable
    finally:
        if own and builder.store is not None:
            builder.store.close()


def _end_with(parent: int) -> None:
    """In a worker process: exit as soon as the build that started it is gone. A build killed with -9
    cannot end its workers, and they would otherwise wait for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-build", daemon=True).start()


def _segment_job(config: Config, items: list[tuple], builder: SiteBuilder | None = None) -> None:
    """Write the search segments of some months (each: its shards, documents and .key)."""
    builder = builder or SiteBuilder(config)
    for month, dates, topics, key in items:
        docs, words = [], []
        for d in dates:
            day_docs, day_words = builder._docs(d)
            docs += day_docs
            words += day_words
        folder = builder.site / "search" / month
        search.write_segment(folder, docs, topics, words)
        write_file(folder / ".key", key)


def _stamp(path: Path) -> str:
    """A file's size and modification time: what changes when a report is written again."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def iso_week(date: str) -> str:
    year, week, _ = dt.date.fromisoformat(date).isocalendar()
    return f"{year}-W{week:02d}"


def week_label(week: str) -> str:
    year, number = week.split("-W")
    monday = dt.date.fromisocalendar(int(year), int(number), 1)
    friday = monday + dt.timedelta(days=4)
    return f"{year}년 {int(number)}주차 ({monday:%m.%d}~{friday:%m.%d})"


def feed_id(base_url: str | None, date: str | None) -> str:
    """Atom ids: the page's URL when the site has a base_url, otherwise a stable urn:uuid."""
    import uuid

    if base_url:
        return base_url + (f"{date}/" if date else "")
    return uuid.uuid5(uuid.NAMESPACE_URL, f"arxiv-digest-site:{date or 'feed'}").urn


def build_site(config: Config, store: Store | None = None) -> SiteResult:
    """Build (or refresh) the archive site in config.site_dir from everything stored, one build at a time
    (a second waits up to state.lock_timeout_seconds for the first, then says so)."""
    from digest.lock import exclusive

    lock = config.output_dir / ".site-cache" / LOCK
    with exclusive(lock, config.state.lock_timeout_seconds, f"another site build is using {config.site_dir}"):
        own = store is None
        if own:
            store = _open_store(config)
        try:
            return SiteBuilder(config, store).build()
        finally:
            if own and store is not None:
                store.close()
