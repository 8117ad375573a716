"""Months and reporting periods.

A month is represented by the date of its first day (:func:`month_of`). A :class:`Period` is
an inclusive date range with how it was picked (month, quarter, year to date, custom).
Django-free: "today" is always passed in (callers use ``django.utils.timezone.localdate``),
so the pure computations can use these too.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

MONTH = "month"
QUARTER = "quarter"
YTD = "ytd"
CUSTOM = "custom"
KINDS = {MONTH: "Month", QUARTER: "Quarter", YTD: "Year to date", CUSTOM: "Custom"}


def month_of(day: dt.date) -> dt.date:
    """The month containing ``day``, as the date of its first day."""
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` months (back when negative), clipped to the last day of
    the target month (31 Jan + 1 → 28/29 Feb); the 1st of a month stays the 1st."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def month_end(day: dt.date) -> dt.date:
    """The last day of the month containing ``day``."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_between(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """The months from the one of ``first`` to the one of ``last``, inclusive."""
    month = month_of(first)
    while month <= month_of(last):
        yield month
        month = add_months(month, 1)


def budget_share(month: dt.date, start: dt.date, end: dt.date) -> Decimal:
    """The share of ``month``'s budget that a period ``start``…``end`` takes: the days of
    the month inside the period / the days of the month (docs/metrics.md, "Budgets and
    periods"). The one rule every budget consumer uses, so a period ending part-way through
    a month (a year to date ending today) compares its actuals with the budget of the same
    days, never with the whole month's budget."""
    first, last = month_of(month), month_end(month)
    days = (min(end, last) - max(start, first)).days + 1
    if days <= 0:
        return Decimal(0)
    return Decimal(days) / Decimal(last.day)


def last_closed_month(today: dt.date) -> dt.date:
    """The last month that has ended before ``today`` (docs/metrics.md, "Full-year
    outturn"): the full-year outturn counts every month up to it as closed, whichever
    period is viewed."""
    return add_months(month_of(today), -1)


@dataclass(frozen=True)
class Period:
    """An inclusive date range with how it was picked (for the picker and the labels)."""

    kind: str
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return self.start.strftime("%B %Y")
        if self.kind == QUARTER:
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        if self.kind == YTD:
            return f"{self.start.year} year to date (to {self.end:%-d %b})"
        return f"{self.start:%-d %b %Y} \u2013 {self.end:%-d %b %Y}"

    @property
    def quarter_text(self) -> str:
        """The quarter of ``start`` as the picker writes it (``2026-Q1``)."""
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    @property
    def month_span(self) -> int:
        """Calendar months the period touches."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def months(self) -> list[dt.date]:
        """First day of every month the period touches, in order."""
        return list(months_between(self.start, self.end))

    def shifted(self, months: int) -> Period:
        """The same shape ``months`` months later (earlier when negative). A period ending on
        a month end keeps ending on a month end (Feb 29 → Feb 28)."""
        end = add_months(self.end, months)
        if self.end == month_end(self.end):
            end = month_end(end)
        kind = self.kind if self.kind in (MONTH, QUARTER) else CUSTOM
        if self.kind == YTD and months % 12 == 0:
            kind = YTD
        return Period(kind, add_months(self.start, months), end)

    def prior(self) -> Period:
        """The period just before: the previous month or quarter; for a year to date or a
        custom range starting on the 1st, the same number of months earlier; otherwise the
        same number of days just before ``start``."""
        if self.start.day == 1:
            return self.shifted(-self.month_span)
        days = (self.end - self.start).days + 1
        return Period(
            CUSTOM,
            self.start - dt.timedelta(days=days),
            self.start - dt.timedelta(days=1),
        )

    def last_year(self) -> Period:
        """The same period one year earlier."""
        return self.shifted(-12)

    def query(self) -> dict[str, str]:
        """The URL parameters that select this period (read back by
        ``dashboards.period.period_from_params``)."""
        if self.kind == MONTH:
            return {"period": MONTH, "month": f"{self.start:%Y-%m}"}
        if self.kind == QUARTER:
            return {"period": QUARTER, "quarter": self.quarter_text}
        if self.kind == YTD:
            return {"period": YTD, "year": str(self.start.year)}
        return {"period": CUSTOM, "from": self.start.isoformat(), "to": self.end.isoformat()}


def month_period(day: dt.date) -> Period:
    """The calendar month containing ``day``."""
    first = month_of(day)
    return Period(MONTH, first, month_end(first))


def quarter_period(year: int, quarter: int) -> Period:
    first = dt.date(year, 3 * (quarter - 1) + 1, 1)
    return Period(QUARTER, first, month_end(add_months(first, 2)))


def ytd_period(year: int, today: dt.date) -> Period:
    """1 January of ``year`` to today, or to 31 December for a past year."""
    end = dt.date(year, 12, 31) if year < today.year else today
    return Period(YTD, dt.date(year, 1, 1), end)


def months_ending(day: dt.date, count: int = 12) -> list[Period]:
    """The ``count`` calendar months ending with the one containing ``day``, oldest first."""
    last = month_period(day)
    return [last.shifted(-i) for i in range(count - 1, -1, -1)]


# The two default periods: what the metrics engine recomputes (and the metrics API answers
# without dates), and what a dashboard page opens on.


def twelve_months_to_date(today: dt.date) -> tuple[dt.date, dt.date]:
    """The metrics engine's default period: the 12 full months before ``today``'s month plus
    that month up to ``today``."""
    return add_months(month_of(today), -12), today


def opening_period(kind: str, today: dt.date) -> Period:
    """The period a dashboard page shows without parameters: year to date, the current month
    or the current quarter (each up to its natural end)."""
    if kind == MONTH:
        return month_period(today)
    if kind == QUARTER:
        return quarter_period(today.year, (today.month - 1) // 3 + 1)
    return ytd_period(today.year, today)
