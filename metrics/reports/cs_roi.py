"""Customer-success ROI of a period, total and per customer segment, with its inputs, and the
retention ROI measurement coverage (docs/metrics.md, "Retention, cohorts and customer-success
ROI"). The formulas are :mod:`metrics.computations.retention`'s.

JSON shape (``MetricSnapshot.result`` of kind ``cs_roi``)::

    {
      "reporting_currency": "USD",
      "settings": {
        "cs_departments": ["Customer Success"],
        "gross_margin": "0.80",
        "value_horizon_months": 12,
        "baseline_months": 12,
        "baseline_first": "2025-03-01", "baseline_last": "2026-02-01"
      },
      "total": ROI,                      # every customer
      "segments": [ROI + {"segment": "SMB"}, …],   # by name; customers without a segment
                                         # form the blank segment ""
      "cs_cost": "1500.00",              # Σ GL lines on the CS departments in the period
      "unallocated_cs_cost": "0.00",     # CS cost no segment took (no segment had start MRR)
      "coverage": {
        "retention_roi_measurement_coverage": "62.5000000000",  # % or "undefined"
        "covered_mrr": "…", "end_mrr": "…",
        "segments_with_roi": ["SMB"]
      },
      "missing_fx": [ … ]
    }

where ROI is::

    {
      "baseline_rate": "0.0200000000" | "undefined",
      "months": [{"month": "2026-03-01", "start_mrr": "…", "churned_mrr": "…",
                  "expansion": "…", "contraction": "…",
                  "churn_avoided": "…" | "undefined"}],     # negative: worse than baseline
      "start_mrr": "…", "expansion": "…", "contraction": "…", "churned_mrr": "…",
      "churn_avoided": "…" | "undefined",
      "retention_value": "…" | "undefined",
      "cs_cost": "…",                    # a segment's: allocated by its start MRR (cents,
                                         # largest remainder)
      "roi": "1.2500000000" | "undefined",
      "reason": "" | "no customer-success cost in the period" | "baseline months not all in
                the history" | "no MRR at the start of the baseline months"
    }

Money is rounded half-up to cents, ratios to 10 decimals.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from finhub.core.calendar import month_end, month_of
from finhub.core.money import round_half_up
from metrics import selectors
from metrics.computations.presentation import UNDEFINED
from metrics.computations.retention import (
    CsRoi,
    baseline_churn_rate,
    baseline_months,
    baseline_undefined_reason,
    cs_cost_by_segment,
    cs_roi,
    retention_roi_coverage,
)
from metrics.computations.saas import RATE_PLACES
from metrics.computations.subscriptions import MrrLedger, MrrMonth, mrr_months
from metrics.reports.cac import gross_margin
from metrics.reports.numbers import money, num
from metrics.reports.roi_settings import (
    baseline_months_count,
    cs_departments,
    value_horizon_months,
)
from metrics.reports.subscriptions import customer_events

NO_SEGMENT = ""


def rate(value: Decimal | None) -> str:
    return UNDEFINED if value is None else format(round_half_up(value, RATE_PLACES), "f")


def _amount(value: Decimal | None) -> str:
    return UNDEFINED if value is None else money(value)


def _period_roi(
    ledger: MrrLedger,
    *,
    first: dt.date,
    last: dt.date,
    baseline: list[dt.date],
    history_first: dt.date | None,
    cost: Decimal,
    margin: Decimal,
    horizon: int,
) -> tuple[CsRoi, list[MrrMonth]]:
    """``cs_roi`` of a ledger's period months against its own baseline months (what
    ``retention.cs_roi_for_ledger`` does, kept apart so the segment costs can be allocated
    from the period's start MRR before the ROI is computed)."""
    period = mrr_months(ledger, first, last)
    base = [mrr_months(ledger, month, month)[0] for month in baseline]
    result = cs_roi(
        period_months=period,
        baseline_rate=baseline_churn_rate(base, history_first),
        cs_cost=cost,
        gross_margin=margin,
        value_horizon_months=horizon,
        baseline_reason=baseline_undefined_reason(base, history_first),
    )
    return result, period


