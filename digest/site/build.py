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
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from digest.config import OTHER, Config
from digest.models import byline
from digest.render import author_list, plain_text
from digest.report import read_json
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
MANIFEST = ".manifest.json"
CACHE_FORMAT = 2
MUST_READS = 5
WEEK_TOP = 10  # papers per topic on a week page
TOPIC_DAY_TOP = 3  # papers per day on a topic page
TOPIC_DETAIL_DAYS = 60  # days with their papers on a topic page; older days are one line each
FEED_DAYS = 60
CHART_WEEKS = 8
AUTHORS_SHOWN = 6
MAX_WORKERS = 2  # processes for a large build (day pages, search months); the machine may be small
PARALLEL_FROM = 6  # fewer days or months than this are built in this process (no start-up cost)
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class SiteResult:
    site_dir: Path
    days: int
    written: int
    total: int
    seconds: float

    def line(self) -> str:
        return (
            f"site: {self.days} day{'s' if self.days != 1 else ''}, {self.written} of {self.total} pages rewritten "
            f"in {self.seconds:.1f}s "
            f"({self.site_dir})"
        )


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


def report_days(output_dir: Path) -> list[tuple[str, Path]]:
    """(date, digest.json) of every report folder, oldest first."""
    if not output_dir.is_dir():
        return []
    found = []
    for entry in os.scandir(output_dir):
        if entry.is_dir() and _DATE_DIR.match(entry.name):
            path = Path(entry.path) / "digest.json"
            if path.is_file():
                found.append((entry.name, path))
    return sorted(found)


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

    def fresh(self, rel: str, key: str) -> bool:
        """True when rel is up to date for key; otherwise the caller writes it (and calls done)."""
        self.total += 1
        self.current[rel] = key
        if self.previous.get(rel) == key and (self.site / rel).exists():
            return True
        self.written += 1
        return False

    def write(self, rel: str, text: str) -> None:
        write_file(self.site / rel, text)

    def save(self) -> None:
        for rel in set(self.previous) - set(self.current):
            _remove(self.site / rel, self.site)
        self.write(MANIFEST, json.dumps(self.current, indent=0, sort_keys=True))


def write_file(path: Path, text: str) -> None:
    """Write through a temporary file and a rename: a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _remove(path: Path, site: Path) -> None:
    """A page whose day, week, topic or month disappeared: its folder goes with it (abstracts, shards)."""
    if path.name in ("index.html", ".key") and path.parent != site:
        shutil.rmtree(path.parent, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# ----- reading one day -----


def _lines(data: dict) -> dict[str, str]:
    """Korean one-line summaries by paper id, from every topic's summary (and per paper, if a report has it)."""
    lines: dict[str, str] = {}
    for summary in data.get("summaries", {}).values():
        lines.update(summary.get("paper_lines") or {})
    for p in data["papers"]:
        if line := p.get("line"):
            lines[p["id"]] = line
    return lines


def _must_read_ids(data: dict) -> list[str]:
    if "must_reads" in data:
        return [m["id"] if isinstance(m, dict) else m for m in data["must_reads"]]
    ranked = sorted(
        enumerate(data["papers"]), key=lambda ip: (ip[1]["topic"] == OTHER, -ip[1].get("importance", 0), ip[0])
    )
    return [p["id"] for _, p in ranked[:MUST_READS]]


def _topic_order(data: dict, known: list[str]) -> list[str]:
    names = [n for n, c in data.get("counts", {}).items() if c]
    present = {p["topic"] for p in data["papers"]}
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

    @classmethod
    def of(cls, p: dict, line: str) -> Row:
        names = p.get("authors") or []
        return cls(
            p["id"],
            anchor(p["id"]),
            p["title"],
            p.get("url") or f"https://arxiv.org/abs/{p['id']}",
            author_list(names, AUTHORS_SHOWN),
            byline(names),
            p["topic"],
            p.get("importance", 0),
            (p.get("categories") or [""])[0],
            plain_text(line) if line else "",
        )


def _lite(p: dict, line: str) -> dict:
    return {
        "id": p["id"],
        "title": p["title"],
        "first": byline(p.get("authors") or []),
        "imp": p.get("importance", 0),
        "line": line,
        "topic": p["topic"],
    }


