"""The metrics engine: compute reports from the database and store them as snapshots.

Selectors (metrics/selectors.py) read, the pure computations (metrics/computations/) compute,
these services assemble the report and persist it as a :class:`MetricSnapshot`, one row per
``(kind, parameters)``: a recompute replaces it atomically. The API and dashboards read
snapshots (:func:`snapshot_get_or_compute` computes a missing one on demand).

Stored results are JSON: money and ratios as strings (unrounded Decimals; round at
presentation), an undefined ratio as ``"undefined"`` (METRICS.md §4), attributed conversions
as decimal strings of the exact fractions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from metrics import models as m
from metrics import selectors
from metrics.computations.attribution import (
    DEFAULT_HALF_LIFE,
    DEFAULT_LOOKBACK,
    GROUP_BY_CAMPAIGN,
    GROUP_BY_CHANNEL,
    GROUP_BYS,
    MODELS,
    AttributionResult,
    Journeys,
    attribute,
    build_journeys,
)
from metrics.computations.cac import DEFAULT_GROSS_MARGIN, cac_month
from metrics.computations.fx import FxRates, MissingRateError
from metrics.computations.presentation import UNDEFINED, present_money, ratio, to_decimal
from metrics.computations.roi import Roi, RoiStatus, campaign_roi, roi_tracking_capability
from metrics.computations.sales import (
    DEFAULT_TOLERANCE,
    amounts_consistent,
    average_deal_size,
    quota_attainment,
    sales_cycle,
    sales_roi,
    win_rate,
)
from metrics.computations.subscriptions import (
    MrrLedger,
    add_months,
    month_end,
    month_of,
    months_between,
    mrr_months,
)
from metrics.computations.variance import budget_variance, full_year_outturn

logger = logging.getLogger(__name__)

Kind = m.MetricSnapshot.Kind
BUDGET_GROUP_BYS = tuple(selectors.BUDGET_GROUPINGS)
HUNDRED = Decimal(100)


class MetricsError(ValueError):
    """Invalid metric parameters (unknown model or grouping, bad period)."""


# --- serialisation -------------------------------------------------------------------------


def num(value: Decimal | Fraction | int | None) -> str:
    """A number for the stored JSON: its exact decimal text, or ``"undefined"``."""
    if value is None:
        return UNDEFINED
    return str(to_decimal(value))


def money(value: Decimal | None) -> str:
    """An amount of money for the stored JSON, rounded half-up to cents (presentation)."""
    return UNDEFINED if value is None else str(present_money(value))


def percent(value: Decimal | None) -> Decimal | None:
    return None if value is None else value * HUNDRED


def params_hash(params: dict) -> str:
    """SHA-256 of the canonical JSON of the parameters (sorted keys, dates as ISO text)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# --- parameters ----------------------------------------------------------------------------


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last 12 full months plus the current month, up to today."""
    today = today or timezone.localdate()
    return add_months(month_of(today), -12), today


def _check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise MetricsError("end must not be before start")


def attribution_params(
    *,
    model: str,
    group_by: str = GROUP_BY_CHANNEL,
    start: dt.date,
    end: dt.date,
    lookback_days: int = DEFAULT_LOOKBACK.days,
    half_life_days: Decimal | int = DEFAULT_HALF_LIFE.days,
) -> dict:
    """Canonical parameters of an attribution or campaign ROI snapshot."""
    if model not in MODELS:
        raise MetricsError(f"unknown model {model!r}")
    if group_by not in GROUP_BYS:
        raise MetricsError(f"unknown group_by {group_by!r}")
    _check_period(start, end)
    return {
        "model": model,
        "group_by": group_by,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "lookback_days": int(lookback_days),
        "half_life_days": format(Decimal(half_life_days).normalize(), "f"),
    }


def period_params(*, start: dt.date, end: dt.date) -> dict:
    _check_period(start, end)
    return {"start": start.isoformat(), "end": end.isoformat()}


def budget_params(
    *, start: dt.date, end: dt.date, group_by: str = "account", budget: int | None = None
) -> dict:
    if group_by not in BUDGET_GROUP_BYS:
        raise MetricsError(f"unknown group_by {group_by!r}")
    return {**period_params(start=start, end=end), "group_by": group_by, "budget": budget}


def _dates(params: dict) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(params["start"]), dt.date.fromisoformat(params["end"])


def gross_margin() -> Decimal:
    return Decimal(str(getattr(settings, "FINHUB_GROSS_MARGIN", DEFAULT_GROSS_MARGIN)))


# --- snapshots -----------------------------------------------------------------------------


def snapshot_store(
    *, kind: str, params: dict, result: dict, inputs_freshness: dt.datetime | None
) -> m.MetricSnapshot:
    """Create or replace the snapshot of ``(kind, params)`` in one transaction."""
    start, end = _dates(params)
    with transaction.atomic():
        snapshot, _created = m.MetricSnapshot.objects.update_or_create(
            kind=kind,
            params_hash=params_hash(params),
            defaults={
                "model": params.get("model", ""),
                "group_by": params.get("group_by", ""),
                "period_start": start,
                "period_end": end,
                "params": params,
                "result": result,
                "inputs_freshness": inputs_freshness,
                "computed_at": timezone.now(),
            },
        )
    return snapshot


def snapshot_get_or_compute(*, kind: str, params: dict) -> m.MetricSnapshot:
    """The stored snapshot for these parameters; computed and stored first if missing."""
    snapshot = m.MetricSnapshot.objects.filter(kind=kind, params_hash=params_hash(params)).first()
    if snapshot is not None:
        return snapshot
    result, freshness = COMPUTERS[kind](params)
    return snapshot_store(kind=kind, params=params, result=result, inputs_freshness=freshness)


# --- attribution (METRICS.md §1) and campaign ROI (§2) -------------------------------------


@dataclass
class AttributionContext:
    """Inputs read once and journeys built once, shared by every model and grouping."""

    start: dt.date
    end: dt.date
    inputs: selectors.AttributionInputs
    journeys: Journeys
    freshness: dt.datetime | None
    _spend: tuple | None = None

    def spend(self) -> tuple[dict, Decimal, list[dict]]:
        if self._spend is None:
            self._spend = selectors.spend_by_campaign(start=self.start, end=self.end)
        return self._spend


def attribution_context(
    *, start: dt.date, end: dt.date, lookback: dt.timedelta = DEFAULT_LOOKBACK
) -> AttributionContext:
    """Read a period's conversions and touchpoints and build the journeys once."""
    inputs = selectors.attribution_inputs(start=start, end=end, lookback=lookback)
    low, high = selectors.period_bounds(start, end)
    journeys = build_journeys(
        inputs.touchpoints,
        inputs.conversions,
        lookback=lookback,
        window=(low, high - dt.timedelta(microseconds=1)),
    )
    freshness = selectors.freshness(m.Deal, m.Touchpoint, m.FxRate, m.Campaign, m.Channel)
    return AttributionContext(start, end, inputs, journeys, freshness)


