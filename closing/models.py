"""The month-end close: templates (a checklist of tasks with owners, due working days and
dependencies), and one close per month made from a template, whose tasks move from waiting
to done (manual ones ticked by a person, automated ones run by Celery)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils import timezone

from closing import computations


class Kind(models.TextChoices):
    MANUAL = "manual", "Manual (ticked by a person)"
    AUTOMATED = "automated", "Automated (run by FinHub)"


class Action(models.TextChoices):
    """What an automated task does (closing/actions.py)."""

    SYNC_SOURCES = "sync_sources", "Sync every source"
    CHECK_FRESHNESS = "check_freshness", "Check data freshness"
    RECONCILE = "reconcile", "Reconcile with the sources"
    RECOMPUTE = "recompute", "Recompute metrics and forecasts"
    DELIVER_PACK = "deliver_pack", "Build and deliver the report pack"
    LOCK_PERIOD = "lock_period", "Lock the period"


# A manual task has no action; an automated one has exactly one.
_KIND_MATCHES_ACTION = Q(kind=Kind.MANUAL, action="") | (Q(kind=Kind.AUTOMATED) & ~Q(action=""))


class CloseTemplate(models.Model):
    """A reusable close checklist: its tasks, the report pack the close delivers and to
    whom. The default template is the one the monthly schedule and ``close_open`` use."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    pack = models.ForeignKey(
        "reports.ReportPack",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The pack the 'Build and deliver the report pack' task sends.",
    )
    recipient_groups = models.ManyToManyField(Group, blank=True, related_name="+")
    recipient_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            # At most one default: the schedule must know which template to open.
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="closing_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CloseTemplateTask(models.Model):
    """One task of a template: copied into every close made from it."""

    template = models.ForeignKey(CloseTemplate, on_delete=models.CASCADE, related_name="tasks")
    key = models.SlugField(max_length=50)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    action = models.CharField(max_length=20, choices=Action.choices, blank=True)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    owner_group = models.ForeignKey(
        Group, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_working_day = models.PositiveSmallIntegerField(
        default=1,
        help_text="Working days (Mon-Fri) after the period's last day; 0 = the last day itself.",
    )
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="dependants"
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["template", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="closing_template_task_key"),
            models.CheckConstraint(
                condition=_KIND_MATCHES_ACTION, name="closing_template_task_kind_action"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template}: {self.name}"


class Close(models.Model):
    """The close of one month: its tasks (copied from a template), when the report pack was
    delivered (the reporting-time measurement) and when the period was locked."""

    class Status(models.TextChoices):
        OPEN = "open", "In progress"
        BLOCKED = "blocked", "Blocked by a failed task"
        DONE = "done", "Done"

    month = models.DateField(unique=True, help_text="The first day of the month closed.")
    template = models.ForeignKey(CloseTemplate, on_delete=models.PROTECT, related_name="closes")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    pack_delivered_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(condition=Q(month__day=1), name="closing_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"Close {self.month:%B %Y}"


class CloseTask(models.Model):
    """One task of a close: who owns it, when it is due, what it waits for, and how it went
    (started/finished, who ticked it, the detail and result of an automated run)."""

    class Status(models.TextChoices):
        WAITING = computations.WAITING, "Waiting"
        READY = computations.READY, "Ready"
        QUEUED = computations.QUEUED, "Queued"
        RUNNING = computations.RUNNING, "Running"
        DONE = computations.DONE, "Done"
        FAILED = computations.FAILED, "Failed"

    close = models.ForeignKey(Close, on_delete=models.CASCADE, related_name="tasks")
    key = models.SlugField(max_length=50)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    action = models.CharField(max_length=20, choices=Action.choices, blank=True)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    owner_group = models.ForeignKey(
        Group, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_working_day = models.PositiveSmallIntegerField(default=1)
    due_date = models.DateField()
    order = models.PositiveSmallIntegerField(default=0)
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="dependants"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    detail = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["close", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["close", "key"], name="closing_task_key"),
            models.CheckConstraint(condition=_KIND_MATCHES_ACTION, name="closing_task_kind_action"),
        ]

    def __str__(self) -> str:
        return f"{self.close}: {self.name}"
