"""The bar chart of the day's papers per topic, with Hangul that renders on a fresh install."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
import json
import struct
import threading
from pathlib import Path
from types import ModuleType

FONT_PACKAGE = "koreanize_matplotlib"  # ships NanumGothic (SIL OFL 1.1); see digest/data/FONT-LICENSE.txt
FONT_FILES = ("NanumGothic.ttf", "NanumGothicBold.ttf")
FONT_FAMILY = "NanumGothic"
# Bump when the drawing below changes: a stored chart with the same counts and date is reused until then.
CHART_VERSION = "1"
KEY_FIELD = "digest-chart-key"  # a PNG text chunk: what the chart was drawn from
_setup_lock = threading.Lock()
_warming = False


def _font_dir() -> Path:
    # Find the fonts without importing the package: its import needs distutils (gone in Python 3.12).
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {FONT_PACKAGE} package (Korean font) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts"


def warm_up() -> None:
    """Import matplotlib and load the fonts in the background (about half a second of CPU), for a run
    that is about to wait on the LLM anyway; the chart is then drawn without that delay. Once per process."""
    global _warming
    with _setup_lock:
        if _warming:
            return
        _warming = True

    def load() -> None:
        try:
            _setup_matplotlib()
        except Exception:  # noqa: BLE001 - render_chart meets the same problem and reports it
            pass

    threading.Thread(target=load, name="chart-warm-up", daemon=True).start()


_configure_lock = threading.Lock()


@functools.cache
def _setup_matplotlib() -> ModuleType:
    with _configure_lock:  # the warm-up thread and the renderer may both arrive here first
        return _configure()


def _configure() -> ModuleType:  # matplotlib.pyplot
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager, pyplot

    names = {f.name for f in font_manager.fontManager.ttflist}
    if FONT_FAMILY not in names:
        for name in FONT_FILES:
            font_manager.fontManager.addfont(str(_font_dir() / name))
    pyplot.rcParams["font.family"] = FONT_FAMILY
    pyplot.rcParams["axes.unicode_minus"] = False
    return pyplot


def chart_key(counts: dict[str, int], label: str, before: dict[str, float | None] | None = None) -> str:
    """What the chart shows, as a hash: equal keys, equal pictures (for one CHART_VERSION)."""
    shown = [CHART_VERSION, label, list(counts.items())] + ([sorted(before.items())] if before else [])
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()[:32]


def stored_key(path: Path) -> str | None:
    """The chart key written into a PNG by render_chart, or None (no file, another PNG, unreadable)."""
    try:
        with path.open("rb") as png:
            if png.read(8) != b"\x89PNG\r\n\x1a\n":
                return None
            while header := png.read(8):
                length, kind = struct.unpack(">I4s", header)
                if kind in (b"IDAT", b"IEND"):
                    return None  # text chunks come before the image data
                data = png.read(length + 4)[:length]
                if kind == b"tEXt" and data.startswith(KEY_FIELD.encode() + b"\0"):
                    return data.split(b"\0", 1)[1].decode("latin-1")
    except (OSError, struct.error):
        return None
    return None


def render_chart(
    counts: dict[str, int], label: str, path: Path, *, before: dict[str, float | None] | None = None
) -> Path:
    """One horizontal bar per topic (Other included) with its count; sized to read at phone width. With
    `before` (a weekly edition: each topic's average over the weeks before), a mark at that average on each
    bar and the change beside the count."""
    path.write_bytes(_drawn(tuple(counts.items()), label, tuple(sorted((before or {}).items()))))
    return path


@functools.lru_cache(maxsize=8)
def _drawn(counts: tuple[tuple[str, int], ...], label: str, before: tuple[tuple[str, float | None], ...]) -> bytes:
    """The PNG, remembered for a few keys: a process that rebuilds a day (a backfill, audiences, a --force
    run, the scheduler) draws each picture once; drawing takes about a tenth of a second."""
    return _draw(dict(counts), label, dict(before))


def _change(count: int, average: float | None) -> str:
    if average is None or average == 0:
        return ""
    change = round((count / average - 1) * 100)
    return f" ({'+' if change >= 0 else '-'}{abs(change)}%)"  # NanumGothic has no U+2212


def _draw(counts: dict[str, int], label: str, before: dict[str, float | None]) -> bytes:
    plt = _setup_matplotlib()
    names = list(counts)
    values = [counts[n] for n in names]
    # Narrow and tall at a high dpi: on a ~400 px wide phone screen the labels still read at ~12 px.
    height = 1.3 + 0.5 * len(names) + (0.3 if before else 0)
    fig, ax = plt.subplots(figsize=(5.6, height), dpi=180)
    colors = ["#9aa5b1" if n == "Other" else "#3b6fb6" for n in names]
    bars = ax.barh(range(len(names)), values, color=colors, height=0.65)
    ax.set_yticks(range(len(names)), labels=names, fontsize=13)
    ax.invert_yaxis()
    averages = [before.get(n) for n in names]
    peak = max([*values, *(a for a in averages if a is not None)], default=0) or 1
    for i, (bar, value) in enumerate(zip(bars, values)):
        if averages[i] is not None:  # the weeks before: a dark tick across the bar at their average
            ax.plot([averages[i]] * 2, [i - 0.42, i + 0.42], color="#1f2328", linewidth=2.2)
        ax.text(
            max(bar.get_width(), averages[i] or 0) + peak * 0.015,  # right of the bar and of its mark
            bar.get_y() + bar.get_height() / 2,
            f"{value}편" + (_change(value, averages[i]) if before else ""),
            va="center",
            fontsize=13 if not before else 12,
            fontweight=600,
        )
    ax.set_xlim(0, peak * (1.45 if before else 1.2))
    title = "주제별 논문 수" if before else "카테고리별 논문 수"
    fig.suptitle(f"{title} · {label}", fontsize=14)
    caption = f"논문 수 (총 {sum(values)}편)"
    if before:
        caption += " · 검은 선: 지난 4주 평균"
    ax.set_xlabel(caption, fontsize=12)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=10)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", metadata={KEY_FIELD: chart_key(counts, label, before or None)})
    plt.close(fig)
    return png.getvalue()
