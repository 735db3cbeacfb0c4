"""One client for every LLM call: strict JSON schema from pydantic models, validation, retries, ledger, cache.

Any OpenAI-compatible server works (OpenAI, Ollama, vLLM, llama.cpp) through `llm.base_url`.
The openai package's own retries are off (max_retries=0): our loop also retries what it cannot see
(broken JSON, schema violations, refusals, truncation), and every attempt lands in the ledger.

Calls are synchronous; classify.py and pipeline.py run up to `llm.concurrency` of them at once in a
thread pool. Threads suit this: each call waits on the network, the store is thread-safe, and the sync
client keeps retries, sleeps and SQLite writes simple sequential code.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from digest.config import Config
from digest.errors import LLMError
from digest.models import LLMUsage
from digest.prompts import PROMPT_VERSION
from digest.store import Store

if TYPE_CHECKING:
    import openai

RETRYABLE_STATUS = {408, 409, 429}  # and every 5xx
MAX_RETRY_AFTER = 120.0  # seconds; a server asking for longer is treated as down
MAX_BACKOFF = 60.0
NO_KEY = "no-key"  # the openai client insists on a key; local servers ignore it


def llm_enabled(config: Config) -> tuple[bool, str]:
    """Whether runs use the LLM, and if not, the one line that says why."""
    if config.secret(config.llm.api_key_env) or config.llm.base_url:
        return True, ""
    return False, (
        f"LLM 미사용: {config.llm.api_key_env} is not set and llm.base_url is null — "
        "offline classifier and extractive summaries"
    )


# Left out of the schema we send: titles and defaults are noise, and numeric, length and format constraints
# are where OpenAI-compatible servers (vLLM, llama.cpp, Ollama, older OpenAI snapshots) differ; our own
# validation enforces them instead (an importance outside 1-10 is clamped, see classify.py).
_UNPORTABLE = frozenset(
    {
        "title",
        "default",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minItems",
        "maxItems",
    }
)


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the strictest common subset of structured output: references inlined,
    every object closed (additionalProperties false) with all its properties required, no constraints."""
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})

    def fix(node: Any) -> Any:
        if isinstance(node, list):
            return [fix(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return fix(defs[node["$ref"].rsplit("/", 1)[-1]])
        out = {k: fix(v) for k, v in node.items() if k not in _UNPORTABLE}
        if out.get("type") == "object" or "properties" in out:
            out["type"] = "object"
            out.setdefault("properties", {})
            out["required"] = list(out["properties"])
            out["additionalProperties"] = False
        return out

    return fix(raw)


@functools.lru_cache(maxsize=64)
def response_format(name: str, model: type[BaseModel]) -> dict[str, Any]:
    """The response_format for `model`, made once per model: every batch of a run sends the same one.
    The same dict is shared by every call: treat it as read-only."""
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": strict_schema(model)}}


@dataclass
class Answer:
    value: Any  # the validated pydantic model
    input_hash: str
    cached: bool


class _Attempt(Exception):
    """One failed attempt: its ledger outcome, its one-line reason, whether to try again and after how long."""

    def __init__(self, outcome: str, reason: str, retry: bool = True, wait: float | None = None):
        super().__init__(reason)
        self.outcome, self.reason, self.retry, self.wait = outcome, reason, retry, wait


class LLM:
    """Structured-output calls for one run. `usage` counts what this run actually paid (cache hits are free)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        run_id: int | None = None,
        date: dt.date | None = None,
        force: bool = False,
    ):
        self.settings = config.llm
        self.store = store
        self.run_id = run_id
        self.date = date.isoformat() if date else None
        self.force = force
        self.model = config.llm.model
        self.prompt_version = PROMPT_VERSION
        self._key = config.secret(config.llm.api_key_env)
        self._client: openai.OpenAI | None = None
        self.usage = LLMUsage(model=self.model)
        self._lock = threading.Lock()

    @property
    def client(self) -> openai.OpenAI:
        """The openai client, made on first use: importing openai takes about half a second, which a run
        whose answers are all stored or cached (a re-run of a built date) never needs to pay."""
        with self._lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    api_key=self._key or NO_KEY,
                    base_url=self.settings.base_url,
                    timeout=self.settings.timeout_seconds,
                    max_retries=0,
                )
            return self._client

    # ----- the one public call -----

    def ask(
        self,
        purpose: str,
        detail: str,
        messages: list[dict[str, str]],
        schema: type[BaseModel],
        schema_name: str,
        parse: type[BaseModel] | None = None,
        reuse: bool = True,
    ) -> Answer:
        """Ask for a JSON answer in `schema`'s shape; validate it with `parse` (default: `schema`).

        A cached answer to the exact same input is reused unless the run is forced or `reuse` is false
        (asking the same thing again because the cached answer fell short). Raises LLMError naming the
        step (`purpose` and `detail`) once every attempt has failed.
        """
        parse = parse or schema
        fmt = response_format(schema_name, schema)
        input_hash = self._hash(messages, fmt)
        if reuse and not self.force:
            cached = self._cached(input_hash, parse)
            if cached is not None:
                return Answer(cached, input_hash, cached=True)

        attempts = 1 + self.settings.max_retries
        spent = LLMUsage(model=self.model)
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                value, text = self._attempt(purpose, detail, messages, fmt, input_hash, parse, spent)
            except _Attempt as failed:
                last = failed.reason
                if not failed.retry:
                    raise LLMError(f"LLM {purpose} {detail} failed: {last}") from None
                if attempt < attempts:
                    time.sleep(failed.wait if failed.wait is not None else self._backoff(attempt))
                continue
            self._store_cache(input_hash, purpose, text, spent)
            return Answer(value, input_hash, cached=False)
        raise LLMError(f"LLM {purpose} {detail} failed after {attempts} attempts: {last}")

    # ----- one attempt -----

    def _attempt(
        self,
        purpose: str,
        detail: str,
        messages: list[dict[str, str]],
        fmt: dict,
        input_hash: str,
        parse: type[BaseModel],
        spent: LLMUsage,
    ) -> tuple[Any, str]:
        import openai

        started = time.monotonic()
        tokens = (0, 0)
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                response_format=fmt,  # type: ignore[arg-type]
                temperature=self.settings.temperature,
            )
            if response.usage is not None:
                tokens = (response.usage.prompt_tokens or 0, response.usage.completion_tokens or 0)
            value, text = self._read(response, parse)
        except openai.APIStatusError as exc:
            status = exc.status_code
            retry = status in RETRYABLE_STATUS or status >= 500
            failed = _Attempt("error", self._status_reason(exc), retry, _retry_after(exc.response.headers))
        except openai.APIConnectionError as exc:  # includes timeouts
            failed = _Attempt("error", self._connection_reason(exc))
        except _Attempt as exc:
            failed = exc
        else:
            self._record(purpose, detail, input_hash, tokens, started, "ok", None, spent)
            return value, text
        self._record(purpose, detail, input_hash, tokens, started, failed.outcome, failed.reason, spent)
        raise failed

    def _read(self, response: Any, parse: type[BaseModel]) -> tuple[Any, str]:
        if not response.choices:
            raise _Attempt("invalid", "the answer has no choices")
        choice = response.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            raise _Attempt("refused", f"the model refused: {_short(refusal)}")
        text = choice.message.content or ""
        if choice.finish_reason == "length":
            raise _Attempt("invalid", "the answer was cut off (finish_reason=length)")
        try:
            return parse.model_validate_json(text), text
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "answer"
            kind = "not valid JSON" if problem["type"] == "json_invalid" else f"{where}: {problem['msg']}"
            raise _Attempt("invalid", f"the answer does not match the schema ({_short(kind)})") from None

    # ----- ledger and cache -----

    def _record(
        self,
        purpose: str,
        detail: str,
        input_hash: str,
        tokens: tuple[int, int],
        started: float,
        outcome: str,
        error: str | None,
        spent: LLMUsage,
    ) -> None:
        latency = int((time.monotonic() - started) * 1000)
        with self._lock:
            for usage in (self.usage, spent):
                usage.calls += 1
                usage.prompt_tokens += tokens[0]
                usage.completion_tokens += tokens[1]
        self.store.record_llm_call(
            run_id=self.run_id,
            date=self.date,
            purpose=purpose,
            detail=detail,
            model=self.model,
            prompt_version=self.prompt_version,
            input_hash=input_hash,
            tokens=tokens,
            latency_ms=latency,
            outcome=outcome,
            error=self._scrub(error) if error else None,
        )

    def _cached(self, input_hash: str, parse: type[BaseModel]) -> Any | None:
        text = self.store.cached_answer(input_hash)
        if text is None:
            return None
        try:
            return parse.model_validate_json(text)
        except ValidationError:
            return None  # stored under an older answer model: ask again

    def _store_cache(self, input_hash: str, purpose: str, text: str, spent: LLMUsage) -> None:
        self.store.cache_answer(input_hash, purpose, self.model, text, spent)

    def _hash(self, messages: list[dict[str, str]], fmt: dict) -> str:
        payload = {
            "model": self.model,
            "prompt_version": self.prompt_version,
            "temperature": self.settings.temperature,
            "messages": messages,
            "response_format": fmt,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    # ----- errors and waits -----

    def _backoff(self, attempt: int) -> float:
        wait = self.settings.backoff_seconds * 2 ** (attempt - 1)
        return min(MAX_BACKOFF, wait + random.uniform(0, wait / 4))  # jitter: concurrent batches spread out

    def _status_reason(self, exc: openai.APIStatusError) -> str:
        body = exc.body if isinstance(exc.body, dict) else {}
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message") if isinstance(inner, dict) else None
        reason = f"HTTP {exc.status_code} from {exc.request.url}"
        return self._scrub(f"{reason}: {_short(str(message))}" if message else reason)

    def _connection_reason(self, exc: openai.APIConnectionError) -> str:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return self._scrub(f"no answer within {self.settings.timeout_seconds:g} s from {exc.request.url}")
        return self._scrub(f"could not connect to {exc.request.url}")

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key and len(self._key) >= 4 else text


T = TypeVar("T")


def in_parallel(jobs: list[Callable[[], T]], workers: int, on_result: Callable[[int, T], None]) -> None:
    """Run jobs with up to `workers` at once; `on_result(index, result)` runs in the caller's thread as each
    finishes (so results are stored at once). After the first failure no new job starts; the jobs in
    flight finish and are reported; then that first exception is raised."""
    error: BaseException | None = None
    stop = threading.Event()  # set by the failing worker itself, so no worker starts another job

    def guarded(job: Callable[[], T]) -> T:
        if stop.is_set():
            raise CancelledError
        try:
            return job()
        except BaseException:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool:
        futures = {pool.submit(guarded, job): index for index, job in enumerate(jobs)}
        for future in as_completed(futures):
            try:
                result = future.result()
            except CancelledError:
                continue
            except Exception as exc:  # noqa: BLE001 - re-raised below, once the jobs in flight are saved
                if error is None:
                    error = exc
                    for other in futures:
                        other.cancel()
                continue
            on_result(futures[future], result)
    if error is not None:
        raise error


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait from Retry-After (seconds or an HTTP date) or retry-after-ms, capped."""
    try:
        if headers.get("retry-after-ms"):
            return min(MAX_RETRY_AFTER, max(0.0, float(headers["retry-after-ms"]) / 1000))
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
        return min(MAX_RETRY_AFTER, max(0.0, seconds))
    except (TypeError, ValueError):
        return None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
