"""The calls a sync client makes to a source, counted for API reliability (docs/connectors.md,
"API reliability").

A **call** is one logical GET: every attempt tenacity makes for it, and the OAuth2 token
request made on its behalf, are that one call. It ends in one of three outcomes:

* ``succeeded`` — the source answered JSON, at the first attempt or after retries;
* ``failed_source`` — the source failed: 5xx, 429 (still limited after the retries, or asking
  for a longer pause than a run waits), a timeout, a dropped connection, a 200 that is not
  JSON, an unexpected status such as a redirect, an unreadable token answer;
* ``failed_finhub`` — FinHub's own request was wrong: any other 4xx (400, 404, 422…) and
  refused credentials (401/403, at the API or its token endpoint). The source answered as
  its API promises; the fix (the mapping, the URL, the credentials) is on FinHub's side.

A call FinHub itself interrupted (the run lost its lease or was abandoned while waiting to
retry) got no answer from the source and is not counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import LockLostError, RunAbandonedError, SourceAuthError, SourceError, SyncError

SUCCEEDED = "succeeded"
FAILED_SOURCE = "failed_source"
FAILED_FINHUB = "failed_finhub"


def call_outcome(error: BaseException | None) -> str | None:
    """The outcome of a call that ended with ``error`` (None: it succeeded); None when the
    call is not counted (FinHub stopped it)."""
    if error is None:
        return SUCCEEDED
    if isinstance(error, LockLostError | RunAbandonedError):
        return None
    if isinstance(error, SourceAuthError):
        return FAILED_FINHUB
    if isinstance(error, SourceError):
        status = error.status_code
        return FAILED_FINHUB if status is not None and 400 <= status < 500 else FAILED_SOURCE
    if isinstance(error, SyncError):
        # TransientSourceError (5xx, 429, timeouts, bodies that are not JSON) and kin.
        return FAILED_SOURCE
    # Not an answer of the source at all: a fault in FinHub's request or code.
    return FAILED_FINHUB


@dataclass
class CallCounts:
    """Calls of one connector on one day, by outcome."""

    calls: int = 0
    succeeded: int = 0
    retried_succeeded: int = 0
    failed_source: int = 0
    failed_finhub: int = 0
    attempts: int = 0

    def add(self, outcome: str, *, attempts: int) -> None:
        self.calls += 1
        self.attempts += attempts
        if outcome == SUCCEEDED:
            self.succeeded += 1
            self.retried_succeeded += int(attempts > 1)
        elif outcome == FAILED_SOURCE:
            self.failed_source += 1
        elif outcome == FAILED_FINHUB:
            self.failed_finhub += 1
        else:
            raise ValueError(f"unknown call outcome {outcome!r}")


class CallTally:
    """A client's calls, buffered in memory per day until it closes (then written once)."""

    def __init__(self) -> None:
        self.days: dict[dt.date, CallCounts] = {}

    def record(self, error: BaseException | None, *, attempts: int, day: dt.date) -> None:
        outcome = call_outcome(error)
        if outcome is not None:
            self.days.setdefault(day, CallCounts()).add(outcome, attempts=max(1, attempts))

    def take(self) -> dict[dt.date, CallCounts]:
        """The buffered counts, emptying the buffer (so a second close writes nothing)."""
        days, self.days = self.days, {}
        return days
