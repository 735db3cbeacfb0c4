"""`digest check`: reach every configured service once and say, one line each, what works."""

from __future__ import annotations

import httpx

from digest.config import Config
from digest.deliver.channels import Check


def run_checks(config: Config) -> list[Check]:
    return [check_llm(config), *check_channels(config)]


# Where servers put a model's retirement date in /models (OpenAI: shutdown_date).
RETIREMENT_KEYS = ("shutdown_date", "deprecation_date", "retirement_date", "sunset_date", "deprecated_at")


def check_llm(config: Config) -> Check:
    """The server's model list, then one real 1-paper classification in the exact shape runs use: a
    refused parameter or response_format shows up here, at setup, instead of in the morning's run."""
    cfg = config.llm
    key = config.secret(cfg.api_key_env)
    if not key and not cfg.base_url:
        return Check(
            "llm",
            True,
            f"not used ({cfg.api_key_env} is not set and llm.base_url is null): "
            "runs use the offline classifier and extractive summaries",
        )
    from digest.llm import base_url

    base = base_url(cfg)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(f"{base}/models", headers=headers, timeout=min(cfg.timeout_seconds, 30))
    except httpx.HTTPError as exc:
        return Check("llm", False, f"cannot reach {base}/models ({type(exc).__name__})")
    if response.status_code in (401, 403):
        return Check(
            "llm", False, f"{base}/models: HTTP {response.status_code}, the key in {cfg.api_key_env} was refused"
        )
    entry: dict = {}
    if response.status_code != 404:  # some compatible servers have no model list; the call below decides
        if response.status_code != 200:
            return Check("llm", False, f"{base}/models: HTTP {response.status_code}")
        try:
            entries = [m for m in response.json().get("data", []) if isinstance(m, dict)]
        except (ValueError, AttributeError):
            return Check("llm", False, f"{base}/models: the answer is not an OpenAI-style model list")
        models = [m.get("id") for m in entries]
        if cfg.model not in models:
            shown = ", ".join(str(m) for m in models[:8]) + (" …" if len(models) > 8 else "")
            return Check("llm", False, f"{base} answers, but llm.model {cfg.model!r} is not among its models ({shown})")
        entry = entries[models.index(cfg.model)]
    ok, said = _one_call(config)
    if not ok:
        return Check("llm", False, f"{base}, model {cfg.model}: {said}")
    retires = next((str(entry[k]) for k in RETIREMENT_KEYS if entry.get(k)), None)
    note = f"; the server says it shuts down {retires}: choose another llm.model before then" if retires else ""
    return Check("llm", True, f"ok ({base}, model {cfg.model}, {said}{note})")


def _one_call(config: Config) -> tuple[bool, str]:
    """Classify one paper of the bundled day through the same client, ladder and checks as a run."""
    from digest.errors import DigestError
    from digest.llm import LLM, MODES
    from digest.prompts import CLASSIFY_SCHEMA_NAME, ClassifyAnswer, classify_messages, classify_schema_model
    from digest.sources.demo import demo_listing
    from digest.store import open_store

    paper = demo_listing().papers[0]
    # One retry at most: a check should answer within seconds.
    quick = config.model_copy(
        update={"llm": config.llm.model_copy(update={"max_retries": min(1, config.llm.max_retries)})}
    )
    try:
        store = open_store(config)  # the ladder's memory and the ledger, as in a run
    except DigestError as exc:
        return False, str(exc)
    try:
        llm = LLM(quick, store)
        schema = classify_schema_model(config.topic_names)
        messages = classify_messages(config.categories, [paper])
        try:
            # Again while an answer moved the ladder (prose around the JSON: response_format ignored), so the
            # mode reported and remembered is one that was answered properly.
            for _ in MODES:
                used = llm.mode
                answer = llm.ask(
                    "check", "1 paper", messages, schema, CLASSIFY_SCHEMA_NAME, ClassifyAnswer, reuse=False
                )
                if llm.mode == used:
                    break
        except DigestError as exc:
            return False, str(exc).replace("LLM check 1 paper", "a 1-paper call")
    finally:
        store.close()
    if paper.id not in {item.id.strip() for item in answer.value.papers}:
        return False, "a 1-paper call answered, but not for the paper it was sent"
    how = {
        "json_schema": "structured output json_schema",
        "json_object": "structured output json_object (json_schema refused or ignored)",
        "text": "structured output text, the JSON Schema in the prompt (response_format refused or ignored)",
    }[llm.mode]
    return True, f"1-paper call ok, {how}"


def check_channels(config: Config) -> list[Check]:
    """Every registered delivery channel: "disabled", or what its own check() finds."""
    from digest.plugins import channels

    checks = []
    for name, channel in channels().items():
        settings = config.delivery.settings(name)
        if not settings.enabled:
            checks.append(Check(name, True, "disabled"))
            continue
        with channel(config, settings) as instance:
            checks += instance.check()
    return checks
