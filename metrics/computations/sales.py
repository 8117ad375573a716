"""Sales metrics (docs/metrics.md, "Sales"). ``None`` = undefined (zero denominator)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from finhub.core.money import CENT, to_decimal
from metrics.computations.presentation import ratio

DEFAULT_TOLERANCE = Decimal("0.005")
MINIMUM_TOLERANCE = CENT


def win_rate(*, won: int, lost: int) -> Decimal | None:
    """Win rate = won / (won + lost) deals closed in the period (docs/metrics.md, "Sales")."""
    return ratio(won, won + lost)


def average_deal_size(won_amounts: Iterable[Decimal]) -> Decimal | None:
    """Average deal size = won revenue / won deals (docs/metrics.md, "Sales")."""
    amounts = [Decimal(amount) for amount in won_amounts]
    return ratio(sum(amounts, Decimal(0)), len(amounts))


def _days(created: date | datetime, closed: date | datetime) -> Fraction:
    if isinstance(created, datetime) and isinstance(closed, datetime):
        delta = closed - created
        return Fraction(
            delta.days * 86_400 * 10**6 + delta.seconds * 10**6 + delta.microseconds, 86_400 * 10**6
        )
    if isinstance(created, datetime):
        created = created.date()
    if isinstance(closed, datetime):
        closed = closed.date()
    return Fraction((closed - created).days)


@dataclass(frozen=True, slots=True)
class SalesCycle:
    """Days from created to closed of won deals: median and mean (``None`` without deals)."""

    deals: int
    median_days: Decimal | None
    mean_days: Decimal | None


def sales_cycle(won_deals: Iterable[tuple[date | datetime, date | datetime]]) -> SalesCycle:
    """Sales cycle = days from created to closed, median and mean, for won deals
    (docs/metrics.md, "Sales"). Pairs of ``(created, closed)``; with two datetimes the days are
    fractional (exact), with dates whole days."""
    days = [_days(created, closed) for created, closed in won_deals]
    if not days:
        return SalesCycle(deals=0, median_days=None, mean_days=None)
    return SalesCycle(
        deals=len(days),
        median_days=to_decimal(statistics.median(days)),
        mean_days=to_decimal(sum(days, Fraction(0)) / len(days)),
    )


def quota_attainment(*, won_revenue: Decimal, quota: Decimal) -> Decimal | None:
    """Quota attainment = won revenue of the rep (team) in the period / quota of the period
    (docs/metrics.md, "Sales")."""
    return ratio(won_revenue, quota)


def sales_roi(*, won_revenue: Decimal, sales_cost: Decimal) -> Decimal | None:
    """Sales ROI = (won revenue - sales cost) / sales cost, sales cost from the GL lines of the
    sales department(s) (docs/metrics.md, "Sales")."""
    return ratio(Decimal(won_revenue) - Decimal(sales_cost), sales_cost)


def amounts_consistent(
    deal_amount: Decimal,
    erp_revenue: Decimal | None,
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    minimum: Decimal = MINIMUM_TOLERANCE,
) -> bool:
    """Whether the ERP revenue recorded for a deal equals its amount within the tolerance:
    |deal - erp| <= max(tolerance * |deal|, minimum) (docs/metrics.md, "Sales": default 0.5%, at
    least
    1 cent). No ERP revenue recorded (``None``) is not consistent."""
    if erp_revenue is None:
        return False
    deal_amount, erp_revenue = Decimal(deal_amount), Decimal(erp_revenue)
    allowed = max(Decimal(tolerance) * abs(deal_amount), Decimal(minimum))
    return abs(deal_amount - erp_revenue) <= allowed


def sales_finance_consistency(
    won_deals: Iterable[tuple[Decimal, Decimal | None]],
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    minimum: Decimal = MINIMUM_TOLERANCE,
) -> Decimal | None:
    """Won deals whose amount equals the ERP revenue recorded for the deal within the
    tolerance / won deals (docs/metrics.md, "Sales"). Pairs ``(deal amount, ERP revenue or
    None)``."""
    pairs = list(won_deals)
    matching = sum(
        1
        for amount, erp in pairs
        if amounts_consistent(amount, erp, tolerance=tolerance, minimum=minimum)
    )
    return ratio(matching, len(pairs))
