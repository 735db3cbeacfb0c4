import datetime as dt
import json
import re

import pytest

from digest.models import Assignment, Digest, Paper, TopicSection, TopicSummary
from digest.render import environment, md_escape, plain_text, render_html, render_markdown, write_report
from tests.conftest import day_digest

HOSTILE = "<script>alert(1)</script> see [click](http://evil.example) **bold** http://x.example/y 2605.99999"


def _digest(summary_text=HOSTILE, title="A & B <i>x</i> [y](z)", counts=None):
    paper = Paper("2606.00001", title, "abstract", ["Ann"], ["cs.LG"], "new")
    summary = TopicSummary("LLM", [[summary_text]] * 5, {paper.id: summary_text}, "llm")
    return Digest(
        date=dt.date(2026, 6, 30),
        title="Daily",
        papers=[paper],
        assignments={paper.id: Assignment(paper.id, "LLM", 7, "llm")},
        selected={paper.id},
        sections=[TopicSection("LLM", [paper], summary, 3)],
        counts=counts or {"LLM": 3, "Other": 0},
    )


def test_untrusted_text_never_becomes_a_link_or_markup():
    assert plain_text(HOSTILE) == "alert(1) see click **bold** 2605.99999"
    md = render_markdown(_digest(), environment())
    assert "http://evil.example" not in md and "x.example" not in md and "<script>" not in md
    assert "\\*\\*bold\\*\\*" in md
    html = render_html(_digest(), environment())
    assert "<script>" not in html and "evil.example" not in html
    assert "A &amp; B &lt;i&gt;x&lt;/i&gt;" in html


def test_sources_come_from_metadata_only():
    md = render_markdown(_digest(), environment())
    links = [line for line in md.splitlines() if "https://arxiv.org/abs/" in line]
    assert links == [" - A & B x y (https://arxiv.org/abs/2606.00001)"]
    assert "2605.99999)" not in md


def test_md_escape_keeps_text_readable():
    assert md_escape("Attention is all you need") == "Attention is all you need"
    assert md_escape("a_b*c") == "a\\_b\\*c"


def test_report_written_atomically_and_replaced_whole(tmp_path):
    final = write_report(_digest(), tmp_path)
    assert sorted(p.name for p in final.iterdir()) == [
        "digest.html",
        "digest.json",
        "digest.md",
        "email.html",
        "paper_2026-06-30.png",
    ]
    data = json.loads((final / "digest.json").read_text())
    assert data["papers"][0]["topic"] == "LLM" and data["papers"][0]["selected"] is True
    write_report(_digest(title="Second"), tmp_path)
    assert "Second" in (final / "digest.md").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["2026-06-30"]  # no temporary folders left


