"""Bench the archive site on a year of digests: build time, refresh time, memory, page and search sizes.

A year is 250 announcement days of 600 papers, synthetic from the real fixture days (their titles, authors
and abstracts under fresh ids), written straight as report folders (digest.json with Korean summaries and
lines of real length) and store rows: no pipeline, no LLM. Then, each as `digest site` in a child process:

  full build          the whole site from nothing
  refresh             after one more day (its report and store rows)
  peak memory         the largest resident size of either child, and the sum of the proportional sizes
                      (Pss) of the child and its workers, sampled
  page sizes          the largest day page; the index's first load (index.html + site.css, all it loads)
  search              bytes fetched per query (meta, shards month by month until a page of results, documents),
                      counted by replaying search.js's reads; with --chromium, the time to results in headless
                      Chromium and the bytes it fetched

Usage:  python bench/site.py [--days 250] [--papers 600] [--chromium] [--keep DIR] [--check]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.days import bundled_day, fixture_day  # noqa: E402
from digest.config import OTHER, Config  # noqa: E402
from digest.models import SECTION_TITLES, Listing, Paper  # noqa: E402
from digest.site import search  # noqa: E402
from digest.sources.rss import parse_feed  # noqa: E402
from digest.store import Store  # noqa: E402

LIMITS = {"full": 60.0, "refresh": 3.0, "memory_mb": 300.0, "day_kb": 400.0, "index_kb": 300.0, "search_kb": 500.0}
QUERIES = ["diffusion", "language model", "성능", "reinforcement 벤치마크", "Wang"]
KOREAN = (
    "이 연구는 {t} 문제를 다루며 기존 방법의 한계를 분석하고 새로운 접근을 제안하여 여러 벤치마크에서 성능을 "
    "크게 개선했다고 보고합니다."
)


def _h(text: str) -> int:
    return int(hashlib.md5(text.encode()).hexdigest()[:8], 16)


def listing_dates(n: int, last: dt.date) -> list[dt.date]:
    dates, day = [], last
    while len(dates) < n:
        if day.weekday() < 5:
            dates.append(day)
        day -= dt.timedelta(days=1)
    return dates[::-1]


def real_papers() -> list[Paper]:
    return [p for day in (bundled_day(), fixture_day()) for p in parse_feed(day.feed).papers]


def make_day(date: dt.date, index: int, pool: list[Paper], size: int, topics: list[str]) -> tuple[dict, Listing]:
    start = index * size
    papers = []
    for n in range(size):
        p = pool[(start + n) % len(pool)]
        papers.append(
            Paper(
                f"{date:%y%m}.{(date.day * 1000 + n) % 100000:05d}",
                p.title,
                p.abstract,
                p.authors,
                p.categories,
                p.announce_type,
            )
        )
    every = [*topics, OTHER]
    rows, by_topic = [], {}
    for p in papers:
        topic = every[_h(p.id + p.title) % len(every)]
        importance = 1 + _h(p.title + p.id) % 10
        by_topic.setdefault(topic, []).append((importance, p))
        rows.append((p, topic, importance))
    summaries, selected = {}, set()
    for topic in topics:
        members = sorted(by_topic.get(topic, []), key=lambda ip: -ip[0])
        if not members:
            continue
        chosen = [p for _, p in members[:5]]
        selected.update(p.id for p in chosen)
        sentences = [KOREAN.format(t=f"{topic} 분야의 {i}번째") for i in range(4)]
        summaries[topic] = {
            "method": "llm",
            "sections": {title: sentences for title in SECTION_TITLES},
            "paper_lines": {p.id: KOREAN.format(t=p.title[:30]) for p in chosen},
            "selected": [p.id for p in chosen],
            "total": len(members),
        }
    ranked = sorted((r for r in rows if r[1] != OTHER), key=lambda r: -r[2])
    data = {
        "date": date.isoformat(),
        "title": "Daily Artificial Intelligence Insights : Papers",
        "counts": {t: len(by_topic.get(t, [])) for t in every},
        "total": len(papers),
        "llm": {"used": True, "model": "gpt-4o-mini", "calls": 32, "prompt_tokens": 1, "completion_tokens": 1},
        "must_reads": [p.id for p, _, _ in ranked[:5]],
        "summaries": summaries,
        "papers": [
            {
                "id": p.id,
                "title": p.title,
                "url": p.url,
                "authors": p.authors,
                "categories": p.categories,
                "announce_type": p.announce_type,
                "topic": topic,
                "importance": importance,
                "classified_by": "llm",
                "selected": p.id in selected,
            }
            for p, topic, importance in rows
        ],
    }
    return data, Listing(date, papers, "api")


def write_day(config: Config, store: Store, data: dict, listing: Listing) -> None:
    folder = config.output_dir / data["date"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "digest.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    store.save_listing(listing)


def _tree_rss_mb(pid: int) -> float:
    """Memory of a process and all its descendants, from /proc (0 where /proc is not there): the sum of their
    proportional set sizes (Pss), so pages a forked worker shares with its parent count once."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
        todo += [int(c) for c in children]
    return total / 1024


