"""`digest site --serve`: a local preview of the built site on 127.0.0.1 (never on other interfaces).

It serves the site's own files and nothing else: what the last build wrote (its manifest) and the files
beside a page it wrote (abstracts, search shards). No folder listings, no dotfiles, nothing a symlink
leads out to: with `site.dir: "."` the project folder's .env, config.yaml and database stay private.
"""

from __future__ import annotations

import functools
import json
import posixpath
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from digest.errors import ConfigError
from digest.site.build import MANIFEST


class Published:
    """Which paths under the site folder the last build wrote (read again when the manifest changes)."""

    def __init__(self, site_dir: Path) -> None:
        self.site_dir = site_dir.resolve()
        self._stamp: tuple[int, int] | None = None
        self._files: set[str] = set()
        self._folders: set[str] = set()

    def _load(self) -> None:
        try:
            st = (self.site_dir / MANIFEST).stat()
            stamp = (st.st_size, st.st_mtime_ns)
            if stamp != self._stamp:
                files = set(json.loads((self.site_dir / MANIFEST).read_text(encoding="utf-8")))
                self._files, self._stamp = files, stamp
                self._folders = {posixpath.dirname(f) for f in files} - {""}
        except (OSError, ValueError):
            self._files, self._folders, self._stamp = set(), set(), None

    def __contains__(self, rel: str) -> bool:
        if any(part.startswith(".") for part in rel.split("/")):
            return False
        self._load()
        folder = posixpath.dirname(rel)
        if not (rel in self._files or f"{rel}/index.html" in self._files or folder in self._folders):
            return False
        target = (self.site_dir / rel).resolve()
        return target == self.site_dir or self.site_dir in target.parents


class _SiteHandler(SimpleHTTPRequestHandler):
    published: Published

    def send_head(self):  # noqa: ANN202 - http.server's signature
        path = unquote(urlsplit(self.path).path)
        rel = posixpath.normpath(path).lstrip("/")
        if rel in (".", ""):
            rel = "index.html"
        elif path.endswith("/"):
            rel = f"{rel}/index.html"
        if rel not in self.published:
            self.send_error(404, "Not a page of this site")
            return None
        return super().send_head()

    def list_directory(self, path: str) -> None:  # noqa: ARG002 - a folder is never listed
        self.send_error(404, "Not a page of this site")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the name http.server uses
        pass


def make_server(site_dir: Path, port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server for site_dir on 127.0.0.1:port (0 = any free port); the caller runs and closes it."""
    handler_class = type("SiteHandler", (_SiteHandler,), {"published": Published(site_dir)})
    handler = functools.partial(handler_class, directory=str(site_dir))
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
