"""Budget scenarios (docs/metrics.md, "Budget scenarios"): copy a budget version into a
scenario, recompute its lines from its drivers, and compare it with the current version.

A scenario is a ``records.Budget`` of kind "scenario" owned by FinHub's internal push-only
connector "Scenarios" (created on demand), never current, so budget vs actual uses it only
when it is chosen (``budget=<id>``). Its lines are always the base version's lines times the
drivers (``metrics.computations.scenarios``): re-applying gives the same lines.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from finhub.core.calendar import add_months, last_closed_month, month_end, months_between
from finhub.core.money import round_half_up
from metrics import selectors
from metrics.computations.attribution import DEFAULT_HALF_LIFE, DEFAULT_LOOKBACK, GROUP_BY_CHANNEL
from metrics.computations.presentation import ratio
from metrics.computations.scenarios import (
    Driver,
    LineFacts,
    cac_outlook,
    channel_roi_outlook,
    revenue_per_spend,
    scenario_amount,
    scenario_factor,
    trailing_average,
)
from metrics.computations.subscriptions import MrrLedger, mrr_months
from metrics.computations.variance import EXPENSE, REVENUE
from metrics.params import default_attribution_model
from metrics.reports.attribution import AttributionContext
from metrics.reports.budget import budget_report
from metrics.reports.numbers import money, percent
from records import models as m

SCENARIOS_CONNECTOR = "Scenarios"
BATCH = 2000
TRAILING_MONTHS = 12
COST_OF_SALES = m.Account.Type.COST_OF_SALES


def headcount_account_prefixes() -> tuple[str, ...]:
    """Payroll account-code prefixes (setting FINHUB_HEADCOUNT_ACCOUNT_PREFIXES)."""
    prefixes = settings.FINHUB_HEADCOUNT_ACCOUNT_PREFIXES
    return tuple(str(prefix).strip() for prefix in prefixes if str(prefix).strip())


def scenarios_connector():
    """The internal push-only connector that owns every scenario (created on demand, like
    the demo's "Manual entries"). Its budgets are written here only: ingestion refuses them.
    The model is reached through the budget's ``source`` field: metrics does not import the
    connectors app (import-linter layers)."""
    connector_model = m.Budget._meta.get_field("source").related_model
    connector, _ = connector_model.objects.get_or_create(
        name=SCENARIOS_CONNECTOR,
        defaults={
            "kind": connector_model.Kind.BUDGET,
            "transport": connector_model.Transport.PUSH_ONLY,
        },
    )
    return connector


def default_from_month(today: dt.date | None = None) -> dt.date:
    """The month after the last closed month: the first month a driver changes by default."""
    return add_months(last_closed_month(today or timezone.localdate()), 1)


# --- writes ----------------------------------------------------------------------------------


@transaction.atomic
def scenario_create(*, base_budget: m.Budget, name: str = "", user=None) -> m.Budget:
    """Copy ``base_budget`` (a plan version) into a new scenario with the same lines.
    ``name`` defaults to "<base name> scenario <n>"."""
    if base_budget.is_scenario:
        raise ValueError("A scenario is copied from a budget version, not from a scenario.")
    connector = scenarios_connector()
    if not name.strip():
        count = m.Budget.objects.filter(based_on=base_budget).count()
        name = f"{base_budget.name} scenario {count + 1}"
    taken = m.Budget.all_objects.filter(
        source=connector, fiscal_year=base_budget.fiscal_year
    ).aggregate(top=Max("version"))["top"]
    scenario = m.Budget.objects.create(
        source=connector,
        external_id=f"SCN-new-{uuid.uuid4().hex}",  # renamed to SCN-<id> below
        name=name.strip()[:200],
        fiscal_year=base_budget.fiscal_year,
        version=0 if taken is None else taken + 1,
        is_current=False,
        kind=m.Budget.Kind.SCENARIO,
        based_on=base_budget,
        created_by=user if getattr(user, "pk", None) else None,
    )
    scenario.external_id = f"SCN-{scenario.pk}"
    scenario.save(update_fields=["external_id"])
    _write_lines(scenario, drivers=[])
    return scenario


@transaction.atomic
def scenario_apply_drivers(scenario: m.Budget, *, today: dt.date | None = None) -> int:
    """Recompute the scenario's lines: each base line times its matching drivers, rounded
    to cents. Idempotent (always from the base lines). Returns the number of lines."""
    if not scenario.is_scenario:
        raise ValueError(f"{scenario} is not a scenario.")
    # A driver left without a first month gets today's default written down, so the lines
    # and the comparison's drivers table keep saying the same month after another closes.
    scenario.drivers.filter(from_month__isnull=True).update(from_month=default_from_month(today))
    drivers = [Driver(d.kind, d.target, d.percent, d.from_month) for d in scenario.drivers.all()]
    return _write_lines(scenario, drivers=drivers)


LINE_FIELDS = (
    "id",
    "account_id",
    "account_external_id",
    "department_id",
    "department_external_id",
    "month",
    "amount",
    "currency_id",
    "campaign_id",
    "campaign_external_id",
    "initiative_id",
    "initiative_external_id",
    "account__type",
    "account__code",
    "campaign__channel__name",
    "department__code",
    "department__name",
)


def _write_lines(scenario: m.Budget, *, drivers: list[Driver]) -> int:
    """Replace the scenario's lines by the base version's lines x the drivers (one delete,
    one read streamed, inserts in batches)."""
    if scenario.based_on_id is None:
        raise ValueError(f"{scenario} has lost its base version; its lines are kept.")
    m.BudgetLine.all_objects.filter(budget=scenario).delete()
    prefixes = headcount_account_prefixes()
    base = (
        m.BudgetLine.objects.filter(budget_id=scenario.based_on_id)
        .order_by("id")
        .values_list(*LINE_FIELDS)
    )
    now = timezone.now()
    written = 0
    for batch in _batches(base.iterator(chunk_size=BATCH)):
        lines = []
        for row in batch:
            line = dict(zip(LINE_FIELDS, row, strict=True))
            code = line["account__code"] or ""
            facts = LineFacts(
                month=line["month"],
                account_type=line["account__type"] or "",
                account_code=code,
                channel=line["campaign__channel__name"] or "",
                department_code=line["department__code"] or "",
                department_name=line["department__name"] or "",
                is_headcount=bool(code) and code.startswith(prefixes),
            )
            amount = scenario_amount(line["amount"], scenario_factor(facts, drivers))
            lines.append(
                m.BudgetLine(
                    source_id=scenario.source_id,
                    external_id=f"{scenario.external_id}-{line['id']}",
                    budget=scenario,
                    budget_external_id=scenario.external_id,
                    amount=amount,
                    created_at=now,
                    updated_at=now,
                    **{
                        k: v for k, v in line.items() if k not in ("id", "amount") and "__" not in k
                    },
                )
            )
        m.BudgetLine.all_objects.bulk_create(lines, batch_size=BATCH)
        written += len(lines)
    return written


def _batches(rows: Iterable, size: int = BATCH) -> Iterator[list]:
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- reads -----------------------------------------------------------------------------------


def scenarios_list(*, fiscal_year: int | None = None) -> list[dict]:
    """Every scenario (of a fiscal year), newest first, with its base version (one query)."""
    scenarios = (
        m.Budget.objects.filter(kind=m.Budget.Kind.SCENARIO)
        .select_related("based_on", "created_by")
        .annotate(driver_count=Count("drivers"))
        .order_by("-fiscal_year", "-id")
    )
    if fiscal_year is not None:
        scenarios = scenarios.filter(fiscal_year=fiscal_year)
    return [
        {
            "id": s.pk,
            "name": s.name,
            "label": s.version_label,
            "fiscal_year": s.fiscal_year,
            "based_on_id": s.based_on_id,
            "based_on_label": str(s.based_on) if s.based_on else "",
            "created_by": s.created_by.get_username() if s.created_by else "",
            "created_at": s.created_at.isoformat(),
            "drivers": s.driver_count,
        }
        for s in scenarios
    ]


def current_version(scenario: m.Budget) -> m.Budget | None:
    """The version the scenario is compared with: the current version of its fiscal year
    from its base version's source, else any current version of that year, else its base."""
    base = scenario.based_on
    current = m.Budget.objects.filter(
        fiscal_year=scenario.fiscal_year, is_current=True, kind=m.Budget.Kind.PLAN
    ).order_by("id")
    if base is not None:
        return current.filter(source_id=base.source_id).first() or current.first() or base
    return current.first()


def _pnl(report: dict) -> dict[str, Decimal]:
    """Full-year budget and outturn of revenue, total expenses and operating income, added
    from the report's unrounded rows."""
    totals = {f"{f}:{t}": Decimal(0) for f in ("budget", "outturn") for t in ("r", "e")}
    for row in report["rows"]:
        kind = row["account_type"]
        if kind == REVENUE:
            key = "r"
        elif kind in (EXPENSE, COST_OF_SALES):
            key = "e"
        else:
            continue
        totals[f"budget:{key}"] += Decimal(row["exact"]["full_year_budget"])
        totals[f"outturn:{key}"] += Decimal(row["exact"]["full_year_outturn"])
    out = {}
    for field in ("budget", "outturn"):
        revenue, expenses = totals[f"{field}:r"], totals[f"{field}:e"]
        out[f"{field}.revenue"] = revenue
        out[f"{field}.expenses"] = expenses
        out[f"{field}.operating_income"] = revenue - expenses
    return out


def _planned(budget_id: int, months: list[dt.date], convert, *, by_channel: bool) -> dict:
    """Σ of a version's lines in ``months`` on sales & marketing accounts (key None), or per
    paid channel of the line's campaign (``by_channel``), in the reporting currency."""
    lines = m.BudgetLine.objects.filter(budget_id=budget_id, month__in=months)
    if by_channel:
        lines = lines.filter(campaign__channel__is_paid=True)
        key = "campaign__channel__name"
    else:
        lines = lines.filter(account__is_sales_marketing=True)
        key = "budget_id"
    totals: dict = defaultdict(Decimal)
    rows = (
        lines.values(key, "currency_id", "month")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list(key, "currency_id", "month", "total")
    )
    for name, currency, month, total in rows:
        value = convert(total, currency, month)
        if value is not None:
            totals[name if by_channel else None] += value
    return totals


def _channel_totals(rows: Iterable[tuple], convert) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for channel, currency, day, amount in rows:
        value = convert(amount, currency, day)
        if value is not None and channel is not None:
            totals[channel] += value
    return totals


def _attributed_revenue(start: dt.date, end: dt.date, model: str) -> dict[str, Decimal]:
    if end < start:
        return {}
    context = AttributionContext.read(start=start, end=end, lookback_days=DEFAULT_LOOKBACK.days)
    result = context.attribute(
        model=model, group_by=GROUP_BY_CHANNEL, half_life_days=str(DEFAULT_HALF_LIFE.days)
    )
    return {row.key: Decimal(row.revenue) for row in result.groups}


def _text(value: Decimal | None, unit: str) -> str | None:
    if value is None:
        return None
    return money(value) if unit == "money" else str(round_half_up(value, 2))


#: The two columns of a comparison; a figure is a dict side -> value (None: not available).
SIDES = ("current", "scenario")
MEASURES = (
    ("revenue", "Revenue"),
    ("expenses", "Total expenses"),
    ("operating_income", "Operating income"),
)


def _row(key: str, label: str, unit: str, values: dict) -> dict:
    current, scenario = values["current"], values["scenario"]
    difference = None if current is None or scenario is None else scenario - current
    return {
        "key": key,
        "label": label,
        "unit": unit,
        "current": _text(current, unit),
        "scenario": _text(scenario, unit),
        "difference": _text(difference, unit),
    }


def _field(values: dict, name: str) -> dict:
    """One attribute of each side's result (None stays None)."""
    return {side: None if v is None else getattr(v, name) for side, v in values.items()}


def _each(versions: dict, compute) -> dict:
    """``compute(budget id)`` per side; None for a side without a version."""
    return {side: None if pk is None else compute(pk) for side, pk in versions.items()}


def _pnl_rows(versions: dict, *, year: int, today: dt.date) -> list[dict]:
    """Full-year budget and outturn (docs/metrics.md, "Budget vs actual") of each version,
    and each outturn's variance against the current version's full-year budget."""
    pnl = _each(
        versions,
        lambda pk: _pnl(
            budget_report(
                start=dt.date(year, 1, 1),
                end=dt.date(year, 12, 31),
                group_by="account_type",
                budget=pk,
                today=today,
            )
        ),
    )
    rows = []
    for field, title in (("budget", "Full-year budget"), ("outturn", "Full-year outturn")):
        for key, label in MEASURES:
            values = {side: None if p is None else p[f"{field}.{key}"] for side, p in pnl.items()}
            rows.append(_row(f"{field}.{key}", f"{title}: {label}", "money", values))
    for key, label in MEASURES:
        plan = None if pnl["current"] is None else pnl["current"][f"budget.{key}"]
        variance = {
            side: None if p is None or plan is None else p[f"outturn.{key}"] - plan
            for side, p in pnl.items()
        }
        share = {
            side: None if v is None or plan is None else percent(ratio(v, abs(plan)))
            for side, v in variance.items()
        }
        rows.append(_row(f"variance.{key}", f"Outturn variance: {label}", "money", variance))
        rows.append(_row(f"variance_pct.{key}", f"Outturn variance %: {label}", "percent", share))
    return rows


class _Year:
    """The fiscal year's months split at the last closed month, and the trailing window."""

    def __init__(self, year: int, today: dt.date):
        self.start, self.end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        self.closed_through = last_closed_month(today)
        months = list(months_between(self.start, self.end))
        self.closed = [month for month in months if month <= self.closed_through]
        self.remaining = [month for month in months if month > self.closed_through]
        self.closed_end = min(month_end(self.closed_through), self.end)
        self.window_start = add_months(self.closed_through, -(TRAILING_MONTHS - 1))
        self.window_end = month_end(self.closed_through)


def _new_customers(year: _Year) -> tuple[int, Decimal | None, int]:
    """New customers of the year's closed months (docs/metrics.md, "CAC, LTV and payback":
    first MRR in the month), their trailing average a month, and the window's length in
    months (fewer than 12 when the subscription history is shorter)."""
    events, _missing = selectors.subscription_events(end=year.window_end)
    ledger = MrrLedger(events)
    counts: dict[dt.date, int] = {}
    first = ledger.first_month
    if first is not None and first <= year.closed_through:
        counts = {
            month.month: len(month.new_customers)
            for month in mrr_months(
                ledger, max(first, min(year.window_start, year.start)), year.closed_through
            )
        }
    window = [
        month
        for month in months_between(year.window_start, year.closed_through)
        if first is not None and month >= first
    ]
    average = trailing_average([counts.get(month, 0) for month in window])
    return sum(counts.get(month, 0) for month in year.closed), average, len(window)


def _cac_rows(versions: dict, year: _Year, convert, notes: list[str]) -> list[dict]:
    """Blended CAC of the year: actual S&M cost and new customers of the closed months, plus
    each version's planned S&M cost of the remaining months over new customers held at the
    trailing average."""
    actual_cost = Decimal(0)
    if year.closed:
        for currency, day, amount in selectors.sales_marketing_cost_rows(
            start=year.start, end=year.closed_end
        ):
            actual_cost += convert(amount, currency, day) or Decimal(0)
    actual_new, average, window = _new_customers(year)
    outlook = _each(
        versions,
        lambda pk: cac_outlook(
            actual_cost=actual_cost,
            actual_new_customers=actual_new,
            planned_cost=_planned(pk, year.remaining, convert, by_channel=False).get(
                None, Decimal(0)
            ),
            remaining_months=len(year.remaining),
            average_new_customers=average,
        ),
    )
    if year.remaining:
        shown = "undefined" if average is None else str(round_half_up(average, 2))
        notes.append(
            f"CAC: new customers of the {len(year.remaining)} remaining months are held at the "
            f"trailing {window}-month average ({shown} a month); only the planned sales and "
            "marketing cost differs between the columns."
        )
    return [
        _row(
            "cac.sales_marketing_cost",
            "Sales & marketing cost (year)",
            "money",
            _field(outlook, "sales_marketing_cost"),
        ),
        _row(
            "cac.new_customers",
            "New customers (year, expected)",
            "ratio",
            _field(outlook, "new_customers"),
        ),
        _row(
            "cac.blended",
            "Blended CAC (year)",
            "money",
            _field(outlook, "blended_cac"),
        ),
    ]


def _roi_rows(versions: dict, year: _Year, convert, notes: list[str]) -> list[dict]:
    """Spend and ROI per paid channel for the year: closed months' actual spend and
    attributed revenue, plus each version's planned spend of the remaining months valued at
    the channel's trailing-12-month attributed revenue per unit of spend."""
    paid = sorted(selectors.paid_channel_names())
    if not paid:
        return []
    model = default_attribution_model()
    trailing_spend = _channel_totals(
        selectors.channel_spend_rows(start=year.window_start, end=year.window_end), convert
    )
    rate = revenue_per_spend(
        _attributed_revenue(year.window_start, year.window_end, model), trailing_spend
    )
    actual_spend, actual_revenue = {}, {}
    if year.closed:
        actual_spend = _channel_totals(
            selectors.channel_spend_rows(start=year.start, end=year.closed_end), convert
        )
        actual_revenue = _attributed_revenue(year.start, year.closed_end, model)
    planned = _each(versions, lambda pk: _planned(pk, year.remaining, convert, by_channel=True))
    rows = []
    for channel in paid:
        outlook = {
            side: None
            if plan is None
            else channel_roi_outlook(
                key=channel,
                actual_spend=actual_spend.get(channel, Decimal(0)),
                actual_revenue=actual_revenue.get(channel, Decimal(0)),
                planned_spend=plan.get(channel, Decimal(0)),
                revenue_per_spend=rate.get(channel),
            )
            for side, plan in planned.items()
        }
        rows.append(
            _row(
                f"spend.{channel}",
                f"{channel}: spend (year)",
                "money",
                _field(outlook, "cost"),
            )
        )
        rows.append(
            _row(
                f"roi.{channel}",
                f"{channel}: ROI (year)",
                "percent",
                {side: None if o is None else percent(o.roi) for side, o in outlook.items()},
            )
        )
    notes.append(
        "ROI per paid channel: the remaining months' planned spend (budget lines naming a "
        "campaign of the channel) earns the channel's attributed revenue per unit of spend of "
        f"the trailing 12 months ({model} attribution)."
    )
    return rows


def scenario_comparison(*, scenario_id: int, today: dt.date | None = None) -> dict:
    """The scenario beside the current version of its fiscal year: full-year budget,
    full-year outturn, outturn variance against the current budget, blended CAC and ROI per
    paid channel for the year (definitions: docs/metrics.md, "Budget scenarios")."""
    scenario = m.Budget.objects.select_related("based_on").get(
        pk=scenario_id, kind=m.Budget.Kind.SCENARIO
    )
    today = today or timezone.localdate()
    current = current_version(scenario)
    year = _Year(scenario.fiscal_year, today)
    versions = {"current": current.pk if current else None, "scenario": scenario.pk}
    notes = [
        f"Closed months (through {year.closed_through:%B %Y}) are actuals in both columns; "
        "the remaining months are each version's budget (full-year outturn)."
        if year.closed
        else f"No month of FY{scenario.fiscal_year} is closed yet: the outturn is each "
        "version's budget.",
        "Outturn variance: each column's full-year outturn less the current version's "
        "full-year budget.",
    ]
    convert = selectors.converter(start=min(year.window_start, year.start), end=year.end)
    rows = [
        *_pnl_rows(versions, year=scenario.fiscal_year, today=today),
        *_cac_rows(versions, year, convert, notes),
        *_roi_rows(versions, year, convert, notes),
    ]
    if convert.missing:
        notes.append(
            f"{len(convert.missing)} amounts have no FX rate on their date and are left out."
        )
    default = default_from_month(today)
    return {
        "scenario": {
            "id": scenario.pk,
            "name": scenario.name,
            "label": scenario.version_label,
            "fiscal_year": scenario.fiscal_year,
            "based_on_id": scenario.based_on_id,
            "based_on_label": str(scenario.based_on) if scenario.based_on else "",
        },
        "current": {"id": current.pk, "label": str(current)} if current else None,
        "drivers": [
            {
                "kind": d.kind,
                "kind_label": d.get_kind_display(),
                "target": d.target,
                "percent": str(d.percent),
                "from_month": (d.from_month or default).isoformat(),
            }
            for d in scenario.drivers.all()
        ],
        "rows": rows,
        "notes": notes,
    }
