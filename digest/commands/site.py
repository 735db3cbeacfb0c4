"""`digest site`: build the static archive site (incrementally), then optionally preview it locally."""

from __future__ import annotations

from collections.abc import Callable

from digest.config import Config
from digest.errors import DigestError
from digest.site import build_site
from digest.site.serve import serve


def site(config: Config, port: int | None, say: Callable[[str], None]) -> None:
    from digest.commands.demo import demo_hint

    result = build_site(config)
    say(result.line())
    if not result.days and (hint := demo_hint(config)):
        say(hint)
    # Every other page is built; each report left out is one line, and the exit status tells cron or CI.
    *warnings, last = result.skipped_lines() or [""]
    for line in warnings:
        say(f"warning: {line}")
    if port is not None:
        serve(config.site_dir, port, say)
    if last:
        raise DigestError(last)
