"""The HTTP clients every source and channel uses: one User-Agent, one TLS context.

httpx reads the whole CA bundle again for every client it makes (tens of milliseconds each); a run makes
a client per feed, page set, channel and LLM, and a scheduler process makes them every morning.
"""

from __future__ import annotations

import functools
import ssl

import httpx

from digest import __version__
from digest.retry import retry_after_seconds

USER_AGENT = f"arxiv-digest/{__version__} (+https://pypi.org/project/arxiv-digest/)"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's own default context (certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), made once."""
    return httpx.create_ssl_context()


def http_client(timeout: float) -> httpx.Client:
    """A client for arXiv: it follows redirects and names the tool, as arXiv asks of API users."""
    return httpx.Client(
        timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}, verify=tls_context()
    )


def transient_http_error(exc: BaseException) -> bool:
    """Worth another try: a 429, a 5xx, or no answer at all (raise_for_status's and httpx's errors)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


def server_wait(exc: BaseException) -> float | None:
    """The wait a refusing server asked for (its Retry-After), if any."""
    if isinstance(exc, httpx.HTTPStatusError):
        return retry_after_seconds(exc.response.headers.get("Retry-After"))
    return None
