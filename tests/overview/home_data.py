"""Stored reports with hand-picked figures for the home page's headline section.

The home page reads snapshots; storing them directly (for exactly the requests it makes)
gives figures whose text the tests can expect without running the metrics engine.
"""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from finhub.core.calendar import add_months, month_of
from metrics.models import MetricSnapshot
from metrics.params import params_hash
from overview.home import finance_requests


def _money(value) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def _budget_rows(revenue, cost_of_sales, expense, budget_factor=Decimal("0.8")):
    return [
        {
            "key": "SAL",
            "label": "Sales",
            "account_type": kind,
            "actual": _money(actual),
            "budget": _money(Decimal(actual) * budget_factor),
        }
        for kind, actual in (
            ("revenue", revenue),
            ("cost_of_sales", cost_of_sales),
            ("expense", expense),
        )
    ]


def store_home_snapshots(today: dt.date | None = None) -> None:
    """Year to date: revenue 1,200,000.00 against a budget of 960,000.00 (+25.0%), operating
    income 400,000.00; 12 months of revenue; MRR 130,000.00 in the current month (120,000.00
    the month before); blended CAC 18,250.50 with LTV:CAC 3.40 in the last complete month."""
    today = today or timezone.localdate()
    requests = finance_requests(today)
    results = [
        {"rows": _budget_rows(1_200_000, 300_000, 500_000)},
        *(
            {"rows": _budget_rows(90_000 + 1_000 * month, 22_000, 40_000)}
            for month in range(len(requests) - 2)
        ),
    ]
    first = add_months(month_of(today), -12)
    months = []
    for index in range(13):
        month = add_months(first, index)
        months.append(
            {
                "month": month.isoformat(),
                "new_customers": 4,
                "active_customers": 100 + index,
                "mrr": _money(130_000 - 10_000 * (12 - index) if index >= 11 else 100_000),
                "blended_cac": "18250.5" if index == 11 else "17000",
                "ltv_to_cac": "3.4" if index == 11 else "3.1",
            }
        )
    results.append({"months": months})
    for (kind, params), result in zip(requests, results, strict=True):
        MetricSnapshot.objects.update_or_create(
            kind=kind,
            params_hash=params_hash(params),
            defaults={
                "params": params,
                "group_by": params.get("group_by", ""),
                "period_start": dt.date.fromisoformat(params["start"]),
                "period_end": dt.date.fromisoformat(params["end"]),
                "result": result,
                "inputs_freshness": timezone.now(),
            },
        )
