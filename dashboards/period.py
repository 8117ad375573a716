"""The period picker's URL: month, quarter, year to date or a custom range.

Query parameters (all optional; the page's opening period applies when ``period`` is absent):

* ``period=month&month=2026-03``
* ``period=quarter&quarter=2026-Q1``
* ``period=ytd&year=2026`` (1 January to today, or to 31 December for a past year; without
  ``year`` the current year, an empty ``year=`` is an error)
* ``period=custom&from=2026-01-15&to=2026-02-14`` (inclusive)

A bad value raises :class:`PeriodError` whose message names the parameter and says why;
the dashboard view answers 400 with it. The periods themselves are
``finhub.core.calendar.Period`` (``Period.query()`` writes these parameters back).
"""

from __future__ import annotations

import datetime as dt
import re

from finhub.core.calendar import (
    CUSTOM,
    KINDS,
    MONTH,
    QUARTER,
    YTD,
    Period,
    month_period,
    opening_period,
    quarter_period,
    ytd_period,
)
from metrics.params import MAX_PERIOD_DAYS

EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2200, 12, 31)


class PeriodError(ValueError):
    """An invalid period parameter; the message names the parameter and why."""


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


def period_from_params(params, *, default: str, today: dt.date) -> Period:
    """The period selected by the query parameters (``request.GET``), or the page's
    opening period of kind ``default``."""
    kind = str(params.get("period", "") or "").strip()
    if not kind:
        return opening_period(default, today)
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
        # Absent: the current year. Present but empty (a cleared field) is an error, never a
        # silent jump to the current year.
        year = _year(_param(params, "year") if "year" in params else str(today.year), "year")
        if year > today.year:
            raise PeriodError(f"year: {year} has not started yet (today is {today.isoformat()}).")
        return ytd_period(year, today)
    if kind == CUSTOM:
        start, end = _date(params, "from"), _date(params, "to")
        if end < start:
            raise PeriodError("to: must not be before from.")
        if (end - start).days > MAX_PERIOD_DAYS:
            raise PeriodError(f"to: the period may span at most {MAX_PERIOD_DAYS} days (10 years).")
        return Period(CUSTOM, start, end)
    raise PeriodError(f"period: {kind!r} is not one of {', '.join(KINDS)}.")
