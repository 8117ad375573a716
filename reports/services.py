"""Writes of the reports app: generate and archive report files and packs, mail packs, run
and keep the schedules' beat tasks in step, prune the archive.

Every generated file goes through :func:`archive_store` (the file on the "reports" storage,
its row with who, when, parameters, size and SHA-256), so the archive holds everything that
ever left FinHub as a report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from finhub.core.calendar import Period
from reports import delivery
from reports.building import (
    BuiltReport,
    ReportParamError,
    ReportParams,
    period_as_dict,
    report_build,
    report_params_for,
)
from reports.models import (
    ArchivedReport,
    PackSchedule,
    ReportDelivery,
    ReportPack,
)
from reports.rendering import FORMATS, render

logger = logging.getLogger(__name__)

SCHEDULE_TASK = "reports.tasks.pack_schedule_run"
#: A beat message older than this is dropped rather than run late (a stale pack mail).
SCHEDULE_EXPIRE_SECONDS = 3600
#: A schedule run that started less than this ago makes another one a duplicate (a task
#: redelivered after a lost worker); schedules therefore run at most every 10 minutes.
SCHEDULE_CLAIM_SECONDS = 600
PRUNE_BATCH = 500


class ReportDeliveryError(Exception):
    """Nothing could be delivered: no recipient has an address, or every send failed (the
    failed sends are kept as ReportDelivery rows with their error)."""


_TRIGGER_LABELS = {"schedule": "FinHub (scheduled)", "close": "FinHub (month-end close)"}


def _user_label(user, trigger: str = "schedule") -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return _TRIGGER_LABELS.get(trigger, "FinHub")
    return user.get_full_name() or user.get_username()


def _actor(user):
    """The user to record as the generator (None for a scheduled run or an anonymous one)."""
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# --- Archive ---------------------------------------------------------------------------


def archive_store(
    *,
    content: bytes,
    fmt: str,
    title: str,
    period: Period,
    parameters: dict,
    user=None,
    report: str = "",
    pack: ReportPack | None = None,
    trigger: str = ArchivedReport.Trigger.MANUAL,
    schedule: PackSchedule | None = None,
    generated_at: dt.datetime | None = None,
) -> ArchivedReport:
    """Store ``content`` on the reports storage and record it in the archive."""
    archived = ArchivedReport(
        title=title[:200],
        report=report,
        pack=pack,
        period_start=period.start,
        period_end=period.end,
        parameters=parameters,
        format=fmt,
        size=len(content),
        checksum=hashlib.sha256(content).hexdigest(),
        generated_by=_actor(user),
        generated_at=generated_at or timezone.now(),
        trigger=trigger,
        schedule=schedule,
    )
    archived.file.save(f"{title}.{fmt}", ContentFile(content), save=False)
    try:
        archived.save()
    except Exception:
        # No row, no file: never leave an archived file nobody can find or prune.
        archived.file.storage.delete(archived.file.name)
        raise
    return archived


def archive_read(*, archived: ArchivedReport) -> bytes:
    with archived.file.open("rb") as handle:
        return handle.read()


def archive_prune(*, now: dt.datetime | None = None) -> int:
    """Delete the archived files and rows (and the delivery log) older than
    FINHUB_REPORT_RETENTION_DAYS; returns how many archived files went."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.FINHUB_REPORT_RETENTION_DAYS)
    storage = ArchivedReport._meta.get_field("file").storage
    removed = 0
    while True:
        batch = list(
            ArchivedReport.objects.filter(generated_at__lt=cutoff)
            .order_by("generated_at", "pk")
            .values_list("pk", "file")[:PRUNE_BATCH]
        )
        if not batch:
            break
        ArchivedReport.objects.filter(pk__in=[pk for pk, _ in batch]).delete()
        # Files after their rows: a failure leaves a stray file, never a row without its file.
        for _, name in batch:
            if name:
                storage.delete(name)
        removed += len(batch)
    ReportDelivery.objects.filter(sent_at__lt=cutoff).delete()
    if removed:
        logger.info("archive pruned: %d file(s) generated before %s", removed, cutoff.isoformat())
    return removed


# --- Generating ------------------------------------------------------------------------


def _check_format(fmt: str, allowed: Sequence[str] = FORMATS) -> None:
    if fmt not in allowed:
        raise ValidationError({"format": f"{fmt!r} is not one of {', '.join(allowed)}."})


def report_generate(
    *,
    key: str,
    params: ReportParams,
    fmt: str,
    user,
    trigger: str = ArchivedReport.Trigger.MANUAL,
) -> ArchivedReport:
    """Build report ``key`` for ``params``, render it as ``fmt`` and archive the file."""
    _check_format(fmt)
    built = report_build(key=key, params=params, user=user)
    generated_at = timezone.now()
    content = render(
        [built],
        fmt=fmt,
        title=built.title,
        generated_by=_user_label(user),
        generated_at=generated_at,
    )
    return archive_store(
        content=content,
        fmt=fmt,
        title=f"{built.title} — {params.period.label}",
        report=key,
        period=params.period,
        parameters=params.as_dict(),
        user=user,
        trigger=trigger,
        generated_at=generated_at,
    )