def read_day(data: dict, known_topics: list[str]) -> tuple[dict, list[list], dict]:
    """From one digest.json: the summary other pages use, the search documents, and the day page's context."""
    date = data["date"]
    lines = _lines(data)
    topics = _topic_order(data, known_topics)
    by_topic: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for position, p in enumerate(data["papers"]):
        by_topic[p["topic"]].append((position, p))
    ranked = {
        t: [p for _, p in sorted(by_topic[t], key=lambda ip: (-ip[1].get("importance", 0), ip[0]))] for t in topics
    }
    papers = {p["id"]: p for p in data["papers"]}
    must = [papers[i] for i in _must_read_ids(data) if i in papers]
    summaries = data.get("summaries", {})
    gist = {}
    for t in topics:
        sections = list((summaries.get(t) or {}).get("sections", {}).values())
        if (summaries.get(t) or {}).get("gist"):  # the summary's one-sentence gist (digest.json schema 2)
            gist[t] = summaries[t]["gist"]
        elif sections and sections[0]:
            gist[t] = sections[0][0]
    summary = {
        "format": CACHE_FORMAT,
        "date": date,
        "total": len(data["papers"]),
        "counts": {t: len(by_topic[t]) for t in topics},
        "llm": bool(data.get("llm", {}).get("used")),
        "must": [_lite(p, lines.get(p["id"], "")) for p in must],
        "top": {t: [_lite(p, lines.get(p["id"], "")) for p in ranked[t][:WEEK_TOP]] for t in topics},
        "gist": gist,
    }
    docs = [
        [
            date,
            p["id"],
            p["title"],
            ", ".join(p.get("authors") or []),
            p["topic"],
            lines.get(p["id"], ""),
            p.get("importance", 0),
        ]
        for p in data["papers"]
    ]
    page = {
        "topics": topics,
        "ranked": {t: [Row.of(p, lines.get(p["id"], "")) for p in ranked[t]] for t in topics},
        "must": [Row.of(p, lines.get(p["id"], "")) for p in must],
        "summaries": summaries,
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
    from digest.store import Store

    return Store(config.state_path) if config.state_path.exists() else None


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
        writer = Writer(self.site)
        days = report_days(self.config.output_dir)
        summaries: dict[str, dict] = {}
        day_keys: dict[str, str] = {}
        previous = None
        todo = []
        hashes = self._file_hashes(days)
        for date, path in days:
            key = _sha(self.context_key, hashes[date], previous or "")
            day_keys[date] = key
            cached = self._cached(date, key) if writer.fresh(f"{date}/index.html", key) else None
            if cached is None:
                todo.append((date, str(path), key, previous))
            else:
                summaries[date] = cached
            previous = date
        for built in self._jobs(_day_job, todo):
            summaries.update(built)
        summaries = dict(sorted(summaries.items()))
        self._build_search(writer, summaries, day_keys)
        self._build_weeks(writer, summaries, day_keys)
        self._build_topics(writer, summaries, day_keys)
        self._build_index(writer, summaries, day_keys)
        self._build_feed(writer, summaries, day_keys)
        self._build_static(writer)
        writer.save()
        return SiteResult(self.site, len(days), writer.written, writer.total, time.monotonic() - started)

    def _cached(self, date: str, key: str) -> dict | None:
        try:
            cached = json.loads((self.cache / f"{date}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cached["summary"] if cached.get("key") == key else None

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
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(job, [self.config] * workers, chunks))

    def _docs(self, date: str) -> tuple[list[list], list[list[str]]]:
        cached = json.loads((self.cache / f"{date}.docs.json").read_text(encoding="utf-8"))
        return cached["docs"], cached["words"]

    def _build_day(self, date: str, path: Path, key: str, previous: str | None) -> dict:
        data = read_json(path)
        summary, docs, page = read_day(data, self.known)
        abstracts = _abstracts(self.store, date)  # digest.json does not carry them
        for topic in page["topics"]:
            members = {p.id: abstracts[p.id] for p in page["ranked"][topic] if abstracts.get(p.id)}
            write_file(self.site / f"{date}/abs-{self.slug(topic)}.json", json.dumps(members, ensure_ascii=False))
        html = self.render(
            "day.html.j2",
            "../",
            date=date,
            data=data,
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
        names = sorted(weeks)
        for i, week in enumerate(names):
            dates = weeks[week]
            prev_week = names[i - 1] if i else None
            next_week = names[i + 1] if i + 1 < len(names) else None
            rel = f"weeks/{week}/index.html"
            if writer.fresh(
                rel, _sha(self.context_key, prev_week or "", next_week or "", *(day_keys[d] for d in dates))
            ):
                continue
            days = [summaries[d] for d in dates]
            top: dict[str, list[dict]] = {}
            for topic in self._all_topics({d: summaries[d] for d in dates}):
                pool = [dict(p, date=s["date"]) for s in days for p in s["top"].get(topic, [])]
                pool.sort(key=lambda p: (-p["imp"], p["date"]), reverse=False)
                top[topic] = pool[:WEEK_TOP]
            counts = {t: sum(s["counts"].get(t, 0) for s in days) for t in top}
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
                ),
            )

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
        writer.write(
            "feed.xml",
            self.env.get_template("feed.xml.j2").render(
                site_title=self.config.report.title,
                base_url=self.config.site.base_url,
                days=[summaries[d] for d in dates],
                feed_id=feed_id(self.config.site.base_url, None),
                entry_id=lambda d: feed_id(self.config.site.base_url, d),
            ),
        )

    def _build_static(self, writer: Writer) -> None:
        if not writer.fresh("search.html", self.context_key):
            writer.write("search.html", self.render("search.html.j2", ""))
        for asset in sorted(ASSETS.iterdir()):
            rel = f"assets/{asset.name}"
            if not writer.fresh(rel, self.context_key):
                writer.write(rel, asset.read_text(encoding="utf-8"))
        if not writer.fresh(".nojekyll", "1"):  # GitHub Pages: serve the files as they are
            writer.write(".nojekyll", "")


def _day_job(config: Config, items: list[tuple], builder: SiteBuilder | None = None) -> dict[str, dict]:
    """Build day pages (in a worker process, or here with the caller's builder); returns their summaries."""
    own = builder is None
    if own:
        builder = SiteBuilder(config, _open_store(config))
    try:
        return {date: builder._build_day(date, Path(path), key, previous) for date, path, key, previous in items}
    finally:
        if own and builder.store is not None:
            builder.store.close()


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
    """Build (or refresh) the archive site in config.site_dir from everything stored."""
    own = store is None
    if own:
        store = _open_store(config)
    try:
        return SiteBuilder(config, store).build()
    finally:
        if own and store is not None:
            store.close()
