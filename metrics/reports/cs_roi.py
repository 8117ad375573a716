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
      "missing_fx": [ … ],
      "month_figures": FIGURES           # what the above is computed from
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

FIGURES, every amount exact (unrounded, its value as plain decimal text, trailing zeros
dropped)::

    {
      "history_first": "2025-01-01" | null,   # first month with a subscription event
      "cs_departments": ["Customer Success"], "gross_margin": "0.80",   # settings used
      "segment_first": {"": "2026-03-01", "SMB": "2025-01-01"},  # each segment's first
                                         # month with an event: the segments reported
      "months": [                        # the baseline months, then the period's
        {
          "month": "2026-01-01",
          "cs_cost": "1500",             # the period's months only
          "end_mrr_exact": true,         # Σ MRR > 0 at the month end cannot round (any
                                         # part of it, in any order, sums exactly)
          "total": MOVES,
          "segments": {"SMB": MOVES, …}
        }
      ]
    }

where MOVES is ``{"start_mrr", "churn", "expansion", "contraction", "end_mrr"}`` (end: Σ
MRR > 0 at the month end). A month's figures are the same in every report that has the
month, so :func:`cs_roi_cut` gives the report of a period from a stored report of a longer
one whose figures have its months, without reading the events again.

Money is rounded half-up to cents, ratios to 10 decimals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal

from finhub.core.calendar import month_end, month_of, months_between
from finhub.core.money import round_half_up
from metrics import selectors
from metrics.computations.coverage import percent_of
from metrics.computations.presentation import UNDEFINED
from metrics.computations.retention import (
    CsRoi,
    baseline_churn_rate,
    baseline_months,
    baseline_undefined_reason,
    cs_cost_by_segment,
    cs_roi,
)
from metrics.computations.saas import RATE_PLACES
from metrics.computations.subscriptions import MrrLedger, MrrMonth, mrr_month
from metrics.reports.cac import gross_margin
from metrics.reports.numbers import money, num
from metrics.reports.roi_settings import (
    baseline_months_count,
    cs_departments,
    value_horizon_months,
)
from metrics.reports.subscriptions import customer_events

NO_SEGMENT = ""
ZERO = Decimal(0)
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def rate(value: Decimal | None) -> str:
    return UNDEFINED if value is None else format(round_half_up(value, RATE_PLACES), "f")


def _amount(value: Decimal | None) -> str:
    return UNDEFINED if value is None else money(value)


def _exact(value: Decimal) -> str:
    """``value`` as plain decimal text, every digit kept and trailing zeros dropped (one text
    per value, however it was summed)."""
    if value == 0:
        return "0"
    return format(value.normalize(_EXACT), "f")


@dataclass(frozen=True)
class Moves:
    """A month's MRR movements as the CS ROI reads them (a ``MOVES`` of the figures)."""

    month: dt.date
    start_mrr: Decimal
    churn: Decimal
    expansion: Decimal
    contraction: Decimal
    end_mrr: Decimal


def _moves_json(month: MrrMonth) -> dict:
    return {
        "start_mrr": _exact(month.start_mrr),
        "churn": _exact(month.churn),
        "expansion": _exact(month.expansion),
        "contraction": _exact(month.contraction),
        "end_mrr": _exact(month.end_mrr),
    }


def _moves(month: dt.date, figures: dict) -> Moves:
    return Moves(
        month=month,
        start_mrr=Decimal(figures["start_mrr"]),
        churn=Decimal(figures["churn"]),
        expansion=Decimal(figures["expansion"]),
        contraction=Decimal(figures["contraction"]),
        end_mrr=Decimal(figures["end_mrr"]),
    )


def _roi_json(result: CsRoi, months: list[Moves]) -> dict:
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


