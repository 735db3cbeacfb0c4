import warnings

from PIL import Image

from digest.chart import render_chart


def test_korean_labels_render_without_missing_glyphs(tmp_path):
    counts = {"추론 가속": 12, "Computer Vision": 130, "의료 AI": 33, "Other": 4}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = render_chart(counts, "2026-06-30", tmp_path / "chart.png")
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "Glyph" in m or "missing from" in m or "findfont" in m], messages
    image = Image.open(path)
    assert image.format == "PNG"
    assert 900 <= image.width <= 1200  # about 1080 px: sharp on a phone, small to send


def test_one_bar_per_topic_with_its_count(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    closed = []
    close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig: closed.append(fig) or close(fig))
    counts = {"추론 가속": 3, "B": 0, "Other": 7}
    render_chart(counts, "2026-06-30", tmp_path / "c.png")

    assert plt.get_fignums() == []  # the figure is closed: nothing leaks across a long-running scheduler
    (ax,) = closed[0].axes
    # Top to bottom in the given order (the y axis is inverted), one bar per topic, its length its count.
    assert [label.get_text() for label in ax.get_yticklabels()] == ["추론 가속", "B", "Other"]
    assert [bar.get_width() for bar in ax.patches] == [3, 0, 7]
    assert [text.get_text() for text in ax.texts] == ["3편", "0편", "7편"]
    assert ax.patches[2].get_facecolor() != ax.patches[0].get_facecolor()  # Other is set apart
    assert ax.get_xlabel() == "논문 수 (총 10편)"
    assert closed[0].get_suptitle() == "카테고리별 논문 수 · 2026-06-30"
