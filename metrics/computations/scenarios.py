"""Budget scenarios (docs/metrics.md, "Budget scenarios"): a scenario's lines from its base
version's lines and its drivers, and the outlook figures a scenario is compared by.

Drivers change a line by a percent from a month on; several drivers matching one line
multiply (+10% and +5% give +15.5%), and the line is rounded half-up to cents once, from the
base amount, so re-applying the drivers always gives the same lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from finhub.core.money import round_half_up
from metrics.computations.presentation import ratio
from metrics.computations.roi import Roi, campaign_roi

GROWTH = "growth"
CHANNEL_SPEND = "channel_spend"
HEADCOUNT = "headcount"
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Driver:
    """A percent change (10 = +10%) to the lines a driver's kind and target select, in the
    months from ``from_month`` on."""

    kind: str
    target: str
    percent: Decimal
    from_month: date


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What the drivers match a budget line on (empty strings when not known)."""

    month: date
    account_type: str
    account_code: str
    channel: str
    department_code: str
    department_name: str
    is_headcount: bool


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def driver_matches(driver: Driver, line: LineFacts) -> bool:
    """Growth: the account type (``revenue``, ``expense``…) or an account code prefix;
    channel spend: lines whose campaign belongs to the channel (by name); headcount: the
    department's (code or name) lines on headcount accounts."""
    if line.month < driver.from_month:
        return False
    target = driver.target.strip()
    if not target:
        return False
    if driver.kind == GROWTH:
        return _same(target, line.account_type) or line.account_code.startswith(target)
    if driver.kind == CHANNEL_SPEND:
        return bool(line.channel) and _same(target, line.channel)
    if driver.kind == HEADCOUNT:
        return line.is_headcount and (
            _same(target, line.department_code) or _same(target, line.department_name)
        )
    return False


def scenario_factor(line: LineFacts, drivers: Iterable[Driver]) -> Decimal:
    """The product of (1 + percent / 100) over the drivers that match the line."""
    factor = Decimal(1)
    for driver in drivers:
        if driver_matches(driver, line):
            factor *= 1 + Decimal(driver.percent) / HUNDRED
    return factor


def scenario_amount(amount: Decimal, factor: Decimal) -> Decimal:
    """The base amount times the factor, rounded half-up to cents."""
    return round_half_up(Decimal(amount) * factor, 2)


def trailing_average(counts: Sequence[int]) -> Decimal | None:
    """The mean of a window's monthly counts; undefined for an empty window."""
    return ratio(sum(counts), len(counts))


@dataclass(frozen=True, slots=True)
class CacOutlook:
    """A fiscal year's blended CAC: closed months' actuals plus the remaining months' plan."""

    sales_marketing_cost: Decimal
    new_customers: Decimal
    blended_cac: Decimal | None


def cac_outlook(
    *,
    actual_cost: Decimal,
    actual_new_customers: int,
    planned_cost: Decimal,
    remaining_months: int,
    average_new_customers: Decimal | None,
) -> CacOutlook:
    """Blended CAC of the year = (actual S&M cost of the closed months + planned S&M cost of
    the remaining months) / (new customers of the closed months + the remaining months x the
    trailing average a month). Undefined when no new customers are expected (docs/metrics.md,
    "CAC, LTV and payback": a zero denominator is undefined)."""
    expected = Decimal(remaining_months) * (average_new_customers or Decimal(0))
    cost = Decimal(actual_cost) + Decimal(planned_cost)
    customers = Decimal(actual_new_customers) + expected
    return CacOutlook(cost, customers, ratio(cost, customers))


def channel_roi_outlook(
    *,
    key: str,
    actual_spend: Decimal,
    actual_revenue: Decimal,
    planned_spend: Decimal,
    revenue_per_spend: Decimal | None,
) -> Roi:
    """A channel's ROI for the year (docs/metrics.md, "Campaign ROI"): cost = actual spend of
    the closed months + planned spend of the remaining months; revenue = attributed revenue
    of the closed months + planned spend x the trailing attributed revenue per unit of
    spend. Planned spend without a trailing rate cannot be valued: no ROI (not tracked)."""
    planned_spend = Decimal(planned_spend)
    if revenue_per_spend is None and planned_spend != 0:
        return campaign_roi(key=key, cost=Decimal(actual_spend) + planned_spend, revenue=None)
    revenue = Decimal(actual_revenue) + planned_spend * (revenue_per_spend or Decimal(0))
    return campaign_roi(key=key, cost=Decimal(actual_spend) + planned_spend, revenue=revenue)


def revenue_per_spend(
    revenue: Mapping[str, Decimal], spend: Mapping[str, Decimal]
) -> dict[str, Decimal | None]:
    """Attributed revenue per unit of spend per channel; undefined without spend."""
    return {
        key: ratio(Decimal(revenue.get(key, 0)), Decimal(spend.get(key, 0)))
        for key in sorted(set(revenue) | set(spend))
    }
