"""HTTP, answered once for every source and channel: the client (one User-Agent, one TLS context), whether a
failure is worth another try, and how long the server asked us to wait.

httpx reads the whole CA bundle again for every client it makes (tens of milliseconds each); a run makes
a client per feed, page set, channel and LLM, and a scheduler process makes them every morning.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING

from digest import __version__
from digest.clock import utc_now

if TYPE_CHECKING:
    import httpx

USER_AGENT = f"arxiv-digest/{__version__} (+https://pypi.org/project/arxiv-digest/)"
# Worth another try besides every 5xx: a timeout, a conflict, "too early", "too many requests".
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's own default context (certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), made once."""
    import httpx  # on first use: a run that reuses every stored answer never makes a request

    return httpx.create_ssl_context()


def http_client(timeout: float, *, follow_redirects: bool = True) -> httpx.Client:
    """A client that names the tool (as arXiv asks of API users) and shares the one TLS context."""
    import httpx

    return httpx.Client(
        timeout=timeout, follow_redirects=follow_redirects, headers={"User-Agent": USER_AGENT}, verify=tls_context()
    )


def retryable_status(status: int) -> bool:
    """Whether an HTTP status may heal on its own: every 5xx and RETRYABLE_STATUS."""
    return status in RETRYABLE_STATUS or status >= 500


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """A Retry-After header (delta-seconds or an HTTP date) as seconds from now; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or utc_now())).total_seconds())


def retry_after(headers: Mapping[str, str], now: dt.datetime | None = None) -> float | None:
    """The wait a server asked for: OpenAI's retry-after-ms, else Retry-After (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    return retry_after_seconds(headers.get("retry-after"), now)


def transient_http_error(exc: BaseException) -> bool:
    """Worth another try: a retryable status (raise_for_status's error) or no answer at all (httpx's errors)."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        return retryable_status(exc.response.status_code)
    return isinstance(exc, httpx.TransportError)


def server_wait(exc: BaseException) -> float | None:
    """The wait a refusing server asked for (its Retry-After), if any."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        return retry_after(exc.response.headers)
    return None
