"""Ledger pre-aggregates: Σ GL amount per department and account id, per month and per day,
in the reporting currency, so budget vs actual of any period reads a few thousand rows
instead of the ledger lines of its whole years.

Each month is built from its GL lines (``selectors.ledger_totals_by_ids``: Σ per department,
account, currency and day) converted at each day's rate, exactly as a report converts them:
the sums are exact decimals, and an amount with no rate on its day is kept in its own
currency on its day, so a report still lists it as missing. A month is used only while it
is built in the current reporting currency and no :class:`LedgerDirtyMonth` names it: every
write of GL lines or FX rates marks its months (``records.signals.records_changed``, in the
write's transaction), and a month marked since its build is read from the GL lines again
until :func:`ledger_aggregates_refresh` rebuilds it (the after-sync and nightly recompute
call it first). Writes that bypass the ingestion path mark nothing; the nightly run
rebuilds every month.

Rows read here have the shape of ``selectors.ledger_totals_by_ids``: ``(department id,
account id, currency, day, total)``. :func:`ledger_month_rows` gives one row per month (day =
the month's first day) where a report needs no finer grain; :func:`ledger_day_rows` the days
of a month a period covers in part.
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
import time
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from functools import reduce

from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q
from django.utils import timezone

from finhub.core.calendar import month_end, month_of, months_between
from metrics import selectors
from metrics.models import LedgerDayTotal, LedgerDirtyMonth, LedgerMonthBuild, LedgerMonthTotal
from records import models as m

logger = logging.getLogger(__name__)

#: The tables whose writes change the pre-aggregates.
SOURCES = (m.GLLine, m.FxRate)
Row = tuple[int | None, int | None, str, dt.date, Decimal]


def dirty_record(*, model: type, months: Iterable[dt.date] | None) -> None:
    """Mark the months a write of GL lines or FX rates changed (None: every month), in the
    write's transaction; other tables do not feed the pre-aggregates."""
    if model not in SOURCES:
        return
    chosen = [None] if months is None else sorted({month_of(month) for month in months})
    LedgerDirtyMonth.objects.bulk_create([LedgerDirtyMonth(month=month) for month in chosen])


def valid_months() -> set[dt.date]:
    """The months whose pre-aggregates can be read: built in the reporting currency and not
    marked dirty since (no mark of the month, none of every month). One small query."""
    dirty = LedgerDirtyMonth.objects.filter(Q(month=OuterRef("month")) | Q(month__isnull=True))
    return set(
        LedgerMonthBuild.objects.filter(reporting_currency=selectors.reporting_currency())
        .exclude(Exists(dirty))
        .values_list("month", flat=True)
    )


def _gl_rows(months: Iterable[dt.date]) -> list[Row]:
    """The GL lines' rows by day of ``months``, one query per run of consecutive months."""
    rows: list[Row] = []
    ordered = sorted(months)
    while ordered:
        first = last = ordered.pop(0)
        while ordered and ordered[0] == month_of(month_end(last) + dt.timedelta(days=1)):
            last = ordered.pop(0)
        rows += selectors.ledger_totals_by_ids(start=first, end=month_end(last))
    return rows


def ledger_month_rows(months: Iterable[dt.date], valid: set[dt.date]) -> list[Row]:
    """Rows of ``months``: a built month as one row per department, account and currency
    (dated its first day; amounts without a rate on their own day), any other month by day
    from the GL lines."""
    months = set(months)
    built = months & valid
    rows: list[Row] = []
    if built:
        for month, day, department, account, currency, total in LedgerMonthTotal.objects.filter(
            month__in=built
        ).values_list("month", "day", "department_id", "account_id", "currency", "total"):
            rows.append((department, account, currency, day or month, Decimal(total)))
    return rows + _gl_rows(months - built)


def ledger_day_rows(months: Iterable[dt.date], valid: set[dt.date]) -> list[Row]:
    """Rows of ``months`` by day: from the day pre-aggregates of a built month, else from
    the GL lines."""
    months = set(months)
    built = sorted(months & valid)
    rows: list[Row] = []
    if built:
        days = LedgerDayTotal.objects.filter(
            day__gte=built[0], day__lte=month_end(built[-1])
        ).values_list("department_id", "account_id", "currency", "day", "total")
        chosen = set(built)
        for department, account, currency, day, total in days:
            if month_of(day) in chosen:
                rows.append((department, account, currency, day, Decimal(total)))
    return rows + _gl_rows(months - set(built))


def partial_months(start: dt.date, end: dt.date) -> set[dt.date]:
    """The months (first days) the period ``start``…``end`` covers in part: those a report
    must read by day; every other month is wholly inside or outside it."""
    partial = {month_of(start)} if start != month_of(start) else set()
    if end != month_end(end):
        partial.add(month_of(end))
    return partial