def _attribution_report(result: AttributionResult, context: AttributionContext) -> dict:
    return {
        "reporting_currency": selectors.reporting_currency(),
        "rows": [
            {"key": row.key, "conversions": num(row.conversions), "revenue": num(row.revenue)}
            for row in result.rows()
        ],
        "attributed_count": result.attributed_count,
        "attributed_revenue": num(result.attributed_revenue),
        "unattributed_count": result.unattributed_count,
        "unattributed_revenue": num(result.unattributed_revenue),
        "missing_fx": context.inputs.missing_fx,
    }


def _roi_report(result: AttributionResult, context: AttributionContext) -> dict:
    """Campaign (or channel) ROI for the attribution result (METRICS.md §2)."""
    by_campaign, unlinked, missing = context.spend()
    cost: dict[str, Decimal] = defaultdict(Decimal)
    if result.group_by == GROUP_BY_CAMPAIGN:
        names, _channels = selectors.campaign_names_and_channels()
        for campaign_id, amount in by_campaign.items():
            cost[names.get(campaign_id, selectors.NO_CAMPAIGN)] += amount
    else:
        names, channel_of = selectors.campaign_names_and_channels()
        channel_names = selectors.channel_names()
        for campaign_id, amount in by_campaign.items():
            cost[channel_names.get(channel_of.get(campaign_id), selectors.NO_CHANNEL)] += amount
    revenue = {row.key: row.revenue for row in result.groups}
    rois: list[Roi] = [
        campaign_roi(key=key, cost=cost.get(key, Decimal(0)), revenue=revenue.get(key))
        for key in sorted(set(cost) | set(revenue))
    ]
    capability = roi_tracking_capability(rois)
    return {
        "reporting_currency": selectors.reporting_currency(),
        "rows": [
            {
                "key": roi.key,
                "cost": money(roi.cost),
                "revenue": money(roi.revenue),
                "roi": num(roi.roi),
                "roas": num(roi.roas),
                "status": roi.status,
            }
            for roi in rois
        ],
        # Revenue of touchpoints without a campaign (channel) has no cost to find: not listed.
        "cost_missing": [
            roi.key
            for roi in rois
            if roi.status == RoiStatus.COST_MISSING
            and roi.key not in (selectors.NO_CAMPAIGN, selectors.NO_CHANNEL)
        ],
        "lacking_roi": [
            {"key": roi.key, "cost": money(roi.cost), "status": roi.status, "why": _why(roi)}
            for roi in rois
            if roi.has_spend and roi.roi is None
        ],
        "tracking_capability": num(capability),
        "tracking_capability_percent": num(percent(capability)),
        "unlinked_spend": money(unlinked),
        "missing_fx": missing + context.inputs.missing_fx,
    }


