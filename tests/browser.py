"""A real browser for the report: headless Chromium lays digest.html out at a phone's width and reports
what a reader would see (horizontal scroll, Korean words broken across lines), or takes a screenshot.

Headless Chromium will not make a window narrower than 500 px, so the page is laid out inside an iframe
of the asked width (srcdoc, so the measuring script can reach into it).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

# What every headless Chromium here needs: root (no sandbox), no GPU, and no background calls to hosts the
# closed network refuses.
HEADLESS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
FLAGS = [*HEADLESS, "--hide-scrollbars", "--allow-file-access-from-files"]


def selenium_options(binary: str, profile: str):
    """ChromeOptions for Selenium with the same headless flags and a profile folder of its own."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (*HEADLESS, f"--user-data-dir={profile}"):
        options.add_argument(arg)
    return options


# Runs in the outer page once the report has loaded in the iframe; writes its findings into the outer DOM.
MEASURE = """
<script>
document.getElementById("page").addEventListener("load", function () {
  var doc = this.contentDocument, broken = [], node;
  var walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
  while ((node = walker.nextNode())) {
    var re = /[\\uAC00-\\uD7A3]+/g, m;
    while ((m = re.exec(node.data))) {
      var range = doc.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      var lines = {}, rects = range.getClientRects();
      for (var i = 0; i < rects.length; i++) if (rects[i].width > 0) lines[Math.round(rects[i].top)] = 1;
      if (Object.keys(lines).length > 1) broken.push(m[0]);
    }
  }
  var out = document.createElement("pre");
  out.id = "measure";
  out.textContent = JSON.stringify({
    scrollWidth: doc.scrollingElement.scrollWidth,
    scrollHeight: doc.scrollingElement.scrollHeight,
    width: doc.defaultView.innerWidth,
    broken: broken.slice(0, 20),
    brokenCount: broken.length
  });
  document.body.appendChild(out);
});
</script>
"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _harness(report: Path, width: int, height: int, script: str = "", scroll_to: str | None = None) -> str:
    page = report.read_text(encoding="utf-8")
    # Relative sources (the chart) resolve beside the report.
    page = page.replace("<head>", f'<head><base href="{report.parent.resolve().as_uri()}/">', 1)
    scroll = ""
    if scroll_to:
        scroll = (
            '<script>document.getElementById("page").addEventListener("load", function () {'
            f"var el = this.contentDocument.getElementById({json.dumps(scroll_to)});"
            "if (el) this.contentWindow.scrollTo(0, el.offsetTop);});</script>"
        )
    return (
        '<!DOCTYPE html><html><body style="margin:0;background:#888;">'
        f'<iframe id="page" style="width:{width}px;height:{height}px;border:0;display:block;background:#fff;" '
        f'srcdoc="{html.escape(page, quote=True)}"></iframe>{script}{scroll}</body></html>'
    )


def _run(args: list[str], harness: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "harness.html"
        page.write_text(harness, encoding="utf-8")
        done = subprocess.run(
            [chromium() or "chromium", *FLAGS, f"--user-data-dir={tmp}/profile", *args, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.stdout


def measure(report: Path, width: int = 390) -> dict:
    """Lay the report out `width` px wide: its scrollWidth and the Korean words split across two lines."""
    out = _run(
        ["--window-size=800,1200", "--virtual-time-budget=5000", "--dump-dom"],
        _harness(report, width, 1200, MEASURE),
    )
    found = re.search(r'<pre id="measure">(.*?)</pre>', out, re.DOTALL)
    if not found:
        raise RuntimeError(f"chromium reported nothing: {out[-500:]!r}")
    return json.loads(html.unescape(found.group(1)))


def screenshot(report: Path, target: Path, width: int, height: int, scroll_to: str | None = None) -> Path:
    """A picture of the report `width` px wide (the top `height` px, or from the element `scroll_to`)."""
    _run(
        [f"--window-size={max(width, 500)},{height}", "--virtual-time-budget=5000", f"--screenshot={target}"],
        _harness(report, width, height, scroll_to=scroll_to),
    )
    return target
