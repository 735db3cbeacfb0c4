"""The one retry policy (digest/retry.py) as the RSS feed and the export API use it, with a clock that never sleeps."""

import datetime as dt

from digest.net import retry_after_seconds
from digest.retry import Clock
from digest.sources.rss import fetch_listing
from tests.conftest import RSS_CATEGORIES, small_day_feed
from tests.fakes.http import Response


def _clock(slept: list[float]) -> Clock:
    return Clock(sleep=slept.append)


def test_the_feed_waits_what_retry_after_asks_capped_at_a_minute(server):
    route = f"/rss/{RSS_CATEGORIES}"
    server.route(
        route,
        [
            Response(429, b"slow down", {"Retry-After": "7"}),
            Response(503, b"busy", {"Retry-After": "3600"}),
            Response(502, b"bad gateway"),
            Response(200, small_day_feed()),
        ],
    )
    slept: list[float] = []
    listing = fetch_listing(f"{server.url}{route}", max_retries=3, backoff=0.5, clock=_clock(slept))
    assert len(listing.papers) == 50
    # Asked 7 s, asked an hour (capped at 60 s), then the third attempt's own backoff: 0.5·2².
    assert slept == [7.0, 60.0, 2.0]


def test_retry_after_reads_seconds_and_http_dates():
    now = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("Tue, 30 Jun 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_the_llm_client_waits_on_the_same_policy_through_the_injected_clock(tmp_path):
    from digest.config import load_config
    from digest.llm import LLM
    from digest.prompts import CLASSIFY_SCHEMA_NAME, ClassifyAnswer, classify_messages, classify_schema_model
    from digest.sources.demo import demo_fetcher
    from digest.store import Store
    from tests.conftest import write_config
    from tests.fakes.openai_server import FakeOpenAI

    with FakeOpenAI() as fake:
        config = load_config(write_config(tmp_path, llm__base_url=fake.url, llm__max_retries=3, llm__backoff_seconds=2))
        fake.fail("429", retry_after=3600)
        fake.fail("429", retry_after_ms=1500)
        fake.fail("500")
        slept: list[float] = []
        store = Store(config.state_path)
        llm = LLM(config, store, clock=_clock(slept))
        paper = demo_fetcher()(None).papers[0]
        answer = llm.ask(
            "classify",
            "batch 1/1",
            classify_messages(config.categories, [paper]),
            classify_schema_model(config.topic_names),
            CLASSIFY_SCHEMA_NAME,
            parse=ClassifyAnswer,
        )
        store.close()
    assert [p["id"] for p in answer.value.papers] == [paper.id]
    # An hour asked is capped at 120 s, 1.5 s asked is waited as asked, then the third retry's own backoff:
    # 2·2² plus at most a quarter of it at random.
    assert slept[:2] == [120.0, 1.5] and 8.0 <= slept[2] <= 10.0 and len(slept) == 3
    assert llm.usage.calls == 4  # every attempt is in the ledger
