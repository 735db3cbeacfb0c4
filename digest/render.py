"""Render a Digest to files: digest.md, digest.html, digest.json and the chart, written atomically.

Text from papers and from the LLM is data: each output format gets its own escaping filter, and LLM text
is stripped of links and markup before that (links only ever come from arXiv metadata).
"""

from __future__ import annotations

import base64
import ctypes
import datetime as dt
import functools
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from digest import __version__
from digest.config import OTHER
from digest.edition import Edition, report_folder
from digest.errors import ConfigError
from digest.models import SECTION_TITLES, WEEK_SECTION_TITLES, Digest, Paper
from digest.rank import MAX_FOLLOWED, for_topics
from digest.report import Report, digest_json
from digest.text import md_escape, plain_text, telegram_html
from digest.urls import anchor

if TYPE_CHECKING:
    from jinja2 import Environment, Template, TemplateError

__all__ = ["md_escape", "plain_text", "environment", "write_report"]

# Gmail clips an HTML body over about 102 KB; the email body stays well under it (bench/report_size.py).
EMAIL_HTML_BUDGET = 90_000

log = logging.getLogger("digest")


def author_list(authors: list[str], shown: int = 3) -> str:
    """ "A, B, C 외 4명": a list that stays one line on a phone however long the collaboration."""
    if len(authors) <= shown:
        return ", ".join(authors)
    return f"{', '.join(authors[:shown])} 외 {len(authors) - shown}명"


def templates_dir() -> Path:
    """The built-in templates: packaged as digest.templates in a wheel, templates/ in a source checkout."""
    try:
        spec = importlib.util.find_spec("digest.templates")
    except ModuleNotFoundError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "templates"


@functools.lru_cache(maxsize=8)
def environment(override: Path | None = None) -> Environment:
    """One per templates folder: jinja compiles a template once per environment (and reloads an edited one)."""
    # jinja here, not at import: a re-run whose report has not changed renders nothing (see write_report).
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

    loaders = [FileSystemLoader(str(override))] if override else []
    loaders.append(FileSystemLoader(str(templates_dir())))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["plain"] = plain_text
    env.filters["authors"] = author_list
    # Markup, so that an autoescaping template (*.html.j2, like telegram.html.j2) does not escape it twice.
    # The property-tested Telegram escaper (deliver/tghtml.escape is this function).
    env.filters["tg"] = lambda text: Markup(telegram_html(plain_text(text)))
    env.globals["SECTION_TITLES"] = SECTION_TITLES
    return env


def footer_line(digest: Digest) -> str:
    """Date, papers fetched, papers per topic, and the LLM's model, calls and tokens (or that none was used)."""
    counts = " · ".join(f"{name} {n}" for name, n in digest.counts.items())
    u = digest.usage
    llm = (
        f"LLM {u.model}: 호출 {u.calls}회, 토큰 {u.total_tokens:,} "
        f"(입력 {u.prompt_tokens:,} / 출력 {u.completion_tokens:,})"
        if digest.llm_used
        else "LLM 미사용"
    )
    fetched = len(digest.papers) + len(digest.excluded)
    excluded = f" · 제외 {len(digest.excluded)}편 (interests.exclude)" if digest.excluded else ""
    refused = f" · LLM 서버 거부 {u.refused}편 (오프라인 분류)" if digest.llm_used and u.refused else ""
    return f"{digest.label} · 수집 {fetched}편{excluded} · {counts} · {llm}{refused}"


@dataclass(frozen=True)
class MustRead:
    """One of 오늘의 핵심 논문 as the templates show it."""

    paper: Paper
    topic: str
    line: str
    reason: str = ""  # why it is a pick, where the readers can be told (digest/readers.py)


def must_read_items(digest: Digest) -> list[MustRead]:
    """The digest's must-reads with their topic, Korean line and reason."""
    papers = {p.id: p for p in digest.papers}
    items = []
    for paper_id in digest.must_reads:
        if paper_id not in papers or paper_id not in digest.assignments:
            continue
        topic = digest.assignments[paper_id].topic
        items.append(MustRead(papers[paper_id], topic, digest.line_for(paper_id), digest.reasons.get(paper_id, "")))
    return items