def test_failed_render_keeps_the_previous_report(tmp_path, monkeypatch):
    final = write_report(_digest(title="Good"), tmp_path)
    import digest.chart

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(digest.chart, "render_chart", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(_digest(title="Bad", counts={"LLM": 4, "Other": 0}), tmp_path)
    assert "Good" in (final / "digest.md").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["2026-06-30"]


def test_rebuilt_report_reuses_its_chart_and_redraws_a_changed_one(tmp_path, monkeypatch):
    final = write_report(_digest(), tmp_path)
    chart = (final / "paper_2026-06-30.png").read_bytes()
    import digest.chart

    drawn = []
    real = digest.chart.render_chart
    monkeypatch.setattr(digest.chart, "render_chart", lambda *args, **kw: drawn.append(args) or real(*args, **kw))
    write_report(_digest(title="Again"), tmp_path)
    assert drawn == [] and (final / "paper_2026-06-30.png").read_bytes() == chart
    write_report(_digest(counts={"LLM": 9, "Other": 1}), tmp_path)
    assert len(drawn) == 1 and (final / "paper_2026-06-30.png").read_bytes() != chart


# ----- the phone digest: must-reads, every paper, reading quality -----


def test_must_reads_come_first_in_the_report_with_link_author_topic_and_line():
    d = day_digest()
    md = render_markdown(d, environment())
    lines = md.splitlines()
    assert lines[0].startswith("# Daily Artificial Intelligence Insights : Papers![Category Distribution Graph](")
    assert lines[2] == "## 오늘의 핵심 논문"
    assert md.index("## 오늘의 핵심 논문") < md.index(f"## {d.sections[0].name}")
    papers = {p.id: p for p in d.papers}
    for n, paper_id in enumerate(d.must_reads, start=1):
        paper = papers[paper_id]
        topic = d.assignments[paper_id].topic
        head = next(line for line in lines if line.startswith(f" {n}. ["))
        assert f"](https://arxiv.org/abs/{paper_id}) · {paper.authors[0]}" in head and head.endswith(f" · {topic}")
        assert (" 외 · " in head) == (len(paper.authors) > 1)
        below = lines[lines.index(head) + 1]
        assert below.startswith("    ") and below.strip()  # its line, from the topic summary
    assert len(d.must_reads) == 5 and all(i in d.selected for i in d.must_reads)


def test_no_must_reads_leaves_the_section_out():
    md = render_markdown(day_digest(must=0), environment())
    assert "오늘의 핵심 논문" not in md


def test_must_reads_spread_over_topics_and_follow_importance():
    from digest.models import Assignment
    from digest.rank import must_reads

    papers = [Paper(f"2606.0000{i}", f"T{i}", "", ["A"], ["cs.LG"], "new") for i in range(8)]
    topics = ["A", "A", "A", "A", "B", "B", "C", "Other"]
    importance = [10, 10, 10, 9, 8, 5, 3, 10]
    assignments = {p.id: Assignment(p.id, t, imp, "llm") for p, t, imp in zip(papers, topics, importance)}
    picked = must_reads(papers, assignments, ["A", "B", "C"], 5)
    # At most two of A while B and C have papers; Other never; importance first.
    assert picked == ["2606.00000", "2606.00001", "2606.00004", "2606.00005", "2606.00006"]
    # Not enough elsewhere: A fills the rest.
    assert len(must_reads(papers, assignments, ["A"], 5)) == 4


def test_digest_html_lists_every_paper_of_the_day_once_with_pdf_and_authors():
    d = day_digest()
    html_text = render_html(d, environment())
    for p in d.papers:
        assert html_text.count(f'href="https://arxiv.org/pdf/{p.id}"') == 1, p.id
        assert html_text.count(f'href="https://arxiv.org/abs/{p.id}"') == 1 + (p.id in d.must_reads), p.id
    assert "word-break:keep-all" in html_text and "overflow-wrap:anywhere" in html_text
    assert "break-all" not in html_text
    assert "출처" not in html_text  # the per-paper lines carry the links: titles are not listed twice


def test_digest_json_has_every_paper_must_reads_and_a_schema_version(tmp_path):
    d = day_digest(site_url="https://digest.example/2026-06-30/")
    data = json.loads((write_report(d, tmp_path) / "digest.json").read_text())
    assert data["schema_version"] == 2 and data["must_reads"] == d.must_reads
    assert len(data["papers"]) == len(d.papers)
    first = data["papers"][0]
    assert {"id", "title", "authors", "categories", "announce_type", "url", "pdf_url", "topic", "importance"} <= set(
        first
    )
    assert first["pdf_url"] == f"https://arxiv.org/pdf/{first['id']}"
    assert all(s["gist"] for s in data["summaries"].values())


def test_more_papers_line_points_to_something_the_reader_has():
    d = day_digest(n_papers=200)
    md = render_markdown(d, environment())
    assert "digest.json" not in md and "전체 목록은 digest.html" in md
    with_site = render_markdown(day_digest(n_papers=200, site_url="https://digest.example/2026-06-30/"), environment())
    assert "목록: https://digest.example/2026-06-30/" in with_site


def test_the_email_body_is_the_phone_sized_part_of_the_day_and_points_to_the_rest():
    from digest.render import EMAIL_HTML_BUDGET, render_email_html

    d = day_digest(n_papers=532)
    email = render_email_html(d, environment())
    assert len(email.encode()) <= EMAIL_HTML_BUDGET
    assert "주제별 요약(5개 항목)과 오늘의 모든 논문 532편은 첨부한 <strong>digest.html</strong>에 있습니다" in email
    for paper_id in d.must_reads:  # what matters most is always there
        assert f"https://arxiv.org/abs/{paper_id}" in email
    for section in d.sections:  # every topic: its count and gist, and its first featured papers
        assert f"▍{section.name}" in email and section.summary.gist in email
        first = next(p for p in section.papers if p.id not in d.must_reads)
        assert f"https://arxiv.org/abs/{first.id}" in email
    assert len(re.findall(r'href="https://arxiv\.org/abs/', email)) <= len(d.must_reads) + 3 * len(d.sections)
    with_site = render_email_html(day_digest(n_papers=200, site_url="https://d.example/2026-06-30/"), environment())
    assert 'href="https://d.example/2026-06-30/"' in with_site and "첨부한" not in with_site


def test_offline_keywords_are_distinctive_phrases_not_generic_words():
    from digest.classify import OfflineClassifier
    from digest.config import Config
    from digest.summarize import top_terms
    from tests.conftest import day_papers

    config = Config()
    papers = day_papers("day-2026-06-30.jsonl")
    assignments = {
        a.paper_id: a for a in OfflineClassifier(config.categories, config.arxiv.categories).classify_all(papers)
    }
    vision = [p for p in papers if assignments[p.id].topic == "Computer Vision"]
    terms = [t.lower() for t, _ in top_terms(vision, papers)]
    assert "gaussian splatting" in terms
    generic = {"fast", "features", "cost", "model", "results", "performance", "data", "method"}
    assert not generic & set(terms)


def test_offline_summary_uses_each_abstract_sentence_once_and_skips_background():
    d = day_digest(n_papers=200, llm=False)
    for section in d.sections:
        results, impact, outlook = (section.summary.sections[i] for i in (2, 3, 4))
        quoted = [s.split(": ", 1)[1] for s in results + impact + outlook[1:] if ": " in s]
        lines = list(section.summary.paper_lines.values())
        assert len(set(quoted + lines)) == len(quoted + lines), section.name  # no sentence twice
        for sentence in quoted + lines:
            assert not sentence.lower().startswith(("however", "furthermore", "in this paper", "to address this"))
        assert "편, " not in section.summary.gist and section.summary.gist.endswith("(초록 발췌)")