def cost_rows(*, start: dt.date, end: dt.date, lines: Q) -> list[tuple] | None:
    """``(currency, day, total)`` of the GL lines ``lines`` selects (a condition on
    ``department_id`` / ``account_id``) from ``start`` to ``end``, sorted by currency and
    day, read from the pre-aggregates: a month the period covers in full as the reporting
    currency's row dated its first day, the days of a month it covers in part, and amounts
    without a rate on their own day. For callers that sum by month or over the period. None
    unless every month is valid (the caller reads the GL lines)."""
    months = set(months_between(start, end))
    if not months <= valid_months():
        return None
    partial = partial_months(start, end)
    totals: dict[tuple[str, dt.date], Decimal] = defaultdict(Decimal)
    whole = LedgerMonthTotal.objects.filter(lines, month__in=months - partial)
    for month, day, currency, total in whole.values_list("month", "day", "currency", "total"):
        totals[currency, day or month] += Decimal(total)
    if partial:
        days = LedgerDayTotal.objects.filter(lines, day__gte=start, day__lte=end).filter(
            reduce(operator.or_, (Q(day__gte=m, day__lte=month_end(m)) for m in partial))
        )
        for day, currency, total in days.values_list("day", "currency", "total"):
            totals[currency, day] += Decimal(total)
    return [(currency, day, totals[currency, day]) for currency, day in sorted(totals)]


# --- building ------------------------------------------------------------------------------


def month_build(month: dt.date) -> int:
    """Replace the pre-aggregates of ``month`` from its GL lines (one transaction); returns
    the GL rows (department x account x currency x day) read."""
    first, last = month_of(month), month_end(month)
    reporting = selectors.reporting_currency()
    rows = selectors.ledger_totals_by_ids(start=first, end=last)
    convert = selectors.converter(start=first, end=last)
    days: dict[tuple, Decimal] = defaultdict(Decimal)
    months: dict[tuple, Decimal] = defaultdict(Decimal)
    unconverted: list[tuple] = []
    for department, account, currency, day, total in rows:
        value = convert(total, currency, day)
        if value is None:
            unconverted.append((department, account, currency, day, total))
            continue
        days[department, account, day] += value
        months[department, account] += value
    # Converted sums in the reporting currency; amounts without a rate on their own day.
    day_rows = [(d, a, reporting, day, total) for (d, a, day), total in days.items()]
    month_rows = [(d, a, reporting, None, total) for (d, a), total in months.items()]
    with transaction.atomic():
        LedgerDayTotal.objects.filter(day__gte=first, day__lte=last).delete()
        LedgerMonthTotal.objects.filter(month=first).delete()
        LedgerDayTotal.objects.bulk_create(
            [
                LedgerDayTotal(day=day, **_fields(department, account, currency, total))
                for department, account, currency, day, total in day_rows + unconverted
            ],
            batch_size=2000,
        )
        LedgerMonthTotal.objects.bulk_create(
            [
                LedgerMonthTotal(
                    month=first, day=day, **_fields(department, account, currency, total)
                )
                for department, account, currency, day, total in month_rows + unconverted
            ],
            batch_size=2000,
        )
        LedgerMonthBuild.objects.update_or_create(
            month=first,
            defaults={"reporting_currency": reporting, "built_at": timezone.now()},
        )
    return len(rows)


def _fields(department: int | None, account: int | None, currency: str, total: Decimal) -> dict:
    return {
        "department_id": department,
        "account_id": account,
        "currency": currency,
        "total": str(total),
    }


def ledger_aggregates_refresh(*, full: bool = False) -> dict:
    """Rebuild the months marked dirty (every month with ``full``, or when a mark names every
    month) and the months of the ledger's calendar years not built yet in the reporting
    currency; then delete exactly the marks read before building (a write committed since
    stays marked)."""
    started = time.perf_counter()
    claimed = list(LedgerDirtyMonth.objects.values_list("pk", "month"))
    bounds = m.GLLine.objects.aggregate(first=Min("posting_date"), last=Max("posting_date"))
    # Every month of the ledger's calendar years: a report reads whole years (the outturn).
    ledger = (
        set(
            months_between(dt.date(bounds["first"].year, 1, 1), dt.date(bounds["last"].year, 12, 1))
        )
        if bounds["first"] is not None
        else set()
    )
    built = dict(LedgerMonthBuild.objects.values_list("month", "reporting_currency"))
    reporting = selectors.reporting_currency()
    marked = {month for _pk, month in claimed}
    if full or None in marked:
        targets = ledger | set(built)
    else:
        targets = {month for month in marked if month is not None}
        targets |= {month for month in ledger if built.get(month) != reporting}
    lines = sum(month_build(month) for month in sorted(targets))
    ids = [pk for pk, _month in claimed]
    for start in range(0, len(ids), 5000):
        LedgerDirtyMonth.objects.filter(pk__in=ids[start : start + 5000]).delete()
    summary = {
        "months": len(targets),
        "rows": lines,
        "seconds": round(time.perf_counter() - started, 2),
    }
    logger.info("ledger pre-aggregates refreshed: %s", summary)
    return summary
