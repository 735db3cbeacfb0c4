"""A local OpenAI-compatible server for tests and benches: POST /v1/chat/completions and GET /v1/models.

It checks requests the way the real API does (bearer key, known model, messages, a strict json_schema
response_format), answers deterministically from the papers in the prompt (ids in `[brackets]`, topics
from the schema's enum by a hash of the id), reports `usage` tokens, and can be scripted to misbehave:
`fake.fail("500", times=2, purpose="summarize")`.

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
PAPER_LINE = re.compile(r"^\[([^\]\s]+)\] (.*)$", re.MULTILINE)
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
}

HOSTILE = {
    "script": "<script>alert('pwned')</script>",
    "link": "[여기를 클릭](https://evil.example/phish)",
    "url": "https://evil.example/more",
    "bare": "arxiv.org/abs/2699.99999",
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
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)


# Real length: a model writes about 95-character Korean sentences, 4 per part ({subject}, {name} filled in).
SUMMARY_PARTS = {
    "keywords": [
        (
            "{subject} 분야에서는 효율성과 일반화 성능을 함께 끌어올리려는 시"
            "도가 여러 논문에 공통으로 나타나고 있습니다."
        ),
        (
            "여러 논문이 공개된 대규모 벤치마크와 실제 환경 데이터를 함께 사용해 제"
            "안한 방법의 성능을 꼼꼼하게 검증합니다."
        ),
        (
            "사전 학습된 대형 모델을 그대로 두고 작은 모듈만 추가로 학습하는 가벼운"
            " 적응 방식이 자주 등장하는 흐름입니다."
        ),
        (
            "평가 지표의 신뢰성과 재현 가능성을 높이려는 새로운 데이터셋과 평가 프로"
            "토콜 제안도 눈에 띄게 늘어나고 있습니다."
        ),
    ],
    "impact": [
        (
            "{subject} 연구자들은 오늘 제안된 방법을 기준선으로 삼아 더 공정"
            "하고 재현 가능한 비교 실험을 설계할 수 있습니다."
        ),
        (
            "산업 현장에서는 추론 비용과 메모리 사용량이 줄어든 만큼 더 작은 장비에"
            "서도 모델을 실제 서비스에 배포할 수 있습니다."
        ),
        (
            "의료, 교육, 로보틱스처럼 데이터가 부족한 응용 분야에서도 적은 학습 데"
            "이터로 쓸 만한 성능을 기대할 수 있게 됩니다."
        ),
        ("다만 실험이 주로 영어 데이터와 공개 벤치마크에 치우쳐 있어 한국어 환경에서의 검증은 별도로 필요해 보입니다."),
    ],
    "outlook": [
        (
            "종합하면 {subject} 분야는 더 적은 비용으로 더 넓은 상황에 일반"
            "화되는 방법을 찾는 방향으로 빠르게 움직이고 있습니다."
        ),
        ("앞으로는 더 큰 규모의 모델과 실제 사용자 환경에서 같은 이득이 유지되는지 확인하는 후속 연구가 주목됩니다."),
        ("공개된 코드와 데이터셋을 바탕으로 한 재현 실험과 한국어를 포함한 다국어 환경으로의 확장도 지켜볼 만합니다."),
        ("평가 방법 자체를 개선하려는 시도가 늘어나는 만큼 벤치마크 점수 이외의 신뢰성 지표에도 관심이 커질 것입니다."),
    ],
}
SUMMARY_PER_PAPER = {
    "themes": (
        "{name} 논문은 {subject} 분야에서 오래 남아 있던 핵심 문제"
        "를 새로운 학습 방법과 평가 절차로 다시 정의하고 해결합니다."
    ),
    "key_points": (
        "{name} 논문은 공개 벤치마크에서 기존 최고 성능 방법보다 정확도를 "
        "수 퍼센트포인트 높이고 계산 비용은 줄였다고 보고합니다."
    ),
    "line": ("{name}은 기존 방법의 한계를 짚고 새로운 구조를 제안해 공개 벤치마크에서 더 높은 성능을 보였습니다."),
    "gist": ("오늘 {subject} 분야는 비용을 줄이면서 일반화 성능을 높이려는 연구가 중심을 이룹니다."),
}


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
    completion_tokens: int = 0
    fault: str | None = None


@dataclass
class FakeOpenAI:
    models: tuple[str, ...] = ("gpt-4o-mini",)
    latency: float = 0.0  # seconds per chat call
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()
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
            return _error(405, "method not allowed")
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "You didn't provide an API key.", "invalid_request_error")
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
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
        started = time.monotonic()
        problem, body = self._validate(request)
        if problem is not None:
            self._record(Call(started, "invalid", problem.status, [], None))
            return problem
        schema_name = body["response_format"]["json_schema"]["name"]
        purpose = "summarize" if "summary" in schema_name else "classify"
        user = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
        ids = PAPER_LINE.findall(user)
        topic_match = TOPIC_LINE.search(user)
        call = Call(started, purpose, 200, [i for i, _ in ids], topic_match.group(1) if topic_match else None)
        fault = self._take_fault(purpose, user)
        call.fault = fault.kind if fault else None
        if self.latency:
            time.sleep(self.latency)
        if fault and fault.kind == "slow":
            time.sleep(fault.params.get("seconds", 1.0))
        if fault and fault.kind in ("429", "500", "400"):
            call.status = int(fault.kind)
            self._record(call)
            headers = {}
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
            return _error(call.status, messages[fault.kind], headers=headers)

        schema = body["response_format"]["json_schema"]["schema"]
        answer = (
            self._summary(ids, call.topic, fault)
            if purpose == "summarize"
            else self._classification(ids, schema, fault)
        )
        content: str | None = json.dumps(answer, ensure_ascii=False)
        refusal, finish = None, "stop"
        if fault and fault.kind == "broken_json":
            content = content[: len(content) // 2]
        elif fault and fault.kind == "truncated":
            content, finish = content[: len(content) // 2], "length"
        elif fault and fault.kind == "refusal":
            content, refusal = None, "I'm sorry, but I can't help with that request."
        elif fault and fault.kind == "schema_violation":
            content = json.dumps({"result": "ok"})
        prompt_text = "".join(m["content"] for m in body["messages"]) + json.dumps(schema)
        call.prompt_tokens = estimate_tokens(prompt_text) + 4 * len(body["messages"])
        call.completion_tokens = estimate_tokens(content or refusal or "")
        self._record(call)
        return _json(
            200,
            {
                "id": f"chatcmpl-fake{len(self.calls)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": finish,
                        "logprobs": None,
                        "message": {"role": "assistant", "content": content, "refusal": refusal},
                    }
                ],
                "usage": {
                    "prompt_tokens": call.prompt_tokens,
                    "completion_tokens": call.completion_tokens,
                    "total_tokens": call.prompt_tokens + call.completion_tokens,
                },
            },
        )

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _validate(self, request: Request) -> tuple[Response | None, dict]:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "You didn't provide an API key.", "invalid_request_error"), {}
        try:
            body = json.loads(request.body)
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request."), {}
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object."), {}
        if body.get("model") not in self.models:
            return _error(
                404,
                f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                code="model_not_found",
            ), body
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "'messages' must be a non-empty array."), body
        for i, m in enumerate(messages):
            if (
                not isinstance(m, dict)
                or m.get("role") not in ("system", "developer", "user", "assistant")
                or not isinstance(m.get("content"), str)
            ):
                return _error(400, f"Invalid value for 'messages[{i}]'."), body
        temperature = body.get("temperature", 1)
        if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
            return _error(400, "Invalid 'temperature': must be between 0 and 2."), body
        fmt = body.get("response_format")
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            return _error(400, "This fake only answers response_format of type json_schema."), body
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not SCHEMA_NAME.match(str(spec.get("name", ""))):
            return _error(400, "Invalid 'response_format.json_schema.name'."), body
        if spec.get("strict") is not True or not isinstance(spec.get("schema"), dict):
            return _error(400, "This fake expects a strict json_schema with a schema object."), body
        where = _strict_problem(spec["schema"], "root")
        if spec["schema"].get("type") != "object":
            where = "root: the root schema must be an object"
        if where:
            return _error(400, f"Invalid schema for response_format '{spec['name']}': {where}"), body
        return None, body

    # ----- deterministic answers -----

    def _classification(self, ids: list[tuple[str, str]], schema: dict, fault: Fault | None) -> dict:
        topics = schema["properties"]["papers"]["items"]["properties"]["topic"]["enum"]
        items = []
        for paper_id, _title in ids:
            digest = hashlib.sha256(paper_id.encode()).digest()
            items.append({"id": paper_id, "topic": topics[digest[0] % len(topics)], "importance": 1 + digest[1] % 10})
        if fault and fault.kind == "missing_ids":
            if "ids" in fault.params:  # drop these papers wherever they are asked
                items = [i for i in items if i["id"] not in fault.params["ids"]]
            else:  # drop the last few
                items = items[: len(items) - min(len(items), fault.params.get("drop", 3))]
        if fault and fault.kind == "empty_answer":
            items = []
        if fault and fault.kind in ("invented_ids", "hostile"):
            items.insert(0, {"id": INVENTED_ID, "topic": topics[0], "importance": 10})
            items.append({"id": "not-an-id <script>", "topic": topics[0], "importance": 10})
        return {"papers": items}

    def _summary(self, ids: list[tuple[str, str]], topic: str | None, fault: Fault | None) -> dict:
        names = [f"'{_short(title)}'" for _, title in ids]
        subject = topic or "이 주제"
        per = {k: v.replace("{subject}", subject) for k, v in SUMMARY_PER_PAPER.items()}
        answer = {
            "themes": [per["themes"].replace("{name}", n) for n in names],
            "keywords": [t.replace("{subject}", subject) for t in SUMMARY_PARTS["keywords"]],
            "key_points": [per["key_points"].replace("{name}", n) for n in names],
            "impact": [t.replace("{subject}", subject) for t in SUMMARY_PARTS["impact"]],
            "outlook": [t.replace("{subject}", subject) for t in SUMMARY_PARTS["outlook"]],
            "paper_lines": [
                {"id": paper_id, "line": per["line"].replace("{name}", f"'{_short(title)}'")} for paper_id, title in ids
            ],
            "gist": per["gist"],
        }
        if fault and fault.kind == "hostile":
            answer["themes"].insert(0, f"{HOSTILE['script']} 위험한 텍스트 {HOSTILE['link']} 입니다.")
            answer["keywords"].append(f"자세한 내용은 {HOSTILE['url']} 와 {HOSTILE['bare']} 를 보세요.")
            answer["key_points"].append(
                f"새 논문 {INVENTED_ID} 가 최고 성능을 냅니다 (https://arxiv.org/abs/{INVENTED_ID})."
            )
            answer["paper_lines"].insert(0, {"id": INVENTED_ID, "line": "존재하지 않는 논문입니다."})
            if ids:
                answer["paper_lines"][1]["line"] = f"<b>굵게</b> {HOSTILE['link']} 한 줄 요약"
        if fault and fault.kind == "missing_ids":
            answer["paper_lines"] = answer["paper_lines"][1:]
        return answer


def _short(title: str) -> str:
    """A paper's short name, as a model calls it: the part before a colon, else its first words."""
    head, colon, _ = title.partition(":")
    return head.strip()[:40] if colon and len(head.strip()) <= 40 else " ".join(title.split()[:4])[:40]


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


def _json(status: int, payload: dict, headers: dict | None = None) -> Response:
    return Response(
        status, json.dumps(payload, ensure_ascii=False), {"Content-Type": "application/json", **(headers or {})}
    )


def _error(
    status: int, message: str, kind: str = "invalid_request_error", code: str | None = None, headers: dict | None = None
) -> Response:
    return _json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers)
