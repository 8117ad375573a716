"""Spend anomalies (docs/metrics.md, "Spend anomalies"): detect, list and dismiss.

Two kinds of series, in the reporting currency (each amount converted at its own date):

- **campaign spend, daily**: Σ spend per campaign and day (rows whose campaign is still
  pending are left out); the band is fitted on up to two years of days up to yesterday, and
  the last 90 days are reported;
- **GL expense, weekly**: Σ ledger lines per account x department and week (Monday…Sunday)
  for accounts of type expense and cost of sales; up to two years of complete weeks are
  fitted, the last 13 reported.

Detection (:func:`anomalies_detect`, nightly after the metrics) reads each kind with one
grouped query, scores every series with ``metrics.computations.anomalies`` and upserts the
flagged points on (kind, scope key, period): the figures are refreshed and the status kept,
so a dismissed anomaly stays dismissed; an open one that the new run no longer flags is
deleted. Anomalies older than the reported window are left as they are.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone

from finhub.core.money import Converter
from metrics import selectors
from metrics.computations.anomalies import Band, anomalies
from metrics.models import SpendAnomaly
from records import models as m

__all__ = [
    "DAILY_HISTORY_DAYS",
    "DAILY_REPORT_DAYS",
    "WEEKLY_HISTORY_WEEKS",
    "WEEKLY_REPORT_WEEKS",
    "anomalies_detect",
    "anomalies_list",
    "anomaly_dismiss",
    "anomaly_lines_url",
]

Kind = SpendAnomaly.Kind
Status = SpendAnomaly.Status

#: Daily campaign spend: the band is fitted on two years of days, the last 90 are reported.
DAILY_HISTORY_DAYS = 730
DAILY_REPORT_DAYS = 90
#: Weekly GL expense: two years of complete weeks fitted (a yearly seasonal term from
#: 104 weeks on), the last 13 weeks (a quarter) reported.
WEEKLY_HISTORY_WEEKS = 104
WEEKLY_REPORT_WEEKS = 13
EXPENSE_TYPES = (m.Account.Type.EXPENSE, m.Account.Type.COST_OF_SALES)
NO_DEPARTMENT = "(no department)"


class _Series:
    """One series: what the anomaly rows link to, its label and its observations (period
    start -> amount in the reporting currency)."""

    __slots__ = ("account_id", "campaign_id", "department_id", "label", "points")

    def __init__(self, label: str) -> None:
        self.label = label
        self.campaign_id: int | None = None
        self.account_id: int | None = None
        self.department_id: int | None = None
        self.points: dict[dt.date, Decimal] = defaultdict(Decimal)


# --- windows -----------------------------------------------------------------------------------


def daily_window(today: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """(history start, report from, end) of daily spend: complete days up to yesterday."""
    end = today - dt.timedelta(days=1)
    return (
        end - dt.timedelta(days=DAILY_HISTORY_DAYS - 1),
        end - dt.timedelta(days=DAILY_REPORT_DAYS - 1),
        end,
    )


def weekly_window(today: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """(history start, report from, end) of weekly expense: complete weeks (Monday…Sunday)
    up to the last Sunday before ``today``."""
    end = today - dt.timedelta(days=today.weekday() + 1)
    last_monday = end - dt.timedelta(days=6)
    return (
        last_monday - dt.timedelta(weeks=WEEKLY_HISTORY_WEEKS - 1),
        last_monday - dt.timedelta(weeks=WEEKLY_REPORT_WEEKS - 1),
        end,
    )


def week_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


# --- reads -------------------------------------------------------------------------------------


def campaign_spend_series(
    *, start: dt.date, end: dt.date, convert: Converter
) -> dict[str, _Series]:
    """Daily spend per campaign (scope key: the campaign's external id; campaigns of two
    sources sharing one are one series), in the reporting currency. One grouped query."""
    rows = (
        m.CampaignSpend.objects.filter(date__gte=start, date__lte=end, campaign__isnull=False)
        .values("campaign_id", "campaign__external_id", "campaign__name", "currency_id", "date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list(
            "campaign_id", "campaign__external_id", "campaign__name", "currency_id", "date", "total"
        )
    )
    series: dict[str, _Series] = {}
    for campaign_id, external_id, name, currency, day, total in rows.iterator(chunk_size=5000):
        value = convert(total, currency, day)
        if value is None:
            continue
        one = series.get(external_id)
        if one is None:
            one = series[external_id] = _Series(name)
            one.campaign_id = campaign_id
        one.points[day] += value
    return series


def gl_expense_series(*, start: dt.date, end: dt.date, convert: Converter) -> dict[str, _Series]:
    """Weekly expense per account x department (scope key "department code|account code";
    the department's external id when it has no code, empty without a department), in the
    reporting currency. One grouped query (by day and currency, bucketed into weeks here)."""
    fields = (
        "account_id",
        "account__code",
        "account__name",
        "department_id",
        "department__code",
        "department__external_id",
        "department__name",
        "currency_id",
        "posting_date",
    )
    rows = (
        m.GLLine.objects.filter(
            posting_date__gte=start, posting_date__lte=end, account__type__in=EXPENSE_TYPES
        )
        .values(*fields)
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list(*fields, "total")
    )
    series: dict[str, _Series] = {}
    for row in rows.iterator(chunk_size=5000):
        account_id, code, name, department_id, d_code, d_external, d_name, currency, day = row[:9]
        total = row[9]
        value = convert(total, currency, day)
        if value is None:
            continue
        department_key = (d_code or d_external or "") if department_id else ""
        key = f"{department_key}|{code}"
        one = series.get(key)
        if one is None:
            one = series[key] = _Series(f"{d_name or NO_DEPARTMENT} · {code} {name}")
            one.account_id, one.department_id = account_id, department_id
        one.points[week_of(day)] += value
    return series


# --- detection ---------------------------------------------------------------------------------


def _flagged(
    series: dict[str, _Series], *, step_days: int, report_from: dt.date
) -> dict[tuple[str, dt.date], tuple[_Series, Band]]:
    """The anomalous points of every series: (scope key, period start) -> (series, band)."""
    found = {}
    for key, one in series.items():
        bands = anomalies(sorted(one.points.items()), step_days=step_days, report_from=report_from)
        for band in bands:
            found[key, band.start] = (one, band)
    return found


def anomalies_detect(*, today: dt.date | None = None) -> dict:
    """Score every campaign-spend and GL-expense series, store the flagged points and drop
    the open ones no longer flagged. Returns counts (and the amounts left out for want of an
    FX rate)."""
    today = today or timezone.localdate()
    d_start, d_report, d_end = daily_window(today)
    w_start, w_report, w_end = weekly_window(today)
    convert = selectors.converter(start=min(d_start, w_start), end=max(d_end, w_end))
    spend = campaign_spend_series(start=d_start, end=d_end, convert=convert)
    expense = gl_expense_series(start=w_start, end=w_end, convert=convert)
    flagged = {
        Kind.CAMPAIGN_SPEND: _flagged(spend, step_days=1, report_from=d_report),
        Kind.GL_EXPENSE: _flagged(expense, step_days=7, report_from=w_report),
    }
    # period_end - period_start: a day, or a week Monday…Sunday.
    length = {Kind.CAMPAIGN_SPEND: 0, Kind.GL_EXPENSE: 6}
    currency = selectors.reporting_currency()
    now = timezone.now()
    rows = [
        SpendAnomaly(
            kind=kind,
            scope_key=key,
            label=one.label[:500],
            campaign_id=one.campaign_id,
            account_id=one.account_id,
            department_id=one.department_id,
            period_start=band.start,
            period_end=band.start + dt.timedelta(days=length[kind]),
            actual=band.actual,
            expected=band.expected,
            low=band.low,
            high=band.high,
            deviation=band.deviation,
            currency=currency,
            score=band.score,
            detected_at=now,
            updated_at=now,
        )
        for kind, found in flagged.items()
        for (key, _), (one, band) in found.items()
    ]
    in_window = Q(kind=Kind.CAMPAIGN_SPEND, period_start__gte=d_report) | Q(
        kind=Kind.GL_EXPENSE, period_start__gte=w_report
    )
    with transaction.atomic():
        stored = list(
            SpendAnomaly.objects.filter(in_window).values_list(
                "id", "kind", "scope_key", "period_start", "status"
            )
        )
        # The status, dismissal and detected_at are not in update_fields: re-detection
        # refreshes the figures of an anomaly and keeps whether it was dismissed.
        SpendAnomaly.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["kind", "scope_key", "period_start"],
            update_fields=[
                "label",
                "campaign",
                "account",
                "department",
                "period_end",
                "actual",
                "expected",
                "low",
                "high",
                "deviation",
                "currency",
                "score",
                "updated_at",
            ],
        )
        gone = [
            pk
            for pk, kind, key, start, status in stored
            if status == Status.OPEN and (key, start) not in flagged[kind]
        ]
        SpendAnomaly.objects.filter(pk__in=gone).delete()
    known = {(kind, key, start) for _, kind, key, start, _ in stored}
    return {
        "campaign_series": len(spend),
        "gl_series": len(expense),
        "flagged": len(rows),
        "new": sum((row.kind, row.scope_key, row.period_start) not in known for row in rows),
        "removed": len(gone),
        "missing_fx": len(convert.missing),
    }


# --- list, dismiss, link -----------------------------------------------------------------------


def anomalies_list(*, status: str | None = Status.OPEN, kind: str | None = None) -> QuerySet:
    """Anomalies with ``status`` (None: any) and ``kind`` (None: both), newest period first,
    with what :func:`anomaly_lines_url` reads."""
    rows = SpendAnomaly.objects.select_related("account", "dismissed_by")
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-period_start", "kind", "label", "id")


def anomaly_get(*, anomaly_id: str | int) -> SpendAnomaly | None:
    """The anomaly with this id (a form's raw value), or None."""
    text = str(anomaly_id).strip()
    return SpendAnomaly.objects.filter(pk=int(text)).first() if text.isdigit() else None


def anomaly_dismiss(anomaly: SpendAnomaly, *, user, reason: str) -> SpendAnomaly:
    """Dismiss ``anomaly`` for ``reason`` (required): later detections keep it dismissed.
    Dismissing it again records the new reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the anomaly is dismissed."})
    anomaly.status = Status.DISMISSED
    anomaly.dismissed_by = user
    anomaly.dismissed_at = timezone.now()
    anomaly.dismiss_reason = reason
    anomaly.save(update_fields=["status", "dismissed_by", "dismissed_at", "dismiss_reason"])
    return anomaly


def anomaly_lines_url(anomaly: SpendAnomaly) -> str:
    """The rows behind an anomaly: for GL expense the GL-lines drill of its account,
    department and week; for campaign spend the spend rows of its campaign and day in the
    admin. "" when the record behind it is gone."""
    dates = {"from": anomaly.period_start.isoformat(), "to": anomaly.period_end.isoformat()}
    if anomaly.kind == Kind.GL_EXPENSE:
        code = anomaly.account.code if anomaly.account else anomaly.scope_key.partition("|")[2]
        query = {"period": "custom", **dates, "account": code}
        if anomaly.department_id:
            query["department"] = str(anomaly.department_id)
        else:
            query["no_department"] = "1"
        return f"{reverse('dashboards:gl_lines')}?{urlencode(query)}"
    if anomaly.campaign_id is None:
        return ""
    query = {
        "campaign__id__exact": str(anomaly.campaign_id),
        "date__gte": dates["from"],
        "date__lte": dates["to"],
    }
    return f"{reverse('admin:records_campaignspend_changelist')}?{urlencode(query)}"
