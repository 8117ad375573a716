"""Budget vs actual (docs/metrics.md, "Budget vs actual").

Actual = Σ GL lines; budget = Σ budget lines of the chosen (default: current) version — the
selectors do those sums; these functions take the totals. ``None`` = undefined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from metrics.computations.presentation import ratio

REVENUE = "revenue"
COST = "cost"
EXPENSE = "expense"
#: A result measure (operating income, margin): revenue less costs, so above budget is good.
PROFIT = "profit"
#: Account types whose favourable direction docs/metrics.md, "Budget vs actual" defines.
FAVOURABLE_WHEN_ABOVE = frozenset({REVENUE, PROFIT})
FAVOURABLE_WHEN_BELOW = frozenset({COST, EXPENSE})


@dataclass(frozen=True, slots=True)
class Variance:
    """Actual vs budget of one account (or group) and period."""

    actual: Decimal
    budget: Decimal
    variance: Decimal
    variance_pct: Decimal | None
    favourable: bool | None


def favourable(variance: Decimal, account_type: str) -> bool | None:
    """Favourable when variance > 0 for revenue accounts (and profit measures) and < 0 for
    cost and expense accounts (docs/metrics.md, "Budget vs actual"). ``None`` (neither) for a zero
    variance or
    another account type (assets, liabilities, equity have no favourable direction)."""
    if variance == 0:
        return None
    if account_type in FAVOURABLE_WHEN_ABOVE:
        return variance > 0
    if account_type in FAVOURABLE_WHEN_BELOW:
        return variance < 0
    return None


def budget_variance(*, actual: Decimal, budget: Decimal, account_type: str) -> Variance:
    """Variance = actual - budget; variance % = variance / |budget|, undefined when budget = 0
    (docs/metrics.md, "Budget vs actual"). ``variance_pct`` is a fraction (0.1 = 10%)."""
    actual, budget = Decimal(actual), Decimal(budget)
    variance = actual - budget
    return Variance(
        actual=actual,
        budget=budget,
        variance=variance,
        variance_pct=ratio(variance, abs(budget)),
        favourable=favourable(variance, account_type),
    )


def full_year_outturn(
    *,
    actual_by_month: Mapping[date, Decimal],
    budget_by_month: Mapping[date, Decimal],
    closed_months: Iterable[date],
) -> Decimal:
    """Full-year outturn = actuals of the closed months + budget of the remaining months
    (docs/metrics.md, "Budget vs actual"). Months are keyed by their first day; the year's months
    are those in
    either mapping or in ``closed_months``; a closed month without GL lines counts 0."""
    closed = set(closed_months)
    months = set(actual_by_month) | set(budget_by_month) | closed
    return sum(
        (
            Decimal(actual_by_month.get(month, 0))
            if month in closed
            else Decimal(budget_by_month.get(month, 0))
            for month in months
        ),
        Decimal(0),
    )
