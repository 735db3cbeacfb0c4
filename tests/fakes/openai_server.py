"""A local OpenAI-compatible server for tests and benches: POST /v1/chat/completions and GET /v1/models.

It checks requests the way the real API does (bearer key, known model, messages, a strict json_schema
response_format), answers deterministically from the papers in the prompt (`<paper id="...">` blocks,
topics from the schema's enum by a hash of the id), reports `usage` tokens, and can be scripted to
misbehave: `fake.fail("500", times=2, purpose="summarize")`.

`family` makes it behave like one kind of server people use:
- "openai": OpenAI's chat models: json_schema (strict), json_object (the prompt must say "json") or text.
- "reasoning": OpenAI's reasoning models (gpt-5/6, o-series): 400 for temperature and max_tokens.
- "deepseek": 400 for json_schema; json_object needs "json" in the prompt; without a schema in the
  prompt the answer has the wrong shape (the model cannot know it).
- "ignorer": ignores response_format (Anthropic's compatibility layer, many OpenRouter/Groq models): the
  answer is prose around a fenced ```json block.
`context_limit` cuts prompts longer than that many tokens, as Ollama does, and reports only what it read.
`shutdown_date` appears on the model in /v1/models, as OpenAI's list does for deprecated models.

How real servers answer in late 2026 (docs/llm-servers.md has the sources), one knob each:
- `think="tags"`: the content starts with `<think>…</think>` holding a DRAFT answer that is valid JSON but
  wrong (every paper `Other`, importance 1; summary sentences marked DRAFT_MARK), then the final answer
  (llama.cpp, LM Studio, Ollama with Qwen/DeepSeek builds). `think="open"`: the chat template opened the
  block in the prompt, so the content holds the draft, `</think>`, then the answer.
- `answer_in="reasoning_content"` (or "reasoning", "thinking_content"): `content` is null and the answer is
  in that field (vLLM's reasoning parser with thinking turned off; HyperCLOVA X's field name).
- `error_shape`: every error body as OpenAI's object ("openai"), Gemini's list ("gemini"), LM Studio's
  `{"error": "<text>"}` ("lmstudio"), a bare JSON string ("string") or an HTML page from a proxy ("html").
  `refuse_formats` refuses those response_format types with a 400 in that shape.
- `content_filter="<paper id>"` (or a tuple of them): every prompt that carries that paper is refused, as
  Azure OpenAI's filter refuses it: HTTP 400 `code: content_filter` (`filter_style="http"`), or a 200 with
  no content and `finish_reason: content_filter` (`filter_style="finish"`).
- `validate_fail_every=N`: every Nth chat call is Groq's 400 `json_validate_failed` (a bad generation; the
  same request drawn again succeeds).
- `quota_exhausted=True`: every chat call is OpenAI's 429 `insufficient_quota`.
- `fail("truncated")`: the answer is cut with `finish_reason: length` (an output limit).
- Reasoning tokens: the model reasons at `reasoning_effort` (the request's, else `default_effort`), and
  reports them in `usage.completion_tokens_details.reasoning_tokens`, included in `completion_tokens` as
  OpenAI bills them. REASONING_PER_ANSWER_TOKEN is the documented assumption of how many per answer token.

Token counts are estimates: tiktoken's o200k_base when it is installed and its data is at hand, otherwise
one token per 4 ASCII characters plus one per other character (a Hangul syllable is about one token).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field

from tests.fakes.http import FakeServer, Request, Response

SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PAPER_LINE = re.compile(r'^<paper id="([^"]+)">\n(.*)\n(.*)\n</paper>$', re.MULTILINE)
SCHEMA_IN_PROMPT = re.compile(r"JSON Schema:\n(\{.*\})\s*$", re.DOTALL)
FIGURE = re.compile(r"\d+(?:\.\d+)?\s?(?:%|×)")
FAMILIES = ("openai", "reasoning", "deepseek", "ignorer")
ERROR_SHAPES = ("openai", "gemini", "lmstudio", "string", "html")
DRAFT_MARK = "초안(draft)"
# Reasoning tokens per token of visible answer, by effort: an assumption (no provider publishes the ratio).
# It follows a third-party measurement of GPT-5-class models (codexkey.ru's reasoning-effort guide, read
# 2026-12-05: on classification "low gives quality within 1-2% of medium at 3-5x lower cost", output tokens
# 80-200 at low against 300-800 at medium). None is no reasoning at all.
REASONING_PER_ANSWER_TOKEN = {"none": 0.0, "minimal": 0.25, "low": 0.5, "medium": 2.0, "high": 5.0, "xhigh": 10.0}
AZURE_FILTERED = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please "
    "modify your prompt and retry. To learn more about our content filtering policies please read our "
    "documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
)
GROQ_FAILED = "Failed to generate JSON. Please adjust your prompt. See 'failed_generation' for more details."
QUOTA = (
    "You exceeded your current quota, please check your plan and billing details. For more information on this "
    "error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
)
OTHER_TOPIC = "Other"
_FILTER_RESULT = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": True, "severity": "medium"},
}
GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
INVENTED_FIGURES = ("97.3%", "12.5×")
TOPIC_LINE = re.compile(r"^주제: (.+?)(?: \(.*\))?$", re.MULTILINE)
INVENTED_ID = "2699.99999"

KINDS = {
    "429",
    "500",
    "400",
    "broken_json",
    "truncated",
    "refusal",
    "schema_violation",
    "missing_ids",
    "invented_ids",
    "hostile",
    "slow",
    "empty_answer",
    # malformed 200s
    "html",
    "json_list",
    "null_message",
    "string_tokens",
    "choices_nope",
    # sentences with figures that are in no abstract
    "invented_figure",
    # asked to pick the featured papers among candidates, picks the last ones
    "feature_reversed",
    # a key_points sentence naming one paper carries another paper's figure
    "swapped_figure",
    # items written loosely: importance 7.5, "high", "7", and one item without importance
    "sloppy_items",
    # an answer padded far beyond any real one
    "flood",
    # content of blanks (DeepSeek's JSON mode replaces what is not JSON with spaces)
    "blank",
    # a tool call instead of text
    "tool_calls",
}

HOSTILE = {
    "script": "<script>alert('pwned')</script>",
    "link": "[여기를 클릭](https://evil.example/phish)",
    "url": "https://evil.example/more",
    "bare": "arxiv.org/abs/2699.99999",
    # What a chat app or mail client links or acts on without a scheme (found by an afternoon of attacks).
    "linkish": "evil.ru 와 evil.shop/x, a@evil.org, @evil_bot, #PWNED, /start, 2401.99999, arXiv:2402.00001v2 참고",
}


def _encoder():
    try:
        import tiktoken

        return tiktoken.get_encoding("o200k_base")
    except Exception:  # noqa: BLE001 - not installed, or its data cannot be downloaded here
        return None


_ENCODER = _encoder()


def estimate_tokens(text: str) -> int:
    if _ENCODER is not None:
        return len(_ENCODER.encode(text))
    ascii_chars = len(text.encode("ascii", "ignore"))
    return math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)


@dataclass
class Fault:
    kind: str
    times: int | None  # None = always
    purpose: str | None  # classify | summarize | None (any)
    match: str | None  # a substring the user message must contain
    params: dict


@dataclass
class Call:
    at: float
    purpose: str
    status: int
    ids: list[str]
    topic: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0  # reasoning included
    fault: str | None = None
    mode: str = "json_schema"  # the response_format type sent, or "text"
    reasoning_tokens: int = 0
    finish: str | None = None
    body: str = ""  # the request as sent, to compare two requests


@dataclass
class FakeOpenAI:
    models: tuple[str, ...] = ("gpt-6-luna",)
    family: str = "openai"
    context_limit: int | None = None
    shutdown_date: str | None = None
    latency: float = 0.0  # seconds per chat call
    think: str | None = None  # "tags" | "open": a draft answer in thinking before the final one
    answer_in: str | None = None  # "reasoning_content" | "reasoning" | "thinking_content", content null
    error_shape: str = "openai"
    refuse_formats: tuple[str, ...] = ()
    content_filter: str | tuple[str, ...] | None = None  # paper ids whose text the server refuses in every prompt
    filter_style: str = "http"  # "http": 400 content_filter; "finish": 200 with finish_reason content_filter
    validate_fail_every: int = 0
    quota_exhausted: bool = False
    default_effort: str | None = "medium"  # how the model reasons when not told; None: it does not reason
    keys: tuple[str, ...] = ()  # the API keys it accepts (empty: any)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    swapped: list[str] = field(default_factory=list)  # sentences written with another paper's figure

    def __post_init__(self):
        assert self.family in FAMILIES, self.family
        assert self.error_shape in ERROR_SHAPES, self.error_shape
        self._lock = threading.Lock()
        self._chats = 0
        self._redrawn: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self.http = FakeServer()
        self.http.route("/v1/chat/completions", self._chat)
        self.http.route("/v1/models", self._models)

    def __enter__(self) -> FakeOpenAI:
        self.http.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.http.__exit__(*exc)

    @property
    def url(self) -> str:
        """The base_url to configure (ends in /v1, like OpenAI's)."""
        return f"{self.http.url}/v1"

    # ----- scripting -----

    def fail(
        self, kind: str, times: int | None = 1, purpose: str | None = None, match: str | None = None, **params
    ) -> None:
        assert kind in KINDS, kind
        with self._lock:
            self.faults.append(Fault(kind, times, purpose, match, params))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def count(self, purpose: str | None = None, status: int | None = 200) -> int:
        return sum(
            1
            for c in self.calls
            if (purpose is None or c.purpose == purpose) and (status is None or c.status == status)
        )

    def tokens(self) -> tuple[int, int]:
        return sum(c.prompt_tokens for c in self.calls), sum(c.completion_tokens for c in self.calls)

    def reasoning(self) -> int:
        return sum(c.reasoning_tokens for c in self.calls)

    @staticmethod
    def topic_for(paper_id: str, topics: list[str]) -> str:
        """The topic this fake's final answer gives a paper (a hash of its id)."""
        return topics[hashlib.sha256(paper_id.encode()).digest()[0] % len(topics)]

    def _take_fault(self, purpose: str, user: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times == 0 or (fault.purpose and fault.purpose != purpose):
                    continue
                if fault.match and fault.match not in user:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    # ----- the API -----

    def _models(self, request: Request) -> Response:
        if request.method != "GET":
            return self._error(405, "method not allowed")
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return self._error(401, "You didn't provide an API key.", "invalid_request_error")
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
            | ({"shutdown_date": self.shutdown_date} if self.shutdown_date else {})
            for m in self.models
        ]
        return _json(200, {"object": "list", "data": data})

    def _chat(self, request: Request) -> Response:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._answer_chat(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer_chat(self, request: Request) -> Response:
        """The answer, sent `latency` seconds after the request arrived: the fake's own work (parsing, writing
        the answer) happens within that time, as a real server's does, not on top of it (bench/run.py charges
        whatever exceeds the latency to the tool)."""
        arrived = time.monotonic()
        response = self._answer_chat_now(request)
        if self.latency:
            time.sleep(max(0.0, arrived + self.latency - time.monotonic()))
        return response

    def _answer_chat_now(self, request: Request) -> Response:
        started = time.monotonic()
        problem, body = self._validate(request)
        if problem is not None:
            self._record(Call(started, "invalid", problem.status, [], None, mode=_mode(body)))
            return problem
        schema = self._schema(body)
        purpose = _purpose(schema)
        user = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
        papers = [(i, title, abstract) for i, title, abstract in PAPER_LINE.findall(user)]
        topic_match = TOPIC_LINE.search(user)
        call = Call(
            started,
            purpose,
            200,
            [i for i, *_ in papers],
            topic_match.group(1) if topic_match else None,
            mode=_mode(body),
            body=json.dumps(body, sort_keys=True, ensure_ascii=False),
        )
        with self._lock:
            self._chats += 1
            nth = self._chats
        fault = self._take_fault(purpose, user)
        call.fault = fault.kind if fault else None
        if fault and fault.kind == "slow":
            time.sleep(fault.params.get("seconds", 1.0))
        prompt_text = "".join(m["content"] for m in body["messages"]) + json.dumps(body.get("response_format") or {})
        call.prompt_tokens = estimate_tokens(prompt_text) + 4 * len(body["messages"])
        refused = self._refusal(call, fault, nth)
        if refused is not None:
            return refused
        if self.context_limit and call.prompt_tokens > self.context_limit:
            # Ollama keeps what fits and says nothing: the papers cut off are not answered.
            call.prompt_tokens = self.context_limit
            papers = papers[: len(papers) // 2]
        answer = self._answer(purpose, body, papers, schema, call, fault)
        content: str | None = json.dumps(answer, ensure_ascii=False)
        if self.family == "ignorer":
            content = (
                f"Sure! Here is the result you asked for.\n\n```json\n{content}\n```\n\nLet me know if you need more."
            )
        refusal, finish, extra = None, "stop", {}
        if fault and fault.kind == "broken_json":
            content = content[: len(content) // 2]
        elif fault and fault.kind == "truncated":
            content, finish = content[: len(content) // 2], "length"
        elif fault and fault.kind == "refusal":
            content, refusal = None, "I'm sorry, but I can't help with that request."
        elif fault and fault.kind == "schema_violation":
            content = json.dumps({"result": "ok"})
        elif fault and fault.kind == "flood":
            content = content[:-1] + ', "notes": "' + "반복 " * 70_000 + '"}'
        elif fault and fault.kind == "blank":
            content = " " * 40
        elif fault and fault.kind == "tool_calls":
            content = None
            extra["tool_calls"] = [
                {"id": "call_1", "type": "function", "function": {"name": "json", "arguments": content or "{}"}}
            ]
        if content is not None and finish == "stop" and purpose in ("classify", "summarize", "lines"):
            content = self._thinking(content, purpose, papers, schema, call)
        answer_tokens = estimate_tokens(content or refusal or "")  # thinking written out is output too
        if self.answer_in and content is not None:
            extra[self.answer_in], content = content, None
        call.reasoning_tokens = self._reasoning_tokens(body, answer_tokens)
        call.completion_tokens = answer_tokens + call.reasoning_tokens
        call.finish = finish
        self._record(call)
        message = {"role": "assistant", "content": content, "refusal": refusal, **extra}
        payload = self._completion(body, call, message, finish)
        return self._malformed(fault, payload) if fault else _json(200, payload)

    def _refusal(self, call: Call, fault: Fault | None, nth: int) -> Response | None:
        """The errors and refusals that answer instead of the model: scripted faults, then the server's own."""
        headers: dict[str, str] = {}
        if fault and fault.kind in ("429", "500", "400"):
            if fault.kind == "429":
                if "retry_after_ms" in fault.params:
                    headers["retry-after-ms"] = str(fault.params["retry_after_ms"])
                else:
                    headers["Retry-After"] = str(fault.params.get("retry_after", 0))
            messages = {
                "429": "Rate limit reached for requests",
                "500": "The server had an error",
                "400": "Bad request",
            }
            call.status, call.prompt_tokens = int(fault.kind), 0  # an error reports no usage
            self._record(call)
            return self._error(call.status, messages[fault.kind], headers=headers)
        if self.quota_exhausted:
            call.status, call.prompt_tokens = 429, 0
            self._record(call)
            return self._error(429, QUOTA, "insufficient_quota", code="insufficient_quota")
        refused = {self.content_filter} if isinstance(self.content_filter, str) else set(self.content_filter or ())
        if refused & set(call.ids):
            if self.filter_style == "http":
                call.status, call.prompt_tokens = 400, 0
                self._record(call)
                inner = {"code": "ResponsibleAIPolicyViolation", "content_filter_result": _FILTER_RESULT}
                error = {"message": AZURE_FILTERED, "type": None, "param": "prompt", "code": "content_filter"}
                return _json(400, {"error": {**error, "status": 400, "innererror": inner}})
            call.finish = "content_filter"
            self._record(call)
            message = {"role": "assistant", "content": None, "refusal": None}
            payload = self._completion({"model": self.models[0]}, call, message, "content_filter")
            payload["choices"][0]["content_filter_results"] = _FILTER_RESULT
            return _json(200, payload)
        if self.validate_fail_every and nth % self.validate_fail_every == 0 and call.body not in self._redrawn:
            self._redrawn.add(call.body)  # a bad draw: the same request drawn again generates valid JSON
            call.status, call.prompt_tokens = 400, 0
            self._record(call)
            error = {"message": GROQ_FAILED, "type": "invalid_request_error", "code": "json_validate_failed"}
            return _json(400, {"error": {**error, "failed_generation": '{"papers": [{"id": '}})
        return None

    def _answer(
        self, purpose: str, body: dict, papers: list, schema: dict | None, call: Call, fault: Fault | None
    ) -> dict:
        if purpose == "summarize":
            # Asked to feature N of the candidates: the first N (the ranking's order), or with the
            # "feature_reversed" fault the last N, so a test can tell the model's pick was honoured.
            wanted = re.search(r"가장 중요한 (\d+)편을 골라", "".join(m["content"] for m in body["messages"]))
            featured = None
            if wanted:
                n = int(wanted.group(1))
                featured = papers[-n:][::-1] if fault and fault.kind == "feature_reversed" else papers[:n]
            answer = self._summary(featured or papers, call.topic, fault)
            if featured is not None:
                answer["featured"] = [p[0] for p in featured]
            return answer
        if purpose == "lines":
            return {"paper_lines": [_line(i, t, a) for i, t, a in papers]}
        if purpose == "week":
            return _week(papers, call.topic)
        if purpose == "classify":
            system = "\n".join(m["content"] for m in body["messages"] if m["role"] in ("system", "developer"))
            return self._classification(papers, schema, fault, system)
        return {"answer": "Here are the papers you sent, sorted.", "count": len(papers)}  # no schema: a guess

    def _thinking(self, content: str, purpose: str, papers: list, schema: dict | None, call: Call) -> str:
        """The content with a draft answer in thinking before it (think="tags" | "open")."""
        if not self.think:
            return content
        if purpose == "classify":
            draft = self._classification(papers, schema, None, "")
            for item in draft["papers"]:
                item["topic"], item["importance"] = OTHER_TOPIC, 1
        else:
            draft = {"paper_lines": [{"id": i, "line": f"{DRAFT_MARK} {t[:30]}"} for i, t, _ in papers]}
            if purpose == "summarize":
                part = [f"{DRAFT_MARK} 이 문장은 최종 답이 아니라 생각하는 동안 쓴 초안이다."]
                draft.update({k: part for k in ("themes", "keywords", "key_points", "impact", "outlook")})
                draft["gist"] = part[0]
        thought = (
            "Let me sort these papers first. A first attempt:\n"
            f"{json.dumps(draft, ensure_ascii=False)}\nHmm, that is wrong; the topics need another look."
        )
        return (
            f"<think>\n{thought}\n</think>\n\n{content}" if self.think == "tags" else f"{thought}\n</think>\n{content}"
        )

    def _reasoning_tokens(self, body: dict, answer_tokens: int) -> int:
        effort = body.get("reasoning_effort", self.default_effort)
        if effort is None or self.default_effort is None:
            return 0
        return round(REASONING_PER_ANSWER_TOKEN.get(str(effort), 2.0) * answer_tokens)

    def _completion(self, body: dict, call: Call, message: dict, finish: str) -> dict:
        return {
            "id": f"chatcmpl-fake{len(self.calls)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None, "message": message}],
            "usage": {
                "prompt_tokens": call.prompt_tokens,
                "completion_tokens": call.completion_tokens,
                "total_tokens": call.prompt_tokens + call.completion_tokens,
                "completion_tokens_details": {"reasoning_tokens": call.reasoning_tokens},
            },
        }

    def _error(self, status: int, message: str, *more: str | None, **named: object) -> Response:
        """An error body in this server's shape (`more` and `named`: the OpenAI shape's, see `_error`)."""
        headers = named.get("headers")
        if self.error_shape == "gemini":
            inner = {"code": status, "message": message, "status": GEMINI_STATUS.get(status, "INTERNAL")}
            return _json(status, [{"error": inner}], headers)
        if self.error_shape == "lmstudio":
            return _json(status, {"error": message}, headers)
        if self.error_shape == "string":
            return Response(status, json.dumps(message), {"Content-Type": "application/json", **(headers or {})})
        if self.error_shape == "html":
            page = f"<html><head><title>{status} Error</title></head><body><h1>{status}</h1></body></html>"
            return Response(status, page, {"Content-Type": "text/html", **(headers or {})})
        return _error(status, message, *more, **named)

    def _malformed(self, fault: Fault, payload: dict) -> Response:
        """The 200s that are not chat completions, as proxies and broken servers send them."""
        if fault.kind == "html":
            return Response(
                200, "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"}
            )
        if fault.kind == "json_list":
            return _json(200, [payload])
        if fault.kind == "null_message":
            payload["choices"][0]["message"] = None
        elif fault.kind == "string_tokens":
            payload["usage"] = {k: str(v) for k, v in payload["usage"].items()}
        elif fault.kind == "choices_nope":
            payload["choices"] = "nope"
        return _json(200, payload)

    def _schema(self, body: dict) -> dict | None:
        """The answer's JSON Schema as this server sees it: from response_format (unless it refuses those),
        else from the system prompt, else none."""
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema" and self.family != "deepseek":
            return fmt["json_schema"]["schema"]
        system = "\n".join(m["content"] for m in body["messages"] if m["role"] in ("system", "developer"))
        found = SCHEMA_IN_PROMPT.search(system)
        if found:
            try:
                return json.loads(found.group(1))
            except ValueError:
                return None
        return None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _validate(self, request: Request) -> tuple[Response | None, dict]:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return self._error(401, "You didn't provide an API key.", "invalid_request_error"), {}
        key = request.headers["Authorization"].removeprefix("Bearer ")
        if self.keys and key not in self.keys:
            shown = f"{key[:3]}***{key[-2:]}"
            message = f"Incorrect API key provided: {shown}. You can find your API key at the platform's API keys page."
            return self._error(401, message, "invalid_request_error", code="invalid_api_key"), {}
        try:
            body = json.loads(request.body)
        except ValueError:
            return self._error(400, "We could not parse the JSON body of your request."), {}
        if not isinstance(body, dict):
            return self._error(400, "The body must be a JSON object."), {}
        if body.get("model") not in self.models:
            return self._error(
                404,
                f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                code="model_not_found",
            ), body
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self._error(400, "'messages' must be a non-empty array."), body
        for i, m in enumerate(messages):
            if (
                not isinstance(m, dict)
                or m.get("role") not in ("system", "developer", "user", "assistant")
                or not isinstance(m.get("content"), str)
            ):
                return self._error(400, f"Invalid value for 'messages[{i}]'."), body
        if self.family == "reasoning":
            for param in ("temperature", "max_tokens"):
                if param in body:
                    hint = " Use 'max_completion_tokens' instead." if param == "max_tokens" else ""
                    return self._error(
                        400, f"Unsupported parameter: '{param}' is not supported with this model.{hint}", param=param
                    ), body
        temperature = body.get("temperature", 1)
        if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
            return self._error(400, "Invalid 'temperature': must be between 0 and 2."), body
        fmt = body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") in self.refuse_formats:
            return self._error(
                400, f"response_format of type {fmt['type']} is not supported by this model", param="response_format"
            ), body
        if self.family == "ignorer" or fmt is None:
            return None, body
        if not isinstance(fmt, dict) or fmt.get("type") not in ("json_schema", "json_object", "text"):
            return self._error(400, "Invalid 'response_format.type'.", param="response_format"), body
        if fmt["type"] == "json_object":
            if "json" not in json.dumps(messages, ensure_ascii=False).lower():
                return self._error(
                    400,
                    "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
                    "'json_object'.",
                    param="messages",
                ), body
            return None, body
        if fmt["type"] != "json_schema":
            return None, body
        if self.family == "deepseek":
            return self._error(400, "This response_format type is unavailable now"), body
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not SCHEMA_NAME.match(str(spec.get("name", ""))):
            return self._error(400, "Invalid 'response_format.json_schema.name'."), body
        if spec.get("strict") is not True or not isinstance(spec.get("schema"), dict):
            return self._error(400, "This fake expects a strict json_schema with a schema object."), body
        where = _strict_problem(spec["schema"], "root")
        if spec["schema"].get("type") != "object":
            where = "root: the root schema must be an object"
        if where:
            return self._error(400, f"Invalid schema for response_format '{spec['name']}': {where}"), body
        return None, body

    # ----- deterministic answers -----

    def _classification(
        self, papers: list[tuple[str, str, str]], schema: dict, fault: Fault | None, system: str = ""
    ) -> dict:
        fields = schema["properties"]["papers"]["items"]["properties"]
        topics = fields["topic"]["enum"]
        # With interests in the prompt, a paper whose title has one of the interest keywords is relevant.
        wanted = re.search(r"Interest keywords: (.*)", system)
        keywords = [k.strip().lower() for k in wanted.group(1).split(",")] if wanted else []
        items = []
        for paper_id, title, _ in papers:
            digest = hashlib.sha256(paper_id.encode()).digest()
            item = {"id": paper_id, "topic": topics[digest[0] % len(topics)], "importance": 1 + digest[1] % 10}
            if "relevance" in fields:
                item["relevance"] = 9 if any(k and k in title.lower() for k in keywords) else digest[2] % 4
            items.append(item)
        if fault and fault.kind == "missing_ids":
            if "ids" in fault.params:  # drop these papers wherever they are asked
                items = [i for i in items if i["id"] not in fault.params["ids"]]
            else:  # drop the last few
                items = items[: len(items) - min(len(items), fault.params.get("drop", 3))]
        if fault and fault.kind == "empty_answer":
            items = []
        if fault and fault.kind == "sloppy_items" and len(items) >= 5:
            # What models write now and then: a half score, a word, a string, and an item missing its score.
            items[0]["importance"] = 7.5
            items[1]["importance"] = "high"
            items[2]["importance"] = "7"
            del items[3]["importance"]
            items[4]["importance"] = 14
        if fault and fault.kind in ("invented_ids", "hostile"):
            items.insert(0, {"id": INVENTED_ID, "topic": topics[0], "importance": 10})
            items.append({"id": "not-an-id <script>", "topic": topics[0], "importance": 10})
        return {"papers": items}

    def _summary(self, papers: list[tuple[str, str, str]], topic: str | None, fault: Fault | None) -> dict:
        """Sentences of real length (about 95 characters), with figures taken from the abstracts."""
        subject = topic or "이 주제"
        names = [(f"'{title[:40]}'", _figure(abstract)) for _, title, abstract in papers]
        answer = {
            "themes": [
                f"{n} 논문은 {subject} 분야에서 기존 방법이 놓치던 한계를 짚고, "
                "이를 해결하는 새로운 학습 및 추론 절차를 제안한다."
                for n, _ in names
            ],
            "keywords": [
                f"오늘 {subject} 분야에서는 효율성과 일반화가 공통 키워드로, "
                "여러 논문이 같은 병목을 서로 다른 방향에서 다룬다.",
                "여러 논문이 대규모 공개 benchmark로 성능을 검증하며, "
                "재현 가능한 코드와 데이터를 함께 공개하는 흐름이 뚜렷하다.",
                "학습 비용을 줄이면서 정확도를 유지하려는 시도가 많고, "
                "추론 단계의 계산량을 줄이는 기법도 함께 주목받는다.",
                "사전학습된 대형 모델은 그대로 두고 작은 모듈만 추가로 학습하는 "
                "가벼운 fine-tuning 방식이 여러 논문에서 반복해서 등장한다.",
            ],
            "key_points": [
                f"{n} 논문은 초록에 따르면 {fig} 수준의 개선을 보고하며, 기존 기준선보다 일관되게 높은 성능을 보인다."
                if fig
                else f"{n} 논문은 여러 벤치마크에서 기존 기준선보다 일관되게 높은 성능을 보이며, "
                "분석 실험으로 그 이유를 설명한다."
                for n, fig in names
            ],
            "impact": [
                f"{subject} 연구에서는 같은 자원으로 더 큰 실험을 돌릴 수 있게 되어, "
                "후속 연구의 비교 기준이 바뀔 수 있다.",
                "산업 현장에서는 추론 비용과 지연 시간이 줄어들어, 제한된 하드웨어에서도 모델을 배포할 여지가 커진다.",
                "응용 분야에서는 데이터가 적은 도메인에도 방법을 옮길 수 있는지가 다음 검증 대상이 될 것으로 보인다.",
                "평가 쪽에서는 새 데이터셋과 프로토콜이 늘어나면서, 벤치마크 점수만으로 비교하던 관행이 조금씩 바뀐다.",
            ],
            "outlook": [
                "남은 과제는 더 큰 규모와 실제 배포 환경에서도 "
                "같은 개선이 유지되는지 독립적으로 재현하여 확인하는 것이다.",
                "다음 단계로는 서로 다른 기법을 결합했을 때의 효과와 학습 안정성에 대한 체계적인 비교가 필요하다.",
                "실험이 주로 영어 데이터와 공개 벤치마크에 치우쳐 있어, "
                "한국어를 포함한 다국어 환경에서의 검증은 따로 확인해야 한다.",
                "평가 방법 자체를 개선하려는 시도가 늘어나는 만큼, "
                "점수 이외의 신뢰성 지표를 함께 보고하는지 살펴볼 필요가 있다.",
            ],
            "gist": f"오늘 {subject} 분야는 비용을 줄이면서 일반화 성능을 높이려는 연구가 중심을 이룬다.",
            "paper_lines": [_line(i, t, a) for i, t, a in papers],
        }
        if fault and fault.kind == "hostile":
            answer["themes"].insert(0, f"{HOSTILE['script']} 위험한 텍스트 {HOSTILE['link']} 입니다.")
            answer["keywords"].append(f"자세한 내용은 {HOSTILE['url']} 와 {HOSTILE['bare']} 를 보세요.")
            answer["impact"].append(f"추가 정보: {HOSTILE['linkish']}")
            answer["key_points"].append(
                f"새 논문 {INVENTED_ID} 가 최고 성능을 냅니다 (https://arxiv.org/abs/{INVENTED_ID})."
            )
            answer["paper_lines"].insert(0, {"id": INVENTED_ID, "line": "존재하지 않는 논문입니다."})
            if papers:
                answer["paper_lines"][1]["line"] = f"<b>굵게</b> {HOSTILE['link']} 한 줄 요약"
        if fault and fault.kind == "missing_ids":
            answer["paper_lines"] = answer["paper_lines"][1:]
        if fault and fault.kind == "swapped_figure":
            # A names paper A and carries paper B's figure (one that A's own text does not have).
            found = [(f"'{t[:40]}'", a, _figure(a)) for _, t, a in papers if _figure(a)]
            for (name, abstract, _), (_, _, other) in zip(found, found[1:]):
                if other.replace(" ", "") not in abstract.replace("\\%", "%").replace(" ", ""):
                    sentence = f"{name} 논문은 {other} 개선을 보고하며, 같은 조건의 기준선을 크게 앞선다."
                    answer["key_points"].insert(0, sentence)
                    self.swapped.append(sentence)
                    break
        if fault and fault.kind == "invented_figure":
            made_up = "이 방법은 정확도를 {} 높이고 추론 속도를 {} 끌어올려, "
            "같은 예산으로 훨씬 큰 모델을 다룰 수 있게 한다."
            sentence = made_up.format(*INVENTED_FIGURES)
            for part in ("themes", "key_points", "impact"):
                answer[part].insert(1, sentence)
            if answer["paper_lines"]:
                answer["paper_lines"][0]["line"] = sentence
        return answer


def _line(paper_id: str, title: str, abstract: str) -> dict:
    fig = _figure(abstract)
    gain = f", {fig} 개선을 보고한다" if fig else "을 여러 benchmark에서 보인다"
    return {"id": paper_id, "line": f"{title[:50]}: 새로운 방법을 제안하고 그 효과{gain}."}


def _figure(abstract: str) -> str | None:
    found = FIGURE.search(abstract.replace("\\%", "%"))
    return found.group(0) if found else None


def _mode(body: dict) -> str:
    fmt = body.get("response_format") if isinstance(body, dict) else None
    return fmt.get("type", "text") if isinstance(fmt, dict) else "text"


def _week(papers: list[tuple[str, str, str]], topic: str | None) -> dict:
    """The weekly edition's synthesis, in sentences of real length; figures only from the papers' lines (which
    is what the prompt gives: a title and the daily Korean line per paper)."""
    subject = topic or "이 주제"
    names = [(f"'{title[:40]}'", _figure(line)) for _, title, line in papers]
    return {
        "moved": [
            f"이번 주 {subject} 분야에서는 비용을 줄이면서 일반화 성능을 지키려는 연구가 지난 몇 주보다 더 자주 "
            "보였고, 같은 병목을 서로 다른 방향에서 다루는 논문이 늘었다.",
            "평가 쪽에서는 새 benchmark와 프로토콜을 함께 내놓는 논문이 많아져, 점수만으로 비교하던 관행이 조금씩 "
            "바뀌는 흐름이 이어졌다.",
        ],
        "standout": [
            f"{n} 논문은 데일리 요약에 따르면 {fig} 개선을 보고하며, 이번 주 이 주제에서 가장 큰 폭의 결과로 꼽힌다."
            if fig
            else f"{n} 논문은 여러 benchmark에서 기존 기준선보다 일관되게 높은 성능을 보이며 이번 주 눈에 띄는 결과다."
            for n, fig in names[:3]
        ],
        "questions": [
            "이번 주 결과가 더 큰 규모와 실제 배포 환경에서도 유지되는지, 독립적인 재현으로 확인하는 일이 남아 있다.",
            "실험이 주로 영어 데이터에 치우쳐 있어, 한국어를 포함한 다국어 환경에서의 검증은 다음 주에도 지켜볼 "
            "대목이다.",
        ],
        "gist": f"이번 주 {subject}는 효율과 일반화를 함께 잡으려는 시도가 두드러진 한 주였다.",
    }


def _purpose(schema: dict | None) -> str:
    properties = (schema or {}).get("properties", {})
    if "moved" in properties:
        return "week"
    if "themes" in properties:
        return "summarize"
    if "papers" in properties:
        return "classify"
    if "paper_lines" in properties:
        return "lines"
    return "unknown"


def _strict_problem(node, where: str) -> str | None:
    """Where a schema breaks OpenAI's strict-mode rules, or None."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            if (problem := _strict_problem(item, f"{where}[{i}]")) is not None:
                return problem
        return None
    if not isinstance(node, dict):
        return None
    if node.get("type") == "object" or "properties" in node:
        if node.get("additionalProperties") is not False:
            return f"In context={where}, 'additionalProperties' is required to be supplied and to be false."
        props = node.get("properties", {})
        if sorted(node.get("required", [])) != sorted(props):
            return (
                f"In context={where}, 'required' is required to be supplied and to be an array including "
                "every key in properties."
            )
    for key, value in node.items():
        if (problem := _strict_problem(value, f"{where}.{key}")) is not None:
            return problem
    return None


def _json(status: int, payload: dict | list, headers: dict | None = None) -> Response:
    return Response(
        status, json.dumps(payload, ensure_ascii=False), {"Content-Type": "application/json", **(headers or {})}
    )


def _error(
    status: int,
    message: str,
    kind: str = "invalid_request_error",
    code: str | None = None,
    headers: dict | None = None,
    param: str | None = None,
) -> Response:
    return _json(status, {"error": {"message": message, "type": kind, "param": param, "code": code}}, headers)
