"""Budget vs actual (docs/metrics.md, "Budget vs actual") per account, account type,
department, campaign or department x account: actual (Σ GL) vs budget (Σ budget lines of
the chosen or current versions, each month's share by ``calendar.budget_share``), variance,
variance %, favourable, and the full-year outturn of the fiscal (calendar) year of the
period's end as of the last closed month (``calendar.last_closed_month``).

Rows keep their money rounded to cents for display and, under ``exact``, the unrounded
values: totals (``totals``, the executive page) add the unrounded values and round once.
Ledger lines whose account is still pending count under the type ``unclassified``.

Inside :func:`ledger_shared` (a page computing many reports), the GL totals of each calendar
year are read once and shared by every report that needs them: a report reads its period and
the whole year of its end, so the reports of one year read the same day rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal

from django.utils import timezone

from finhub.core.calendar import (
    budget_share,
    last_closed_month,
    month_end,
    month_of,
    months_between,
)
from metrics import ledger_aggregates, selectors
from metrics.computations.variance import (
    COST,
    EXPENSE,
    PROFIT,
    REVENUE,
    budget_variance,
    favourable,
    full_year_outturn,
)
from metrics.reports.numbers import money, num
from records import models as m

__all__ = [
    "COST",
    "EXPENSE",
    "PROFIT",
    "REVENUE",
    "UNCLASSIFIED",
    "budget_report",
    "favourable",
    "ledger_shared",
    "variance_type",
]

NO_LABEL = {"campaign": selectors.NO_CAMPAIGN, "department": "(no department)"}
#: The account type of ledger (and budget) lines whose account reference is still pending:
#: they count in the company, department and period totals, under no revenue/cost type.
UNCLASSIFIED = "unclassified"
UNCLASSIFIED_LABEL = "Unclassified (pending reference)"
#: The money fields of a row, rounded for display and kept unrounded under ``exact``.
MONEY_FIELDS = ("actual", "budget", "variance", "full_year_budget", "full_year_outturn")


#: The groupings made, inside :func:`ledger_shared`, from one read of a year's GL totals by
#: department and account ids (the campaign grouping keeps its own read).
ID_GROUPINGS = ("account", "account_type", "department", "department_account")


@dataclass
class _SharedLedger:
    """What a :func:`ledger_shared` block has read: the months whose pre-aggregates are
    valid (``metrics.ledger_aggregates``), the GL totals by department and account ids per
    calendar year (a row per month where it can) and per month by day, the department and
    account labels, and the ``selectors.ledger_totals`` rows made from them per grouping."""

    valid: set[dt.date] | None = None
    by_ids: dict[tuple[str, object], list[tuple]] = dataclass_field(default_factory=dict)
    labels: tuple[dict, dict] | None = None
    grouped: dict[tuple[str, object, str], list[tuple]] = dataclass_field(default_factory=dict)

    def _rows(self, grain: str, key: object, group_by: str) -> list[tuple]:
        """``selectors.ledger_totals`` rows of a calendar year (``grain`` "year": a row per
        month of a built month) or of a month by day (``grain`` "days")."""
        cache = (grain, key, group_by)
        if cache in self.grouped:
            return self.grouped[cache]
        if group_by not in ID_GROUPINGS:  # the campaign grouping: by day from the GL lines
            first, last = _bounds(grain, key)
            self.grouped[cache] = selectors.ledger_totals(start=first, end=last, group_by=group_by)
            return self.grouped[cache]
        if self.valid is None:
            self.valid = ledger_aggregates.valid_months()
        if (grain, key) not in self.by_ids:
            first, last = _bounds(grain, key)
            months = set(months_between(first, last))
            read = (
                ledger_aggregates.ledger_month_rows
                if grain == "year"
                else ledger_aggregates.ledger_day_rows
            )
            self.by_ids[grain, key] = read(months, self.valid)
        if self.labels is None:
            self.labels = selectors.ledger_labels()
        self.grouped[cache] = _labelled_totals(self.by_ids[grain, key], group_by, *self.labels)
        return self.grouped[cache]

    def year(self, year: int, group_by: str) -> list[tuple]:
        return self._rows("year", year, group_by)

    def days(self, month: dt.date, group_by: str) -> list[tuple]:
        return self._rows("days", month, group_by)


def _bounds(grain: str, key) -> tuple[dt.date, dt.date]:
    if grain == "year":
        return dt.date(key, 1, 1), dt.date(key, 12, 31)
    return key, month_end(key)


def _labelled_totals(
    rows: list[tuple], group_by: str, departments: dict, accounts: dict
) -> list[tuple]:
    """``selectors.ledger_totals`` rows from the totals by (department id, account id,
    currency, day): the same GROUP BY on the labels, summed here (exact Decimal sums of
    cents, as SQL's)."""
    fields = (*selectors.BUDGET_GROUPINGS[group_by], "account__type")
    keys: dict[tuple, tuple] = {}
    totals: dict[tuple, Decimal] = {}
    for department_id, account_id, currency, day, total in rows:
        ids = (department_id, account_id)
        if ids not in keys:
            labels = {**departments.get(department_id, {}), **accounts.get(account_id, {})}
            keys[ids] = tuple(labels.get(name) for name in fields)
        key = (*keys[ids], currency, day)
        totals[key] = totals[key] + total if key in totals else total
    return [(*key, total) for key, total in totals.items()]


#: The reads of the active :func:`ledger_shared` block (None outside one: every report
#: reads its own).
_SHARED: ContextVar[_SharedLedger | None] = ContextVar("budget_shared_ledger", default=None)


@contextmanager
def ledger_shared() -> Iterator[None]:
    """Budget reports computed inside the block share their GL reads: one ``GROUP BY`` query
    per calendar year for the account, account type, department and department x account
    groupings together, instead of one per report (the executive page computes up to 16
    reports over one to three years). The rows are exactly those a report reads on its own
    (whole days, cut to its dates; the same sums), so the results are equal; they are
    dropped at the end of the block. A nested block reuses the outer one."""
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set(_SharedLedger())
    try:
        yield
    finally:
        _SHARED.reset(token)


def _ledger_rows(
    *, start: dt.date, end: dt.date, group_by: str, period: tuple[dt.date, dt.date]
) -> list[tuple]:
    """``selectors.ledger_totals`` of ``start``…``end`` for a report of ``period``: a row per
    month where the month lies wholly inside or outside the period (the report only asks
    whether a row is in the period and in which month), by day in the months the period
    covers in part (each row's day is its second-to-last field). Inside
    :func:`ledger_shared` the reads are shared with the block's other reports."""
    shared = _SHARED.get() or _SharedLedger()
    # The campaign grouping's year rows are by day already.
    split = ledger_aggregates.partial_months(*period) if group_by in ID_GROUPINGS else set()
    rows: list[tuple] = []
    for year in range(start.year, end.year + 1):
        rows += (
            row
            for row in shared.year(year, group_by)
            if start <= row[-2] <= end and month_of(row[-2]) not in split
        )
    for month in sorted(split):
        rows += (row for row in shared.days(month, group_by) if start <= row[-2] <= end)
    return rows


def variance_type(account_type: str) -> str:
    """The type whose favourable direction applies (docs/metrics.md, "Favourable and
    unfavourable"): revenue, cost and expense; cost of sales is a cost."""
    return COST if account_type == m.Account.Type.COST_OF_SALES else account_type


def budget_report(
    *,
    start: dt.date,
    end: dt.date,
    group_by: str = "account",
    budget: int | None = None,
    today: dt.date | None = None,
) -> dict:
    """Actual vs budget per group and account type in the period; the full-year outturn is
    for the calendar (fiscal) year of ``end``, with the months up to the last closed month
    (the last one ended before ``today``, default the local date) counted as closed, whatever
    the period. ``group_by``: a key of ``selectors.BUDGET_GROUPINGS``."""
    closed_through = last_closed_month(today or timezone.localdate())
    year_start, year_end = dt.date(end.year, 1, 1), dt.date(end.year, 12, 31)
    low, high = min(start, year_start), max(end, year_end)
    versions = selectors.budget_versions(start=low, end=high, budget_id=budget)
    convert = selectors.converter(start=low, end=high)
    labels: dict[tuple, tuple] = {}

    def collect(rows: Iterable[tuple], *, prorate: bool) -> tuple[dict, dict]:
        in_period: dict[tuple, Decimal] = defaultdict(Decimal)
        by_month: dict[tuple, dict[dt.date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for *fields, account_type, currency, day, total in rows:
            # fields: (key, label) per grouping level, e.g. department then account.
            group = (*fields[0::2], account_type or UNCLASSIFIED)
            labels[group] = tuple(fields[1::2])
            value = convert(total, currency, day)
            if value is None:
                continue
            if prorate:  # a budget month: the share of its days inside the period
                in_period[group] += value * budget_share(day, start, end)
            elif start <= day <= end:
                in_period[group] += value
            if year_start <= day <= year_end:
                by_month[group][month_of(day)] += value
        return in_period, by_month

    actual, actual_months = collect(
        _ledger_rows(start=low, end=high, group_by=group_by, period=(start, end)), prorate=False
    )
    budgeted, budget_months = collect(
        selectors.budget_totals(start=low, end=high, group_by=group_by, budget_ids=versions),
        prorate=True,
    )
    closed = [month for month in months_between(year_start, year_end) if month <= closed_through]
    rows = []
    totals: dict[str, dict[str, Decimal]] = {}
    for group in sorted(set(actual) | set(budgeted), key=lambda g: tuple(map(str, g))):
        *keys, account_type = group
        variance = budget_variance(
            actual=actual.get(group, Decimal(0)),
            budget=budgeted.get(group, Decimal(0)),
            account_type=variance_type(account_type),
        )
        exact = {
            "actual": variance.actual,
            "budget": variance.budget,
            "variance": variance.variance,
            "full_year_budget": sum(budget_months.get(group, {}).values(), Decimal(0)),
            "full_year_outturn": full_year_outturn(
                actual_by_month=actual_months.get(group, {}),
                budget_by_month=budget_months.get(group, {}),
                closed_months=closed,
            ),
        }
        total = totals.setdefault(account_type, dict.fromkeys(MONEY_FIELDS, Decimal(0)))
        for field in MONEY_FIELDS:
            total[field] += exact[field]
        row = _labelled(group_by, keys, labels[group], account_type)
        rows.append(
            {
                **row,
                "account_type": account_type,
                **{field: money(exact[field]) for field in MONEY_FIELDS},
                "variance_pct": num(variance.variance_pct),
                "favourable": variance.favourable,
                "exact": {field: num(exact[field]) for field in MONEY_FIELDS},
            }
        )
    return {
        "reporting_currency": selectors.reporting_currency(),
        "budget_versions": versions,
        "fiscal_year": end.year,
        "closed_months": [month.isoformat() for month in closed],
        "closed_through": closed_through.isoformat(),
        "rows": rows,
        # Per account type, from the unrounded rows, rounded once.
        "totals": [
            {"account_type": account_type, **{f: money(v) for f, v in values.items()}}
            for account_type, values in sorted(totals.items())
        ],
        "missing_fx": convert.missing,
    }


def _labelled(group_by: str, keys: list, labels: tuple, account_type: str) -> dict:
    """The row's ``key`` and ``label`` (the account's for department x account, with its
    ``department`` code and ``department_label`` beside)."""
    if len(keys) == 2:  # department x account
        return {
            "department": keys[0] or "",
            "department_label": labels[0] or NO_LABEL["department"],
            "key": keys[1] or "",
            "label": labels[1] or (UNCLASSIFIED_LABEL if account_type == UNCLASSIFIED else ""),
        }
    key, label = keys[0], labels[0]
    if label is None and account_type == UNCLASSIFIED and group_by in ("account", "account_type"):
        label = UNCLASSIFIED_LABEL
    return {
        "key": "" if key is None else str(key),
        "label": label if label is not None else NO_LABEL.get(group_by, ""),
    }