def run_site(config_path: Path) -> tuple[float, float, float, float, str]:
    """`digest site` in a child process: wall seconds, CPU seconds (with its workers), peak resident MB of the
    largest process, peak resident MB of the process and its workers together (sampled), its output line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "digest", "site", "--config", str(config_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], _tree_rss_mb(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = child.stdout.read()
    done.set()
    sampler.join()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    if child.returncode != 0:
        raise SystemExit(f"digest site failed:\n{out}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, peak[0], out.strip().splitlines()[-1]


def search_bytes(site: Path, query: str, page: int = 20) -> tuple[int, int]:
    """Replay search.js's reads for a query: (bytes fetched, results found in the months read)."""
    meta_path = site / "search/meta.json"
    meta = json.loads(meta_path.read_text())
    fetched = meta_path.stat().st_size
    words = search.tokens(query)
    hits: list[tuple[str, int]] = []
    for segment in meta["segments"]:
        sets = []
        for word in words:
            shard = site / "search" / segment["name"] / f"{search.bucket_name(search.shard_key(word))}.json"
            found: set[int] = set()
            if shard.exists():
                fetched += shard.stat().st_size
                key_len = search.LATIN_KEY if word[0].isascii() else search.OTHER_KEY
                for token, gaps in json.loads(shard.read_text()).items():
                    if (token == word) if len(word) < key_len else token.startswith(word):
                        n = 0
                        for gap in gaps:
                            n += gap
                            found.add(n)
            sets.append(found)
        both = sorted(set.intersection(*sets) if sets else set(), reverse=True)
        hits += [(segment["name"], n) for n in both]
        if len(hits) >= page:
            break
    files = {(seg, n // meta["docs_per_file"]) for seg, n in hits[:page]}
    fetched += sum((site / "search" / seg / f"d{k}.json").stat().st_size for seg, k in files)
    return fetched, len(hits)


def chromium_search(site: Path, queries: list[str]) -> list[tuple[str, float, int]] | None:
    """Time to results and bytes fetched per query in headless Chromium, or None when it is not here."""
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        return None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        return None
    from digest.site.serve import make_server

    server = make_server(site, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from tests.browser import selenium_options

    profile = tempfile.mkdtemp()
    options = selenium_options("/usr/bin/chromium", profile)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    rows = []
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        for query in queries:
            from urllib.parse import quote

            driver.get(f"{base}search.html?q={quote(query)}")
            WebDriverWait(driver, 20, poll_frequency=0.02).until(
                lambda d: "검색 중" not in d.find_element(By.ID, "status").text
            )
            ms = driver.execute_script(
                "var nav = performance.getEntriesByType('navigation')[0];"
                "var res = performance.getEntriesByType('resource').filter(function (r) {"
                "  return r.name.indexOf('/search/') > 0; });"
                "var end = Math.max.apply(null, res.map(function (r) { return r.responseEnd; }));"
                "return end - nav.domContentLoadedEventEnd;"
            )
            size = driver.execute_script(
                "return performance.getEntriesByType('resource').reduce(function (s, r) {"
                "  return s + (r.name.indexOf('/search/') > 0 ? r.encodedBodySize : 0); }, 0);"
            )
            rows.append((query, ms, size))
    finally:
        driver.quit()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--papers", type=int, default=600)
    parser.add_argument("--chromium", action="store_true", help="also time search in headless Chromium")
    parser.add_argument("--keep", type=Path, help="build here and keep it (default: a temporary folder)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure misses its limit")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-site-"))
    work.mkdir(parents=True, exist_ok=True)
    config_path = work / "config.yaml"
    config_path.write_text("log:\n  file: null\n")
    from digest.config import load_config

    config = load_config(config_path)
    pool = real_papers()
    dates = listing_dates(args.days + 1, dt.date(2026, 7, 1))
    started = time.monotonic()
    store = Store(config.state_path)
    for i, date in enumerate(dates[:-1]):
        write_day(config, store, *make_day(date, i, pool, args.papers, config.topic_names))
    print(f"wrote {args.days} days x {args.papers} papers in {time.monotonic() - started:.1f}s ({work})")

    load = os.getloadavg()[0]
    full, full_cpu, full_mb, full_tree, full_line = run_site(config_path)
    write_day(config, store, *make_day(dates[-1], len(dates) - 1, pool, args.papers, config.topic_names))
    store.close()
    refresh, refresh_cpu, refresh_mb, refresh_tree, refresh_line = run_site(config_path)
    site = config.site_dir
    day_kb = max((site / d.isoformat() / "index.html").stat().st_size for d in dates) / 1024
    index_kb = ((site / "index.html").stat().st_size + (site / "assets/site.css").stat().st_size) / 1024
    files = sum(1 for _ in site.rglob("*"))
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the start (other work slows the figures)")
    print(
        f"full build      {full:6.1f} s wall, {full_cpu:6.1f} s CPU   peak {full_mb:5.0f} MB "
        f"(with workers {full_tree:.0f} MB)   {full_line}"
    )
    print(
        f"refresh (+1 day){refresh:6.1f} s wall, {refresh_cpu:6.1f} s CPU   peak {refresh_mb:5.0f} MB "
        f"(with workers {refresh_tree:.0f} MB)   {refresh_line}"
    )
    print(f"largest day page {day_kb:6.0f} KB; index first load {index_kb:.0f} KB; {files} files in the site")
    worst = 0.0
    for query in QUERIES:
        fetched, found = search_bytes(site, query)
        worst = max(worst, fetched / 1024)
        print(f"search {query!r:28} fetches {fetched / 1024:6.0f} KB ({found} hits in the months read)")
    browser = chromium_search(site, QUERIES) if args.chromium else None
    for query, ms, size in browser or []:
        print(f"chromium {query!r:26} results after {ms:5.0f} ms, fetched {size / 1024:5.0f} KB")
    checks = [
        ("full build", full, LIMITS["full"], "s"),
        ("refresh", refresh, LIMITS["refresh"], "s"),
        ("peak memory (with workers)", max(full_mb, refresh_mb, full_tree, refresh_tree), LIMITS["memory_mb"], "MB"),
        ("day page", day_kb, LIMITS["day_kb"], "KB"),
        ("index first load", index_kb, LIMITS["index_kb"], "KB"),
        ("search fetch", worst, LIMITS["search_kb"], "KB"),
    ]
    for name, value, limit, unit in checks:
        print(f"{'ok  ' if value <= limit else 'MISS'} {name}: {value:.1f} {unit} (limit {limit:g})")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if args.check and any(v > lim for _, v, lim, _ in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