def month_figures(
    *,
    first: dt.date,
    last: dt.date,
    baseline: list[dt.date],
    ledger: MrrLedger,
    segment_ledgers: dict[str, MrrLedger],
    cost_by_month: dict[dt.date, Decimal],
    departments: list[str],
    margin: Decimal,
) -> dict:
    """The figures (``FIGURES`` above) of the baseline months and the months ``first``…
    ``last``: the ledger's and each segment ledger's movements, and the CS cost by month."""
    months = []
    period_first = month_of(first)
    for month in [*baseline, *months_between(first, last)]:
        row: dict = {"month": month.isoformat()}
        if month >= period_first:
            row["cs_cost"] = _exact(cost_by_month.get(month, ZERO))
        # None: the ledger's Σ MRR > 0 at the month end could round (it is then summed in
        # the customers' order, and a part of it need not equal the sum of its parts).
        _count, end = ledger.active_summary(month).get(None, (0, ZERO))
        row["end_mrr_exact"] = end is not None
        row["total"] = _moves_json(mrr_month(ledger, month))
        row["segments"] = {
            name: _moves_json(mrr_month(seg, month)) for name, seg in segment_ledgers.items()
        }
        months.append(row)
    history_first = ledger.first_month
    return {
        "history_first": None if history_first is None else history_first.isoformat(),
        "cs_departments": list(departments),
        "gross_margin": num(margin),
        "segment_first": {
            name: seg.first_month.isoformat()
            for name, seg in segment_ledgers.items()
            if seg.first_month is not None
        },
        "months": months,
    }


def cs_roi_from_figures(
    figures: dict,
    *,
    first: dt.date,
    last: dt.date,
    baseline_count: int,
    horizon: int,
    margin: Decimal,
    currency: str,
    missing_fx: list,
    covered_mrr: Callable[[set[str]], Decimal] | None = None,
) -> dict:
    """The report of the months ``first``…``last`` from their figures (``FIGURES``, with
    every baseline month of ``baseline_count`` before ``first``) and the settings: no data
    read. ``covered_mrr(segments with a defined ROI)``: Σ MRR > 0 at ``last``'s end of their
    customers, summed in the customers' order, for when that sum could round
    (``end_mrr_exact`` false; without it, the figures must say it cannot)."""
    first, last = month_of(first), month_of(last)
    rows = {row["month"]: row for row in figures["months"]}
    baseline = baseline_months(first, baseline_count)
    period = list(months_between(first, last))
    history = figures["history_first"]
    history_first = None if history is None else dt.date.fromisoformat(history)
    segment_names = sorted(figures["segment_first"])

    def moves(name: str | None, months: list[dt.date]) -> list[Moves]:
        return [
            _moves(
                month,
                rows[month.isoformat()]["total"]
                if name is None
                else rows[month.isoformat()]["segments"][name],
            )
            for month in months
        ]

    def period_roi(name: str | None, cost: Decimal) -> tuple[CsRoi, list[Moves]]:
        months, base = moves(name, period), moves(name, baseline)
        result = cs_roi(
            period_months=months,
            baseline_rate=baseline_churn_rate(base, history_first),
            cs_cost=cost,
            gross_margin=margin,
            value_horizon_months=horizon,
            baseline_reason=baseline_undefined_reason(base, history_first),
        )
        return result, months

    cost = sum((Decimal(rows[month.isoformat()]["cs_cost"]) for month in period), ZERO)
    total, total_months = period_roi(None, cost)
    allocated = cs_cost_by_segment(
        cost,
        {
            name: sum((month.start_mrr for month in moves(name, period)), ZERO)
            for name in segment_names
        },
    )
    segments = []
    defined = set()
    for name in segment_names:
        # Segments are measured against the company's history (a segment without customers
        # in the baseline has no baseline MRR, not a missing history).
        result, months = period_roi(name, allocated.get(name, ZERO))
        if result.roi is not None:
            defined.add(name)
        segments.append({"segment": name, **_roi_json(result, months)})

    end_row = rows[last.isoformat()]
    total_end = Decimal(end_row["total"]["end_mrr"])
    if end_row["end_mrr_exact"]:
        # Every part of the month end's Σ MRR > 0 sums exactly: the defined segments' sums
        # add up to their customers' sum in any order.
        covered = sum(
            (Decimal(end_row["segments"][name]["end_mrr"]) for name in sorted(defined)), ZERO
        )
    elif covered_mrr is not None:
        covered = covered_mrr(defined)
    else:
        raise ValueError(f"the MRR at the end of {last} could round: sum it by customer")
    return {
        "reporting_currency": currency,
        "settings": {
            "cs_departments": figures["cs_departments"],
            "gross_margin": num(margin),
            "value_horizon_months": horizon,
            "baseline_months": len(baseline),
            "baseline_first": baseline[0].isoformat(),
            "baseline_last": baseline[-1].isoformat(),
        },
        "total": _roi_json(total, total_months),
        "segments": segments,
        "cs_cost": money(cost),
        "unallocated_cs_cost": money(cost - sum(allocated.values(), ZERO)),
        "coverage": {
            "retention_roi_measurement_coverage": rate(percent_of(covered, total_end)),
            "covered_mrr": money(covered),
            "end_mrr": money(total_end),
            "segments_with_roi": sorted(defined),
        },
        "missing_fx": missing_fx,
        "month_figures": figures,
    }


