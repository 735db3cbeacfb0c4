"""A small threaded HTTP server on 127.0.0.1 for tests: routes answer with scripted responses and
every request is recorded, so tests check what went over the wire."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""


@dataclass
class Response:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class FakeServer:
    """`server.route("/rss/cs.AI", handler_or_response)`; a list of responses is served in turn (last repeats)."""

    def __init__(self, port: int = 0, fallback: Handler | None = None):
        """`fallback` answers every path without a route (a 404 if None)."""
        self.requests: list[Request] = []
        self._fallback = fallback
        self._routes: dict[str, Handler | Response | list[Response]] = {}
        self._lock = threading.Lock()
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    self.command, parts.path, parse_qs(parts.query), dict(self.headers), body, parts.query
                )
                response = fake._answer(request)
                payload = response.body.encode() if isinstance(response.body, str) else response.body
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, answer: Handler | Response | list[Response]) -> None:
        with self._lock:
            self._routes[path] = list(answer) if isinstance(answer, list) else answer

    def _answer(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            answer = self._routes.get(request.path, self._fallback)
            if answer is None:
                return Response(404, b"not found")
            if isinstance(answer, list):
                return answer.pop(0) if len(answer) > 1 else answer[0]
        return answer(request) if callable(answer) else answer

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