def pack_build(*, pack: ReportPack, period: Period, user=None) -> list[BuiltReport]:
    """Every report of the pack for ``period``, in the pack's order (its items' parameters
    validated again: a record they name may have gone since)."""
    items = list(pack.items.order_by("order", "pk"))
    if not items:
        raise ValidationError({"pack": f"The pack {pack.name!r} has no reports."})
    return [
        report_build(
            key=item.report,
            params=report_params_for(key=item.report, period=period, values=item.params or {}),
            user=user,
        )
        for item in items
    ]


def pack_generate(
    *,
    pack: ReportPack,
    period: Period,
    formats: Sequence[str] = ("pdf", "xlsx"),
    user=None,
    trigger: str = ArchivedReport.Trigger.MANUAL,
    schedule: PackSchedule | None = None,
) -> list[ArchivedReport]:
    """One archived file per format holding every report of the pack for ``period`` (the
    PDF: all reports with a contents page; the XLSX: one sheet per report)."""
    if not formats:
        raise ValidationError({"formats": "Choose at least one format."})
    for fmt in formats:
        _check_format(fmt)
    built = pack_build(pack=pack, period=period, user=user)
    generated_at = timezone.now()
    title = f"{pack.name} — {period.label}"
    parameters = {
        "period": period_as_dict(period),
        "reports": [{"report": b.key, "values": dict(b.params.values)} for b in built],
    }
    return [
        archive_store(
            content=render(
                built,
                fmt=fmt,
                title=title,
                generated_by=_user_label(user, trigger),
                generated_at=generated_at,
            ),
            fmt=fmt,
            title=title,
            pack=pack,
            period=period,
            parameters=parameters,
            user=user,
            trigger=trigger,
            schedule=schedule,
            generated_at=generated_at,
        )
        for fmt in dict.fromkeys(formats)
    ]


# --- Delivering ------------------------------------------------------------------------


def pack_deliver(
    *,
    pack: ReportPack,
    period: Period,
    users=(),
    groups=(),
    formats: Sequence[str] = ("pdf",),
    method: str = PackSchedule.Method.ATTACHMENT,
    link_hours: int | None = None,
    trigger: str = ArchivedReport.Trigger.CLOSE,
    user=None,
    schedule: PackSchedule | None = None,
) -> list[ReportDelivery]:
    """Generate and archive the pack's files, then send ONE email per recipient group (to
    its active members with an email) and one per recipient user, each recorded as a
    ReportDelivery (a failed send too, with its error).

    Raises ReportDeliveryError when nothing could be delivered: no recipient has an address
    (then nothing is generated either) or every send failed. Each delivery is committed as
    it is sent, so a later failure never hides an email that went out.
    """
    if method not in PackSchedule.Method.values:
        raise ValidationError({"method": f"{method!r} is not one of attachment, link."})
    hours = settings.FINHUB_REPORT_LINK_HOURS if link_hours is None else int(link_hours)
    if hours < 1:
        raise ValidationError({"link_hours": "A link must work for at least 1 hour."})
    recipients = delivery.recipients_resolve(users=users, groups=groups)
    if not any(r.addresses for r in recipients):
        who = ", ".join(r.label for r in recipients) or "nobody"
        raise ReportDeliveryError(
            f"No recipient has an email address ({who}): nothing was generated or sent."
        )
    files = pack_generate(
        pack=pack, period=period, formats=formats, user=user, trigger=trigger, schedule=schedule
    )
    subject = delivery.message_subject(pack=pack, period=period)
    attachments = []
    if method == PackSchedule.Method.ATTACHMENT:
        attachments = [
            (f.filename, archive_read(archived=f), delivery.attachment_type(f.format))
            for f in files
        ]
    deliveries = []
    for recipient in recipients:
        deliveries.append(
            _deliver_one(
                recipient=recipient,
                pack=pack,
                period=period,
                files=files,
                subject=subject,
                attachments=attachments,
                method=method,
                hours=hours,
                trigger=trigger,
                schedule=schedule,
            )
        )
    if not any(d.status == ReportDelivery.Status.SENT for d in deliveries):
        errors = "; ".join(f"{d.error}" for d in deliveries)
        raise ReportDeliveryError(f"No email was sent: {errors}"[:1000])
    return deliveries


