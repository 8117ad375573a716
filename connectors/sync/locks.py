"""The per-connector lease that keeps two runs of one connector from overlapping.

A run takes the lease with one conditional UPDATE of its connector row (free, lapsed, or
already its own -> it becomes the holder for ``FINHUB_SYNC_STALE_SECONDS``); the database
arbitrates, so it works the same on SQLite and PostgreSQL and needs no session-bound
advisory lock. The run extends the lease with every heartbeat (per page and before each
retry sleep) and releases it in ``finally``. A worker killed with SIGKILL stops extending
it: the lease lapses on its own and the reaper clears it when it abandons the run, so a
lost worker never holds a connector forever.

Call these outside a transaction (autocommit), except ``lease_extend`` which a page's
transaction calls so that a run that lost its lease cannot commit the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from connectors.models import Connector, SyncRun


def lease_seconds() -> int:
    return settings.FINHUB_SYNC_STALE_SECONDS


def _expiry(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=lease_seconds())


def lock_acquire(*, connector_id: int, run_id: int, now: dt.datetime | None = None) -> bool:
    """Take the connector's lease for ``run_id``; False when another run holds it."""
    now = now or timezone.now()
    taken = (
        Connector.objects.filter(pk=connector_id)
        .filter(
            Q(lock_run_id__isnull=True)
            | Q(lock_expires_at__isnull=True)
            | Q(lock_expires_at__lte=now)
            | Q(lock_run_id=run_id)
        )
        .update(lock_run_id=run_id, lock_expires_at=_expiry(now))
    )
    return taken == 1


def lease_extend(*, connector_id: int, run_id: int, now: dt.datetime | None = None) -> bool:
    """Push the lease's expiry forward; False when another run holds it now.

    A lease found free is taken back: a whole-row save of the connector (an admin edit
    racing a heartbeat) may have written an empty lock over it, and no other run got it.
    """
    now = now or timezone.now()
    return (
        Connector.objects.filter(pk=connector_id)
        .filter(Q(lock_run_id=run_id) | Q(lock_run_id__isnull=True))
        .update(lock_run_id=run_id, lock_expires_at=_expiry(now))
        == 1
    )


def lock_release(*, connector_id: int, run_id: int) -> bool:
    """Give the lease back (only if ``run_id`` still holds it)."""
    return (
        Connector.objects.filter(pk=connector_id, lock_run_id=run_id).update(
            lock_run_id=None, lock_expires_at=None
        )
        == 1
    )


@dataclass(frozen=True)
class LockHolder:
    run_id: int
    since: dt.datetime | None  # when the holding run started
    expires_at: dt.datetime | None

    def describe(self) -> str:
        since = (
            self.since.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            if self.since
            else "an unknown time"
        )
        until = (
            f"; its lease runs until {self.expires_at.astimezone(dt.UTC):%H:%M:%S} UTC"
            if self.expires_at
            else ""
        )
        return f"run #{self.run_id} has held the connector's lock since {since}{until}"


def lock_holder(*, connector_id: int) -> LockHolder | None:
    """Who holds the connector's lease now (None when it is free or lapsed)."""
    row = (
        Connector.objects.filter(pk=connector_id)
        .values_list("lock_run_id", "lock_expires_at")
        .first()
    )
    if row is None or row[0] is None:
        return None
    run_id, expires_at = row
    if expires_at is not None and expires_at <= timezone.now():
        return None
    started = SyncRun.objects.filter(pk=run_id).values_list("started_at", flat=True).first()
    return LockHolder(run_id=run_id, since=started, expires_at=expires_at)
