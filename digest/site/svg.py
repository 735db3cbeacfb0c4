"""The archive's chart as inline SVG: one small bar row per topic (small multiples), papers per day.

Small multiples rather than one stacked chart: at 390 px a stack of nine colours is unreadable, while a row per
topic shows where each field is moving with its own label and numbers. Colours come from the page's CSS
(classes), so the chart follows dark mode. Text is escaped here because this markup is inserted as is.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH = 360
LABEL_H = 16
BAR_H = 26
ROW_GAP = 10


def topic_rows_svg(chart_id: str, title: str, dates: list[str], rows: list[tuple[str, list[int]]]) -> Markup:
    """rows: (topic, count per date) in display order; dates oldest first."""
    if not dates or not rows:
        return Markup("")
    row_h = LABEL_H + BAR_H + ROW_GAP
    height = row_h * len(rows)
    step = WIDTH / len(dates)
    bar_w = max(step * 0.75, 1.0)
    peak = max((max(counts) for _, counts in rows), default=0) or 1
    desc = " · ".join(
        f"{name}: 최근 {counts[-1]}편, 하루 평균 {sum(counts) / len(counts):.0f}편, 최대 {max(counts)}편"
        for name, counts in rows
    )
    parts = [
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-t">{escape(title)} ({escape(dates[0])} ~ {escape(dates[-1])})</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    for i, (name, counts) in enumerate(rows):
        top = i * row_h
        parts.append(
            f'<text class="chart-label" x="0" y="{top + 12}">{escape(name)}'
            f'<tspan class="chart-num" dx="6">최근 {counts[-1]} · 최대 {max(counts)}</tspan></text>'
        )
        base = top + LABEL_H + BAR_H
        parts.append(f'<line class="chart-axis" x1="0" x2="{WIDTH}" y1="{base}" y2="{base}"/>')
        for j, (date, n) in enumerate(zip(dates, counts)):
            if not n:
                continue
            h = max(BAR_H * n / peak, 1.0)
            cls = "chart-bar last" if j == len(dates) - 1 else "chart-bar"
            parts.append(
                f'<rect class="{cls}" x="{j * step:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                f"<title>{escape(date)} {escape(name)} {n}편</title></rect>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
