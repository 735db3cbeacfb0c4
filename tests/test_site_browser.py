"""The archive site in a real browser: headless Chromium (Debian's chromium + chromium-driver) over HTTP."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from digest.site.serve import make_server
from tests.browser import selenium_options
from tests.site_days import HOSTILE_TITLE, shared_site

CHROMIUM = os.environ.get("DIGEST_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DIGEST_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
DAYS = ["2026-04-21", "2026-06-30", "2026-07-01"]

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install '.[test]')")
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(
        f"no Chromium here ({CHROMIUM}, {CHROMEDRIVER}): apt-get install -y chromium chromium-driver",
        allow_module_level=True,
    )

from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def folder() -> Path:
    return shared_site()


@pytest.fixture(scope="module")
def base(folder):
    server = make_server(folder / "output/site", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-")
    options = selenium_options(CHROMIUM, profile)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(390, 844)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def report(folder: Path, day: str) -> dict:
    return json.loads((folder / "output" / day / "digest.json").read_text())


def no_alert(driver) -> bool:
    try:
        _ = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def search(browser, base: str, query: str) -> list[tuple[str, str]]:
    """Open search.html?q=query and wait for its answer: (title, href) of each result."""
    from urllib.parse import quote

    browser.get(f"{base}search.html?q={quote(query)}")
    WebDriverWait(browser, 10, poll_frequency=0.05).until(
        lambda d: "검색 중" not in d.find_element(By.ID, "status").text
    )
    return [(a.text, a.get_attribute("href")) for a in browser.find_elements(By.CSS_SELECTOR, "#results li a.title")]


def test_the_index_links_every_day(browser, base):
    browser.get(base + "index.html")
    hrefs = {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#days a")}
    assert {f"{base}{day}/index.html" for day in DAYS} <= hrefs
    chart = browser.find_element(By.CSS_SELECTOR, "svg.chart")
    assert chart.get_attribute("role") == "img" and chart.size["width"] <= 390
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390  # no sideways scrolling


def test_a_day_page_shows_every_paper_with_its_link(browser, base, folder):
    for day in DAYS:
        browser.get(f"{base}{day}/index.html")
        shown = browser.execute_script(
            "return Array.from(document.querySelectorAll('li.paper')).map(function (li) {"
            "  var a = li.querySelector('a.title'); var box = a.getBoundingClientRect();"
            "  return [li.id, a.href, a.innerText, box.width > 0 && box.height > 0]; });"
        )
        expected = [
            [p["id"], f"https://arxiv.org/abs/{p['id']}", p["title"], True] for p in report(folder, day)["papers"]
        ]
        assert sorted(shown) == sorted(expected)


def test_opening_an_abstract_loads_it_from_beside_the_page(browser, base, folder):
    browser.get(f"{base}2026-06-30/index.html")
    first = browser.find_element(By.CSS_SELECTOR, "li.paper")
    first.find_element(By.CSS_SELECTOR, "details.abs summary").click()
    text = first.find_element(By.CSS_SELECTOR, "details.abs p")
    WebDriverWait(browser, 5, poll_frequency=0.05).until(lambda d: "불러오는 중" not in text.text)
    assert len(text.text) > 200


def test_search_finds_a_paper_by_a_title_word_and_by_an_authors_surname(browser, base, folder):
    paper = next(p for p in report(folder, "2026-04-21")["papers"] if p["title"].startswith("UGD"))
    results = search(browser, base, "geometric denoising")
    assert (paper["title"], f"{base}2026-04-21/index.html#{paper['id']}") in results
    surname = paper["authors"][0].split()[-1]
    assert paper["title"] in [title for title, _ in search(browser, base, surname)]


def test_search_finds_korean_words_and_the_query_is_in_the_url(browser, base, folder):
    data = report(folder, "2026-06-30")
    titles = {p["id"]: p["title"] for p in data["papers"]}
    summary = next(s for s in data["summaries"].values() if s["paper_lines"])
    paper_id, line = next(iter(summary["paper_lines"].items()))
    korean = next(w for w in line.split() if "가" <= w[0] <= "힣" and len(w) >= 3)
    title_word = max(re.findall(r"[A-Za-z]{4,}", titles[paper_id]), key=len)
    query = f"{korean[:2]} {title_word}"  # a Korean word's start finds it with its particles; both must match
    results = search(browser, base, query)
    assert (titles[paper_id], f"{base}2026-06-30/index.html#{paper_id}") in results
    assert browser.find_element(By.ID, "q").get_attribute("value") == query
    assert len(search(browser, base, korean)) >= 1


def test_a_hostile_title_is_inert_on_the_day_page_and_in_search_results(browser, base):
    browser.get(f"{base}2026-07-01/index.html")
    assert no_alert(browser)
    titles = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "li.paper a.title")]
    assert HOSTILE_TITLE in titles  # shown as text
    assert browser.execute_script("return document.querySelectorAll('main img, main script').length") == 0
    results = search(browser, base, "hostile title")
    assert [t for t, _ in results] == [HOSTILE_TITLE]
    assert no_alert(browser)
    assert browser.execute_script("return document.querySelectorAll('#results img, #results script').length") == 0


def test_screenshots_at_phone_and_desktop_width(browser, base, tmp_path):
    """The pages render at 390 px and 1280 px (DIGEST_SCREENSHOTS=folder keeps the pictures)."""
    keep = Path(os.environ.get("DIGEST_SCREENSHOTS") or tmp_path)
    keep.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        browser.set_window_size(width, 900)
        for name, page in (("index", "index.html"), ("day", "2026-06-30/index.html"), ("search", "search.html?q=ugd")):
            browser.get(base + page)
            path = keep / f"site-{name}-{width}.png"
            assert browser.save_screenshot(str(path)) and path.stat().st_size > 5000
            assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    browser.set_window_size(390, 844)


def test_typing_searches_as_you_go_and_keeps_the_url_linkable(browser, base):
    search(browser, base, "")
    box = browser.find_element(By.ID, "q")
    box.send_keys("geometric denoising")
    WebDriverWait(browser, 10, poll_frequency=0.05).until(
        lambda d: "geometric" in d.current_url and "검색 결과" in d.find_element(By.ID, "status").text
    )
    titles = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#results li a.title")]
    assert any(t.startswith("UGD") for t in titles)
    assert browser.current_url.endswith("search.html?q=geometric%20denoising")


def test_more_results_button_shows_only_when_there_are_more(browser, base):
    search(browser, base, "geometric denoising")
    assert not browser.find_element(By.ID, "more").is_displayed()
