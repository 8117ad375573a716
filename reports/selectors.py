"""Reads of the reports app: packs, the archive, schedules and deliveries (set-based)."""

from __future__ import annotations

import datetime as dt

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Prefetch, QuerySet

from reports.models import ArchivedReport, PackItem, PackSchedule, ReportDelivery, ReportPack

ARCHIVE_PAGE_SIZE = 50


def pack_list() -> QuerySet[ReportPack]:
    """Packs with their number of reports."""
    return ReportPack.objects.annotate(report_count=Count("items")).order_by("name")


def pack_get(*, slug: str) -> ReportPack | None:
    """A pack with its items in order."""
    return (
        ReportPack.objects.prefetch_related(
            Prefetch("items", queryset=PackItem.objects.order_by("order", "pk"))
        )
        .filter(slug=slug)
        .first()
    )


def _archive() -> QuerySet[ArchivedReport]:
    return ArchivedReport.objects.select_related("generated_by", "pack", "schedule")


def archive_list(
    *,
    pack: ReportPack | None = None,
    report: str = "",
    trigger: str = "",
) -> QuerySet[ArchivedReport]:
    """Archived files, newest first, optionally of one pack / report / trigger."""
    files = _archive().order_by("-generated_at", "-pk")
    if pack is not None:
        files = files.filter(pack=pack)
    if report:
        files = files.filter(report=report)
    if trigger:
        files = files.filter(trigger=trigger)
    return files


def archive_page(*, files: QuerySet[ArchivedReport], page: str | int | None) -> Page:
    """One page of ``files`` (a bad page number gives the nearest page)."""
    return Paginator(files, ARCHIVE_PAGE_SIZE).get_page(page)


def archive_latest(*, limit: int = 10) -> list[ArchivedReport]:
    return list(archive_list()[:limit])


def archived_get(*, archived_id: int) -> ArchivedReport | None:
    return _archive().filter(pk=archived_id).first()


def schedule_list() -> QuerySet[PackSchedule]:
    """Schedules with their pack, recipients and beat task (four queries for all)."""
    return (
        PackSchedule.objects.select_related("pack", "periodic_task")
        .prefetch_related("recipient_groups", "recipient_users")
        .order_by("name")
    )


def delivery_get(*, delivery_id: int) -> ReportDelivery | None:
    return ReportDelivery.objects.select_related("user").filter(pk=delivery_id).first()


def delivery_is_recipient(*, delivery: ReportDelivery, user) -> bool:
    """``user`` was mailed by ``delivery``: its user, or one of the addresses it went to (a
    group's members at sending time)."""
    if delivery.user_id is not None and delivery.user_id == user.pk:
        return True
    email = (user.email or "").strip().lower()
    return bool(email) and email in {a.lower() for a in delivery.recipient_list}


def delivery_summary() -> tuple[int, dt.datetime | None]:
    """How many pack e-mails were sent, and when the last one was (the rollout evidence)."""
    sent = ReportDelivery.objects.filter(
        status=ReportDelivery.Status.SENT, pack__isnull=False
    ).aggregate(count=Count("pk"), last=Max("sent_at"))
    return sent["count"], sent["last"]
