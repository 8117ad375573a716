"""Sales analytics (docs/metrics.md, "Sales") of all teams or of one team: pipeline by month
and stage, win rate, average deal size, sales cycle, quota attainment per rep and team, sales
ROI and the sales-finance consistency with the mismatching deals.

A team's report counts its reps' deals and quotas only, so the teams' additive figures (deals,
won revenue, pipeline, quota rows, mismatches) sum to the company's for deals that have a
rep. Sales cost is booked per department, not per team: a team's report has no sales cost and
no sales ROI (``"undefined"``); the company's apply to every team.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from finhub.core.calendar import month_of
from metrics import selectors
from metrics.computations.presentation import UNDEFINED, ratio
from metrics.computations.sales import (
    DEFAULT_TOLERANCE,
    average_deal_size,
    quota_attainment,
    sales_cycle,
    sales_roi,
    win_rate,
)
from metrics.reports.erp import erp_checks
from metrics.reports.numbers import money, num, percent
from records import models as m

#: The pipeline's stage order (records have a stage name but no order or probability): the
#: usual stages of a B2B funnel, matched without regard to case; a stage not listed comes
#: after them (alphabetically), deals without a stage last (docs/metrics.md, "Pipeline").
STAGE_ORDER = (
    "lead",
    "prospecting",
    "qualification",
    "discovery",
    "demo",
    "proposal",
    "negotiation",
    "contract",
    "closed won",
    "closed lost",
)


def stage_sort_key(stage: str) -> tuple[int, str]:
    """Sorts stage names in pipeline order (see :data:`STAGE_ORDER`)."""
    name = (stage or "").strip().lower()
    if not name:
        return (len(STAGE_ORDER) + 1, "")
    if name in STAGE_ORDER:
        return (STAGE_ORDER.index(name), name)
    return (len(STAGE_ORDER), name)


def sales_report(
    *,
    start: dt.date,
    end: dt.date,
    team_id: int | None = None,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> dict:
    """The sales figures of the period, of every deal or of one team's (see the module doc)."""
    convert = selectors.converter(start=start, end=end)
    outcomes = selectors.deal_outcomes(start=start, end=end, team_id=team_id)
    won = selectors.won_deal_details(start=start, end=end, team_id=team_id)
    values: dict[int, Decimal | None] = {}
    rep_deals: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    # selectors.local_date per deal, with the time zone looked up once (a hot loop).
    zone = timezone.get_current_timezone()
    for pk, external_id, _name, _opened, closed_at, amount, currency, rep_id, _team in won:
        day = closed_at.astimezone(zone).date()
        value = values[pk] = convert(amount, currency, day, deal=external_id)
        if rep_id is not None and value is not None:
            rep_deals[rep_id].append((day, value))
    won_values = [value for value in values.values() if value is not None]
    won_revenue = sum(won_values, Decimal(0))
    cycle = sales_cycle((opened, closed) for _p, _e, _n, opened, closed, *_rest in won)

    quota_rows = []
    teams: dict[tuple, list] = defaultdict(lambda: [Decimal(0), Decimal(0), ""])
    for (
        _pk,
        rep_id,
        rep_name,
        quota_team_id,
        team_name,
        q_start,
        q_end,
        amount,
        currency,
    ) in selectors.quotas(start=start, end=end, team_id=team_id):
        # A quota converts at its period start's rate (docs/metrics.md, "Quota attainment").
        quota = convert(amount, currency, q_start)
        revenue = sum(
            (v for day, v in rep_deals.get(rep_id, ()) if q_start <= day <= q_end), Decimal(0)
        )
        quota_rows.append(
            {
                "rep": rep_name,
                "team": team_name or "",
                "period_start": q_start.isoformat(),
                "period_end": q_end.isoformat(),
                "quota": money(quota),
                "won_revenue": money(revenue),
                "attainment": num(
                    None if quota is None else quota_attainment(won_revenue=revenue, quota=quota)
                ),
            }
        )
        if quota_team_id is not None and quota is not None:
            team = teams[quota_team_id, q_start, q_end]
            team[0] += revenue
            team[1] += quota
            team[2] = team_name
    team_rows = [
        {
            "team": name,
            "period_start": q_start.isoformat(),
            "period_end": q_end.isoformat(),
            "quota": money(quota),
            "won_revenue": money(revenue),
            "attainment": num(quota_attainment(won_revenue=revenue, quota=quota)),
        }
        for (_team_id, q_start, q_end), (revenue, quota, name) in sorted(
            teams.items(), key=lambda item: (item[0][1], item[1][2])
        )
    ]

    pipeline: dict[tuple[str, str], dict] = {}
    for stage, status, currency, day, deals, total in selectors.pipeline_totals(
        start=start, end=end, team_id=team_id
    ):
        row = pipeline.setdefault(
            (month_of(day).isoformat(), stage),
            {"deals": 0, "amount": Decimal(0), "open_deals": 0, "open_amount": Decimal(0)},
        )
        value = convert(total, currency, day) or Decimal(0)
        row["deals"] += deals
        row["amount"] += value
        if status == m.Deal.Status.OPEN:
            row["open_deals"] += deals
            row["open_amount"] += value

    if team_id is None:
        cost_total = sum(
            (
                convert(total, currency, day) or Decimal(0)
                for currency, day, total in selectors.sales_cost_rows(start=start, end=end)
            ),
            Decimal(0),
        )
        cost, roi = (
            money(cost_total),
            num(sales_roi(won_revenue=won_revenue, sales_cost=cost_total)),
        )
    else:
        cost = roi = UNDEFINED

    checks = erp_checks(
        [(pk, amount, currency, values[pk]) for pk, _e, _n, _o, _c, amount, currency, *_r in won],
        start=start,
        end=end,
        tolerance=tolerance,
    )
    consistency = ratio(sum(1 for check in checks.values() if check.ok), len(checks))
    mismatches = [
        {
            "deal": external_id,
            "name": name,
            "amount": num(amount),
            "currency": currency,
            "erp_revenue": num(checks[pk].erp_revenue)
            if checks[pk].erp_revenue is not None
            else None,
            "why": checks[pk].why,
        }
        for pk, external_id, name, _o, _c, amount, currency, *_r in won
        if not checks[pk].ok
    ]
    return {
        "reporting_currency": selectors.reporting_currency(),
        "team": "" if team_id is None else selectors.sales_team_name(team_id),
        "won_deals": outcomes["won"],
        "lost_deals": outcomes["lost"],
        "win_rate": num(win_rate(won=outcomes["won"], lost=outcomes["lost"])),
        "won_revenue": money(won_revenue),
        "average_deal_size": num(average_deal_size(won_values)),
        "sales_cycle_days": {
            "deals": cycle.deals,
            "median": num(cycle.median_days),
            "mean": num(cycle.mean_days),
        },
        "quota_attainment": {"reps": quota_rows, "teams": team_rows},
        "pipeline": [
            {
                "month": month,
                "stage": stage,
                "deals": row["deals"],
                "amount": money(row["amount"]),
                "open_deals": row["open_deals"],
                "open_amount": money(row["open_amount"]),
            }
            for (month, stage), row in sorted(
                pipeline.items(), key=lambda item: (item[0][0], stage_sort_key(item[0][1]))
            )
        ],
        "sales_cost": cost,
        "sales_roi": roi,
        "sales_finance_consistency": num(consistency),
        "sales_finance_consistency_percent": num(percent(consistency)),
        "tolerance": num(tolerance),
        "mismatches": mismatches,
        "missing_fx": convert.missing,
    }
