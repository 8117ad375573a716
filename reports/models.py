"""Report packs, their delivery schedules, the archive of generated files and the delivery log.

The report definitions themselves are code (reports/definitions.py); the models keep a
report's key. Report keys are validated against the definitions (``clean``) rather than
stored as database choices, so adding a report never needs a migration.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage, storages
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.text import slugify
from django_celery_beat import validators as cron

#: The file formats a pack schedule can send.
PACK_FORMATS = ("pdf", "xlsx")


def reports_storage() -> Storage:
    """The storage of archived files, settings.STORAGES["reports"]. A callable, so the
    migrations do not record the deployment's backend (Django calls it as models load)."""
    return storages["reports"]


def archive_upload_to(instance: ArchivedReport, filename: str) -> str:
    """``2026/03/<stem>-<random>.<ext>``: a month folder, and a random suffix so no backend
    (S3 overwrites by default) ever replaces an archived file with another."""
    stem, _, ext = filename.rpartition(".")
    at = instance.generated_at or timezone.now()
    return f"{at:%Y/%m}/{slugify(stem)[:80] or 'report'}-{uuid.uuid4().hex[:12]}.{ext}"


def default_link_hours() -> int:
    return settings.FINHUB_REPORT_LINK_HOURS


class ReportPack(models.Model):
    """A named set of reports generated together for one period: one PDF with every report
    and one XLSX workbook with a sheet per report (issue #15, "report pack")."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(
        max_length=120, unique=True, help_text="Its address: /reports/packs/<slug>/."
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PackItem(models.Model):
    """One report of a pack, in order, with its non-period parameter values (the period is
    the pack's)."""

    pack = models.ForeignKey(ReportPack, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField(default=0)
    report = models.CharField(max_length=40, help_text="The report's key (reports/definitions.py).")
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text='The report\'s parameters besides the period, e.g. {"department": "3"}.',
    )

    class Meta:
        ordering = ["pack", "order", "id"]

    def __str__(self) -> str:
        return f"{self.pack}: {self.report}"

    def clean(self) -> None:
        from reports.definitions import REPORTS

        if self.report not in REPORTS:
            raise ValidationError({"report": f"{self.report!r} is not a report."})
        if not isinstance(self.params, dict):
            raise ValidationError({"params": "Give the parameters as a JSON object."})
        allowed = set(REPORTS[self.report].parameters)
        unknown = sorted(set(self.params) - allowed)
        if unknown:
            names = ", ".join(sorted(allowed)) or "none besides the period"
            raise ValidationError(
                {"params": f"{', '.join(unknown)}: not a parameter of this report ({names})."}
            )


class PackSchedule(models.Model):
    """When a pack is generated and mailed, to whom and how. Saving one through
    ``reports.services.pack_schedule_save`` (the admin does) creates or updates the
    django-celery-beat task that runs it; deleting it removes the task."""

    class Formats(models.TextChoices):
        PDF = "pdf", "PDF"
        XLSX = "xlsx", "XLSX"
        BOTH = "pdf+xlsx", "PDF and XLSX"

    class Method(models.TextChoices):
        ATTACHMENT = "attachment", "Files attached"
        LINK = "link", "Signed download links"

    class PeriodChoice(models.TextChoices):
        PREVIOUS_MONTH = "previous_month", "Previous month"
        MONTH_TO_DATE = "month_to_date", "Month to date"
        PREVIOUS_QUARTER = "previous_quarter", "Previous quarter"

    pack = models.ForeignKey(
        # A pack with schedules cannot be deleted: its beat tasks would run for nothing.
        ReportPack,
        on_delete=models.PROTECT,
        related_name="schedules",
    )
    name = models.CharField(max_length=120, unique=True)
    recipient_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="report_schedules"
    )
    recipient_groups = models.ManyToManyField(Group, blank=True, related_name="report_schedules")
    formats = models.CharField(max_length=10, choices=Formats.choices, default=Formats.PDF)
    method = models.CharField(max_length=12, choices=Method.choices, default=Method.ATTACHMENT)
    link_hours = models.PositiveIntegerField(
        default=default_link_hours,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 90)],
        help_text="Links: hours a download link works after the mail is sent.",
    )
    period = models.CharField(
        max_length=20, choices=PeriodChoice.choices, default=PeriodChoice.PREVIOUS_MONTH
    )
    # The crontab the beat task runs on (the scheduler's time zone, settings.TIME_ZONE).
    minute = models.CharField(max_length=60, default="0", validators=[cron.minute_validator])
    hour = models.CharField(max_length=60, default="7", validators=[cron.hour_validator])
    day_of_month = models.CharField(
        max_length=60, default="2", validators=[cron.day_of_month_validator]
    )
    day_of_week = models.CharField(
        max_length=60, default="*", validators=[cron.day_of_week_validator]
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    enabled = models.BooleanField(default=True)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def format_list(self) -> tuple[str, ...]:
        return tuple(self.formats.split("+"))

    @property
    def crontab_text(self) -> str:
        return f"{self.minute} {self.hour} {self.day_of_month} * {self.day_of_week}"


class ArchivedReport(models.Model):
    """One generated file (a report download, a pack's PDF or XLSX, a scheduled or close
    delivery) with who generated it, when, for which parameters, and its SHA-256 checksum.
    Kept for FINHUB_REPORT_RETENTION_DAYS (reports.services.archive_prune)."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"
        PDF = "pdf", "PDF"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "On demand"
        SCHEDULE = "schedule", "Schedule"
        CLOSE = "close", "Month-end close"

    title = models.CharField(max_length=200)
    report = models.CharField(max_length=40, blank=True, help_text="Blank for a pack.")
    pack = models.ForeignKey(
        ReportPack, null=True, blank=True, on_delete=models.SET_NULL, related_name="archived"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    parameters = models.JSONField(default=dict, blank=True)
    format = models.CharField(max_length=4, choices=Format.choices)
    file = models.FileField(storage=reports_storage, upload_to=archive_upload_to, max_length=255)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file, hex.")
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    generated_at = models.DateTimeField(default=timezone.now)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    schedule = models.ForeignKey(
        PackSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="archived"
    )

    class Meta:
        ordering = ["-generated_at", "-id"]
        indexes = [
            # The archive page (newest first) and the retention prune (older than a date).
            models.Index(fields=["-generated_at", "-id"], name="reports_archive_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="reports_archive_period_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.format.upper()})"

    @property
    def filename(self) -> str:
        """The name a download is saved under: the title, period and format."""
        stem = slugify(f"{self.title} {self.period_start:%Y-%m-%d} {self.period_end:%Y-%m-%d}")
        return f"{stem or 'report'}.{self.format}"


class ReportDelivery(models.Model):
    """One email of generated files: to a recipient group (its active members with an email)
    or to one user. A failed send is kept with its error."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    schedule = models.ForeignKey(
        PackSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    pack = models.ForeignKey(
        ReportPack, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    files = models.ManyToManyField(ArchivedReport, blank=True, related_name="deliveries")
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="report_deliveries",
    )
    recipients = models.TextField(blank=True, help_text="The addresses mailed, comma-separated.")
    method = models.CharField(max_length=12, choices=PackSchedule.Method.choices)
    trigger = models.CharField(max_length=10, choices=ArchivedReport.Trigger.choices)
    link_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(default=timezone.now, help_text="When it was sent or tried.")
    status = models.CharField(max_length=6, choices=Status.choices)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name_plural = "report deliveries"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(group__isnull=False, user__isnull=False),
                name="reports_delivery_group_or_user",
            ),
        ]

    def __str__(self) -> str:
        to = self.group or self.user or "?"
        return f"{self.get_status_display()} to {to} at {self.sent_at:%Y-%m-%d %H:%M}"

    @property
    def recipient_list(self) -> list[str]:
        return [a.strip() for a in self.recipients.split(",") if a.strip()]
