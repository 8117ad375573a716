"""Reads the dashboards need beyond the stored snapshots (indexed aggregates only)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from metrics import models as m
from metrics import selectors, services
from metrics.computations.fx import MissingRateError
from metrics.computations.variance import budget_variance
from metrics.dashboards.period import Period

#: Success-metric keys the CAC page reads its targets from (roadmap scorecard).
CAC_TARGET_KEYS = {
    "blended_cac": "blended_cac",
    "ltv_to_cac": "ltv_to_cac",
    "payback_months": "cac_payback_months",
}


DEPARTMENT_ACCOUNT = "department_account"


def department_account_params(period: Period) -> dict:
    """Parameters of the stored department x account budget-variance snapshot (kind
    budget_variance, grouping ``department_account``; computed here, not by the engine)."""
    return {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "group_by": DEPARTMENT_ACCOUNT,
        "budget": None,
    }


def department_account_compute(params: dict) -> tuple[dict, object]:
    """Budget vs actual per (department, account) in the period (METRICS.md §5): Σ GL and Σ
    budget lines of the current versions grouped in SQL (the ``posting_date, account,
    department`` and ``budget, month, account`` indexes), converted at each day's rate. The
    executive page's department filter reads it, so one stored row serves every department.
    """
    start, end = dt.date.fromisoformat(params["start"]), dt.date.fromisoformat(params["end"])
    versions = selectors.budget_versions(start=start, end=end, budget_id=None)
    rates = selectors.fx_rates(start=start.replace(day=1), end=end)
    fields = ("department__code", "department__name", "account__code", "account__name")
    ledger = (
        m.GLLine.objects.filter(
            posting_date__gte=start, posting_date__lte=end, account__isnull=False
        )
        .values(*fields, "account__type", "currency_id", "posting_date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list(*fields, "account__type", "currency_id", "posting_date", "total")
    )
    budget = (
        m.BudgetLine.objects.filter(
            budget_id__in=versions,
            month__gte=start.replace(day=1),
            month__lte=end,
            account__isnull=False,
        )
        .values(*fields, "account__type", "currency_id", "month")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list(*fields, "account__type", "currency_id", "month", "total")
    )
    labels: dict[tuple, tuple[str, str]] = {}
    totals: dict[str, dict[tuple, Decimal]] = {
        "actual": defaultdict(Decimal),
        "budget": defaultdict(Decimal),
    }
    missing = []
    for name, rows in (("actual", ledger), ("budget", budget)):
        for dept_code, dept_name, code, label, account_type, currency, day, total in rows:
            key = (dept_code or "", code, account_type)
            labels[key] = (dept_name or "(no department)", label)
            try:
                totals[name][key] += rates.convert(total, currency, day)
            except MissingRateError:
                missing.append({"currency": currency, "date": day.isoformat()})
    out = []
    for key in sorted(set(totals["actual"]) | set(totals["budget"]), key=str):
        dept_code, code, account_type = key
        variance = budget_variance(
            actual=totals["actual"].get(key, Decimal(0)),
            budget=totals["budget"].get(key, Decimal(0)),
            account_type="cost" if account_type == m.Account.Type.COST_OF_SALES else account_type,
        )
        out.append(
            {
                "department": dept_code,
                "department_label": labels[key][0],
                "key": code,
                "label": labels[key][1],
                "account_type": account_type,
                "actual": services.money(variance.actual),
                "budget": services.money(variance.budget),
                "variance": services.money(variance.variance),
                "variance_pct": services.num(variance.variance_pct),
                "favourable": variance.favourable,
            }
        )
    freshness = selectors.freshness(m.GLLine, m.BudgetLine, m.Budget, m.FxRate)
    return {"budget_versions": versions, "rows": out, "missing_fx": missing}, freshness


def success_metric_targets(keys) -> dict[str, tuple[str, Decimal, str, str]]:
    """key -> (name, target, unit, direction) of the roadmap success metrics (one query)."""
    from roadmap.models import SuccessMetric

    return {
        key: (name, target, unit, direction)
        for key, name, target, unit, direction in SuccessMetric.objects.filter(
            key__in=list(keys)
        ).values_list("key", "name", "target_value", "unit", "direction")
    }