def _deliver_one(
    *,
    recipient: delivery.Recipient,
    pack: ReportPack,
    period: Period,
    files: list[ArchivedReport],
    subject: str,
    attachments: list[tuple[str, bytes, str]],
    method: str,
    hours: int,
    trigger: str,
    schedule: PackSchedule | None,
) -> ReportDelivery:
    now = timezone.now()
    is_link = method == PackSchedule.Method.LINK
    # Recorded before sending (the links sign its id); a crash mid-send leaves it failed.
    record = ReportDelivery.objects.create(
        schedule=schedule,
        pack=pack,
        group=recipient.group,
        user=recipient.user,
        recipients=", ".join(recipient.addresses),
        method=method,
        trigger=trigger,
        link_expires_at=now + dt.timedelta(hours=hours) if is_link else None,
        sent_at=now,
        status=ReportDelivery.Status.FAILED,
        error="Not sent: interrupted before the email went out.",
    )
    record.files.set(files)
    if not recipient.addresses:
        record.error = f"Not sent: {recipient.label} has no active member with an email address."
        record.save(update_fields=["error"])
        return record
    links = None
    if is_link:
        links = {
            f.pk: delivery.link_url(delivery=record, archived=f, hours=hours, at=now) for f in files
        }
    body = delivery.message_body(
        pack=pack, period=period, files=files, links=links, link_expires_at=record.link_expires_at
    )
    try:
        delivery.message_send(
            subject=subject,
            body=body,
            to=recipient.addresses,
            attachments=attachments,
        )
    except delivery.DeliveryFailed as exc:
        record.error = f"Not sent to {recipient.label}: {exc}"
        record.save(update_fields=["error"])
        logger.warning("report pack %s not delivered to %s: %s", pack, recipient.label, exc)
        return record
    record.status, record.error = ReportDelivery.Status.SENT, ""
    record.save(update_fields=["status", "error"])
    return record


# --- Schedules -------------------------------------------------------------------------


def _task_name(schedule: PackSchedule) -> str:
    return f"reports: {schedule.name} (pack schedule {schedule.pk})"[:200]


@transaction.atomic
def pack_schedule_save(*, schedule: PackSchedule) -> PackSchedule:
    """Save the schedule and create or update the beat task that runs it (crontab in the
    scheduler's time zone; disabled with the schedule)."""
    schedule.full_clean(exclude=["pack", "recipient_users", "recipient_groups"])
    schedule.save()
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=schedule.minute,
        hour=schedule.hour,
        day_of_month=schedule.day_of_month,
        month_of_year="*",
        day_of_week=schedule.day_of_week,
        timezone=settings.CELERY_TIMEZONE,
    )
    task = schedule.periodic_task or PeriodicTask()
    task.name = _task_name(schedule)
    task.task = SCHEDULE_TASK
    task.kwargs = json.dumps({"schedule_id": schedule.pk})
    task.crontab = crontab
    task.interval = None
    task.enabled = schedule.enabled
    task.expire_seconds = SCHEDULE_EXPIRE_SECONDS
    task.description = f"Generates and mails the report pack {schedule.pack} ({schedule.name})."
    task.save()
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        schedule.save(update_fields=["periodic_task"])
    return schedule


@transaction.atomic
def pack_schedule_delete(*, schedule: PackSchedule) -> None:
    """Delete the schedule and its beat task."""
    task_id = schedule.periodic_task_id
    schedule.delete()
    if task_id:
        PeriodicTask.objects.filter(pk=task_id).delete()


def pack_schedule_run(*, schedule_id: int, now: dt.datetime | None = None) -> str:
    """Run one schedule: the pack for the schedule's period, mailed to its recipients.
    Returns what happened (for the task's log). A run within SCHEDULE_CLAIM_SECONDS of the
    previous one is a duplicate and does nothing."""
    now = now or timezone.now()
    claimed = (
        PackSchedule.objects.filter(pk=schedule_id, enabled=True)
        .exclude(last_run_at__gt=now - dt.timedelta(seconds=SCHEDULE_CLAIM_SECONDS))
        .update(last_run_at=now)
    )
    if not claimed:
        return "skipped: no such enabled schedule, or it ran moments ago"
    schedule = (
        PackSchedule.objects.select_related("pack")
        .prefetch_related("recipient_groups", "recipient_users")
        .get(pk=schedule_id)
    )
    period = delivery.schedule_period(schedule.period, timezone.localdate(now))
    try:
        deliveries = pack_deliver(
            pack=schedule.pack,
            period=period,
            users=list(schedule.recipient_users.all()),
            groups=list(schedule.recipient_groups.all()),
            formats=schedule.format_list,
            method=schedule.method,
            link_hours=schedule.link_hours,
            trigger=ArchivedReport.Trigger.SCHEDULE,
            schedule=schedule,
        )
    except (ReportDeliveryError, ReportParamError, ValidationError) as exc:
        # Expected failures (nobody to mail, a pack item naming a record that has gone):
        # kept on the schedule for the admin to see; retrying would fail the same way.
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        PackSchedule.objects.filter(pk=schedule.pk).update(last_error=message[:2000])
        return f"failed: {message}"
    except Exception as exc:
        # A bug or an outage: keep its type on the schedule, and let the task log it.
        PackSchedule.objects.filter(pk=schedule.pk).update(
            last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    failed = [d for d in deliveries if d.status == ReportDelivery.Status.FAILED]
    PackSchedule.objects.filter(pk=schedule.pk).update(
        last_error="; ".join(d.error for d in failed)[:2000]
    )
    return f"sent {len(deliveries) - len(failed)} of {len(deliveries)} email(s)"
