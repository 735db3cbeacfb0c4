"""`digest status`: recent runs and their deliveries, as plain lines."""

from __future__ import annotations

import datetime as dt
import json

from digest.config import Config
from digest.edition import Edition
from digest.store import Store, open_store


def status_lines(config: Config, last: int) -> list[str]:
    from digest.commands.demo import demo_hint

    hint = [line for line in [demo_hint(config)] if line]
    if not config.state_path.exists():
        return [f"no runs yet (no state database at {config.state_path})", *hint]
    store = open_store(config)
    runs = store.recent_runs(last)
    if not runs:
        store.close()
        return ["no runs yet", *hint]
    lines = []
    shown_dates: set[str] = set()
    for run in runs:
        started = run["started_at"].replace("T", " ")[:16]
        head = f"#{run['id']} {started} {run['command']:<8} {run['date'] or '-':<10} {run['status']:<7}"
        parts = []
        if run["papers"] is not None:
            parts.append(f"{run['papers']} papers")
        counts = json.loads(run["counts"]) if run["counts"] else {}
        if any(counts.values()):
            parts.append(", ".join(f"{k} {v}" for k, v in counts.items() if v))
        if run["llm_calls"]:
            reasoning = store.run_reasoning_tokens(run["id"])
            parts.append(
                f"LLM {run['llm_model']}: {run['llm_calls']} calls, "
                f"{run['prompt_tokens'] + run['completion_tokens']:,} tokens"
                + (f" ({reasoning:,} of them reasoning)" if reasoning else "")
            )
        elif run["llm_model"]:
            parts.append(f"LLM {run['llm_model']}: 0 calls (all reused from the store)")
        elif run["status"] == "ok":
            parts.append("LLM 미사용")
        refused = store.refused_ids(dt.date.fromisoformat(run["date"])) if run["llm_model"] and run["date"] else ()
        if refused:
            parts.append(f"{len(refused)} papers refused by the LLM server (content filter), classified offline")
        removed = store.removed_by_topic(run["id"]) if run["llm_calls"] else {}
        if removed:
            per_topic = ", ".join(f"{topic.strip(chr(39))} {n}" for topic, n in removed.items())
            parts.append(f"{sum(removed.values())} sentences removed for figures not in the abstracts ({per_topic})")
        if run["error"]:
            parts.append(f"error: {run['error']}")
        lines.append(head + (" | " + " | ".join(parts) if parts else ""))
        if run["edition"] and run["edition"] not in shown_dates:
            # Deliveries are per edition, not per run: show their current state once, under the newest run.
            shown_dates.add(run["edition"])
            if run["date"]:
                lines += _source_lines(store, run["date"])
            lines += _delivery_lines(store, Edition.parse(run["edition"]))
    lines += _feedback_lines(config, store)
    store.close()
    return lines


VERDICT_MARKS = {"like": "👍", "dislike": "👎", "save": "🔖"}


def _feedback_lines(config: Config, store: Store) -> list[str]:
    """The readers' taps per chat, and what each audience's model learns from (its examples)."""
    from digest.readers import feedback_chats
    from digest.sources.own_papers import own_papers

    taps: dict[str, dict[str, int]] = {}
    for chat, verdict, n in store.taps_per_chat():
        taps.setdefault(chat, {})[verdict] = n
    own = len(own_papers(config, store, fetch=False))  # what the model learns from now (files read again)
    chats = feedback_chats(config)
    if not taps and not own:
        return ["feedback: no taps yet"] if chats else []
    lines = []
    for chat, counts in taps.items():
        shown = " ".join(f"{VERDICT_MARKS[v]} {counts[v]}" for v in VERDICT_MARKS if counts.get(v))
        lines.append(f"feedback: chat {chat}: {shown} ({sum(counts.values())} taps)")
    for key, members in chats.items():
        learned = sum(1 for net, _ in store.verdicts(members).values() if net)
        audience = f"topics {key.replace('|', ', ')}" if key else "the whole digest"
        lines.append(
            f"    learned model ({audience}, chats {', '.join(members)}): {learned} tapped papers + {own} own papers"
        )
    if not chats and own:
        lines.append(f"    learned model: {own} own papers (interests.papers)")
    return lines


def _source_lines(store: Store, date: str) -> list[str]:
    """When more than one source gave this date's listing (the pages, later the RSS feed), whether they agree."""
    from digest.sources.compare import compare, source_name

    rows = store.listing_sources(date)
    lines = []
    for other in rows[1:]:
        first = rows[0]
        found = compare(first["source"], json.loads(first["ids"]), other["source"], json.loads(other["ids"]))
        lines.append(f"    listing: built from {source_name(first['source'])}; {found.verdict(sample=True)}")
    return lines


def _delivery_lines(store: Store, edition: Edition) -> list[str]:
    lines = []
    day = dt.date.fromisoformat(edition.period) if edition.kind == "day" else None
    papers_now = store.listing_size(day) if day else None
    for d in store.deliveries_of(edition):
        notes = [f"run #{d['run_id']}" if d["run_id"] else "", f"{d['attempts']} attempts" if d["attempts"] > 1 else ""]
        if d["status"] == "sent" and d["papers"] is not None and papers_now is not None and d["papers"] < papers_now:
            # The listing grew after this delivery (the first fetch was cut short): the target has part of the day.
            notes.append(
                f"PARTIAL: it got {d['papers']} of the {papers_now} papers now stored; "
                f"`digest send --date {edition.period}` sends the whole day"
            )
        if d["status"] != "sent" and 0 < d["parts_sent"] < d["parts_total"]:
            notes.append(f"{d['parts_sent']}/{d['parts_total']} parts arrived")
        if d["error"]:
            notes.append(d["error"])
        note = "; ".join(n for n in notes if n)
        lines.append(f"    delivery {d['channel']} {d['target']}: {d['status']}" + (f" ({note})" if note else ""))
    return lines