def cs_roi_report(*, start: dt.date, end: dt.date) -> dict:
    """CS ROI of the months ``start``…``end`` touch, total and per segment, its inputs, the
    settings used and the retention ROI measurement coverage at the period's end: the
    figures of its months read from the data (:func:`month_figures`), then the report from
    them (:func:`cs_roi_from_figures`)."""
    first, last = month_of(start), month_of(end)
    departments = cs_departments()
    count = baseline_months_count()
    margin = gross_margin()
    data = customer_events(end=month_end(last))
    convert = selectors.converter(start=first, end=month_end(last))
    cost_by_month = selectors.department_cost_by_month(
        start=first, end=month_end(last), departments=departments, convert=convert
    )
    ledger = data.ledger()
    segment_of = data.segment_of()
    figures = month_figures(
        first=first,
        last=last,
        baseline=baseline_months(first, count),
        ledger=ledger,
        segment_ledgers=data.segment_ledgers(),
        cost_by_month=cost_by_month,
        departments=departments,
        margin=margin,
    )

    def covered_mrr(defined: set[str]) -> Decimal:
        end_mrr = ledger.month_end_mrr(last)
        return sum(
            (v for c, v in end_mrr.items() if v > 0 and segment_of.get(c, NO_SEGMENT) in defined),
            ZERO,
        )

    return cs_roi_from_figures(
        figures,
        first=first,
        last=last,
        baseline_count=count,
        horizon=value_horizon_months(),
        margin=margin,
        currency=selectors.reporting_currency(),
        missing_fx=data.missing_fx + convert.missing,
        covered_mrr=covered_mrr,
    )


def cs_roi_cut(result: dict, first: dt.date, last: dt.date) -> dict | None:
    """The report of the months ``first``…``last`` (what :func:`cs_roi_report` gives for any
    start in ``first``'s month and end in ``last``'s) cut from ``result``, a stored report of
    a longer period; None when it cannot be: a month (of the period or its baseline) missing
    from its figures, an amount it left out for want of an FX rate, other CS departments or
    reporting currency than the current settings, no figures (a report stored before them),
    or a month end MRR that could round. Reads no data: a month's figures are the same in
    every report that has it, and the settings are read now, as the report does."""
    figures = result.get("month_figures")
    if not isinstance(figures, dict) or result.get("missing_fx"):
        return None
    currency = selectors.reporting_currency()
    departments = cs_departments()
    if result.get("reporting_currency") != currency or figures["cs_departments"] != departments:
        return None
    first, last = month_of(first), month_of(last)
    count = baseline_months_count()
    period = {month.isoformat() for month in months_between(first, last)}
    wanted = [month.isoformat() for month in baseline_months(first, count)] + sorted(period)
    rows = {row["month"]: row for row in figures["months"]}
    if not all(month in rows for month in wanted) or not all(
        "cs_cost" in rows[month] for month in period
    ):
        return None
    end = last.isoformat()
    if not rows[end]["end_mrr_exact"]:
        return None
    # The report of a shorter period reads the events up to its end: a segment (or the
    # history) whose first event is after it is not there.
    history = figures["history_first"]
    segment_first = {
        name: month for name, month in figures["segment_first"].items() if month <= end
    }
    months = []
    for month in wanted:
        row = rows[month]
        kept = {
            "month": month,
            **({"cs_cost": row["cs_cost"]} if month in period else {}),
            "end_mrr_exact": row["end_mrr_exact"],
            "total": row["total"],
            "segments": {
                name: moves for name, moves in row["segments"].items() if name in segment_first
            },
        }
        months.append(kept)
    margin = gross_margin()
    cut = {
        "history_first": history if history is not None and history <= end else None,
        "cs_departments": departments,
        "gross_margin": num(margin),
        "segment_first": segment_first,
        "months": months,
    }
    return cs_roi_from_figures(
        cut,
        first=first,
        last=last,
        baseline_count=count,
        horizon=value_horizon_months(),
        margin=margin,
        currency=currency,
        missing_fx=[],
    )