def _roi_json(result: CsRoi, months: list[MrrMonth]) -> dict:
    return {
        "baseline_rate": rate(result.baseline_rate),
        "months": [
            {
                "month": month.month.isoformat(),
                "start_mrr": money(month.start_mrr),
                "churned_mrr": money(month.churn),
                "expansion": money(month.expansion),
                "contraction": money(month.contraction),
                "churn_avoided": _amount(avoided),
            }
            for month, avoided in zip(months, result.churn_avoided_by_month, strict=True)
        ],
        "start_mrr": money(result.start_mrr),
        "expansion": money(result.expansion),
        "contraction": money(result.contraction),
        "churned_mrr": money(result.churned),
        "churn_avoided": _amount(result.churn_avoided),
        "retention_value": _amount(result.retention_value),
        "cs_cost": money(result.cs_cost),
        "roi": rate(result.roi),
        "reason": result.reason,
    }


def cs_roi_report(*, start: dt.date, end: dt.date) -> dict:
    """CS ROI of the months ``start``…``end`` touch, total and per segment, its inputs, the
    settings used and the retention ROI measurement coverage at the period's end."""
    first, last = month_of(start), month_of(end)
    departments = cs_departments()
    horizon = value_horizon_months()
    baseline = baseline_months(first, baseline_months_count())
    margin = gross_margin()
    data = customer_events(end=month_end(last))
    convert = selectors.converter(start=first, end=month_end(last))
    cost_by_month = selectors.department_cost_by_month(
        start=first, end=month_end(last), departments=departments, convert=convert
    )
    cost = sum(cost_by_month.values(), Decimal(0))

    ledger = data.ledger()
    history_first = ledger.first_month
    options = {
        "first": first,
        "last": last,
        "baseline": baseline,
        "history_first": history_first,
        "margin": margin,
        "horizon": horizon,
    }
    total, total_months = _period_roi(ledger, cost=cost, **options)

    segment_of = data.segment_of()
    ledgers = data.segment_ledgers()
    periods = {name: mrr_months(seg, first, last) for name, seg in ledgers.items()}
    allocated = cs_cost_by_segment(
        cost,
        {name: sum((m.start_mrr for m in months), Decimal(0)) for name, months in periods.items()},
    )
    segments = []
    defined = set()
    for name, seg in ledgers.items():
        # Segments are measured against the company's history (a segment without customers
        # in the baseline has no baseline MRR, not a missing history).
        result, months = _period_roi(seg, cost=allocated.get(name, Decimal(0)), **options)
        if result.roi is not None:
            defined.add(name)
        segments.append({"segment": name, **_roi_json(result, months)})

    end_mrr = ledger.month_end_mrr(last)
    coverage = retention_roi_coverage(
        end_mrr_by_customer=end_mrr, segment_of=segment_of, segments_with_defined_roi=defined
    )
    total_end = sum((v for v in end_mrr.values() if v > 0), Decimal(0))
    covered = sum(
        (v for c, v in end_mrr.items() if v > 0 and segment_of.get(c, NO_SEGMENT) in defined),
        Decimal(0),
    )
    return {
        "reporting_currency": selectors.reporting_currency(),
        "settings": {
            "cs_departments": departments,
            "gross_margin": num(margin),
            "value_horizon_months": horizon,
            "baseline_months": len(baseline),
            "baseline_first": baseline[0].isoformat(),
            "baseline_last": baseline[-1].isoformat(),
        },
        "total": _roi_json(total, total_months),
        "segments": segments,
        "cs_cost": money(cost),
        "unallocated_cs_cost": money(cost - sum(allocated.values(), Decimal(0))),
        "coverage": {
            "retention_roi_measurement_coverage": rate(coverage),
            "covered_mrr": money(covered),
            "end_mrr": money(total_end),
            "segments_with_roi": sorted(defined),
        },
        "missing_fx": data.missing_fx + convert.missing,
    }
