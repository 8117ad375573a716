"""Period locks: lock and unlock a month (audited), and read locks and post-close adjustments.

A locked month's records can still be written through every path; the writes are flagged as
``PostCloseAdjustment`` rows by the ingestion engine (records/ingestion/locks.py).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from finhub.core.calendar import add_months
from records.models import PeriodLock, PeriodLockEvent, PostCloseAdjustment

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _check_month(month: dt.date) -> None:
    if isinstance(month, dt.datetime) or not isinstance(month, dt.date) or month.day != 1:
        raise ValidationError({"month": "Give the month as the date of its first day."})


# --- services ---------------------------------------------------------------------------------


def period_lock(*, month: dt.date, user: User | None = None, reason: str = "") -> PeriodLock:
    """Lock ``month`` (first day of the month); locking a locked month changes nothing and
    writes no event."""
    _check_month(month)
    with transaction.atomic():
        lock, created = PeriodLock.objects.get_or_create(
            month=month, defaults={"locked_by": user, "reason": reason}
        )
        if created:
            PeriodLockEvent.objects.create(
                month=month,
                action=PeriodLockEvent.Action.LOCK,
                by=user,
                at=lock.locked_at,
                reason=reason,
            )
    return lock


def period_unlock(*, month: dt.date, user: User | None, reason: str) -> None:
    """Unlock ``month``: the reason is required and kept with who and when.

    The caller checks the permission ``records.unlock_period``.
    """
    _check_month(month)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the period is unlocked."})
    with transaction.atomic():
        deleted, _ = PeriodLock.objects.filter(month=month).delete()
        if not deleted:
            raise ValidationError({"month": f"{month:%B %Y} is not locked."})
        PeriodLockEvent.objects.create(
            month=month, action=PeriodLockEvent.Action.UNLOCK, by=user, reason=reason
        )


# --- selectors --------------------------------------------------------------------------------


def period_is_locked(*, month: dt.date) -> bool:
    return PeriodLock.objects.filter(month=month).exists()


def locked_months() -> set[dt.date]:
    """Every locked month (one small query: a row per closed month)."""
    return set(PeriodLock.objects.values_list("month", flat=True))


def post_close_adjustment_list(
    *,
    month: dt.date | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[PostCloseAdjustment]:
    """Post-close adjustments, newest first: of one locked month, and/or recorded in
    [since, until)."""
    queryset = PostCloseAdjustment.objects.select_related("source", "user")
    if month is not None:
        queryset = queryset.filter(month=month)
    if since is not None:
        queryset = queryset.filter(recorded_at__gte=since)
    if until is not None:
        queryset = queryset.filter(recorded_at__lt=until)
    return queryset.order_by("-recorded_at", "-id")


def period_lock_event_list(*, month: dt.date | None = None) -> QuerySet[PeriodLockEvent]:
    """The lock / unlock audit trail, newest first."""
    queryset = PeriodLockEvent.objects.select_related("by")
    if month is not None:
        queryset = queryset.filter(month=month)
    return queryset.order_by("-at", "-id")


def post_close_window_start(*, month: dt.date) -> dt.datetime | None:
    """When the month before ``month`` was last locked: the adjustments recorded since then
    belong in ``month``'s pack (the "next pack" after that close). None when it never was."""
    previous = add_months(month.replace(day=1), -1)
    return (
        PeriodLockEvent.objects.filter(month=previous, action=PeriodLockEvent.Action.LOCK)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
