import datetime as dt
import json

import pytest

from digest.models import Assignment, Digest, Paper, TopicSection, TopicSummary
from digest.render import environment, md_escape, plain_text, render_html, render_markdown, write_report

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
    monkeypatch.setattr(digest.chart, "render_chart", lambda *args: drawn.append(args) or real(*args))
    write_report(_digest(title="Again"), tmp_path)
    assert drawn == [] and (final / "paper_2026-06-30.png").read_bytes() == chart
    write_report(_digest(counts={"LLM": 9, "Other": 1}), tmp_path)
    assert len(drawn) == 1 and (final / "paper_2026-06-30.png").read_bytes() != chart
