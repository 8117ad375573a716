"""Transient conflicts between concurrent writers: the transaction is run again, a few times.

Upserts lock rows in natural-key order, so two batches of one entity do not deadlock each
other; a deadlock can still arise across statements (a self-referencing entity, pending
references resolved while another batch writes the referring rows). PostgreSQL then aborts
one transaction and expects the client to run it again; so do serialization failures and
lock timeouts. ``run_with_retry`` does that, and gives up with ``WriteContention`` (which
the API answers with 503 and Retry-After) instead of failing the request.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, OperationalError, connection

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# serialization_failure, deadlock_detected, lock_not_available
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
ATTEMPTS = 4
# Seconds the caller is told to wait once every attempt failed.
RETRY_AFTER_SECONDS = 1


class WriteContention(Exception):
    """The write lost to concurrent writers on every attempt; nothing was written."""

    retry_after = RETRY_AFTER_SECONDS


def is_transient(exc: BaseException) -> bool:
    """A failure that running the same transaction again may not meet."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    code = getattr(cause, "pgcode", None) or getattr(getattr(cause, "diag", None), "sqlstate", None)
    if code in TRANSIENT_SQLSTATES:
        return True
    # SQLite: a writer waited longer than its busy timeout for the database lock.
    return connection.vendor == "sqlite" and "database is locked" in str(exc)


def run_with_retry(work: Callable[[], _T], *, attempts: int = ATTEMPTS) -> _T:
    """``work()`` (one transaction), run again after a transient conflict, at most
    ``attempts`` times in all, with a short random pause between attempts.

    Inside a caller's transaction nothing is retried: the conflict aborted the caller's
    transaction too, so only the caller can run it again (the error propagates).
    """
    if connection.in_atomic_block:
        return work()
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DatabaseError as exc:
            if not is_transient(exc):
                raise
            logger.warning("Write conflict (attempt %d of %d): %s", attempt, attempts, exc)
            if attempt == attempts:
                raise WriteContention(
                    f"The write conflicted with concurrent writes {attempts} times."
                ) from exc
            # Jitter, so the transactions that collided do not collide again in step.
            time.sleep(random.uniform(0.01, 0.05 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover
