"""One client for every LLM call: JSON answers in our pydantic models' shape, validation, retries, ledger, cache.

Any OpenAI-compatible server works (OpenAI, Azure, Gemini, DeepSeek, Groq, OpenRouter, Ollama, vLLM,
llama.cpp, LM Studio, Upstage, HyperCLOVA X) through `llm.base_url`; docs/llm-servers.md says how each
answers. Servers differ in what they accept, so requests carry only the parameters the config sets, and the
answer's shape is asked for on a ladder (`MODES`): a strict json_schema response_format, then json_object
with the schema in the prompt, then plain text with the schema in the prompt. In `auto` the ladder steps
down only for a real format problem (a 400 refusing the format, or prose around the JSON), and the rung
that works is remembered per server and model; after MODE_RETRY_DAYS (and at every `digest check`) the
ladder is tried from the top again, so one bad morning is not remembered for good.

We read the raw body ourselves, so every shape a server answers in is one attempt with a reason, never a
crash: error bodies as an object, a list (Gemini), a string (LM Studio) or an HTML page; thinking left in
the content (`<think>…</think>`: the final answer counts, never the draft inside); the answer put in
`reasoning_content` with an empty content (vLLM's reasoning parser with thinking off); tool calls, refusals,
a content filter, a cut answer. Each failure has its own ledger outcome:

    error      HTTP or connection failure            retried when it may heal (5xx, 429, timeouts)
    invalid    not JSON, or not the schema           retried (Groq's json_validate_failed too)
    empty      no answer at all                      retried
    tool_calls a tool call instead of text           retried
    refused    the model refused                     retried
    too_large  an answer far beyond any real one     retried
    filtered   the server's content filter refused   not retried: the caller splits the batch
    cut        finish_reason=length                  not retried as is: the caller asks for less
    context    the prompt was cut by the context     not retried: the fix is the server's context length
    quota/auth/model                                 not retried, and the run stops after the calls in flight

The openai package's own retries are off (max_retries=0): our policy (digest/retry.py) also retries what it
cannot see, and every attempt lands in the ledger with its tokens (reasoning tokens included).

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

log = logging.getLogger("digest")

MAX_RETRY_AFTER = 120.0  # seconds; no wait a server asks for is longer
MAX_BACKOFF = 60.0  # seconds; the longest wait of our own backoff
NO_KEY = "no-key"  # the openai client insists on a key; local servers ignore it
# The largest answer read. A real 25-paper classification is about 3,000 characters and a topic summary with
# its candidates about 8,000 (three times that with every Hangul syllable escaped as \uXXXX); an answer this
# large is a model that lost its way (a loop), not an answer, and cleaning it would only cost time.
MAX_ANSWER_CHARS = 200_000
# The largest reply body read: the answer plus the thinking some servers return beside it.
MAX_REPLY_CHARS = 4_000_000
MODE_RETRY_DAYS = 7  # a remembered step down of the ladder is tried upward again after this long
# Outcomes after which nothing more is asked in this run: waiting or asking again cannot help.
FATAL = frozenset({"quota", "auth", "model"})


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
# How a 400 names the parameter it refuses (OpenAI, vLLM, llama.cpp, LiteLLM-style proxies, Gemini's
# 'Unknown name "x"').
_REFUSED_PARAM = re.compile(
    r"(?:unsupported parameter|unsupported value|unrecognized request argument supplied|unknown (?:field|parameter)"
    r"|extra (?:inputs|fields) (?:are )?not permitted|unknown name)\W{1,5}([A-Za-z_][\w.]{0,80})",
    re.IGNORECASE,
)
_FORMAT_REFUSED = re.compile(r"response_format|json_schema|json_object|structured output", re.IGNORECASE)
# A content filter refusing the prompt or the answer (Azure OpenAI, and gateways that copy its shape).
_FILTERED = re.compile(r"content[ _]?(?:management )?(?:filter|policy)|responsibleaipolicyviolation", re.IGNORECASE)
# Out of credit: OpenAI's insufficient_quota and its billing codes, DeepSeek's and OpenRouter's 402s.
_QUOTA_CODES = frozenset(
    {
        "insufficient_quota",
        "credit_balance_exhausted",
        "organization_spend_limit_exceeded",
        "project_spend_limit_exceeded",
        "organization_usage_limit_exceeded",
        "insufficient_balance",
        "insufficient_credits",
    }
)
_QUOTA_TEXT = re.compile(r"exceeded your current quota|insufficient (?:quota|balance|credits?)", re.IGNORECASE)
# A prompt the server read less than this share of (by our rough count) was cut by its context window.
TRUNCATED_SHARE = 0.7
MIN_TRUNCATION_CHECK = 1000  # prompt tokens; below this our estimate is too rough to judge
# Context sizes servers cut at (Ollama's default, llama.cpp's -c): reading exactly that much of a prompt we
# think is longer means the rest was dropped.
CONTEXT_SIZES = frozenset(2**n for n in range(11, 18))
# Where servers put the model's thinking beside the answer: vLLM (reasoning, formerly reasoning_content),
# DeepSeek and llama.cpp (reasoning_content), HyperCLOVA X (thinking_content).
REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking_content")
# Thinking some servers leave inside the content (llama.cpp, LM Studio, Ollama with Qwen/DeepSeek builds).
THINK_TAGS = (("<think>", "</think>"), ("<thinking>", "</thinking>"))


@dataclass
class Answer:
    value: Any  # the validated pydantic model
    input_hash: str
    cached: bool


class LLMCallError(LLMError):
    """One call failed for good: `outcome` says how (see the module docstring), so a caller can answer it
    (split a batch the content filter refused, ask for less after a cut answer)."""

    def __init__(self, message: str, outcome: str, reason: str, spent: LLMUsage | None = None) -> None:
        super().__init__(message)
        self.outcome, self.reason = outcome, reason
        self.spent = spent or LLMUsage()  # what the failed attempts cost (see LLM.ask's `carry`)


@dataclass
class _Reply:
    """The parts of a chat completion we use, read from the raw body."""

    content: str | None
    refusal: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0
    reasoning: str | None = None  # the thinking a server returned beside the answer
    reasoning_field: str = ""
    tool_calls: bool = False


class _Attempt(Exception):
    """One failed attempt: its ledger outcome, its one-line reason, whether to try again and after how long.
    `again`: ask again at once without counting a retry (the request changed: a step down the ladder)."""

    def __init__(
        self, outcome: str, reason: str, retry: bool = True, wait: float | None = None, again: bool = False
    ) -> None:
        super().__init__(reason)
        self.outcome, self.reason, self.retry, self.wait, self.again = outcome, reason, retry, wait, again


@dataclass(frozen=True)
class ServerError:
    """What an error body says, whatever its shape: OpenAI's `{"error": {...}}`, Gemini's list of those,
    LM Studio's `{"error": "..."}` or a bare JSON string, FastAPI's `{"detail": ...}`, an HTML page."""

    message: str = ""
    code: str = ""  # `code`, or Gemini's `status` (INVALID_ARGUMENT, RESOURCE_EXHAUSTED)
    kind: str = ""  # `type`
    param: str = ""
    inner: str = ""  # Azure's innererror.code (ResponsibleAIPolicyViolation)

    @property
    def codes(self) -> set[str]:
        return {c.lower() for c in (self.code, self.kind, self.inner) if c}


_HTML_TITLE = re.compile(r"<title[^>]{0,200}>([^<]{1,300})</title>", re.IGNORECASE)


def server_error(body: object) -> ServerError:
    """Read an error body of any shape (`exc.body` as the openai client parsed it, or the raw text)."""
    for _ in range(4):  # unwrap a list and an {"error": ...} envelope, at most a few levels deep
        if isinstance(body, list):
            body = next((item for item in body if isinstance(item, dict | str)), None)
        elif isinstance(body, dict) and "error" in body and isinstance(body["error"], dict | str | list):
            body = body["error"]
        else:
            break
    if isinstance(body, str):
        text = body.strip()[:20_000]
        if text.startswith("<"):
            title = _HTML_TITLE.search(text)
            return ServerError(f"an HTML page ({title.group(1).strip()!r})" if title else "an HTML page")
        return ServerError(text)
    if not isinstance(body, dict):
        return ServerError()

    def field(*names: str) -> str:
        for name in names:
            value = body.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                return str(value)
        return ""

    detail = body.get("detail")
    message = field("message", "msg") or (detail if isinstance(detail, str) else "")
    code = body.get("code")
    inner = body.get("innererror")
    return ServerError(
        message=message,
        code=code if isinstance(code, str) else field("status"),
        kind=field("type"),
        param=field("param"),
        inner=str(inner.get("code") or "") if isinstance(inner, dict) else "",
    )


class LLM:
    """Structured-output calls for one run. `usage` counts what this run actually paid (cache hits are free).

    `from_top`: start the structured-output ladder at its strictest rung whatever is remembered (`digest
    check` does, so a server that learned json_schema since is found)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        run_id: int | None = None,
        date: dt.date | None = None,
        force: bool = False,
        clock: Clock = SYSTEM_CLOCK,
        from_top: bool = False,
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
        self._key_env = config.llm.api_key_env
        self._key = config.secret(config.llm.api_key_env)
        add_secret(self._key)
        self._client: openai.OpenAI | None = None
        self.usage = LLMUsage(model=self.model)
        self._lock = threading.Lock()
        self._said: set[str] = set()
        self._stopped: str | None = None  # the reason nothing more is asked (an account out of quota, ...)
        self.auto = config.llm.structured_output == "auto"
        remembered = self._remembered_mode() if self.auto and not from_top else None
        self.mode = remembered or ("json_schema" if self.auto else config.llm.structured_output)
        self._saved_mode = remembered
        name = self.model.rsplit("/", 1)[-1]
        self._max_tokens_param = "max_completion_tokens" if _COMPLETION_TOKENS_MODELS.match(name) else "max_tokens"
        self._tokens_switched = False

    def _remembered_mode(self) -> str | None:
        """The rung that last worked for this server and model, unless it was saved more than
        MODE_RETRY_DAYS ago: then the ladder starts at the top again (and saves what it ends on)."""
        row = self.store.load_llm_mode(self.base_url, self.model)
        if row is None:
            return None
        mode, updated = row
        try:
            age = self.clock.now() - dt.datetime.fromisoformat(updated).astimezone(dt.UTC)
        except (TypeError, ValueError):
            return mode
        return None if age > dt.timedelta(days=MODE_RETRY_DAYS) and mode != MODES[0] else mode

    @property
    def has_key(self) -> bool:
        """Whether an API key was found (llm.api_key_env); without one, local servers are asked without."""
        return bool(self._key)

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

    def list_models(self) -> tuple[int, Any]:
        """GET /models through the run's own client (its TLS context, its headers): the HTTP status and the
        parsed body (None when it is not JSON). Raises LLMError when the server cannot be reached."""
        import openai

        try:
            raw = self.client.models.with_raw_response.list()
            http = raw.http_response
        except openai.APIStatusError as exc:
            http = exc.response
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise LLMError(f"cannot reach {self.base_url}/models ({type(cause).__name__})") from None
        try:
            body = json.loads(http.text[:MAX_REPLY_CHARS])
        except ValueError:
            body = None
        return http.status_code, body

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
        carry: LLMUsage | None = None,
    ) -> Answer:
        """Ask for a JSON answer in `schema`'s shape; validate it with `parse` (default: `schema`).

        A cached answer to the exact same input is reused unless the run is forced or `reuse` is false
        (asking the same thing again because the cached answer fell short). The cache key does not depend
        on the structured-output mode, so a step down the ladder keeps what was answered before. Raises
        LLMCallError naming the step (`purpose` and `detail`) and its outcome once every attempt has failed.
        `carry`: what failed asks for the same papers cost (a batch before its split): this answer's cost
        includes it (and `carry` is emptied), so a report counts every call that produced its content.
        """
        parse = parse or schema
        fmt = response_format(schema_name, schema)
        input_hash = self._hash(messages, fmt)
        if reuse and not self.force:
            cached = self._cached(input_hash, parse)
            if cached is not None:
                return Answer(cached, input_hash, cached=True)

        spent = LLMUsage(model=self.model)
        changes = attempts = 0

        def attempt() -> tuple[Any, str]:
            # A changed request (a step down the ladder, the other max-tokens name) is asked at once and is
            # not a retry: the same attempt goes on with the request the server accepts.
            nonlocal changes, attempts
            attempts += 1
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
            after = f" after {attempts} attempts" if attempts > 1 else ""
            message = f"LLM {purpose} {detail} failed{after}: {failed.reason}"
            raise LLMCallError(message, failed.outcome, failed.reason, spent) from None
        if carry is not None:
            spent.add(carry)
            carry.calls = carry.prompt_tokens = carry.completion_tokens = carry.reasoning_tokens = 0
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

        if self._stopped:  # another call found what no retry can fix: ask nothing more
            raise _Attempt("stopped", self._stopped, retry=False)
        started = self.clock.monotonic()
        tokens = (0, 0, 0)
        request = self._request(messages, fmt, mode)
        try:
            raw = self.client.chat.completions.with_raw_response.create(**request)
            reply = _reply(raw.http_response)
            tokens = (reply.prompt_tokens, reply.completion_tokens, reply.reasoning_tokens)
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
        if failed.outcome in FATAL:
            with self._lock:
                self._stopped = self._stopped or failed.reason
        raise failed

    def _read(self, reply: _Reply, parse: type[BaseModel], mode: str, purpose: str) -> tuple[Any, str]:
        """The answer in a 200, or the attempt's failure. Thinking in the content is set aside first: the
        final answer after it counts, never a draft inside it."""
        if reply.refusal:
            raise _Attempt("refused", f"the model refused: {_short(reply.refusal)}")
        if reply.finish_reason == "content_filter":
            raise _Attempt(
                "filtered", "the server's content filter withheld the answer (finish_reason=content_filter)", False
            )
        if reply.finish_reason == "length":
            raise _Attempt("cut", self._cut_off_reason(purpose), retry=False)
        text, thought = split_thinking(reply.content or "")
        text = text.strip()
        if not text:
            return self._answer_in_reasoning(reply, parse, thought)
        if len(text) > MAX_ANSWER_CHARS:
            raise _Attempt(
                "too_large",
                f"the answer is {len(text):,} characters, beyond the {MAX_ANSWER_CHARS:,} any real answer stays "
                "within (a model repeating itself?)",
            )
        found = extract_json(text)
        stepped = False
        if found is not None and not text.startswith("{") and mode != "text":
            # Prose or a fenced block around the JSON: the server ignores response_format. Later calls put the
            # schema in the prompt instead; this answer still counts if the JSON inside it is right.
            stepped = self._step_down(mode)
        if found is None:
            raise _Attempt("invalid", f"the answer is not JSON ({_short(text, 80)!r})")
        try:
            return parse.model_validate_json(found), found
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "answer"
            kind = "not valid JSON" if problem["type"] == "json_invalid" else f"{where}: {problem['msg']}"
            raise _Attempt("invalid", f"the answer does not match the schema ({_short(kind)})", again=stepped) from None

    def _answer_in_reasoning(self, reply: _Reply, parse: type[BaseModel], thought: str) -> tuple[Any, str]:
        """An empty content. vLLM's reasoning parser with thinking turned off puts the whole answer in its
        reasoning field: when that field is exactly one valid answer, it is the answer (said once in the log).
        Thinking inside the content's tags is never used: it is a draft by definition."""
        if reply.reasoning and len(reply.reasoning) <= MAX_ANSWER_CHARS:
            found = whole_json(reply.reasoning)
            if found is not None:
                try:
                    value = parse.model_validate_json(found)
                except ValidationError:
                    pass
                else:
                    self._say_once(
                        "reasoning",
                        f"{self.base_url} ({self.model}) answers with an empty content and the answer in "
                        f"'{reply.reasoning_field}' (a reasoning parser with thinking turned off): using it",
                    )
                    return value, found
        if reply.tool_calls:
            raise _Attempt("tool_calls", "the model answered with a tool call instead of text")
        wrote = reply.reasoning or thought
        only = f" (the model wrote only its reasoning, {len(wrote):,} characters)" if wrote.strip() else ""
        raise _Attempt("empty", f"the answer is empty{only}")

    def _check_prompt_read(self, sent: list[dict[str, str]], prompt_tokens: int) -> None:
        """A server whose context window is smaller than the prompt may cut it silently (Ollama's default
        is a few thousand tokens): the answer then covers part of the papers, or none. Stop with the fix."""
        expected = rough_tokens("".join(m["content"] for m in sent))
        if not prompt_tokens or expected < MIN_TRUNCATION_CHECK:
            return
        if prompt_tokens < TRUNCATED_SHARE * expected or (prompt_tokens in CONTEXT_SIZES and prompt_tokens < expected):
            raise _Attempt(
                "context",
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

    def _say_once(self, key: str, message: str) -> None:
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        log.info("%s", message)

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
        """What an HTTP error means for this call: retried, stepped around, split by the caller, or final."""
        status = exc.status_code
        said = server_error(exc.body if exc.body is not None else exc.response.text)
        reason = self._status_reason(exc, said)
        wait = retry_after(exc.response.headers, self.clock.now())
        if "content_filter" in said.codes or _FILTERED.search(said.message) or _FILTERED.search(said.inner):
            return _Attempt("filtered", f"{reason} — the server's content filter refused this prompt", retry=False)
        if (status == 402 and "in_flight_budget_exhausted" not in said.codes) or (
            status == 429 and self._out_of_quota(said, wait)
        ):
            return _Attempt(
                "quota",
                f"{reason} — the account is out of credit or quota: add credit or raise its spending limit with "
                "the provider, then run again",
                retry=False,
            )
        if status == 401:
            if not self._key:  # nothing was refused: no key was sent at all
                return _Attempt(
                    "auth",
                    f"{reason} — this server wants an API key and {self._key_env} is not set: put the key in "
                    f"{self._key_env} (environment or .env beside config.yaml), or name another variable in "
                    "llm.api_key_env",
                    retry=False,
                )
            return _Attempt(
                "auth", f"{reason} — the server refused the key in {self._key_env}: set a valid key", retry=False
            )
        if status == 403:
            return _Attempt(
                "auth",
                f"{reason} — the key in {self._key_env} may not use llm.model {self.model!r} on this server",
                retry=False,
            )
        if status == 404:
            if "model_not_found" in said.codes or "model" in said.message.lower():
                fix = f"llm.model {self.model!r} is not a model this server serves: check llm.model (`digest check`)"
            else:
                fix = f"nothing answers at {exc.request.url}: check llm.base_url (most servers' addresses end in /v1)"
            return _Attempt("model", f"{reason} — {fix}", retry=False)
        if "json_validate_failed" in said.codes:
            # Groq checks the JSON it generated and answers 400 when it is not valid: a bad draw, drawn again.
            return _Attempt("invalid", f"{reason} (the server's own check of the generated JSON failed)")
        if status not in (400, 422):  # 422: DeepSeek's and FastAPI servers' "invalid parameters"
            return _Attempt("error", reason, retryable_status(status) or status == 402, wait)
        param = said.param or _refused_param(said.message)
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
        if mode != "text" and (param.startswith("response_format") or _FORMAT_REFUSED.search(said.message)):
            if self._step_down(mode):
                return _Attempt("error", reason, again=True)
            return _Attempt(
                "error",
                f"{reason} — the server refuses structured output of type {mode}: set llm.structured_output "
                "to auto (or a lower rung: json_object, text)",
                retry=False,
            )
        return _Attempt("error", reason, retry=False)

    @staticmethod
    def _out_of_quota(said: ServerError, wait: float | None) -> bool:
        """A 429 that waiting cannot heal: OpenAI's insufficient_quota (and its billing codes). Gemini says
        "exceeded your current quota" of a per-minute limit too, with RESOURCE_EXHAUSTED and a wait: that one
        is a rate limit, retried."""
        if said.codes & _QUOTA_CODES:
            return True
        return bool(_QUOTA_TEXT.search(said.message)) and wait is None and "resource_exhausted" not in said.codes

    def _param_hint(self, param: str, request: dict[str, Any]) -> str | None:
        """Which config key sends a refused parameter, and how to stop sending it."""
        keys = {
            "temperature": "llm.temperature",
            "reasoning_effort": "llm.reasoning_effort",
            "max_tokens": "llm.max_output_tokens",
            "max_completion_tokens": "llm.max_output_tokens",
        }
        if param in keys and param in request:
            return f"the server refuses '{param}', which {keys[param]} sends: set {keys[param]}: null to leave it out"
        top = param.split(".")[0]
        if top and top in self.settings.extra_body:
            return f"the server refuses '{param}' from llm.extra_body: remove it there"
        return None

    # ----- ledger and cache -----

    def _record(
        self,
        purpose: str,
        detail: str,
        input_hash: str,
        tokens: tuple[int, int, int],
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
                usage.reasoning_tokens += tokens[2]
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
                "reasoning_tokens": tokens[2],
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

    def _answer_settings(self) -> dict[str, object]:
        """Everything besides the messages that a request carries and that can change the answer."""
        s = self.settings
        return {
            "model": self.model,
            "prompt_version": self.prompt_version,
            "temperature": s.temperature,
            "reasoning_effort": s.reasoning_effort,
            "max_output_tokens": s.max_output_tokens,
            "extra_body": s.extra_body,
        }

    @property
    def fingerprint(self) -> str:
        """What stored work made through this client is filed under: the model, the prompt version and a hash
        of the other answer settings (turning thinking on in llm.extra_body asks again, never reuses)."""
        rest = json.dumps(self._answer_settings(), sort_keys=True, ensure_ascii=False, default=str)
        return f"{self.model}|{self.prompt_version}|{hashlib.sha256(rest.encode()).hexdigest()[:12]}"

    def _hash(self, messages: list[dict[str, str]], fmt: dict) -> str:
        """The cache key: everything the request carries that can change the answer (the structured-output
        mode aside: a step down the ladder keeps what was answered)."""
        payload = {**self._answer_settings(), "messages": messages, "response_format": fmt}
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    # ----- errors and waits -----

    def _status_reason(self, exc: openai.APIStatusError, said: ServerError) -> str:
        reason = f"HTTP {exc.status_code} from {exc.request.url}"
        return scrub(f"{reason}: {_short(said.message)}" if said.message else reason)

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


def _refused_param(message: str) -> str:
    found = _REFUSED_PARAM.search(message[:2000])
    return found.group(1) if found else ""


def _number(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _reply(http: Any) -> _Reply:
    """Read a 200's body ourselves: servers answer 200 with HTML pages, lists, null messages or token counts as
    strings, and each of those must be one retried attempt with a reason, not an AttributeError."""
    text = http.text
    if len(text) > MAX_REPLY_CHARS:
        raise _Attempt("too_large", f"the server answered with {len(text):,} characters, far beyond any real answer")
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
    if isinstance(content, list):  # content parts: [{"type": "text", "text": "..."}]
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    if not isinstance(content, str | None) or not isinstance(refusal, str | None):
        raise _Attempt("invalid", "the answer's message content is not text")
    usage = body.get("usage") or {}
    counts = (usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0) if isinstance(usage, dict) else ()
    if len(counts) != 2 or any(_number(n) is None for n in counts):
        raise _Attempt("invalid", "the answer's token counts are not numbers")
    details = usage.get("completion_tokens_details")
    reasoning_tokens = _number(details.get("reasoning_tokens")) if isinstance(details, dict) else None
    field = next((f for f in REASONING_FIELDS if isinstance(message.get(f), str) and message[f].strip()), "")
    finish = choice.get("finish_reason")
    return _Reply(
        content,
        refusal,
        finish if isinstance(finish, str) else None,
        int(counts[0]),
        int(counts[1]),
        reasoning_tokens or _number(usage.get("reasoning_tokens")) or 0,
        message[field] if field else None,
        field,
        bool(message.get("tool_calls")),
    )


def split_thinking(text: str) -> tuple[str, str]:
    """(answer, thinking) of a content that may carry the model's thinking in tags: `<think>…</think>` or
    `<thinking>…</thinking>` blocks before the answer, or only a closing tag (the chat template opened the
    block in the prompt). A block opened and never closed is all thinking: the model never reached its
    answer. Linear in the text (plain searches, no pattern), whatever its size."""
    thought: list[str] = []
    pos, n = 0, len(text)
    # Only a closing tag, with no opening one before it: everything before it was thinking (unless the answer
    # had begun: a JSON answer may quote a tag).
    closes = [(i, c) for _, c in THINK_TAGS if (i := text.find(c)) >= 0]
    if closes:
        end, closing = min(closes)
        before = text[:end]
        if not any(o in before for o, _ in THINK_TAGS) and not before.lstrip().startswith(("{", "`")):
            thought.append(before)
            pos = end + len(closing)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        tag = next(((o, c) for o, c in THINK_TAGS if text.startswith(o, pos)), None)
        if tag is None:
            return text[pos:], "".join(thought)
        opening, closing = tag
        end = text.find(closing, pos + len(opening))
        if end < 0:
            thought.append(text[pos + len(opening) :])
            return "", "".join(thought)
        thought.append(text[pos + len(opening) : end])
        pos = end + len(closing)


def whole_json(text: str) -> str | None:
    """The text when it is exactly one JSON object (alone or in one fenced block), else None: what counts as
    an answer in a reasoning field, where JSON inside prose is a draft."""
    text = text.strip()
    fence = _FENCE.fullmatch(text)
    candidate = (fence.group(1) if fence else text).strip()
    try:
        return candidate if isinstance(json.loads(candidate), dict) else None
    except ValueError:
        return None


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
    text = " ".join(text[: limit * 4].split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
