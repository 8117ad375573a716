"""Period locks: a closed month's records stay writable, but every later change is flagged.

Locking a month never refuses data (a source that corrects a closed month must still be
heard: nothing is lost); instead each write that touches a record of a locked month is kept as
a ``PostCloseAdjustment``, listed on the close page and in the next report pack.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class PeriodLock(models.Model):
    """A locked (closed) month; the row is deleted when the month is unlocked.

    ``month`` is the first day of the month (``period_lock`` checks it). Who unlocked it,
    when and why is kept in ``PeriodLockEvent`` (the lock row itself is gone by then).
    """

    month = models.DateField(unique=True)
    locked_at = models.DateTimeField(default=timezone.now)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-month"]
        permissions = [("unlock_period", "Can unlock a closed period")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} locked"


class PeriodLockEvent(models.Model):
    """Append-only audit of locking and unlocking a month: who, when and why."""

    class Action(models.TextChoices):
        LOCK = "lock", "Lock"
        UNLOCK = "unlock", "Unlock"

    month = models.DateField()
    action = models.CharField(max_length=10, choices=Action.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The close page: a month's lock history, newest first; and "when was the month
            # before last locked" (post_close_window_start).
            models.Index(fields=["month", "-at"], name="records_lockevent_month_at"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.action} at {self.at:%Y-%m-%d %H:%M}"


class PostCloseAdjustment(models.Model):
    """A change to a record of a locked month, stored as usual and flagged here.

    One row per changed record and locked month concerned: an update moving a line from a
    locked month to another month adjusts the month it left (and the one it entered, when
    that is locked too). ``batch_id`` is the IngestBatch of the write (who, what, how).
    """

    class Outcome(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DELETED = "deleted", "Deleted"

    month = models.DateField()
    entity = models.CharField(max_length=50)
    source = models.ForeignKey(
        "connectors.Connector", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    external_id = models.CharField(max_length=200)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    # The IngestBatch's ``via``: api, webhook, import, sync, admin, reprocess.
    via = models.CharField(max_length=20)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # No FK: the batch is append-only audit too, and the pointer must not cost a check per
    # flagged row (as SourcedRecord.last_batch).
    batch_id = models.BigIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now, db_index=True)
    summary = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [
            # The close page: a month's adjustments, newest first.
            models.Index(fields=["month", "-recorded_at"], name="records_pca_month_recorded"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.entity} {self.external_id} {self.outcome}"