def template_context(digest: Digest) -> dict:
    """What every template (digest.md, digest.html, telegram.html) gets to render one digest."""
    return {
        "d": digest,
        "date": digest.label,
        "week": digest.week,
        "trends": digest.trends,
        "WEEK_SECTION_TITLES": WEEK_SECTION_TITLES,
        "sections": digest.sections,
        "counts": digest.counts,
        "usage": digest.usage,
        "footer": footer_line(digest),
        "must_reads": must_read_items(digest),
        "OTHER": OTHER,
        # The archive site (site.base_url): the day's page, and a paper's anchor on it (site_anchor(id)).
        "site_url": digest.site_url,
        "site_anchor": lambda paper_id: f"{digest.site_url}#{anchor(paper_id)}" if digest.site_url else None,
    }


# The weekly edition's own templates, in place of the daily ones.
WEEK_TEMPLATES = {
    "digest.md.j2": "week.md.j2",
    "digest.html.j2": "week.html.j2",
    "email.html.j2": "week-email.html.j2",
    "telegram.html.j2": "week-telegram.html.j2",
}


def _template(env: Environment, digest: Digest, name: str) -> Template:
    return env.get_template(WEEK_TEMPLATES[name] if digest.week else name)


def render_markdown(digest: Digest, env: Environment) -> str:
    return _template(env, digest, "digest.md.j2").render(**template_context(digest))


def render_html(digest: Digest, env: Environment, *, chart_src: str | None = None) -> str:
    """digest.html: every paper of the day under its topic, each topic's synthesis, the must-reads first."""
    template = _template(env, digest, "digest.html.j2")
    return template.render(**template_context(digest), chart_src=chart_src or digest.chart_name)


def render_email_html(digest: Digest, env: Environment, *, chart_src: str | None = None) -> str:
    """The email body (email.html.j2): the must-reads and each topic's gist and first papers, a few screens
    on a phone; the syntheses and every paper are linked (the site) or attached (digest.html)."""
    template = _template(env, digest, "email.html.j2")
    return template.render(**template_context(digest), chart_src=chart_src or digest.chart_name)


def for_audience(
    report: Report, topics: tuple[str, ...] | list[str] | None, must_reads: int, max_followed: int = MAX_FOLLOWED
) -> Report:
    """The report a target that wants only `topics` receives: those topics' papers, sections and counts,
    `must_reads` must-reads drawn from them (rank.for_topics, the one narrowing), and digest.md,
    digest.html and the email body rendered again for them alone. Raises jinja2.TemplateError."""
    if topics is None:
        return report
    narrowed = for_topics(report.digest, tuple(topics), must_reads, max_followed)
    env = environment(report.templates_override)
    page = render_html(narrowed, env)
    return Report(
        narrowed,
        render_markdown(narrowed, env),
        page,
        report.chart,
        render_email_html(narrowed, env),
        tuple(topics),
        report.templates_override,
    )


def standalone_html(report: Report) -> str:
    """digest.html as one file that opens anywhere (a phone's browser from a Telegram document): the chart
    inside it as a data: URI instead of a file beside it."""
    chart = "data:image/png;base64," + base64.b64encode(report.chart).decode("ascii")
    return render_html(report.digest, environment(report.templates_override), chart_src=chart)


def mail_html(report: Report, chart_cid: str) -> str:
    """The email body with the chart as the mail's inline part `chart_cid` (`<...@host>`)."""
    return render_email_html(report.digest, environment(report.templates_override), chart_src=f"cid:{chart_cid[1:-1]}")


@dataclass(frozen=True)
class TopicLine:
    name: str
    count: int
    change: str  # a weekly edition's "+12%" against the weeks before, else ""
    gist: str  # plain text (untrusted: each channel escapes it)


