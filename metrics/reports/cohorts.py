"""Cohorts: logo and revenue retention by cohort month x months since start (docs/metrics.md,
"Retention, cohorts and customer-success ROI"), from
:func:`metrics.computations.retention.cohort_table`.

JSON shape (``MetricSnapshot.result`` of kind ``cohorts``)::

    {
      "reporting_currency": "USD",
      "last_month": "2026-06-01",        # retention is measured up to the end of this month
      "cohorts": [                       # the cohorts whose month is in the period, oldest first
        {
          "cohort": "2026-01-01",        # first month its members ended with MRR > 0
          "customers": 3,                # members
          "start_mrr": "300.00",         # their MRR at the end of the cohort month
          "logo": ["1", "0.6666666667", …],      # k = 0, 1, … up to last_month
          "revenue": ["1", "1.1000000000", …]    # "undefined" where the denominator is 0
        }
      ],
      "max_months": 5,                   # the longest row's k (the heat map's width - 1)
      "missing_fx": [ … ]
    }

Ratios are rounded half-up to 10 decimals (as the SaaS table's).
"""

from __future__ import annotations

import datetime as dt

from finhub.core.calendar import month_end, month_of
from finhub.core.money import round_half_up
from metrics import selectors
from metrics.computations.presentation import UNDEFINED
from metrics.computations.retention import cohort_table
from metrics.computations.saas import RATE_PLACES
from metrics.reports.numbers import money
from metrics.reports.subscriptions import customer_events


def rate(value) -> str:
    return UNDEFINED if value is None else format(round_half_up(value, RATE_PLACES), "f")


def cohorts_report(*, start: dt.date, end: dt.date) -> dict:
    """The cohorts whose month is in ``start``…``end``, each with its logo and revenue
    retention at the end of every month from the cohort month to the period's last month."""
    first, last = month_of(start), month_of(end)
    data = customer_events(end=month_end(last))
    rows = [row for row in cohort_table(data.ledger(), last) if row.cohort >= first]
    return {
        "reporting_currency": selectors.reporting_currency(),
        "last_month": last.isoformat(),
        "cohorts": [
            {
                "cohort": row.cohort.isoformat(),
                "customers": len(row.members),
                "start_mrr": money(row.start_mrr),
                "logo": [rate(value) for value in row.logo],
                "revenue": [rate(value) for value in row.revenue],
            }
            for row in rows
        ],
        "max_months": max((len(row.logo) - 1 for row in rows), default=0),
        "missing_fx": data.missing_fx,
    }
