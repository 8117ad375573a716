"""CAC, LTV, LTV:CAC and CAC payback per month of a period (docs/metrics.md, "CAC, LTV and
payback"), and the blended
CAC of the whole period read back from a stored report."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from finhub.core.calendar import month_end, month_of, months_between
from finhub.core.money import Converter
from metrics import selectors
from metrics.computations.cac import (
    DEFAULT_GROSS_MARGIN,
    blended_cac,
    cac_month,
    new_customers_by_channel,
)
from metrics.computations.subscriptions import mrr_month, mrr_months
from metrics.reports.numbers import money, num, to_number

#: Scorecard success metric -> the CAC month field it measures (the engine pushes the last
#: complete month's; the CAC page draws their targets).
SCORECARD_METRICS = (
    ("blended_cac", "blended_cac"),
    ("ltv_to_cac", "ltv_to_cac"),
    ("cac_payback_months", "payback_months"),
)


def last_complete_month(months: list[dict], today: dt.date) -> dict | None:
    """The last month of a stored CAC report before ``today``'s month whose blended CAC is
    defined (it had new customers): the month the scorecard measures and the CAC page
    headlines (docs/metrics.md, "Scorecard unit economics")."""
    current = month_of(today).isoformat()
    done = [
        row
        for row in months
        if row["month"] < current and to_number(row.get("blended_cac")) is not None
    ]
    return max(done, key=lambda row: row["month"], default=None)


def gross_margin() -> Decimal:
    return Decimal(str(getattr(settings, "FINHUB_GROSS_MARGIN", DEFAULT_GROSS_MARGIN)))


def cac_report(*, start: dt.date, end: dt.date) -> dict:
    """Every month the period touches: new, churned and active customers, MRR, sales and
    marketing cost, blended / paid / per-channel CAC (with each channel's spend and new
    customers, the CAC's inputs), ARPA, churn, LTV, LTV:CAC and payback."""
    first, last = month_of(start), month_of(end)
    cost_start, cost_end = first, month_end(last)
    convert = selectors.converter(start=cost_start, end=cost_end)
    # Imported here: metrics.reports.subscriptions imports this module (gross_margin).
    from metrics.reports.subscriptions import subscription_ledger

    ledger, missing_events = subscription_ledger(end=month_end(last))
    # The pooled 12-month churn counts months of subscription history only: from the month
    # of the first event, whatever the period (a month's row is the same in every report).
    history = ledger.first_month
    months = mrr_months(ledger, history, last) if history is not None and history <= last else []
    cost = _by_month(
        (
            (None, currency, day, amount)
            for currency, day, amount in selectors.sales_marketing_cost_rows(
                start=cost_start, end=cost_end
            )
        ),
        convert,
    )
    spend = _by_month(selectors.channel_spend_rows(start=cost_start, end=cost_end), convert)
    acquisition = selectors.acquisition_channels()
    paid = selectors.paid_channel_names()
    margin = gross_margin()
    rows = []
    for month in months_between(first, last):
        if history is not None and month >= history:
            history_to_month = months[
                : (month.year - history.year) * 12 + month.month - history.month + 1
            ]
        else:  # before the first event: no history yet
            history_to_month = [mrr_month(ledger, month)]
        spend_by_channel = {
            (channel or selectors.NO_CHANNEL): amount
            for (spend_month, channel), amount in spend.items()
            if spend_month == month
        }
        result = cac_month(
            months=history_to_month,
            sales_marketing_cost=cost.get((month, None), Decimal(0)),
            spend_by_channel=spend_by_channel,
            acquisition_channel=acquisition,
            paid_channels=paid,
            gross_margin=margin,
        )
        mrr = history_to_month[-1]
        rows.append(
            {
                "month": month.isoformat(),
                "new_customers": result.new_customers,
                "active_customers": mrr.active_at_end,
                "churned_customers": len(mrr.churned_customers),
                "mrr": money(mrr.end_mrr),
                "sales_marketing_cost": money(cost.get((month, None), Decimal(0))),
                "blended_cac": num(result.blended_cac),
                "paid_cac": num(result.paid_cac),
                "channel_cac": {k: num(v) for k, v in result.channel_cac.items()},
                "channel_spend": {k: money(v) for k, v in spend_by_channel.items()},
                "channel_new_customers": new_customers_by_channel(mrr.new_customers, acquisition),
                "arpa": num(result.arpa),
                "logo_churn_rate": num(mrr.logo_churn_rate),
                "ltv": num(result.ltv),
                "ltv_12_month": num(result.ltv_12_month),
                "ltv_to_cac": num(result.ltv_to_cac),
                "payback_months": num(result.payback_months),
                "channel_payback_months": {
                    k: num(v) for k, v in result.channel_payback_months.items()
                },
            }
        )
    return {
        "reporting_currency": selectors.reporting_currency(),
        "gross_margin": num(margin),
        "paid_channels": sorted(paid),
        "months": rows,
        "missing_fx": missing_events + convert.missing,
    }


def _by_month(rows: Iterable[tuple], convert: Converter) -> dict:
    """Σ ``(key, currency, day, amount)`` per (month, key) in the reporting currency."""
    totals: dict[tuple[dt.date, object], Decimal] = defaultdict(Decimal)
    for key, currency, day, amount in rows:
        value = convert(amount, currency, day)
        if value is not None:
            totals[month_of(day), key] += value
    return totals


@dataclass(frozen=True)
class PeriodCac:
    """The blended CAC of a whole period: its months' cost over their new customers."""

    sales_marketing_cost: Decimal
    new_customers: int
    blended_cac: Decimal | None


def period_cac(report: dict) -> PeriodCac:
    """The period's blended CAC from a stored CAC report (docs/metrics.md, "Blended CAC of a
    period")."""
    months = report.get("months", [])
    cost = sum((Decimal(to_number(row["sales_marketing_cost"]) or 0) for row in months), Decimal(0))
    new = sum(int(row["new_customers"]) for row in months)
    return PeriodCac(cost, new, blended_cac(sales_marketing_cost=cost, new_customers=new))
