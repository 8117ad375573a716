"""What can go wrong in a sync, and whether trying again can help.

``retryable`` errors (5xx, 429, timeouts, dropped connections, a 200 whose body is not the
JSON it should be) are retried with backoff by connectors.sync.http; the others fail the
run at once. None of the messages carries a credential or an auth header.
"""

from __future__ import annotations


class SyncError(Exception):
    """A sync failed; the message is one line an integration admin can act on."""

    retryable = False


class TransientSourceError(SyncError):
    """The source failed in a way that may pass: worth another attempt."""

    retryable = True

    def __init__(self, message: str, *, status_code: int | None = None, retry_after=None):
        super().__init__(message)
        self.status_code = status_code
        # Seconds the source asked us to wait (429 / 503 Retry-After), if it said.
        self.retry_after: float | None = retry_after


class SourceAuthError(SyncError):
    """The source refused the credentials (401/403): retrying would only hammer it."""

    def __init__(self, message: str, *, status_code: int):
        super().__init__(message)
        self.status_code = status_code


class SourceError(SyncError):
    """A permanent error from the source (e.g. 404, 400, an unexpected response shape)."""

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class StuckPaginationError(SyncError):
    """The source's "next page" does not advance: following it would loop forever."""


class ConfigError(SyncError):
    """The connector is not configured to be pulled (mapping, URL, credentials, transport)."""


class LockLostError(SyncError):
    """The run no longer holds the connector's lease (it lapsed and another run took it, or
    the reaper abandoned the run): it must stop writing."""


class RunAbandonedError(SyncError):
    """The reaper marked this run abandoned while it was still going."""
