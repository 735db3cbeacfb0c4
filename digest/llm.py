"""One client for every LLM call: JSON answers in our pydantic models' shape, validation, retries, ledger, cache.

Any OpenAI-compatible server works (OpenAI, Gemini, DeepSeek, Ollama, vLLM, llama.cpp, Upstage) through
`llm.base_url`. Servers differ in what they accept, so requests carry only the parameters the config sets,
and the answer's shape is asked for on a ladder (`MODES`): a strict json_schema response_format, then
json_object with the schema in the prompt, then plain text with the schema in the prompt. In `auto` the
ladder steps down when a server refuses a rung or ignores it (prose around the JSON), and the rung that
works is remembered per server and model in the store. Answers are parsed tolerantly (a fenced block, one
object inside prose) and the raw body is read by us, so a malformed 200 is a retried attempt, not a crash.
The openai package's own retries are off (max_retries=0): our policy (digest/retry.py) also retries what it
cannot see (broken JSON, schema violations, refusals, truncation), and every attempt lands in the ledger.

Calls are synchronous; classify.py and pipeline.py run up to `llm.concurrency` of them at once in a
thread pool. Threads suit this: each call waits on the network, the store is thread-safe, and the sync
client keeps retries, sleeps and SQLite writes simple sequential code.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from digest.config import Config, LLMConfig
from digest.errors import LLMError
from digest.models import LLMUsage
from digest.net import retry_after, retryable_status, tls_context
from digest.prompts import PROMPT_VERSION
from digest.retry import SYSTEM_CLOCK, Clock, retrying
from digest.secrets import add_secret, scrub
from digest.store import Store

if TYPE_CHECKING:
    import openai

MAX_RETRY_AFTER = 120.0  # seconds; no wait a server asks for is longer
MAX_BACKOFF = 60.0  # seconds; the longest wait of our own backoff
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


MODES = ("json_schema", "json_object", "text")  # the structured-output ladder, strictest first
OPENAI_BASE_URL = "https://api.openai.com/v1"


def base_url(settings: LLMConfig) -> str:
    """The server's address without a trailing slash (OpenAI's when llm.base_url is null)."""
    return (settings.base_url or OPENAI_BASE_URL).rstrip("/")


# OpenAI's reasoning families refuse max_tokens and want max_completion_tokens.
_COMPLETION_TOKENS_MODELS = re.compile(r"^(o\d|gpt-5|gpt-6)", re.IGNORECASE)
# How a 400 names the parameter it refuses (OpenAI, vLLM, llama.cpp, LiteLLM-style proxies).
_REFUSED_PARAM = re.compile(
    r"(?:unsupported parameter|unsupported value|unrecognized request argument supplied|unknown (?:field|parameter)"
    r"|extra (?:inputs|fields) (?:are )?not permitted)\W+([A-Za-z_][\w.]*)",
    re.IGNORECASE,
)
_FORMAT_REFUSED = re.compile(r"response_format|json_schema|json_object|structured output", re.IGNORECASE)
# A prompt the server read less than this share of (by our rough count) was cut by its context window.
TRUNCATED_SHARE = 0.7
MIN_TRUNCATION_CHECK = 1000  # prompt tokens; below this our estimate is too rough to judge
# Context sizes servers cut at (Ollama's default, llama.cpp's -c): reading exactly that much of a prompt we
# think is longer means the rest was dropped.
CONTEXT_SIZES = frozenset(2**n for n in range(11, 18))


@dataclass
class Answer:
    value: Any  # the validated pydantic model
    input_hash: str
    cached: bool


@dataclass
class _Reply:
    """The parts of a chat completion we use, read from the raw body."""

    content: str | None
    refusal: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int


class _Attempt(Exception):
    """One failed attempt: its ledger outcome, its one-line reason, whether to try again and after how long.
    `again`: ask again at once without counting a retry (the request changed: a step down the ladder)."""

    def __init__(
        self, outcome: str, reason: str, retry: bool = True, wait: float | None = None, again: bool = False
    ) -> None:
        super().__init__(reason)
        self.outcome, self.reason, self.retry, self.wait, self.again = outcome, reason, retry, wait, again


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
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = config.llm
        self.clock = clock
        self.store = store
        self.run_id = run_id
        self.date = date.isoformat() if date else None
        self.force = force
        self.model = config.llm.model
        self.base_url = base_url(config.llm)
        self.prompt_version = PROMPT_VERSION
        self._key = config.secret(config.llm.api_key_env)
        add_secret(self._key)
        self._client: openai.OpenAI | None = None
        self.usage = LLMUsage(model=self.model)
        self._lock = threading.Lock()
        self.auto = config.llm.structured_output == "auto"
        remembered = store.load_llm_mode(self.base_url, self.model) if self.auto else None
        self.mode = remembered or ("json_schema" if self.auto else config.llm.structured_output)
        self._saved_mode = remembered
        name = self.model.rsplit("/", 1)[-1]
        self._max_tokens_param = "max_completion_tokens" if _COMPLETION_TOKENS_MODELS.match(name) else "max_tokens"
        self._tokens_switched = False

    @property
    def client(self) -> openai.OpenAI:
        """The openai client, made on first use: importing openai takes about half a second, which a run
        whose answers are all stored or cached (a re-run of a built date) never needs to pay."""
        with self._lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    api_key=self._key or NO_KEY,
                    base_url=self.base_url,
                    timeout=self.settings.timeout_seconds,
                    max_retries=0,
                    http_client=openai.DefaultHttpxClient(verify=tls_context()),
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
        (asking the same thing again because the cached answer fell short). The cache key does not depend
        on the structured-output mode, so a step down the ladder keeps what was answered before. Raises
        LLMError naming the step (`purpose` and `detail`) once every attempt has failed.
        """
        parse = parse or schema
        fmt = response_format(schema_name, schema)
        input_hash = self._hash(messages, fmt)
        if reuse and not self.force:
            cached = self._cached(input_hash, parse)
            if cached is not None:
                return Answer(cached, input_hash, cached=True)

        spent = LLMUsage(model=self.model)
        changes = 0

        def attempt() -> tuple[Any, str]:
            # A changed request (a step down the ladder, the other max-tokens name) is asked at once and is
            # not a retry: the same attempt goes on with the request the server accepts.
            nonlocal changes
            while True:
                try:
                    return self._attempt(purpose, detail, messages, fmt, self.mode, input_hash, parse, spent)
                except _Attempt as failed:
                    if not failed.again or changes >= 2 * len(MODES):
                        raise
                    changes += 1

        policy = retrying(
            retries=self.settings.max_retries,
            backoff=self.settings.backoff_seconds,
            retryable=lambda exc: isinstance(exc, _Attempt) and exc.retry,
            server_wait=lambda exc: exc.wait if isinstance(exc, _Attempt) else None,
            max_wait=MAX_BACKOFF,
            max_asked=MAX_RETRY_AFTER,
            jitter=0.25,  # concurrent batches spread out
            clock=self.clock,
            describe=lambda exc: exc.reason if isinstance(exc, _Attempt) else str(exc),
            what=f"LLM {purpose} {detail}",
            log_level=logging.DEBUG,
        )
        try:
            value, text = policy(attempt)
        except _Attempt as failed:
            if not failed.retry:
                raise LLMError(f"LLM {purpose} {detail} failed: {failed.reason}") from None
            attempts = 1 + self.settings.max_retries
            raise LLMError(f"LLM {purpose} {detail} failed after {attempts} attempts: {failed.reason}") from None
        self._store_cache(input_hash, purpose, text, spent)
        self._remember()
        return Answer(value, input_hash, cached=False)

    # ----- one attempt -----

    def _request(self, messages: list[dict[str, str]], fmt: dict, mode: str) -> dict[str, Any]:
        """The request body for `mode`; every optional parameter only when configured."""
        from digest.prompts import with_schema

        request: dict[str, Any] = {"model": self.model}
        if mode == "json_schema":
            request["messages"] = messages
            request["response_format"] = fmt
        else:
            request["messages"] = with_schema(messages, fmt["json_schema"]["schema"])
            if mode == "json_object":
                request["response_format"] = {"type": "json_object"}
        s = self.settings
        if s.temperature is not None:
            request["temperature"] = s.temperature
        if s.reasoning_effort is not None:
            request["reasoning_effort"] = s.reasoning_effort
        if s.max_output_tokens is not None:
            request[self._max_tokens_param] = s.max_output_tokens
        if s.extra_body:
            request["extra_body"] = s.extra_body
        return request

    def _attempt(
        self,
        purpose: str,
        detail: str,
        messages: list[dict[str, str]],
        fmt: dict,
        mode: str,
        input_hash: str,
        parse: type[BaseModel],
        spent: LLMUsage,
    ) -> tuple[Any, str]:
        import openai

        started = self.clock.monotonic()
        tokens = (0, 0)
        request = self._request(messages, fmt, mode)
        try:
            raw = self.client.chat.completions.with_raw_response.create(**request)
            reply = _reply(raw.http_response)
            tokens = (reply.prompt_tokens, reply.completion_tokens)
            self._check_prompt_read(request["messages"], reply.prompt_tokens)
            value, text = self._read(reply, parse, mode, purpose)
        except openai.APIStatusError as exc:
            failed = self._status_failure(exc, mode, request)
        except openai.APIConnectionError as exc:  # includes timeouts
            failed = _Attempt("error", self._connection_reason(exc))
        except _Attempt as exc:
            failed = exc
        else:
            self._record(purpose, detail, input_hash, tokens, started, "ok", None, spent, mode)
            return value, text
        self._record(purpose, detail, input_hash, tokens, started, failed.outcome, failed.reason, spent, mode)
        raise failed

    def _read(self, reply: _Reply, parse: type[BaseModel], mode: str, purpose: str) -> tuple[Any, str]:
        if reply.refusal:
            raise _Attempt("refused", f"the model refused: {_short(reply.refusal)}")
        if reply.finish_reason == "length":
            raise _Attempt("invalid", self._cut_off_reason(purpose))
        text = (reply.content or "").strip()
        found = extract_json(text)
        stepped = False
        if not text.startswith("{") and mode != "text":
            # Prose or a fenced block: the server ignores response_format. Later calls put the schema in the
            # prompt instead; this answer still counts if the JSON inside it is right.
            stepped = self._step_down(mode)
        if found is None:
            reason = f"the answer is not JSON ({_short(text, 80)!r})" if text else "the answer is empty"
            raise _Attempt("invalid", reason, again=stepped)
        try:
            return parse.model_validate_json(found), found
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "answer"
            kind = "not valid JSON" if problem["type"] == "json_invalid" else f"{where}: {problem['msg']}"
            raise _Attempt("invalid", f"the answer does not match the schema ({_short(kind)})", again=stepped) from None

    def _check_prompt_read(self, sent: list[dict[str, str]], prompt_tokens: int) -> None:
        """A server whose context window is smaller than the prompt may cut it silently (Ollama's default
        is a few thousand tokens): the answer then covers part of the papers, or none. Stop with the fix."""
        expected = rough_tokens("".join(m["content"] for m in sent))
        if not prompt_tokens or expected < MIN_TRUNCATION_CHECK:
            return
        if prompt_tokens < TRUNCATED_SHARE * expected or (prompt_tokens in CONTEXT_SIZES and prompt_tokens < expected):
            raise _Attempt(
                "invalid",
                f"the server read only {prompt_tokens:,} of about {expected:,} prompt tokens: its context window "
                "cut the prompt. Raise the server's context length (Ollama: OLLAMA_CONTEXT_LENGTH=16384; vLLM: "
                "--max-model-len; llama.cpp: -c) or lower llm.batch_size (classification) or "
                "report.summary_candidates (summaries)",
                retry=False,
            )

    def _cut_off_reason(self, purpose: str) -> str:
        limit = self.settings.max_output_tokens
        raise_it = (
            f"raise llm.max_output_tokens (now {limit:,})"
            if limit
            else "set llm.max_output_tokens higher than the server's default output limit"
        )
        smaller = " or lower llm.batch_size" if purpose == "classify" else ""
        effort = " (or lower llm.reasoning_effort)" if self.settings.reasoning_effort else ""
        return f"the answer was cut off at the output limit (finish_reason=length): {raise_it}{effort}{smaller}"

    # ----- the ladder and refused parameters -----

    def _step_down(self, mode: str) -> bool:
        """In auto mode, move below `mode` for every later call (once, whichever thread sees it first).
        True when the next attempt will use another mode than `mode`."""
        if not self.auto or mode == MODES[-1]:
            return False
        with self._lock:
            if self.mode == mode:
                self.mode = MODES[MODES.index(mode) + 1]
            return self.mode != mode

    def _remember(self) -> None:
        """After an answer, keep the ladder's position for later runs on this server and model."""
        if not self.auto:
            return
        with self._lock:
            mode = self.mode
            if mode == self._saved_mode:
                return
            self._saved_mode = mode
        self.store.save_llm_mode(self.base_url, self.model, mode)

    def _status_failure(self, exc: openai.APIStatusError, mode: str, request: dict[str, Any]) -> _Attempt:
        status = exc.status_code
        reason = self._status_reason(exc)
        wait = retry_after(exc.response.headers, self.clock.now())
        if status != 400:
            return _Attempt("error", reason, retryable_status(status), wait)
        message = _error_message(exc)
        param = _refused_param(exc, message)
        if param in ("max_tokens", "max_completion_tokens") and param in request:
            with self._lock:
                if self._max_tokens_param != param:  # another call in flight has switched already
                    return _Attempt("error", reason, again=True)
                if not self._tokens_switched:  # the other name, once for the whole run
                    self._tokens_switched = True
                    self._max_tokens_param = "max_completion_tokens" if param == "max_tokens" else "max_tokens"
                    return _Attempt("error", reason, again=True)
        hint = self._param_hint(param, request)
        if hint:
            return _Attempt("error", f"{reason} — {hint}", retry=False)
        if mode != "text" and (param == "response_format" or _FORMAT_REFUSED.search(message)):
            if self._step_down(mode):
                return _Attempt("error", reason, again=True)
            return _Attempt(
                "error",
                f"{reason} — the server refuses structured output of type {mode}: set llm.structured_output "
                "to auto (or a lower rung: json_object, text)",
                retry=False,
            )
        return _Attempt("error", reason, retry=False)

    def _param_hint(self, param: str | None, request: dict[str, Any]) -> str | None:
        """Which config key sends a refused parameter, and how to stop sending it."""
        keys = {
            "temperature": "llm.temperature",
            "reasoning_effort": "llm.reasoning_effort",
            "max_tokens": "llm.max_output_tokens",
            "max_completion_tokens": "llm.max_output_tokens",
        }
        if param in keys and param in request:
            return f"the server refuses '{param}', which {keys[param]} sends: set {keys[param]}: null to leave it out"
        top = (param or "").split(".")[0]
        if top and top in self.settings.extra_body:
            return f"the server refuses '{param}' from llm.extra_body: remove it there"
        return None

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
        mode: str | None = None,
    ) -> None:
        latency = int((self.clock.monotonic() - started) * 1000)
        with self._lock:
            for usage in (self.usage, spent):
                usage.calls += 1
                usage.prompt_tokens += tokens[0]
                usage.completion_tokens += tokens[1]
        self.store.record_llm_call(
            {
                "run_id": self.run_id,
                "date": self.date,
                "purpose": purpose,
                "detail": detail,
                "model": self.model,
                "prompt_version": self.prompt_version,
                "input_hash": input_hash,
                "prompt_tokens": tokens[0],
                "completion_tokens": tokens[1],
                "latency_ms": latency,
                "outcome": outcome,
                "error": scrub(error) if error else None,
                "mode": mode,
            }
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
            "reasoning_effort": self.settings.reasoning_effort,
            "messages": messages,
            "response_format": fmt,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    # ----- errors and waits -----

    def _status_reason(self, exc: openai.APIStatusError) -> str:
        message = _error_message(exc)
        reason = f"HTTP {exc.status_code} from {exc.request.url}"
        return scrub(f"{reason}: {_short(str(message))}" if message else reason)

    def _connection_reason(self, exc: openai.APIConnectionError) -> str:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return scrub(f"no answer within {self.settings.timeout_seconds:g} s from {exc.request.url}")
        return scrub(f"could not connect to {exc.request.url}")


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


def _error_field(exc: openai.APIStatusError, name: str) -> Any:
    """A field of an error body, `{"error": {...}}` (OpenAI's) or the fields themselves (some servers')."""
    body = exc.body if isinstance(exc.body, dict) else {}
    inner = body.get("error") if isinstance(body.get("error"), dict) else body
    return inner.get(name)


def _error_message(exc: openai.APIStatusError) -> str:
    message = _error_field(exc, "message")
    return str(message) if message else ""


def _refused_param(exc: openai.APIStatusError, message: str) -> str | None:
    param = _error_field(exc, "param")
    if isinstance(param, str) and param:
        return param
    found = _REFUSED_PARAM.search(message)
    return found.group(1) if found else None


def _reply(http: Any) -> _Reply:
    """Read a 200's body ourselves: servers answer 200 with HTML pages, lists, null messages or token counts as
    strings, and each of those must be one retried attempt with a reason, not an AttributeError."""
    text = http.text
    try:
        body = json.loads(text)
    except ValueError:
        what = "an HTML page" if text.lstrip().startswith("<") else "not JSON"
        raise _Attempt("invalid", f"the server answered 200 with {what} instead of a chat completion") from None
    if not isinstance(body, dict):
        raise _Attempt("invalid", f"the server answered 200 with a JSON {type(body).__name__}, not an object")
    choices = body.get("choices")
    if not isinstance(choices, list):
        raise _Attempt("invalid", f"the answer's 'choices' is not a list ({_short(repr(choices), 40)})")
    if not choices:
        raise _Attempt("invalid", "the answer has no choices")
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _Attempt("invalid", f"the answer's message is {'null' if message is None else 'not an object'}")
    content, refusal = message.get("content"), message.get("refusal")
    if not isinstance(content, str | None) or not isinstance(refusal, str | None):
        raise _Attempt("invalid", "the answer's message content is not text")
    usage = body.get("usage") or {}
    counts = (usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0) if isinstance(usage, dict) else ()
    if len(counts) != 2 or not all(isinstance(n, int | float) and not isinstance(n, bool) for n in counts):
        raise _Attempt("invalid", "the answer's token counts are not numbers")
    finish = choice.get("finish_reason")
    return _Reply(content, refusal, finish if isinstance(finish, str) else None, int(counts[0]), int(counts[1]))


def extract_json(text: str) -> str | None:
    """The one JSON object in an answer: the whole text, a fenced block, or an object inside prose."""
    text = text.strip()
    if not text:
        return None
    candidates = [text]
    candidates += [m.group(1) for m in _FENCE.finditer(text)]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        candidate = candidate.strip()
        try:
            if isinstance(json.loads(candidate), dict):
                return candidate
        except ValueError:
            pass
    for start in [i for i, ch in enumerate(text) if ch == "{"][:50]:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            return text[start:end]
    return None


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def rough_tokens(text: str) -> int:
    """A low estimate of a prompt's tokens (English ~4.5 characters a token, Hangul ~1.5 a token)."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    return int(ascii_chars / 4.5 + (len(text) - ascii_chars) / 1.5)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
