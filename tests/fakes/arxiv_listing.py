"""arXiv's `/list/<category>/new` pages, reconstructed from papers, for the local fake server.

The markup follows the structure public parsers of these pages read (see tests/fixtures/SOURCES.md):
the date heading `Showing new listings for <Weekday>, <D Month YYYY>`, one `<dl id='articles'>` per
section with `<h3>New submissions (showing N of N entries)</h3>`, `<dt>` with the abstract link, and
`<dd>` with list-title / list-authors / list-subjects / `<p class='mathjax'>`. A page for category C
lists the papers whose primary category is C (new), those that carry C as a secondary category
(cross-lists), and replacements carrying C.

Write the committed fixtures (from the real day bundled with the package):
    python -m tests.fakes.arxiv_listing
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
from html import escape
from importlib import resources
from pathlib import Path

from digest.models import Paper
from tests.fakes.http import FakeServer, Response

FIXTURES = Path(__file__).parent.parent / "fixtures"
CATEGORIES = ["cs.AI", "cs.CL", "cs.CV", "cs.LG"]
FIXTURE_DATE = dt.date(2026, 6, 30)
# Subject names as the pages print them; a code without a name here is printed as the code.
SUBJECT_NAMES = {
    "cs.AI": "Artificial Intelligence",
    "cs.CL": "Computation and Language",
    "cs.CV": "Computer Vision and Pattern Recognition",
    "cs.LG": "Machine Learning",
    "cs.GR": "Graphics",
    "cs.IT": "Information Theory",
    "cs.GT": "Computer Science and Game Theory",
    "cs.RO": "Robotics",
    "cs.IR": "Information Retrieval",
    "cs.HC": "Human-Computer Interaction",
    "stat.ML": "Machine Learning",
    "eess.IV": "Image and Video Processing",
    "math.IT": "Information Theory",
}
HTML = "text/html; charset=utf-8"


def fixture_name(category: str, date: dt.date = FIXTURE_DATE) -> str:
    return f"list-{category}-new-{date.isoformat()}-reconstructed.html"


def _subject(code: str) -> str:
    return f"{SUBJECT_NAMES.get(code, code)} ({code})"


def _entry(number: int, paper: Paper, note: str) -> str:
    pid = escape(paper.id)
    authors = ", ".join(
        f'<a href="https://arxiv.org/a/{escape(a.split(" (")[0].lower().replace(" ", "_"))}_1" rel="nofollow">'
        f"{escape(a)}</a>"
        for a in paper.authors
    )
    subjects = f'<span class="primary-subject">{escape(_subject(paper.categories[0]))}</span>'
    subjects += "".join(f"; {escape(_subject(c))}" for c in paper.categories[1:])
    return (
        f"<dt>\n  <a name='item{number}'>[{number}]</a>\n"
        f'  <a href ="/abs/{pid}" title="Abstract" id="{pid}">\n    arXiv:{pid}\n  </a>{note}\n'
        f'  [<a href="/pdf/{pid}" title="Download PDF" id="pdf-{pid}" aria-labelledby="pdf-{pid}">pdf</a>, '
        f'<a href="https://arxiv.org/html/{pid}v1" title="View HTML" id="html-{pid}" '
        f'aria-labelledby="html-{pid}" rel="noopener noreferrer">html</a>, '
        f'<a href="/format/{pid}" title="Other formats" id="oth-{pid}" aria-labelledby="oth-{pid}">other</a>]\n'
        "</dt>\n<dd>\n  <div class='meta'>\n"
        f"    <div class='list-title mathjax'><span class='descriptor'>Title:</span>\n      {escape(paper.title)}\n"
        f"    </div>\n    <div class='list-authors'>{authors}</div>\n"
        f"    <div class='list-subjects'><span class='descriptor'>Subjects:</span>\n      {subjects}\n    </div>\n"
        f"    <p class='mathjax'>\n      {escape(paper.abstract)}\n    </p>\n  </div>\n</dd>\n"
    )


def render_page(category: str, date: dt.date, papers: list[Paper], *, counts: dict[str, int] | None = None) -> str:
    """The `/list/<category>/new` page of the listing dated `date`; `counts` overrides a section's
    heading count ({"New submissions": 12}) to fake a page that does not match its heading."""
    fresh = [p for p in papers if p.announce_type in ("new", "cross")]
    replaced = [p for p in papers if p.announce_type in ("replace", "replace-cross")]
    sections = [
        ("New submissions", [(p, "") for p in fresh if p.primary_category == category]),
        (
            "Cross submissions",
            [(p, f" (cross-list from {p.primary_category})") for p in fresh if category in p.categories[1:]],
        ),
        ("Replacement submissions", [(p, " (replaced)") for p in replaced if category in p.categories]),
    ]
    name = SUBJECT_NAMES.get(category, category)
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n  <title>'
        f'{escape(name)} </title>\n  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "</head>\n<body class=\"with-cu-identity\">\n<main>\n<div id='content'>\n<div id='dlpage'>\n"
        f"  <h1>{escape(name)}</h1>\n  <ul>\n"
    ]
    number = 0
    for title, entries in sections:
        parts.append(f"    <li><a href=#item{number + 1}>{title.split()[0]}</a></li>\n")
        number += len(entries)
    parts.append(
        f'  </ul>\n  <p>See <a id="recent-{category}" href="/list/{category}/recent">recent</a> articles</p>\n'
        f"<h3>Showing new listings for {date:%A}, {date.day} {date:%B %Y}</h3>\n"
        f"<div class='paging'>Total of {number} entries </div>\n"
    )
    number = 0
    for title, entries in sections:
        shown = (counts or {}).get(title, len(entries))
        parts.append(f"<dl id='articles'>\n<h3>{title} (showing {shown} of {shown} entries)</h3>\n")
        for paper, note in entries:
            number += 1
            parts.append(_entry(number, paper, note))
        parts.append("</dl>\n")
    parts.append("</div>\n</div>\n</main>\n<footer>About arXiv</footer>\n</body>\n</html>\n")
    return "".join(parts)


def cut(page: str, fraction: float = 0.5) -> str:
    """The page cut off part-way, as a dropped connection leaves it (mid-entry)."""
    return page[: int(len(page) * fraction)]


def serve_pages(server: FakeServer, pages: dict[str, str | bytes | Response | list[Response]]) -> None:
    """Route `/list/<category>/new` to each category's page (Responses for scripted faults, a list in turn)."""
    for category, page in pages.items():
        answer = page if isinstance(page, Response | list) else Response(200, page, {"Content-Type": HTML})
        server.route(f"/list/{category}/new", answer)


