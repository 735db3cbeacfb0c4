"""`digest site --serve`: a local preview of the built site on 127.0.0.1 (never on other interfaces)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from digest.errors import ConfigError


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the name http.server uses
        pass


def make_server(site_dir: Path, port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server for site_dir on 127.0.0.1:port (0 = any free port); the caller runs and closes it."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise ConfigError(f"--serve: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from exc


def serve(site_dir: Path, port: int, say: Callable[[str], None]) -> None:
    server = make_server(site_dir, port)
    say(f"serving {site_dir} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl+C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        say("server stopped")
    finally:
        server.server_close()
