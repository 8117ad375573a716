"""Sales metrics (docs/metrics.md, "Sales"). ``None`` = undefined (zero denominator)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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


#: Microseconds per day: a cycle length is held as an integer number of microseconds, the
#: exact fraction of a day ``micros / DAY_MICROS`` (whole days are ``days * DAY_MICROS``).
DAY_MICROS = 86_400 * 10**6
_MICROSECOND = timedelta(microseconds=1)


def _micros(created: date | datetime, closed: date | datetime) -> int:
    """Days from ``created`` to ``closed`` in microseconds: exact between two datetimes, whole
    days otherwise (a datetime counts as its date)."""
    if isinstance(created, datetime) and isinstance(closed, datetime):
        return (closed - created) // _MICROSECOND
    if isinstance(created, datetime):
        created = created.date()
    if isinstance(closed, datetime):
        closed = closed.date()
    return (closed - created).days * DAY_MICROS


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
    # Integers compare and add far faster than Fractions; only the median's middle value(s)
    # and the total become Fractions (the same exact values as Fractions of days throughout).
    micros = sorted(_micros(created, closed) for created, closed in won_deals)
    if not micros:
        return SalesCycle(deals=0, median_days=None, mean_days=None)
    count = len(micros)
    middle = count // 2
    if count % 2:
        median = Fraction(micros[middle], DAY_MICROS)
    else:
        median = Fraction(micros[middle - 1] + micros[middle], 2 * DAY_MICROS)
    return SalesCycle(
        deals=count,
        median_days=to_decimal(median),
        mean_days=to_decimal(Fraction(sum(micros), DAY_MICROS * count)),
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
