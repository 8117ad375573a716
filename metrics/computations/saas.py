"""The monthly SaaS metrics table: MRR movements, customer counts, retention ratios and unit
economics per month (docs/metrics.md, "Subscriptions and MRR" and "CAC, LTV and payback").

Assembles the existing computations — :func:`~metrics.computations.subscriptions.mrr_month`,
the trailing-12-month NRR/GRR and :func:`~metrics.computations.cac.cac_month` — into one row
per month; no formula is restated here. ``None`` = undefined.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

from finhub.core.calendar import month_of, months_between
from finhub.core.money import present_money, round_half_up
from metrics.computations.cac import cac_month
from metrics.computations.subscriptions import (
    MrrLedger,
    MrrMonth,
    SubscriptionEvent,
    mrr_month,
    trailing_12_grr,
    trailing_12_nrr,
)

#: The cost "channel" of sales and marketing cost charged to no channel: counted in blended
#: CAC, never in a channel's (or paid) CAC.
UNALLOCATED = "unallocated"
RATE_PLACES = 10
TRAILING_MONTHS = 12

SAAS_COLUMNS = (
    "month",
    "starting_mrr",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "net_new_mrr",
    "ending_mrr",
    "customers_start",
    "new_customers",
    "reactivated_customers",
    "churned_customers",
    "customers_end",
    "logo_churn_rate",
    "grr_month",
    "nrr_month",
    "nrr_t12m",
    "grr_t12m",
    "arpa",
    "blended_cac",
    "paid_cac",
    "ltv",
    "ltv_t12m_churn",
    "cac_payback_months",
    "ltv_to_cac",
)
#: Columns presented as money (2 decimals, half-up); the other Decimal columns are ratios
#: (10 decimals) and the counts are whole numbers.
MONEY_COLUMNS = frozenset(
    {
        "starting_mrr",
        "new_mrr",
        "expansion_mrr",
        "contraction_mrr",
        "churned_mrr",
        "reactivation_mrr",
        "net_new_mrr",
        "ending_mrr",
        "arpa",
        "blended_cac",
        "paid_cac",
        "ltv",
        "ltv_t12m_churn",
    }
)


@dataclass(frozen=True)
class SaasMonth:
    """One month of the SaaS metrics table; fields in :data:`SAAS_COLUMNS` order, ``None`` =
    undefined. ``month`` is the first day of the month."""

    month: date
    starting_mrr: Decimal
    new_mrr: Decimal
    expansion_mrr: Decimal
    contraction_mrr: Decimal
    churned_mrr: Decimal
    reactivation_mrr: Decimal
    net_new_mrr: Decimal
    ending_mrr: Decimal
    customers_start: int
    new_customers: int
    reactivated_customers: int
    churned_customers: int
    customers_end: int
    logo_churn_rate: Decimal | None
    grr_month: Decimal | None
    nrr_month: Decimal | None
    nrr_t12m: Decimal | None
    grr_t12m: Decimal | None
    arpa: Decimal | None
    blended_cac: Decimal | None
    paid_cac: Decimal | None
    ltv: Decimal | None
    ltv_t12m_churn: Decimal | None
    cac_payback_months: Decimal | None
    ltv_to_cac: Decimal | None


def saas_table(
    *,
    events: Sequence[SubscriptionEvent],
    acquisition_channel: Mapping[Hashable, str],
    cost_by_month_channel: Mapping[tuple[date, str], Decimal],
    gross_margin: Decimal,
    paid_channels: Collection[str],
    first: date | None = None,
    last: date | None = None,
    ledger: MrrLedger | None = None,
) -> list[SaasMonth]:
    """One :class:`SaasMonth` per month from ``first`` to ``last`` (default: the months of the
    first and the last event); empty when there are no events and no range is given.

    ``acquisition_channel``: customer → channel that acquired it (a new customer without one
    counts under no paid channel). ``cost_by_month_channel``: sales and marketing cost keyed by
    (any day of the month, channel); the channel :data:`UNALLOCATED` is cost charged to no
    channel — part of blended CAC only. Paid CAC uses the cost of ``paid_channels``.

    The subscription history starts at the month of the first event: the trailing-12-month
    NRR/GRR and the 12-month-churn LTV are undefined until 12 months of it exist, whatever
    ``first`` is (months before the history are all zero and do not count as history).

    ``ledger``: the :class:`MrrLedger` of ``events`` when the caller has it (built from
    ``events`` otherwise).
    """
    if ledger is None:
        ledger = MrrLedger(events)
    history_first = ledger.first_month
    if first is None or last is None:
        if history_first is None:
            return []
        last_event = max(event.occurred_on for event in events)
        first = history_first if first is None else first
        last = last_event if last is None else last
    first, last = month_of(first), month_of(last)
    if last < first:
        return []

    costs: dict[date, dict[str, Decimal]] = {}
    for (day, channel), amount in cost_by_month_channel.items():
        by_channel = costs.setdefault(month_of(day), {})
        by_channel[channel] = by_channel.get(channel, Decimal(0)) + Decimal(amount)
    paid = [channel for channel in paid_channels if channel != UNALLOCATED]

    # MrrMonths from the start of the history (the pooled 12-month churn needs them all).
    start = first if history_first is None else min(first, history_first)
    history: list[MrrMonth] = []
    rows = []
    for month in months_between(start, last):
        current = mrr_month(ledger, month)
        in_history = history_first is not None and month >= history_first
        if in_history:
            history.append(current)
        if month < first:
            continue
        month_costs = costs.get(month, {})
        unit = cac_month(
            months=history if in_history else [current],
            sales_marketing_cost=sum(month_costs.values(), Decimal(0)),
            spend_by_channel={
                channel: amount for channel, amount in month_costs.items() if channel != UNALLOCATED
            },
            acquisition_channel=acquisition_channel,
            paid_channels=paid,
            gross_margin=gross_margin,
        )
        rows.append(
            SaasMonth(
                month=month,
                starting_mrr=current.start_mrr,
                new_mrr=current.new,
                expansion_mrr=current.expansion,
                contraction_mrr=current.contraction,
                churned_mrr=current.churn,
                reactivation_mrr=current.reactivation,
                net_new_mrr=current.net_new,
                ending_mrr=current.end_mrr,
                customers_start=current.active_at_start,
                new_customers=len(current.new_customers),
                reactivated_customers=len(current.reactivated_customers),
                churned_customers=len(current.churned_customers),
                customers_end=current.active_at_end,
                logo_churn_rate=current.logo_churn_rate,
                grr_month=current.grr,
                nrr_month=current.nrr,
                nrr_t12m=_trailing(ledger, history, month, trailing_12_nrr),
                grr_t12m=_trailing(ledger, history, month, trailing_12_grr),
                arpa=current.arpa,
                blended_cac=unit.blended_cac,
                paid_cac=unit.paid_cac,
                ltv=unit.ltv,
                ltv_t12m_churn=unit.ltv_12_month if in_history else None,
                cac_payback_months=unit.payback_months,
                ltv_to_cac=unit.ltv_to_cac,
            )
        )
    return rows


def _trailing(
    ledger: MrrLedger,
    history: list[MrrMonth],
    month: date,
    function: Callable[[MrrLedger, date], Decimal | None],
) -> Decimal | None:
    """A trailing-12-month ratio, undefined until 12 months of history exist at ``month``."""
    if len(history) < TRAILING_MONTHS or history[-1].month != month:
        return None
    return function(ledger, month)


def saas_row_format(row: SaasMonth) -> dict[str, str]:
    """``row`` as text keyed by :data:`SAAS_COLUMNS`: ``month`` as ``YYYY-MM``, money with 2
    decimals and ratios with 10 (both rounded half-up), counts as whole numbers, and an empty
    string where the value is undefined."""
    text: dict[str, str] = {}
    for field in fields(row):
        value = getattr(row, field.name)
        if value is None:
            text[field.name] = ""
        elif isinstance(value, date):
            text[field.name] = f"{value:%Y-%m}"
        elif isinstance(value, int):
            text[field.name] = str(value)
        elif field.name in MONEY_COLUMNS:
            text[field.name] = format(present_money(value), "f")
        else:
            # "f": a zero rounded to 10 places would otherwise print as 0E-10.
            text[field.name] = format(round_half_up(value, RATE_PLACES), "f")
    return text
