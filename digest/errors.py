"""Project errors. Each carries one line saying what went wrong and where; cli.py maps them to exit codes."""


class DigestError(Exception):
    """Base class: a failure of a run (exit 1)."""

    exit_code = 1


class ConfigError(DigestError):
    """Bad usage or configuration (exit 2): names the key or path."""

    exit_code = 2


class FetchError(DigestError):
    """arXiv could not be reached or answered with something unusable."""


class LLMError(DigestError):
    """The LLM failed after retries."""


class DeliveryError(DigestError):
    """A delivery channel failed."""


class BusyError(DigestError):
    """Another run holds the lock for this state database."""
