"""The period picker: month, quarter, year to date or a custom range, read from the URL.

Query parameters (all optional; the page's default applies when ``period`` is absent):

* ``period=month&month=2026-03``
* ``period=quarter&quarter=2026-Q1``
* ``period=ytd&year=2026`` (1 January to today, or to 31 December for a past year)
* ``period=custom&from=2026-01-15&to=2026-02-14`` (inclusive)

A bad value raises :class:`PeriodError` whose message names the parameter and says why;
the dashboard view answers 400 with it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.utils import timezone

MONTH = "month"
QUARTER = "quarter"
YTD = "ytd"
CUSTOM = "custom"
KINDS = {MONTH: "Month", QUARTER: "Quarter", YTD: "Year to date", CUSTOM: "Custom"}
EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2200, 12, 31)
MAX_DAYS = 3660  # as the metrics API: month-by-month metrics grow with the span


class PeriodError(ValueError):
    """An invalid period parameter; the message names the parameter and why."""


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` months, clipped to the last day of the target month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


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
        first = self.start.replace(day=1)
        return [add_months(first, i) for i in range(self.month_span)]

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
        """The URL parameters that select this period."""
        if self.kind == MONTH:
            return {"period": MONTH, "month": f"{self.start:%Y-%m}"}
        if self.kind == QUARTER:
            return {
                "period": QUARTER,
                "quarter": f"{self.start.year}-Q{(self.start.month + 2) // 3}",
            }
        if self.kind == YTD:
            return {"period": YTD, "year": str(self.start.year)}
        return {"period": CUSTOM, "from": self.start.isoformat(), "to": self.end.isoformat()}


def month_period(month: dt.date) -> Period:
    first = month.replace(day=1)
    return Period(MONTH, first, month_end(first))


def quarter_period(year: int, quarter: int) -> Period:
    first = dt.date(year, 3 * (quarter - 1) + 1, 1)
    return Period(QUARTER, first, month_end(add_months(first, 2)))


def ytd_period(year: int, today: dt.date) -> Period:
    end = dt.date(year, 12, 31) if year < today.year else today
    if year > today.year:
        raise PeriodError(f"year: {year} has not started yet (today is {today.isoformat()}).")
    return Period(YTD, dt.date(year, 1, 1), end)


def default_period(kind: str = YTD, today: dt.date | None = None) -> Period:
    """The period a page shows without parameters: year to date, the current month or the
    current quarter (each up to its natural end)."""
    today = today or timezone.localdate()
    if kind == MONTH:
        return month_period(today)
    if kind == QUARTER:
        return quarter_period(today.year, (today.month - 1) // 3 + 1)
    return ytd_period(today.year, today)


def _param(params, name: str) -> str:
    value = params.get(name, "")
    if not value or not str(value).strip():
        raise PeriodError(f"{name}: required when period={params.get('period')}.")
    return str(value).strip()


def _date(params, name: str) -> dt.date:
    value = _param(params, name)
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"{name}: {value!r} is not a date (YYYY-MM-DD).") from None
    if not EARLIEST <= day <= LATEST:
        raise PeriodError(f"{name}: must be between {EARLIEST} and {LATEST}.")
    return day


def _year(value: str, name: str) -> int:
    if not re.fullmatch(r"\d{4}", value):
        raise PeriodError(f"{name}: {value!r} is not a year (YYYY).")
    year = int(value)
    if not EARLIEST.year <= year <= LATEST.year:
        raise PeriodError(f"{name}: must be between {EARLIEST.year} and {LATEST.year}.")
    return year


def period_from_params(params, *, default: str = YTD, today: dt.date | None = None) -> Period:
    """The period selected by the query parameters (``request.GET``), or the default."""
    today = today or timezone.localdate()
    kind = str(params.get("period", "") or "").strip()
    if not kind:
        return default_period(default, today)
    if kind == MONTH:
        value = _param(params, "month")
        match = re.fullmatch(r"(\d{4})-(\d{2})", value)
        if not match or not 1 <= int(match[2]) <= 12:
            raise PeriodError(f"month: {value!r} is not a month (YYYY-MM).")
        return month_period(dt.date(_year(match[1], "month"), int(match[2]), 1))
    if kind == QUARTER:
        value = _param(params, "quarter")
        match = re.fullmatch(r"(\d{4})-Q([1-4])", value.upper())
        if not match:
            raise PeriodError(f"quarter: {value!r} is not a quarter (YYYY-Q1 … YYYY-Q4).")
        return quarter_period(_year(match[1], "quarter"), int(match[2]))
    if kind == YTD:
        value = str(params.get("year", "") or "").strip() or str(today.year)
        return ytd_period(_year(value, "year"), today)
    if kind == CUSTOM:
        start, end = _date(params, "from"), _date(params, "to")
        if end < start:
            raise PeriodError("to: must not be before from.")
        if (end - start).days > MAX_DAYS:
            raise PeriodError(f"to: the period may span at most {MAX_DAYS} days (10 years).")
        return Period(CUSTOM, start, end)
    raise PeriodError(f"period: {kind!r} is not one of {', '.join(KINDS)}.")
