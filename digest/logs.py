"""Logging for every command: quiet on a terminal (rich shows progress), a rotating log file, and every
record scrubbed of the secrets this process knows (digest/secrets.py)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

from digest.errors import ConfigError
from digest.secrets import scrub

if TYPE_CHECKING:
    from digest.config import Config


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = ()
        return True


def setup_logging(config: Config | None = None) -> None:
    """Console logs (quiet on a terminal, where rich shows progress) and a rotating log file."""
    from logging.handlers import RotatingFileHandler

    # A log file on a full disk must not print a traceback for every line (logging's "--- Logging error ---").
    logging.raiseExceptions = False
    root = logging.getLogger("digest")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.DEBUG)
    root.propagate = False
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING if sys.stderr.isatty() else logging.INFO)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    console.addFilter(_ScrubFilter())
    root.addHandler(console)
    if config is not None and config.log_path is not None:
        try:
            config.log_path.parent.mkdir(parents=True, exist_ok=True)
            file_handler = RotatingFileHandler(
                config.log_path, maxBytes=config.log.max_bytes, backupCount=config.log.backups, encoding="utf-8"
            )
        except OSError as exc:
            raise ConfigError(f"log.file: cannot write {config.log_path}: {exc}") from exc
        file_handler.setLevel(getattr(logging, config.log.level))
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        file_handler.addFilter(_ScrubFilter())
        root.addHandler(file_handler)
