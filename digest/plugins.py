"""Delivery channels as plugins: the registry that the config, the delivery loop, `digest check` and
`digest send --channel` ask, filled by the channel modules themselves.

Channels are found the way simonw/llm finds plugins: through an entry-point group, `digest.channels`,
which this package's own pyproject.toml fills for telegram and email and which any installed package can
add to (`[project.entry-points."digest.channels"] slack = "my_pkg.slack:SlackChannel"`). A channel module
registers its class with `@register_channel` when it is imported; this module names channel modules only
as strings, so the config can validate a channel's settings without importing delivery code.
"""

from __future__ import annotations

import importlib
import logging
import threading
from importlib.metadata import entry_points
from typing import Any

log = logging.getLogger("digest")

ENTRY_POINT_GROUP = "digest.channels"
# Found even where the package's metadata is not installed (a source checkout on sys.path), and listed first.
BUILT_IN = {
    "telegram": "digest.deliver.telegram",
    "email": "digest.deliver.email",
    "slack": "digest.deliver.slack",
    "discord": "digest.deliver.discord",
}

_channels: dict[str, Any] = {}
_failed: dict[str, str] = {}  # entry-point name -> why it could not be loaded
_loaded = False
_lock = threading.Lock()


def register_channel(channel: Any) -> Any:
    """Class decorator: make a channel (a digest.deliver.channels.Channel subclass) known by its `name`."""
    _channels[channel.name] = channel
    return channel


def _load() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        _loaded = True
        for module in BUILT_IN.values():
            importlib.import_module(module)
        for point in entry_points(group=ENTRY_POINT_GROUP):
            if point.name in _channels:
                continue
            try:
                loaded = point.load()
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the others
                _failed[point.name] = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "channel plugin %r (%s) could not be loaded: %s", point.name, point.value, _failed[point.name]
                )
                continue
            if getattr(loaded, "name", None) and loaded.name not in _channels:
                register_channel(loaded)


def channels() -> dict[str, Any]:
    """Every known channel class by name: the built-in ones first, then plugins in the order they came."""
    _load()
    return {n: _channels[n] for n in BUILT_IN if n in _channels} | _channels


def channel(name: str) -> Any | None:
    return channels().get(name)


def load_failure(name: str) -> str | None:
    """Why the plugin named `name` could not be loaded, if it was found and failed."""
    _load()
    return _failed.get(name)