@dataclass(frozen=True)
class CompactDigest:
    """The compact digest as plain text pieces, for channels that build their own markup (Slack's mrkdwn,
    Discord's Markdown): every text is plain (LLM text already stripped of links and markup) and each channel
    escapes it; links come from arXiv metadata and site.base_url only."""

    heading: str  # the title and the edition: "Daily … Papers · 2026-06-30"
    subtitle: str  # "arXiv 새 논문 532편 · 주제 8개"
    must_reads_title: str
    must_reads: list[MustRead]
    topics_title: str
    topics: list[TopicLine]
    note: str  # "LLM 미사용: …" when no LLM wrote the digest, else ""
    site_url: str | None
    footer: str


def compact_digest(digest: Digest) -> CompactDigest:
    week = digest.week is not None
    topics = []
    for section in digest.sections:
        trend = digest.trends.get(section.name)
        change = trend.change if trend else None
        shown = f"{'+' if change >= 0 else '-'}{abs(round(change * 100))}%" if change is not None else ""
        count = trend.count if trend else section.total
        topics.append(TopicLine(section.name, count, shown, plain_text(section.summary.gist)))
    if week:
        subtitle = f"{digest.days[0]} ~ {digest.days[-1]} · {len(digest.days)}일치 발표 · 논문 {len(digest.papers)}편"
    else:
        subtitle = f"{digest.label} · arXiv 새 논문 {len(digest.papers)}편 · 주제 {len(digest.sections)}개"
    return CompactDigest(
        heading=f"{digest.title} · {'주간 ' if week else ''}{digest.label}",
        subtitle=subtitle,
        must_reads_title="⭐ 이번 주 핵심 논문" if week else "⭐ 오늘의 핵심 논문",
        must_reads=[MustRead(m.paper, m.topic, plain_text(m.line), m.reason) for m in must_read_items(digest)],
        topics_title="📈 주제별 이번 주" if week else "📚 주제별 오늘",
        topics=topics,
        note="" if digest.llm_used else "LLM 미사용: 요약과 한 줄 설명은 초록 발췌와 오프라인 순위로 만든 것입니다.",
        site_url=digest.site_url,
        footer=footer_line(digest),
    )


@dataclass(frozen=True)
class TelegramTexts:
    """What telegram.html.j2 makes of a digest (HTML parse mode); deliver/telegram.py splits and sends it."""

    caption: str  # under the chart photo
    compact: str  # the must-reads and one line per topic (format: compact)
    must_reads: str  # format: full, the first message
    topics: list[str]  # format: full, one per topic
    closing: str  # format: full, the footer


def telegram_texts(digest: Digest, templates_override: Path | None = None) -> TelegramTexts:
    env = environment(templates_override)
    module = _template(env, digest, "telegram.html.j2").make_module(template_context(digest))
    return TelegramTexts(
        str(module.caption()).strip(),
        str(module.compact()),
        str(module.must_reads_block()),
        [str(module.topic(section)) for section in digest.sections],
        str(module.closing()).strip(),
    )


REPORT_FILES = ("digest.md", "digest.html", "email.html", "digest.json")
# Besides the templates: the code that turns a digest into text, so an upgrade that renders differently
# renders again.
_RENDERING_CODE = ("render.py", "report.py", "text.py", "urls.py")


