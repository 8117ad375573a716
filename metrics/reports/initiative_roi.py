"""Initiative ROI: each product initiative's ROI for a period and since its start, its cost
split, payback month and double-count flags; the period's development cost and the development
ROI tracking coverage (docs/metrics.md, "Product development ROI"). The formulas are
:mod:`metrics.computations.product_roi`'s.

JSON shape (``MetricSnapshot.result`` of kind ``initiative_roi``)::

    {
      "reporting_currency": "USD",
      "settings": {"product_departments": ["Product", "Engineering"], "gross_margin": "0.80"},
      "initiatives": [                   # by name
        {
          "id": 3, "external_id": "INI-3", "name": "Self-serve onboarding",
          "product": "…", "owner": "…",
          "start": "2025-11-01",         # its start month (start date, else its first record)
          "cost": {"gl": "…", "time": "…", "other": "…", "tagged_gl": "…", "total": "…"},
          "benefit": "…",                # Σ credited revenue and retained MRR x gross margin
          "roi": "0.5000000000" | "undefined",
          "roi_reason": "" | "no cost in the period",
          "cumulative_cost": "…", "cumulative_benefit": "…",
          "cumulative_roi": "…" | "undefined",
          "payback_month": "2026-04-01" | null,
          "payback": "2026-04" | "not paid back",
          "double_count_months": ["2026-03-01"],   # months with a GL-kind initiative cost AND
          "flags": ["possible double count"],      # tagged GL lines: both are in the cost
          "has_benefit": true,
          "cumulative": [{"month": "2025-11-01", "cost": "…", "benefit": "…"}, …]
        }
      ],
      "totals": {"cost": {…same keys…}, "benefit": "…", "roi": "…" | "undefined",
                 "cumulative_cost": "…", "cumulative_benefit": "…"},
      "cumulative": [{"month": "2026-01-01", "cost": "…", "benefit": "…"}],  # Σ initiatives,
                                         # each from its start, at the end of each period month
      "development_cost": {"gl": "…", "time": "…", "total": "…", "assigned": "…"},
      "coverage": {
        "development_roi_tracking_coverage": "40.0000000000" | "undefined",   # %
        "covered_cost": "…",
        "initiatives_with_roi_and_benefit": [3, 7]
      },
      "missing_fx": [ … ]
    }

Money is rounded half-up to cents, ratios to 10 decimals.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from finhub.core.calendar import month_of, months_between
from finhub.core.money import round_half_up
from metrics import selectors
from metrics.computations.presentation import UNDEFINED, ratio
from metrics.computations.product_roi import (
    COST_TIME,
    NOT_PAID_BACK,
    POSSIBLE_DOUBLE_COUNT,
    BenefitItem,
    CostItem,
    InitiativeInfo,
    InitiativeRoi,
    TaggedGl,
    development_roi_coverage,
    initiative_roi,
    initiatives_defined_with_benefit,
    monthly_cumulative,
)
from metrics.computations.saas import RATE_PLACES
from metrics.reports.cac import gross_margin
from metrics.reports.numbers import money, num
from metrics.reports.roi_settings import product_departments

NO_COST = "no cost in the period"
ZERO = Decimal(0)


def rate(value: Decimal | None) -> str:
    return UNDEFINED if value is None else format(round_half_up(value, RATE_PLACES), "f")


def _cost_json(gl: Decimal, time: Decimal, other: Decimal, tagged: Decimal) -> dict:
    return {
        "gl": money(gl),
        "time": money(time),
        "other": money(other),
        "tagged_gl": money(tagged),
        "total": money(gl + time + other + tagged),
    }


def initiative_roi_report(*, start: dt.date, end: dt.date) -> dict:
    """Every initiative's ROI for ``start``…``end`` and cumulative to ``end``, the totals,
    the cumulative cost vs benefit per period month, development cost and its tracking
    coverage."""
    departments = product_departments()
    margin = gross_margin()
    earliest = selectors.earliest_initiative_day()
    convert = selectors.converter(start=min(earliest or start, start), end=end)
    cost_rows, tagged_rows, benefit_rows = selectors.initiative_amounts(end=end, convert=convert)
    costs = [CostItem(i, day, kind, value) for i, kind, day, value in cost_rows if i is not None]
    tagged = [TaggedGl(i, day, value) for i, day, value, _lines in tagged_rows]
    benefits = [BenefitItem(i, day, kind, value) for i, kind, day, value in benefit_rows]

    first_record: dict[int, dt.date] = {}
    for item in [*costs, *tagged, *benefits]:
        known = first_record.get(item.initiative_id)
        first_record[item.initiative_id] = item.day if known is None else min(known, item.day)
    details = {row[0]: row for row in selectors.initiatives()}
    infos = [
        # Adapter: an initiative without a start date starts with its first record.
        InitiativeInfo(pk, start_date or first_record.get(pk, start))
        for pk, _x, _n, _p, _o, start_date, _e in details.values()
    ]
    rows = initiative_roi(
        initiatives=infos,
        costs=costs,
        tagged_gl=tagged,
        benefits=benefits,
        start=start,
        end=end,
        gross_margin=margin,
    )
    # Each initiative's own records: the curves stay linear in the records, not
    # initiatives x records.
    own: dict[int, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
    for position, items in enumerate((costs, tagged, benefits)):
        for item in items:
            own[item.initiative_id][position].append(item)
    curves = {
        info.id: monthly_cumulative(
            initiative=info,
            costs=own[info.id][0],
            tagged_gl=own[info.id][1],
            benefits=own[info.id][2],
            end=end,
            gross_margin=margin,
        )
        for info in infos
    }

    # Development cost: product departments' GL lines + time entries, in the period.
    dev_gl = selectors.department_cost_by_initiative(
        start=start, end=end, departments=departments, convert=convert
    )
    in_period = [row for row in cost_rows if start <= row[2] <= end and row[1] == COST_TIME]
    dev_time = sum((value for *_x, value in in_period), ZERO)
    assigned: dict[int, Decimal] = defaultdict(Decimal)
    for initiative_id, value in dev_gl.items():
        if initiative_id is not None:
            assigned[initiative_id] += value
    for initiative_id, _kind, _day, value in in_period:
        if initiative_id is not None:
            assigned[initiative_id] += value
    development_cost = sum(dev_gl.values(), ZERO) + dev_time
    covered_ids = initiatives_defined_with_benefit(rows)
    coverage = development_roi_coverage(
        development_cost=development_cost,
        assigned_cost_by_initiative=assigned,
        defined_with_benefit=covered_ids,
    )

    period_months = list(months_between(month_of(start), month_of(end)))
    cumulative_total = {month: [ZERO, ZERO] for month in period_months}
    for points in curves.values():
        by_month = {point.month: point for point in points}
        reached = None
        for month in period_months:
            reached = by_month.get(month, reached)
            if reached is not None:
                cumulative_total[month][0] += reached.cost
                cumulative_total[month][1] += reached.benefit

    return {
        "reporting_currency": selectors.reporting_currency(),
        "settings": {"product_departments": departments, "gross_margin": num(margin)},
        "initiatives": [_initiative_json(row, details[row.initiative_id], curves) for row in rows],
        "totals": _totals(rows),
        "cumulative": [
            {"month": month.isoformat(), "cost": money(cost), "benefit": money(benefit)}
            for month, (cost, benefit) in cumulative_total.items()
        ],
        "development_cost": {
            "gl": money(sum(dev_gl.values(), ZERO)),
            "time": money(dev_time),
            "total": money(development_cost),
            "assigned": money(sum(assigned.values(), ZERO)),
        },
        "coverage": {
            "development_roi_tracking_coverage": rate(coverage),
            "covered_cost": money(sum((v for i, v in assigned.items() if i in covered_ids), ZERO)),
            "initiatives_with_roi_and_benefit": sorted(covered_ids),
        },
        "missing_fx": convert.missing,
    }


def _initiative_json(row: InitiativeRoi, detail: tuple, curves: dict) -> dict:
    pk, external_id, name, product, owner, _start, _end = detail
    return {
        "id": pk,
        "external_id": external_id,
        "name": name,
        "product": product,
        "owner": owner,
        "start": row.start.isoformat(),
        "cost": _cost_json(row.gl_cost, row.time_cost, row.other_cost, row.tagged_gl_cost),
        "benefit": money(row.benefit),
        "roi": rate(row.roi),
        "roi_reason": "" if row.roi is not None else NO_COST,
        "cumulative_cost": money(row.cumulative_cost),
        "cumulative_benefit": money(row.cumulative_benefit),
        "cumulative_roi": rate(row.cumulative_roi),
        "payback_month": row.payback_month.isoformat() if row.payback_month else None,
        "payback": f"{row.payback_month:%Y-%m}" if row.payback_month else NOT_PAID_BACK,
        "double_count_months": [month.isoformat() for month in row.double_count_months],
        "flags": [POSSIBLE_DOUBLE_COUNT] if row.double_count_months else [],
        "has_benefit": row.has_benefit,
        "cumulative": [
            {"month": p.month.isoformat(), "cost": money(p.cost), "benefit": money(p.benefit)}
            for p in curves[row.initiative_id]
        ],
    }


def _totals(rows: list[InitiativeRoi]) -> dict:
    def total(field: str) -> Decimal:
        return sum((getattr(row, field) for row in rows), ZERO)

    cost, benefit = total("cost"), total("benefit")
    # Adapter: the ROI of all initiatives together (the computation gives each one's).
    return {
        "cost": _cost_json(
            total("gl_cost"), total("time_cost"), total("other_cost"), total("tagged_gl_cost")
        ),
        "benefit": money(benefit),
        "roi": rate(ratio(benefit - cost, cost)),
        "cumulative_cost": money(total("cumulative_cost")),
        "cumulative_benefit": money(total("cumulative_benefit")),
    }
