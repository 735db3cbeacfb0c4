"""The bar chart of the day's papers per topic, with Hangul that renders on a fresh install."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

FONT_PACKAGE = "koreanize_matplotlib"  # ships NanumGothic (SIL OFL 1.1); see digest/data/FONT-LICENSE.txt
FONT_FILES = ("NanumGothic.ttf", "NanumGothicBold.ttf")
FONT_FAMILY = "NanumGothic"


def _font_dir() -> Path:
    # Find the fonts without importing the package: its import needs distutils (gone in Python 3.12).
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {FONT_PACKAGE} package (Korean font) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts"


def _setup_matplotlib():
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


def render_chart(counts: dict[str, int], date: dt.date, path: Path) -> Path:
    """One horizontal bar per topic (Other included) with its count; sized to read at phone width."""
    plt = _setup_matplotlib()
    names = list(counts)
    values = [counts[n] for n in names]
    # Narrow and tall at a high dpi: on a ~400 px wide phone screen the labels still read at ~12 px.
    height = 1.3 + 0.5 * len(names)
    fig, ax = plt.subplots(figsize=(5.6, height), dpi=180)
    colors = ["#9aa5b1" if n == "Other" else "#3b6fb6" for n in names]
    bars = ax.barh(range(len(names)), values, color=colors, height=0.65)
    ax.set_yticks(range(len(names)), labels=names, fontsize=13)
    ax.invert_yaxis()
    peak = max(values, default=0) or 1
    for bar, value in zip(bars, values):
        ax.text(bar.get_width() + peak * 0.015, bar.get_y() + bar.get_height() / 2, f"{value}편",
                va="center", fontsize=13, fontweight=600)
    ax.set_xlim(0, peak * 1.2)
    fig.suptitle(f"카테고리별 논문 수 · {date.isoformat()}", fontsize=14)
    ax.set_xlabel(f"논문 수 (총 {sum(values)}편)", fontsize=12)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=10)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