def render_key(digest: Digest, templates_override: Path | None = None) -> str:
    """What a report's files are made from, as a hash: digest.json's text, every template (built-in and
    report.templates_dir), the rendering code and this version. The pipeline records it with the report and
    renders nothing when a re-run finds the same key and every file in place."""
    data = json.dumps(digest_json(digest), ensure_ascii=False, separators=(",", ":"))  # compact: C encoder, fast
    h = hashlib.sha256(f"{__version__}\0{data}\0".encode())
    folders = [templates_dir(), *([templates_override] if templates_override else [])]
    files = [Path(__file__).with_name(name) for name in _RENDERING_CODE]
    files += [path for folder in folders if folder.is_dir() for path in sorted(folder.glob("*.j2"))]
    for path in files:
        h.update(f"{path}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:32]


def report_files_present(folder: Path, chart_name: str) -> bool:
    return all((folder / name).is_file() for name in (*REPORT_FILES, chart_name))


def write_report(digest: Digest, output_dir: Path, templates_override: Path | None = None) -> Path:
    """Render everything into a temporary folder, then swap it into the edition's folder (see _swap_into_place)."""
    from digest.chart import chart_key, render_chart, stored_key

    output_dir.mkdir(parents=True, exist_ok=True)
    recover_reports(output_dir)
    final = report_folder(output_dir, digest.edition)
    from jinja2 import TemplateError

    env = environment(templates_override)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest.label}-", dir=final.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a report folder is for reading
    try:
        previous = final / digest.chart_name
        before = {name: t.before for name, t in digest.trends.items()}
        before = before if any(v is not None for v in before.values()) else None
        if stored_key(previous) == chart_key(digest.counts, digest.label, before):
            shutil.copy2(previous, tmp / digest.chart_name)  # a re-run: the same picture, without matplotlib
        else:
            render_chart(digest.counts, digest.label, tmp / digest.chart_name, before=before)
        try:
            markdown, page = render_markdown(digest, env), render_html(digest, env)
            email_page = render_email_html(digest, env)
        except TemplateError as exc:
            raise template_error(exc, templates_override) from None
        (tmp / "digest.md").write_text(markdown, encoding="utf-8")
        (tmp / "digest.html").write_text(page, encoding="utf-8")
        (tmp / "email.html").write_text(email_page, encoding="utf-8")
        (tmp / "digest.json").write_text(
            json.dumps(digest_json(digest), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        _swap_into_place(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def template_error(exc: TemplateError, override: Path | None) -> ConfigError:
    """A template that does not parse or render, as one line naming the file and line (exit 2)."""
    name = getattr(exc, "filename", None) or getattr(exc, "name", None)
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:  # an error while rendering: the template's own frame says where
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            name, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    where = f"{name or 'a template'}" + (f" line {line}" if line else "")
    hint = "report.templates_dir" if override else "the built-in templates"
    return ConfigError(f"template {where}: {exc.message or type(exc).__name__} ({hint})")


_LEFTOVER = re.compile(r"^\.(\d{4}-\d{2}-\d{2}|\d{4}-W\d{2})-(old-)?")


def recover_reports(output_dir: Path) -> None:
    """Clean up after a run killed while writing a report: an edition whose folder was moved aside but not
    replaced gets it back; every other leftover temporary folder (`.2026-06-30-xxxx`, `.2026-W27-xxxx`, in the
    folder of the reports it was for) is removed.

    Runs hold the state lock, so no other run is writing into output_dir at the same time."""
    folders = [output_dir, report_folder(output_dir, Edition("week", "2000-W01")).parent]
    for path in sorted(p for folder in folders if folder.is_dir() for p in folder.glob(".????-*")):
        m = _LEFTOVER.match(path.name)
        if not m or not path.is_dir():
            continue
        final = path.parent / m.group(1)
        if m.group(2) and not final.exists() and (path / "digest.md").exists():
            path.rename(final)
            log.warning("%s: restored the report a stopped run had moved aside", final)
        else:
            shutil.rmtree(path, ignore_errors=True)
            log.info("removed %s, left by a run that stopped while writing a report", path.name)


def _swap_into_place(new: Path, final: Path) -> None:
    """Put `new` at `final` so that a reader sees the old report or the new one at every instant.

    On Linux both folders are exchanged in one atomic renameat2(RENAME_EXCHANGE); elsewhere the old one is
    moved aside first (`.DATE-old-…`), and recover_reports() puts it back if the process dies in between."""
    if not final.exists():
        new.rename(final)
        return
    if _exchange(new, final):
        shutil.rmtree(new, ignore_errors=True)  # `new` now holds the old report
        return
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S%f")
    old = final.with_name(f".{final.name}-old-{stamp}")
    final.rename(old)
    try:
        new.rename(final)
    except OSError:
        old.rename(final)
        raise
    shutil.rmtree(old, ignore_errors=True)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2); False where the system or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return done == 0