def listing_pages(date: dt.date, papers: list[Paper], categories: list[str] = CATEGORIES) -> dict[str, str]:
    return {c: render_page(c, date, papers) for c in categories}


@functools.cache
def demo_papers() -> list[Paper]:
    """The real 532-paper day (2026-06-30) bundled with the package, as the RSS parser reads it."""
    from digest.sources.rss import parse_feed

    data = resources.files("digest.data").joinpath("demo-2026-06-30.xml.gz").read_bytes()
    return parse_feed(gzip.decompress(data)).papers


def fixture_pages() -> dict[str, bytes]:
    """The committed reconstructed pages of 2026-06-30, by category."""
    return {c: (FIXTURES / fixture_name(c)).read_bytes() for c in CATEGORIES}


def feed_of(feed: bytes, keep) -> bytes:
    """The RSS feed with only the items `keep(item_xml)` accepts, the channel unchanged."""
    head, *items = feed.split(b"<item>")
    bodies = [item.split(b"</item>", 1)[0] for item in items]
    tail = items[-1].split(b"</item>", 1)[1] if items else b""
    return head + b"".join(b"<item>" + body + b"</item>" for body in bodies if keep(body)) + tail


def feed_of_categories(feed: bytes, categories: list[str] = CATEGORIES) -> bytes:
    """An RSS feed cut down to the items carrying one of `categories`: what rss.arxiv.org serves for them.

    (The bundled day was crawled from a few more category pages, so 33 of its 532 papers carry none of
    the four; a real `rss/cs.AI+cs.CL+cs.CV+cs.LG` feed would not hold them.)
    """
    tags = [f"<category>{c}</category>".encode() for c in categories]
    return feed_of(feed, lambda item: any(tag in item for tag in tags))


def feed_of_ids(feed: bytes, ids: set[str]) -> bytes:
    """The RSS feed of these papers only (a slice of a day, for fast tests)."""
    return feed_of(feed, lambda item: any(f"<link>https://arxiv.org/abs/{i}</link>".encode() in item for i in ids))


def main() -> None:
    papers = demo_papers()
    for category, page in listing_pages(FIXTURE_DATE, papers).items():
        (FIXTURES / fixture_name(category)).write_text(page, encoding="utf-8")
        print(fixture_name(category), len(page))


if __name__ == "__main__":
    main()
