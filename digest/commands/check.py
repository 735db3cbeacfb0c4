"""`digest check`: reach every configured service once and say, one line each, what works."""

from __future__ import annotations

from typing import TYPE_CHECKING

from digest.commands.state import unwritable_folders, writable_folders
from digest.config import Config
from digest.deliver.channels import Check

if TYPE_CHECKING:
    from digest.llm import LLM


def run_checks(config: Config) -> list[Check]:
    return [*check_folders(config), check_llm(config), *check_own_papers(config), *check_channels(config)]


def check_own_papers(config: Config) -> list[Check]:
    """Each file of interests.papers read now, as a run reads it (arXiv ids are read at the next run)."""
    from digest.sources.own_papers import OwnPapersError, read_library

    checks, ids = [], 0
    for path in config.own_paper_sources():
        if isinstance(path, str):
            ids += 1
            continue
        try:
            papers, more_ids = read_library(path)
        except OwnPapersError as exc:
            checks.append(Check("interests.papers", False, str(exc)))
            continue
        asked = f", {len(more_ids)} more by arXiv id (their abstracts are read at the next run)" if more_ids else ""
        checks.append(Check("interests.papers", True, f"ok ({path.name}: {len(papers)} papers{asked})"))
    if ids:
        checks.append(Check("interests.papers", True, f"ok ({ids} arXiv ids, read once from arXiv at the next run)"))
    return checks


def check_folders(config: Config) -> list[Check]:
    """Each folder a run will write, written to once now: a permission or a full disk shows up at setup, not
    after the morning's LLM calls were paid for."""
    problems = [Check("folders", False, line) for line in unwritable_folders(config)]
    if problems:
        return problems
    shown = ", ".join(dict.fromkeys(str(folder) for _, folder in writable_folders(config)))
    return [Check("folders", True, f"ok (writable: {shown})")]


# Where servers put a model's retirement date in /models (OpenAI: shutdown_date).
RETIREMENT_KEYS = ("shutdown_date", "deprecation_date", "retirement_date", "sunset_date", "deprecated_at")


def check_llm(config: Config) -> Check:
    """The server's model list, then one real 1-paper classification in the exact shape runs use, both through
    the run's own client (its TLS context: a private CA in SSL_CERT_FILE works as in runs): a refused parameter
    or response_format shows up here, at setup, instead of in the morning's run. The structured-output ladder
    is tried from its top, so a server that learned json_schema since it was remembered is found."""
    cfg = config.llm
    key = config.secret(cfg.api_key_env)
    if not key and not cfg.base_url:
        return Check(
            "llm",
            True,
            f"not used ({cfg.api_key_env} is not set and llm.base_url is null): "
            "runs use the offline classifier and extractive summaries",
        )
    from digest.errors import DigestError
    from digest.llm import LLM, base_url
    from digest.store import open_store

    base = base_url(cfg)
    # One retry at most: a check should answer within seconds.
    quick = config.model_copy(update={"llm": cfg.model_copy(update={"max_retries": min(1, cfg.max_retries)})})
    try:
        store = open_store(config)  # the ladder's memory and the ledger, as in a run
    except DigestError as exc:
        return Check("llm", False, str(exc))
    try:
        llm = LLM(quick, store, from_top=True)
        found = _model_entry(llm, base, cfg.model, cfg.api_key_env)
        if isinstance(found, Check):
            return found
        ok, said = _one_call(config, llm)
    finally:
        store.close()
    if not ok:
        return Check("llm", False, f"{base}, model {cfg.model}: {said}")
    retires = next((str(found[k]) for k in RETIREMENT_KEYS if found.get(k)), None)
    note = f"; the server says it shuts down {retires}: choose another llm.model before then" if retires else ""
    return Check("llm", True, f"ok ({base}, model {cfg.model}, {said}{note})")


def _model_entry(llm: LLM, base: str, model: str, key_env: str) -> dict | Check:
    """The model's entry in the server's /models ({} when the server has no list), or the failed Check."""
    from digest.errors import LLMError

    try:
        status, body = llm.list_models()
    except LLMError as exc:
        return Check("llm", False, str(exc))
    if status in (401, 403):
        if not llm.has_key:
            return Check(
                "llm",
                False,
                f"{base}/models: HTTP {status}: this server wants an API key and {key_env} is not set "
                "(put it in the environment or in .env beside config.yaml)",
            )
        return Check("llm", False, f"{base}/models: HTTP {status}, the key in {key_env} was refused")
    if status == 404:  # some compatible servers have no model list; the call decides
        return {}
    if status != 200:
        return Check("llm", False, f"{base}/models: HTTP {status}")
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return Check("llm", False, f"{base}/models: the answer is not an OpenAI-style model list")
    entries = [m for m in data if isinstance(m, dict)]
    models = [m.get("id") for m in entries]
    if model not in models:
        shown = ", ".join(str(m) for m in models[:8]) + (" …" if len(models) > 8 else "")
        return Check("llm", False, f"{base} answers, but llm.model {model!r} is not among its models ({shown})")
    return entries[models.index(model)]


def _one_call(config: Config, llm: LLM) -> tuple[bool, str]:
    """Classify one paper of the bundled day through the same client, ladder and checks as a run."""
    from digest.errors import DigestError
    from digest.llm import MODES
    from digest.prompts import CLASSIFY_SCHEMA_NAME, ClassifyAnswer, classify_messages, classify_schema_model
    from digest.sources.demo import demo_listing

    paper = demo_listing().papers[0]
    schema = classify_schema_model(config.topic_names)
    messages = classify_messages(config.categories, [paper])
    try:
        # Again while an answer moved the ladder (prose around the JSON: response_format ignored), so the
        # mode reported and remembered is one that was answered properly.
        for _ in MODES:
            used = llm.mode
            answer = llm.ask("check", "1 paper", messages, schema, CLASSIFY_SCHEMA_NAME, ClassifyAnswer, reuse=False)
            if llm.mode == used:
                break
    except DigestError as exc:
        return False, str(exc).replace("LLM check 1 paper", "a 1-paper call")
    answered = {str(item.get("id", "")).strip() for item in answer.value.papers if isinstance(item, dict)}
    if paper.id not in answered:
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