def _why(roi: Roi) -> str:
    if roi.status == RoiStatus.NOT_TRACKED:
        return "no touchpoint in the period carries it, so no revenue can be attributed to it"
    return roi.status


def _attribution_compute(params: dict) -> tuple[dict, dt.datetime | None]:
    context = _context_for(params)
    return _attribution_report(_attribute(context, params), context), context.freshness


def _campaign_roi_compute(params: dict) -> tuple[dict, dt.datetime | None]:
    context = _context_for(params)
    freshness = max(
        filter(None, (context.freshness, selectors.freshness(m.CampaignSpend))), default=None
    )
    return _roi_report(_attribute(context, params), context), freshness


def _context_for(params: dict) -> AttributionContext:
    start, end = _dates(params)
    return attribution_context(
        start=start, end=end, lookback=dt.timedelta(days=params["lookback_days"])
    )


def _attribute(context: AttributionContext, params: dict) -> AttributionResult:
    return attribute(
        context.journeys,
        model=params["model"],
        group_by=params["group_by"],
        half_life=dt.timedelta(days=float(Decimal(params["half_life_days"]))),
    )


def _erp_checks(
    deals: Sequence[tuple],
    *,
    start: dt.date,
    end: dt.date,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> dict:
    """Per won deal ``(id, amount, currency, value in reporting currency)`` closed in the
    period: whether the ERP revenue recorded for it matches (METRICS.md §6 tolerance), the ERP
    amount and why not."""
    erp = selectors.erp_revenue_by_deal(
        start=start, end=end, deal_currency={deal[0]: deal[2] for deal in deals}
    )
    checks = {}
    for pk, amount, currency, value in deals:
        erp_currency, erp_amount = erp.get(pk, (None, None))
        if erp_currency is None:
            checks[pk] = (False, None, "no ERP revenue (invoice) recorded for the deal")
            continue
        if erp_amount is None:
            checks[pk] = (False, None, "an invoice of the deal has no FX rate on its issue date")
            continue
        compared = amount if erp_currency == currency else value
        if value is None and erp_currency != currency:
            checks[pk] = (False, erp_amount, "the deal has no FX rate on its close date")
            continue
        ok = amounts_consistent(compared, erp_amount, tolerance=tolerance)
        checks[pk] = (ok, erp_amount, "" if ok else "amount differs from the ERP revenue")
    return checks


def revenue_attribution_accuracy(context: AttributionContext) -> dict:
    """Share of won revenue that is matched to ERP revenue (linked invoices within the §6
    tolerance) *and* attributed to at least one touchpoint (an eligible touchpoint exists)."""
    attributed = {conversion.conversion_id for conversion, _c, _t in context.journeys.attributed}
    rows = selectors.won_deals(start=context.start, end=context.end)
    values = context.inputs.deals
    checks = _erp_checks(
        [
            (pk, amount, currency, values.get(pk, (None, None))[1])
            for pk, *_x, amount, currency in rows
        ],
        start=context.start,
        end=context.end,
    )
    total = matched = Decimal(0)
    for pk, (_external_id, value) in values.items():
        total += value
        if pk in attributed and checks[pk][0]:
            matched += value
    share = ratio(matched, total)
    return {
        "won_revenue": money(total),
        "matched_and_attributed_revenue": money(matched),
        "accuracy_percent": num(percent(share)),
        "value": percent(share),
    }


# --- CAC, LTV, payback (METRICS.md §4) -----------------------------------------------------


def _by_month(rows: Iterable[tuple], rates: FxRates, missing: list[dict]) -> dict:
    """Σ ``(key, currency, day, amount)`` per (month, key) in the reporting currency."""
    totals: dict[tuple[dt.date, object], Decimal] = defaultdict(Decimal)
    for key, currency, day, amount in rows:
        try:
            totals[month_of(day), key] += rates.convert(amount, currency, day)
        except MissingRateError:
            missing.append({"currency": currency, "date": day.isoformat(), "amount": num(amount)})
    return totals


def _cac_compute(params: dict) -> tuple[dict, dt.datetime | None]:
    start, end = _dates(params)
    first, last = month_of(start), month_of(end)
    cost_start, cost_end = first, month_end(last)
    rates = selectors.fx_rates(start=cost_start, end=cost_end)
    missing: list[dict] = []
    events, missing_events = selectors.subscription_events(end=month_end(last))
    missing.extend({**row, "amount": money(row["amount"])} for row in missing_events)
    ledger = MrrLedger(events)
    history_start = min(ledger.first_month or first, first)
    months = mrr_months(ledger, history_start, last)
    cost = _by_month(
        (
            (None, c, d, a)
            for c, d, a in selectors.sales_marketing_cost_rows(start=cost_start, end=cost_end)
        ),
        rates,
        missing,
    )
    spend = _by_month(selectors.channel_spend_rows(start=cost_start, end=cost_end), rates, missing)
    acquisition = selectors.acquisition_channels()
    paid = selectors.paid_channel_names()
    margin = gross_margin()
    rows = []
    for month in months_between(first, last):
        index = next(i for i, item in enumerate(months) if item.month == month)
        spend_by_channel = {
            (channel or selectors.NO_CHANNEL): amount
            for (spend_month, channel), amount in spend.items()
            if spend_month == month
        }
        result = cac_month(
            months=months[: index + 1],
            sales_marketing_cost=cost.get((month, None), Decimal(0)),
            spend_by_channel=spend_by_channel,
            acquisition_channel=acquisition,
            paid_channels=paid,
            gross_margin=margin,
        )
        mrr = months[index]
        rows.append(
            {
                "month": month.isoformat(),
                "new_customers": result.new_customers,
                "active_customers": mrr.active_at_end,
                "mrr": money(mrr.end_mrr),
                "sales_marketing_cost": money(cost.get((month, None), Decimal(0))),
                "blended_cac": num(result.blended_cac),
                "paid_cac": num(result.paid_cac),
                "channel_cac": {k: num(v) for k, v in result.channel_cac.items()},
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
    freshness = selectors.freshness(
        m.SubscriptionEvent, m.GLLine, m.CampaignSpend, m.Customer, m.FxRate
    )
    return {
        "reporting_currency": selectors.reporting_currency(),
        "gross_margin": num(margin),
        "paid_channels": sorted(paid),
        "months": rows,
        "missing_fx": missing,
    }, freshness


# --- sales (METRICS.md §6) -----------------------------------------------------------------


def _sales_compute(params: dict) -> tuple[dict, dt.datetime | None]:
    start, end = _dates(params)
    tolerance = Decimal(params.get("tolerance", str(DEFAULT_TOLERANCE)))
    rates = selectors.fx_rates(start=start, end=end)
    missing: list[dict] = []

    def convert(amount: Decimal, currency: str, day: dt.date) -> Decimal | None:
        try:
            return rates.convert(amount, currency, day)
        except MissingRateError:
            missing.append({"currency": currency, "date": day.isoformat(), "amount": num(amount)})
            return None

    outcomes = selectors.deal_outcomes(start=start, end=end)
    won = selectors.won_deal_details(start=start, end=end)
    values: dict[int, Decimal | None] = {}
    rep_deals: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for pk, _ext, _name, _opened, closed_at, amount, currency, rep_id, _team in won:
        day = selectors.local_date(closed_at)
        values[pk] = convert(amount, currency, day)
        if rep_id is not None and values[pk] is not None:
            rep_deals[rep_id].append((day, values[pk]))
    won_values = [value for value in values.values() if value is not None]
    won_revenue = sum(won_values, Decimal(0))
    cycle = sales_cycle((opened, closed) for _p, _e, _n, opened, closed, *_rest in won)

    quota_rows, teams = [], defaultdict(lambda: [Decimal(0), Decimal(0), ""])
    for (
        _pk,
        rep_id,
        rep_name,
        team_id,
        team_name,
        q_start,
        q_end,
        amount,
        currency,
    ) in selectors.quotas(start=start, end=end):
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
        if team_id is not None and quota is not None:
            team = teams[team_id, q_start, q_end]
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
        start=start, end=end
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

    cost_total = Decimal(0)
    for currency, day, total in selectors.sales_cost_rows(start=start, end=end):
        cost_total += convert(total, currency, day) or Decimal(0)

    checks = _erp_checks(
        [(pk, amount, currency, values[pk]) for pk, _e, _n, _o, _c, amount, currency, *_r in won],
        start=start,
        end=end,
        tolerance=tolerance,
    )
    consistent = sum(1 for ok, _erp, _why in checks.values() if ok)
    consistency = ratio(consistent, len(checks))
    mismatches = [
        {
            "deal": external_id,
            "name": name,
            "amount": num(amount),
            "currency": currency,
            "erp_revenue": num(checks[pk][1]) if checks[pk][1] is not None else None,
            "why": checks[pk][2],
        }
        for pk, external_id, name, _o, _c, amount, currency, *_r in won
        if not checks[pk][0]
    ]
    freshness = selectors.freshness(m.Deal, m.Quota, m.GLLine, m.Invoice, m.FxRate)
    return {
        "reporting_currency": selectors.reporting_currency(),
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
            for (month, stage), row in sorted(pipeline.items())
        ],
        "sales_cost": money(cost_total),
        "sales_roi": num(sales_roi(won_revenue=won_revenue, sales_cost=cost_total)),
        "sales_finance_consistency": num(consistency),
        "sales_finance_consistency_percent": num(percent(consistency)),
        "tolerance": num(tolerance),
        "mismatches": mismatches,
        "missing_fx": missing,
    }, freshness


# --- budget vs actual (METRICS.md §5) ------------------------------------------------------


def _budget_variance_compute(params: dict) -> tuple[dict, dt.datetime | None]:
    """Actual (Σ GL) vs budget (Σ budget lines of the chosen or current version) per group and
    account type; the full-year outturn is for the calendar (fiscal) year of ``end``, with the
    months that ended on or before ``end`` counted as closed."""
    start, end = _dates(params)
    group_by = params["group_by"]
    year_start, year_end = dt.date(end.year, 1, 1), dt.date(end.year, 12, 31)
    low, high = min(start, year_start), max(end, year_end)
    versions = selectors.budget_versions(start=low, end=high, budget_id=params.get("budget"))
    rates = selectors.fx_rates(start=low, end=high)
    missing: list[dict] = []
    labels: dict[tuple, str] = {}

    def collect(rows: Iterable[tuple], period_low: dt.date) -> tuple[dict, dict]:
        in_period: dict[tuple, Decimal] = defaultdict(Decimal)
        by_month: dict[tuple, dict[dt.date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for key, label, account_type, currency, day, total in rows:
            group = (key, account_type)
            labels[group] = label if label is not None else _no_label(group_by)
            try:
                value = rates.convert(total, currency, day)
            except MissingRateError:
                missing.append(
                    {"currency": currency, "date": day.isoformat(), "amount": num(total)}
                )
                continue
            if period_low <= day <= end:
                in_period[group] += value
            if year_start <= day <= year_end:
                by_month[group][month_of(day)] += value
        return in_period, by_month

    actual, actual_months = collect(
        selectors.ledger_totals(start=low, end=high, group_by=group_by), start
    )
    budget, budget_months = collect(
        selectors.budget_totals(start=low, end=high, group_by=group_by, budget_ids=versions),
        month_of(start),
    )
    closed = [month for month in months_between(year_start, year_end) if month_end(month) <= end]
    rows = []
    for group in sorted(set(actual) | set(budget), key=lambda g: (str(g[0]), g[1])):
        key, account_type = group
        variance = budget_variance(
            actual=actual.get(group, Decimal(0)),
            budget=budget.get(group, Decimal(0)),
            account_type=_variance_type(account_type),
        )
        rows.append(
            {
                "key": "" if key is None else str(key),
                "label": labels[group],
                "account_type": account_type,
                "actual": money(variance.actual),
                "budget": money(variance.budget),
                "variance": money(variance.variance),
                "variance_pct": num(variance.variance_pct),
                "favourable": variance.favourable,
                "full_year_budget": money(sum(budget_months.get(group, {}).values(), Decimal(0))),
                "full_year_outturn": money(
                    full_year_outturn(
                        actual_by_month=actual_months.get(group, {}),
                        budget_by_month=budget_months.get(group, {}),
                        closed_months=closed,
                    )
                ),
            }
        )
    freshness = selectors.freshness(m.GLLine, m.BudgetLine, m.Budget, m.Account, m.FxRate)
    return {
        "reporting_currency": selectors.reporting_currency(),
        "budget_versions": versions,
        "fiscal_year": end.year,
        "closed_months": [month.isoformat() for month in closed],
        "rows": rows,
        "missing_fx": missing,
    }, freshness


def _no_label(group_by: str) -> str:
    return {"campaign": selectors.NO_CAMPAIGN, "department": "(no department)"}.get(group_by, "")


def _variance_type(account_type: str) -> str:
    """METRICS.md §5 names revenue, cost and expense accounts; cost of sales is a cost."""
    return "cost" if account_type == m.Account.Type.COST_OF_SALES else account_type


COMPUTERS: dict[str, Callable[[dict], tuple[dict, dt.datetime | None]]] = {
    Kind.ATTRIBUTION: _attribution_compute,
    Kind.CAMPAIGN_ROI: _campaign_roi_compute,
    Kind.CAC: _cac_compute,
    Kind.SALES: _sales_compute,
    Kind.BUDGET_VARIANCE: _budget_variance_compute,
}


# --- the whole engine ----------------------------------------------------------------------


def _measure(metric_key: str, value: Decimal | None, source: str, note: str) -> bool:
    """Push a success-metric measurement to the roadmap scorecard (skipped when undefined)."""
    from roadmap.services import MeasurementError, measurement_record

    if value is None:
        return False
    try:
        measurement_record(
            metric_key=metric_key,
            value=value.quantize(Decimal("0.01")),
            source=source,
            note=note,
        )
    except MeasurementError as exc:
        logger.warning("measurement %s not recorded: %s", metric_key, exc)
        return False
    return True


def metrics_compute_all(
    *,
    models: Sequence[str] = MODELS,
    start: dt.date | None = None,
    end: dt.date | None = None,
    lookback_days: int = DEFAULT_LOOKBACK.days,
    half_life_days: int = DEFAULT_HALF_LIFE.days,
    push_measurements: bool = True,
) -> dict:
    """Recompute every snapshot for one period (default: :func:`default_period`) and push the
    success-metric measurements. Attribution inputs are read once for all models."""
    default_start, default_end = default_period()
    start, end = start or default_start, end or default_end
    _check_period(start, end)
    context = attribution_context(start=start, end=end, lookback=dt.timedelta(days=lookback_days))
    roi_freshness = max(
        filter(None, (context.freshness, selectors.freshness(m.CampaignSpend))), default=None
    )
    stored = 0
    capability = None
    unit_economics = None
    for model in models:
        for group_by in GROUP_BYS:
            params = attribution_params(
                model=model,
                group_by=group_by,
                start=start,
                end=end,
                lookback_days=lookback_days,
                half_life_days=half_life_days,
            )
            result = _attribute(context, params)
            snapshot_store(
                kind=Kind.ATTRIBUTION,
                params=params,
                result=_attribution_report(result, context),
                inputs_freshness=context.freshness,
            )
            roi = _roi_report(result, context)
            snapshot_store(
                kind=Kind.CAMPAIGN_ROI, params=params, result=roi, inputs_freshness=roi_freshness
            )
            stored += 2
            if group_by == GROUP_BY_CAMPAIGN:
                capability = roi["tracking_capability_percent"]
    for kind, params in (
        (Kind.CAC, period_params(start=start, end=end)),
        (Kind.SALES, period_params(start=start, end=end)),
        *(
            (Kind.BUDGET_VARIANCE, budget_params(start=start, end=end, group_by=group_by))
            for group_by in BUDGET_GROUP_BYS
        ),
    ):
        result, freshness = COMPUTERS[kind](params)
        snapshot = snapshot_store(
            kind=kind, params=params, result=result, inputs_freshness=freshness
        )
        stored += 1
        if kind == Kind.SALES:
            consistency = snapshot.result["sales_finance_consistency_percent"]
        if kind == Kind.CAC:
            unit_economics = latest_complete_month(snapshot.result["months"])
    accuracy = revenue_attribution_accuracy(context)
    pushed = []
    if push_measurements:
        note = f"{start.isoformat()}..{end.isoformat()}"
        for key, value, source in (
            ("revenue_attribution_accuracy", accuracy["value"], "auto:metrics.attribution"),
            (
                "campaign_roi_tracking_capability",
                _decimal_or_none(capability),
                "auto:metrics.campaign_roi",
            ),
            ("sales_finance_consistency", _decimal_or_none(consistency), "auto:metrics.sales"),
        ):
            if _measure(key, value, source, note):
                pushed.append(key)
        if unit_economics is not None:
            # The unit economics of the last complete month with new customers (METRICS.md §4).
            month_note = f"month {unit_economics['month'][:7]}"
            for key, field in CAC_MEASUREMENTS:
                value = _decimal_or_none(unit_economics.get(field))
                if _measure(key, value, "auto:metrics.cac", month_note):
                    pushed.append(key)
    return {
        "start": start,
        "end": end,
        "snapshots": stored,
        "revenue_attribution_accuracy": accuracy["accuracy_percent"],
        "campaign_roi_tracking_capability": capability,
        "sales_finance_consistency": consistency,
        "measurements": pushed,
    }


# Scorecard success metric -> field of a CAC month (the CAC dashboard draws their targets).
CAC_MEASUREMENTS = (
    ("blended_cac", "blended_cac"),
    ("ltv_to_cac", "ltv_to_cac"),
    ("cac_payback_months", "payback_months"),
)


def latest_complete_month(months: list[dict], today: dt.date | None = None) -> dict | None:
    """The last month before the current one whose blended CAC is defined."""
    current = month_of(today or timezone.localdate()).isoformat()
    done = [
        row
        for row in months
        if row["month"] < current and row.get("blended_cac") not in (None, UNDEFINED)
    ]
    return max(done, key=lambda row: row["month"], default=None)


def _decimal_or_none(value: str | None) -> Decimal | None:
    return None if value in (None, UNDEFINED) else Decimal(value)


def metrics_recompute_after_sync(*, connector_id: int) -> None:
    """Recompute the metrics once the current transaction (a successful sync) commits."""
    from metrics.tasks import compute_metrics

    transaction.on_commit(lambda: compute_metrics.delay(connector_id=connector_id))
