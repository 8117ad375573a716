"""CAC, LTV, LTV:CAC and CAC payback for a month (docs/metrics.md, "CAC, LTV and payback").

Every ratio with a zero (or undefined) denominator is ``None`` — undefined, reported as
``"undefined"`` — never 0 and never infinity (docs/metrics.md, "CAC, LTV and payback" last
paragraph). Ratios are
unrounded Decimals; round at presentation.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from metrics.computations.presentation import ratio
from metrics.computations.subscriptions import MrrMonth

DEFAULT_GROSS_MARGIN = Decimal("0.80")
POOLED_CHURN_MONTHS = 12


def blended_cac(*, sales_marketing_cost: Decimal, new_customers: int) -> Decimal | None:
    """Blended CAC = all sales and marketing cost of month m (including cost allocated to no
    channel) / customers whose first MRR is in m (docs/metrics.md, "CAC, LTV and payback").
    Reactivated customers are
    not new."""
    return ratio(sales_marketing_cost, new_customers)


def paid_cac(
    *,
    spend_by_channel: Mapping[str, Decimal],
    new_customers_by_channel: Mapping[str, int],
    paid_channels: Collection[str],
) -> Decimal | None:
    """Paid CAC = paid-channel marketing spend in m / new customers in m acquired through paid
    channels (docs/metrics.md, "CAC, LTV and payback"). Which channels are paid is configuration
    (``paid_channels``)."""
    spend = sum(
        (Decimal(spend_by_channel.get(channel, 0)) for channel in paid_channels), Decimal(0)
    )
    customers = sum(new_customers_by_channel.get(channel, 0) for channel in paid_channels)
    return ratio(spend, customers)


def channel_cac(
    *, acquisition_cost: Mapping[str, Decimal], new_customers: Mapping[str, int]
) -> dict[str, Decimal | None]:
    """CAC per channel = that channel's acquisition cost / its new customers (docs/metrics.md,
    "CAC, LTV and payback"),
    for every channel with a cost or new customers."""
    channels = sorted(set(acquisition_cost) | set(new_customers))
    return {
        channel: ratio(Decimal(acquisition_cost.get(channel, 0)), new_customers.get(channel, 0))
        for channel in channels
    }


def new_customers_by_channel(
    new_customers: Collection[Hashable], acquisition_channel: Mapping[Hashable, str]
) -> dict[str, int]:
    """Count the month's new customers per acquisition channel (customers without a known
    channel are counted under ``""``)."""
    counts: dict[str, int] = {}
    for customer in new_customers:
        channel = acquisition_channel.get(customer, "")
        counts[channel] = counts.get(channel, 0) + 1
    return counts


def ltv(
    *,
    arpa: Decimal | None,
    churn_rate: Decimal | None,
    gross_margin: Decimal = DEFAULT_GROSS_MARGIN,
) -> Decimal | None:
    """LTV = ARPA * gross margin / churn rate (docs/metrics.md, "CAC, LTV and payback"); undefined
    when ARPA or the
    churn rate is undefined or the churn rate is 0."""
    if arpa is None or churn_rate is None:
        return None
    return ratio(Decimal(arpa) * Decimal(gross_margin), churn_rate)


def pooled_churn_rate(months: Sequence[MrrMonth]) -> Decimal | None:
    """Pooled trailing-12-month logo churn at the last month m of ``months``: Σ churned / Σ
    customers at month start over m-11…m (docs/metrics.md, "CAC, LTV and payback").

    ``months`` must be consecutive and start at the beginning of the subscription history;
    the rate is undefined until 12 months of history exist (fewer than 12 months given) and
    when no customer was active at any of those month starts.
    """
    if len(months) < POOLED_CHURN_MONTHS:
        return None
    window = months[-POOLED_CHURN_MONTHS:]
    churned = sum(len(month.churned_customers) for month in window)
    at_start = sum(month.active_at_start for month in window)
    return ratio(churned, at_start)


def ltv_to_cac(*, ltv_value: Decimal | None, cac: Decimal | None) -> Decimal | None:
    """LTV:CAC = LTV / blended CAC (docs/metrics.md, "CAC, LTV and payback"); undefined if either
    is undefined or CAC
    is 0."""
    if ltv_value is None or cac is None:
        return None
    return ratio(ltv_value, cac)


def cac_payback_months(
    *, cac: Decimal | None, arpa: Decimal | None, gross_margin: Decimal = DEFAULT_GROSS_MARGIN
) -> Decimal | None:
    """CAC payback months = CAC / (ARPA * gross margin) (docs/metrics.md, "CAC, LTV and payback").
    Per channel, pass
    that channel's CAC with the same blended ARPA."""
    if cac is None or arpa is None:
        return None
    return ratio(cac, Decimal(arpa) * Decimal(gross_margin))


@dataclass(frozen=True)
class CacMonth:
    """The CAC, LTV and payback metrics of one month; ``None`` = undefined."""

    month: object
    new_customers: int
    blended_cac: Decimal | None
    paid_cac: Decimal | None
    channel_cac: dict[str, Decimal | None]
    arpa: Decimal | None
    ltv: Decimal | None
    ltv_12_month: Decimal | None
    ltv_to_cac: Decimal | None
    payback_months: Decimal | None
    channel_payback_months: dict[str, Decimal | None]


def cac_month(
    *,
    months: Sequence[MrrMonth],
    sales_marketing_cost: Decimal,
    spend_by_channel: Mapping[str, Decimal],
    acquisition_channel: Mapping[Hashable, str],
    paid_channels: Collection[str],
    gross_margin: Decimal = DEFAULT_GROSS_MARGIN,
) -> CacMonth:
    """All CAC, LTV and payback metrics for the last month of ``months`` (docs/metrics.md, "CAC,
    LTV and payback").

    ``months``: consecutive :class:`MrrMonth` from the start of the subscription history to
    m (the pooled 12-month churn needs the history). ``sales_marketing_cost``: all sales and
    marketing cost of m. ``spend_by_channel``: each channel's acquisition cost in m.
    ``acquisition_channel``: customer → channel that acquired it.
    """
    current = months[-1]
    by_channel = new_customers_by_channel(current.new_customers, acquisition_channel)
    blended = blended_cac(
        sales_marketing_cost=sales_marketing_cost, new_customers=len(current.new_customers)
    )
    per_channel = channel_cac(acquisition_cost=spend_by_channel, new_customers=by_channel)
    ltv_value = ltv(
        arpa=current.arpa, churn_rate=current.logo_churn_rate, gross_margin=gross_margin
    )
    return CacMonth(
        month=current.month,
        new_customers=len(current.new_customers),
        blended_cac=blended,
        paid_cac=paid_cac(
            spend_by_channel=spend_by_channel,
            new_customers_by_channel=by_channel,
            paid_channels=paid_channels,
        ),
        channel_cac=per_channel,
        arpa=current.arpa,
        ltv=ltv_value,
        ltv_12_month=ltv(
            arpa=current.arpa, churn_rate=pooled_churn_rate(months), gross_margin=gross_margin
        ),
        ltv_to_cac=ltv_to_cac(ltv_value=ltv_value, cac=blended),
        payback_months=cac_payback_months(
            cac=blended, arpa=current.arpa, gross_margin=gross_margin
        ),
        channel_payback_months={
            channel: cac_payback_months(cac=value, arpa=current.arpa, gross_margin=gross_margin)
            for channel, value in per_channel.items()
        },
    )
