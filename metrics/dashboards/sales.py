"""Reads for the Sales analytics dashboard (issue #7; METRICS.md §6).

All teams: the page reads the stored sales snapshot (metrics/services.py) — pipeline, win
rate, deal size, cycle, quota attainment per rep and team, sales ROI and the sales-finance
mismatches (the ERP checks). One team: the snapshot holds every team together, so the team's
deal figures are computed live with the same definitions (metrics/computations/sales.py)
from five set-based queries filtered on the team; sales cost has no team in the ledger, so
sales ROI stays the whole sales department's, and the mismatches are the snapshot's ones of
the team's deals.

The drill-down (a rep, a stage or the won deals → the deals) returns a lazy queryset of
dicts the view paginates. :func:`build` and :func:`drill_build` are the page builders
(metrics/dashboard_views.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum

from metrics import models as m
from metrics import selectors, services
from metrics.computations.fx import MissingRateError
from metrics.computations.presentation import UNDEFINED, ratio
from metrics.computations.sales import (
    average_deal_size,
    quota_attainment,
    sales_cycle,
    win_rate,
)
from metrics.computations.subscriptions import month_of
from metrics.dashboards.charts import Chart, Reference, Series
from metrics.dashboards.drill import paginate
from metrics.dashboards.marketing import decimal_or_none
from metrics.dashboards.pages import DashboardParamError, DashboardRequest, Page
from metrics.dashboards.tables import (
    DATE,
    INT,
    MONEY,
    PERCENT,
    RATIO,
    TEXT,
    Column,
    Table,
    format_value,
)

Kind = m.MetricSnapshot.Kind
HUNDRED = Decimal(100)
NO_STAGE = "(no stage)"


@dataclass(frozen=True)
class StageRow:
    """Deals opened in the period at one stage (all statuses) and the open ones."""

    stage: str
    deals: int
    amount: Decimal
    open_deals: int
    open_amount: Decimal


@dataclass(frozen=True)
class QuotaRow:
    """A rep's (``rep_id`` set) or a team's quota of one quota period and its attainment."""

    name: str
    team: str
    period_start: dt.date
    period_end: dt.date
    quota: Decimal | None
    won_revenue: Decimal
    attainment_percent: Decimal | None
    rep_id: int | None = None


@dataclass(frozen=True)
class Mismatch:
    deal: str
    name: str
    amount: Decimal
    currency: str
    erp_revenue: Decimal | None
    why: str


@dataclass(frozen=True)
class SalesPage:
    start: dt.date
    end: dt.date
    currency: str
    team: str
    won_deals: int
    lost_deals: int
    win_rate_percent: Decimal | None
    won_revenue: Decimal
    average_deal_size: Decimal | None
    cycle_deals: int
    cycle_median_days: Decimal | None
    cycle_mean_days: Decimal | None
    pipeline: list[StageRow]
    reps: list[QuotaRow]
    teams: list[QuotaRow]
    sales_cost: Decimal
    sales_roi_percent: Decimal | None
    consistency_percent: Decimal | None
    tolerance_percent: Decimal
    mismatches: list[Mismatch]
    missing_fx: int
    computed_at: dt.datetime | None

    @property
    def is_empty(self) -> bool:
        return not (self.won_deals or self.lost_deals or self.pipeline or self.reps)

    @property
    def pipeline_totals(self) -> StageRow:
        return StageRow(
            stage="Total",
            deals=sum(row.deals for row in self.pipeline),
            amount=sum((row.amount for row in self.pipeline), Decimal(0)),
            open_deals=sum(row.open_deals for row in self.pipeline),
            open_amount=sum((row.open_amount for row in self.pipeline), Decimal(0)),
        )


def _percent(value: str | None) -> Decimal | None:
    number = decimal_or_none(value)
    return None if number is None else number * HUNDRED


def _quota_rows(rows: list[dict], rep_ids: dict[str, int], *, reps: bool) -> list[QuotaRow]:
    return [
        QuotaRow(
            name=row["rep"] if reps else row["team"],
            team=row["team"],
            period_start=dt.date.fromisoformat(row["period_start"]),
            period_end=dt.date.fromisoformat(row["period_end"]),
            quota=decimal_or_none(row["quota"]),
            won_revenue=Decimal(row["won_revenue"]),
            attainment_percent=_percent(row["attainment"]),
            rep_id=rep_ids.get(row["rep"]) if reps else None,
        )
        for row in rows
    ]


def _stage_rows(pipeline: list[dict]) -> list[StageRow]:
    """The snapshot's pipeline per (month, stage) summed per stage."""
    totals: dict[str, list] = {}
    for row in pipeline:
        item = totals.setdefault(row["stage"] or NO_STAGE, [0, Decimal(0), 0, Decimal(0)])
        item[0] += row["deals"]
        item[1] += Decimal(row["amount"])
        item[2] += row["open_deals"]
        item[3] += Decimal(row["open_amount"])
    return [StageRow(stage, *values) for stage, values in sorted(totals.items())]


def sales_page(*, start: dt.date, end: dt.date, team_id: int | None = None) -> SalesPage:
    """Everything the Sales page shows, for all teams or one team (see the module doc).
    Two queries for all teams when the snapshot exists; six more for one team."""
    snapshot = services.snapshot_get_or_compute(
        kind=Kind.SALES, params=services.period_params(start=start, end=end)
    )
    report = snapshot.result
    team_name = ""
    mismatches = report["mismatches"]
    consistency = _percent(report["sales_finance_consistency"])
    if team_id is not None:
        live = team_sales(start=start, end=end, team_id=team_id)
        team_name = live.pop("team_name")
        team_deals = live.pop("won_external_ids")
        mismatches = [row for row in mismatches if row["deal"] in team_deals]
        share = ratio(len(team_deals) - len(mismatches), len(team_deals))
        consistency = None if share is None else share * HUNDRED
        report = {**report, **live}
    rep_ids = {
        name: pk
        for pk, name in m.SalesRep.objects.filter(
            name__in={row["rep"] for row in report["quota_attainment"]["reps"]}
        ).values_list("id", "name")
    }
    cycle = report["sales_cycle_days"]
    return SalesPage(
        start=start,
        end=end,
        currency=report["reporting_currency"],
        team=team_name,
        won_deals=report["won_deals"],
        lost_deals=report["lost_deals"],
        win_rate_percent=_percent(report["win_rate"]),
        won_revenue=Decimal(report["won_revenue"]),
        average_deal_size=decimal_or_none(report["average_deal_size"]),
        cycle_deals=cycle["deals"],
        cycle_median_days=decimal_or_none(cycle["median"]),
        cycle_mean_days=decimal_or_none(cycle["mean"]),
        pipeline=_stage_rows(report["pipeline"]),
        reps=_quota_rows(report["quota_attainment"]["reps"], rep_ids, reps=True),
        teams=_quota_rows(report["quota_attainment"]["teams"], rep_ids, reps=False),
        sales_cost=Decimal(report["sales_cost"]),
        sales_roi_percent=_percent(report["sales_roi"]),
        consistency_percent=consistency,
        tolerance_percent=Decimal(report["tolerance"]) * HUNDRED,
        mismatches=[
            Mismatch(
                deal=row["deal"],
                name=row["name"],
                amount=Decimal(row["amount"]),
                currency=row["currency"],
                erp_revenue=decimal_or_none(row["erp_revenue"]),
                why=row["why"],
            )
            for row in mismatches
        ],
        missing_fx=len(report["missing_fx"]),
        computed_at=snapshot.computed_at,
    )


def team_sales(*, start: dt.date, end: dt.date, team_id: int) -> dict:
    """One team's deal figures in the sales snapshot's shape (METRICS.md §6), computed like
    ``services._sales_compute`` on the team's deals and quotas. Five queries."""
    low, high = selectors.period_bounds(start, end)
    rates = selectors.fx_rates(start=start, end=end)
    missing: list[dict] = []

    def convert(amount: Decimal, currency: str, day: dt.date) -> Decimal | None:
        try:
            return rates.convert(amount, currency, day)
        except MissingRateError:
            missing.append({"currency": currency, "date": day.isoformat()})
            return None

    deals = m.Deal.objects.filter(rep__team_id=team_id)
    outcomes = deals.filter(closed_at__gte=low, closed_at__lt=high).aggregate(
        won=Count("id", filter=Q(status=m.Deal.Status.WON)),
        lost=Count("id", filter=Q(status=m.Deal.Status.LOST)),
    )
    won = list(
        deals.filter(status=m.Deal.Status.WON, closed_at__gte=low, closed_at__lt=high)
        .order_by("id")
        .values_list("external_id", "opened_at", "closed_at", "amount", "currency_id", "rep_id")
    )
    rep_deals: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    won_values = []
    for _ext, _opened, closed_at, amount, currency, rep_id in won:
        day = selectors.local_date(closed_at)
        value = convert(amount, currency, day)
        if value is not None:
            won_values.append(value)
            rep_deals[rep_id].append((day, value))
    won_revenue = sum(won_values, Decimal(0))
    cycle = sales_cycle((opened, closed) for _e, opened, closed, *_rest in won)

    team_name = m.SalesTeam.objects.filter(pk=team_id).values_list("name", flat=True).first()
    reps, team_totals = [], defaultdict(lambda: [Decimal(0), Decimal(0)])
    for rep_id, rep_name, q_start, q_end, amount, currency in (
        m.Quota.objects.filter(rep__team_id=team_id, period_start__gte=start, period_end__lte=end)
        .order_by("period_start", "id")
        .values_list("rep_id", "rep__name", "period_start", "period_end", "amount", "currency_id")
    ):
        quota = convert(amount, currency, q_start)
        revenue = sum(
            (v for day, v in rep_deals.get(rep_id, ()) if q_start <= day <= q_end), Decimal(0)
        )
        reps.append(
            {
                "rep": rep_name,
                "team": team_name or "",
                "period_start": q_start.isoformat(),
                "period_end": q_end.isoformat(),
                "quota": services.money(quota),
                "won_revenue": services.money(revenue),
                "attainment": services.num(
                    None if quota is None else quota_attainment(won_revenue=revenue, quota=quota)
                ),
            }
        )
        if quota is not None:
            team_totals[q_start, q_end][0] += revenue
            team_totals[q_start, q_end][1] += quota
    teams = [
        {
            "team": team_name or "",
            "period_start": q_start.isoformat(),
            "period_end": q_end.isoformat(),
            "quota": services.money(quota),
            "won_revenue": services.money(revenue),
            "attainment": services.num(quota_attainment(won_revenue=revenue, quota=quota)),
        }
        for (q_start, q_end), (revenue, quota) in sorted(team_totals.items())
    ]

    pipeline: dict[tuple[str, str], dict] = {}
    for stage, status, currency, day, count, total in (
        deals.filter(opened_at__gte=low, opened_at__lt=high)
        .values("stage", "status", "currency_id", "opened_at__date")
        .annotate(deals=Count("id"), total=Sum("amount"))
        .order_by()
        .values_list("stage", "status", "currency_id", "opened_at__date", "deals", "total")
    ):
        row = pipeline.setdefault(
            (month_of(day).isoformat(), stage),
            {"deals": 0, "amount": Decimal(0), "open_deals": 0, "open_amount": Decimal(0)},
        )
        value = convert(total, currency, day) or Decimal(0)
        row["deals"] += count
        row["amount"] += value
        if status == m.Deal.Status.OPEN:
            row["open_deals"] += count
            row["open_amount"] += value
    return {
        "team_name": team_name or "",
        "won_external_ids": {external_id for external_id, *_rest in won},
        "won_deals": outcomes["won"] or 0,
        "lost_deals": outcomes["lost"] or 0,
        "win_rate": services.num(win_rate(won=outcomes["won"] or 0, lost=outcomes["lost"] or 0)),
        "won_revenue": services.money(won_revenue),
        "average_deal_size": services.num(average_deal_size(won_values)),
        "sales_cycle_days": {
            "deals": cycle.deals,
            "median": services.num(cycle.median_days),
            "mean": services.num(cycle.mean_days),
        },
        "quota_attainment": {"reps": reps, "teams": teams},
        "pipeline": [
            {
                "month": month,
                "stage": stage,
                "deals": row["deals"],
                "amount": services.money(row["amount"]),
                "open_deals": row["open_deals"],
                "open_amount": services.money(row["open_amount"]),
            }
            for (month, stage), row in sorted(pipeline.items())
        ],
        "missing_fx": missing,
    }


# --- drill-down: a rep, a stage or the won deals → the deals --------------------------------

#: What a drill selects: the deals behind one figure of the page.
DRILL_REP = "rep"  # a rep's deals closed in the period (won and lost: win rate, attainment)
DRILL_STAGE = "stage"  # deals opened in the period at a stage (the pipeline row)
DRILL_WON = "won"  # won deals closed in the period (won revenue, deal size, cycle)
DRILL_LOST = "lost"  # lost deals closed in the period


def drill_deals(
    *,
    start: dt.date,
    end: dt.date,
    rep_id: int | None = None,
    stage: str | None = None,
    status: str | None = None,
    team_id: int | None = None,
) -> QuerySet:
    """The deals behind a figure, newest first, as dicts: a stage → deals opened in the
    period at that stage (``(no stage)`` = blank); otherwise deals closed in the period, of
    one rep and/or one status (won / lost). Optionally of one team."""
    low, high = selectors.period_bounds(start, end)
    deals = m.Deal.objects.all()
    if stage is not None:
        deals = deals.filter(
            opened_at__gte=low, opened_at__lt=high, stage="" if stage == NO_STAGE else stage
        )
    else:
        deals = deals.filter(closed_at__gte=low, closed_at__lt=high).exclude(
            status=m.Deal.Status.OPEN
        )
    if rep_id is not None:
        deals = deals.filter(rep_id=rep_id)
    if status is not None:
        deals = deals.filter(status=status)
    if team_id is not None:
        deals = deals.filter(rep__team_id=team_id)
    return deals.order_by(F("closed_at").desc(nulls_last=True), "-opened_at", "-id").values(
        "id",
        "external_id",
        "name",
        "stage",
        "status",
        "opened_at",
        "closed_at",
        "amount",
        "currency_id",
        rep_name=F("rep__name"),
        team_name=F("rep__team__name"),
    )


# --- the pages ---------------------------------------------------------------------------

DRILL_PARAMS = ("rep", "stage", "status")
DRILL = "metrics:sales_deals"
STATUS_LABELS = dict(m.Deal.Status.choices)


def shown(value):
    """A ratio for a table: ``"undefined"`` when its denominator was zero (METRICS.md §4)."""
    return UNDEFINED if value is None else value


def _period_label(start: dt.date, end: dt.date) -> str:
    return f"{start:%-d %b %Y} to {end:%-d %b %Y}"


def build(dash: DashboardRequest) -> Page:
    """The Sales analytics page: pipeline by stage, win rate, deal size, cycle, quota
    attainment per rep and team, sales ROI and the sales-finance mismatches."""
    team = dash.filters.selected("team")
    data = sales_page(start=dash.period.start, end=dash.period.end, team_id=team and team.id)
    money = lambda value: format_value(value, MONEY, dash.currency)  # noqa: E731
    no_deals = "No deal was opened in this period — sync the CRM connector, or pick another period."

    pipeline = Table(
        "pipeline_stages",
        "Pipeline by stage",
        [
            Column("stage", "Stage", TEXT),
            Column("deals", "Deals", INT),
            Column("amount", "Amount", MONEY),
            Column("open_deals", "Open deals", INT),
            Column("open_amount", "Open amount", MONEY),
        ],
        currency=dash.currency,
        empty_message=no_deals,
        note="Deals opened in the period, by their current stage; click a stage for its deals.",
    )
    stage_links = []
    for row in data.pipeline:
        link = dash.url(DRILL, stage=row.stage)
        stage_links.append(link)
        pipeline.add(
            {
                "stage": row.stage,
                "deals": row.deals,
                "amount": row.amount,
                "open_deals": row.open_deals,
                "open_amount": row.open_amount,
            },
            link=link,
        )
    if data.pipeline:
        totals = data.pipeline_totals
        pipeline.totals = {
            "deals": totals.deals,
            "amount": totals.amount,
            "open_deals": totals.open_deals,
            "open_amount": totals.open_amount,
        }

    reps = Table(
        "reps",
        "Quota attainment per rep",
        [
            Column("rep", "Rep", TEXT),
            Column("team", "Team", TEXT),
            Column("quota_period", "Quota period", TEXT),
            Column("quota", "Quota", MONEY),
            Column("won_revenue", "Won revenue", MONEY),
            Column("attainment", "Attainment", PERCENT),
        ],
        currency=dash.currency,
        empty_message="No quota lies within this period — load quotas through the CRM "
        "connector, or pick the quotas' whole period (e.g. the quarter).",
        note="Quotas whose period lies within the selected period; click a rep for the deals "
        "they closed.",
    )
    rep_links, rep_labels, rep_values = [], [], []
    for row in data.reps:
        link = dash.url(DRILL, rep=row.rep_id) if row.rep_id else ""
        label = f"{row.name} ({_period_label(row.period_start, row.period_end)})"
        reps.add(
            {
                "rep": row.name,
                "team": row.team,
                "quota_period": _period_label(row.period_start, row.period_end),
                "quota": row.quota,
                "won_revenue": row.won_revenue,
                "attainment": shown(row.attainment_percent),
            },
            link=link,
            classes={"attainment": _attainment_class(row.attainment_percent)},
        )
        rep_links.append(link)
        rep_labels.append(label if len({r.period_start for r in data.reps}) > 1 else row.name)
        rep_values.append(row.attainment_percent)

    teams = Table(
        "teams",
        "Quota attainment per team",
        [
            Column("team", "Team", TEXT),
            Column("quota_period", "Quota period", TEXT),
            Column("quota", "Quota", MONEY),
            Column("won_revenue", "Won revenue", MONEY),
            Column("attainment", "Attainment", PERCENT),
        ],
        currency=dash.currency,
        empty_message=reps.empty_message,
    )
    for row in data.teams:
        teams.add(
            {
                "team": row.name,
                "quota_period": _period_label(row.period_start, row.period_end),
                "quota": row.quota,
                "won_revenue": row.won_revenue,
                "attainment": shown(row.attainment_percent),
            },
            classes={"attainment": _attainment_class(row.attainment_percent)},
        )

    tolerance = format_value(data.tolerance_percent, PERCENT)
    mismatches = Table(
        "mismatches",
        "Sales-finance mismatches",
        [
            Column("deal", "Deal", TEXT),
            Column("name", "Name", TEXT),
            Column("amount", "Deal amount", MONEY),
            Column("currency", "Currency", TEXT),
            Column("erp_revenue", "ERP revenue", MONEY),
            Column("why", "Why", TEXT),
        ],
        empty_message="Every won deal of the period matches the revenue the ERP recorded for "
        f"it (within {tolerance}).",
        note=f"Won deals whose amount differs from the ERP revenue recorded for the deal by "
        f"more than {tolerance} (at least 1 cent), or that have no ERP revenue. Amounts in the "
        "deal's currency (ERP revenue in the reporting currency when invoiced in another).",
    )
    for row in data.mismatches:
        mismatches.add(
            {
                "deal": row.deal,
                "name": row.name,
                "amount": row.amount,
                "currency": row.currency,
                "erp_revenue": row.erp_revenue,
                "why": row.why,
            }
        )

    charts = [
        Chart(
            "pipeline",
            "Pipeline by stage",
            [row.stage for row in data.pipeline],
            [
                Series("All deals opened", [r.amount for r in data.pipeline], stage_links),
                Series("Still open", [r.open_amount for r in data.pipeline], stage_links),
            ],
            pipeline,
            currency=dash.currency,
            description="Amount of the deals opened in the period per stage, all and still "
            "open; click a bar for its deals; the figures are in the table with the chart",
        ),
        Chart(
            "quota",
            "Quota attainment per rep",
            rep_labels,
            [Series("Attainment", rep_values, rep_links)],
            reps,
            value_kind=PERCENT,
            references=[Reference("Quota (100%)", 100)],
            description="Quota attainment per rep in percent with the 100% line; click a bar "
            "for the rep's deals; the figures are in the table with the chart",
        ),
    ]
    roi_lines = [("Sales cost", money(data.sales_cost))]
    if team is not None:
        roi_lines.append(("Scope", "all teams (cost is not booked per team)"))
    kpis = [
        {
            "id": "kpi-won-revenue",
            "title": "Won revenue",
            "value": money(data.won_revenue),
            "link": dash.url(DRILL, status=m.Deal.Status.WON),
            "lines": [
                ("Won deals", format_value(data.won_deals, INT)),
                ("Average deal size", money(shown(data.average_deal_size))),
            ],
        },
        {
            "id": "kpi-win-rate",
            "title": "Win rate",
            "value": format_value(shown(data.win_rate_percent), PERCENT),
            "link": dash.url(DRILL),
            "lines": [
                ("Won", format_value(data.won_deals, INT)),
                ("Lost", format_value(data.lost_deals, INT)),
            ],
        },
        {
            "id": "kpi-cycle",
            "title": "Sales cycle (median)",
            "value": _days(data.cycle_median_days),
            "lines": [
                ("Mean", _days(data.cycle_mean_days)),
                ("Won deals", format_value(data.cycle_deals, INT)),
            ],
        },
        {
            "id": "kpi-sales-roi",
            "title": "Sales ROI",
            "value": format_value(shown(data.sales_roi_percent), PERCENT),
            "css": "negative" if (data.sales_roi_percent or 0) < 0 else "",
            "link": dash.optional_url(
                "metrics:gl_lines", team=None, department=None, type="expenses"
            ),
            "lines": roi_lines,
        },
        {
            "id": "kpi-consistency",
            "title": "Sales-finance consistency",
            "value": format_value(shown(data.consistency_percent), PERCENT),
            "lines": [
                ("Mismatches", format_value(len(data.mismatches), INT)),
                ("Tolerance", tolerance),
            ],
        },
    ]
    return Page(
        "Sales analytics",
        tables=[teams, mismatches],
        charts=charts,
        export_stem="sales",
        context={
            "kpis": kpis,
            "no_data": data.is_empty,
            "no_data_message": no_deals,
            "team": data.team,
            "computed_at": data.computed_at,
            "missing_fx": data.missing_fx,
        },
    )


def _attainment_class(value: Decimal | None) -> str:
    if value is None:
        return ""
    return "favourable" if value >= 100 else "unfavourable"


def _days(value: Decimal | None) -> str:
    return UNDEFINED if value is None else f"{format_value(value, RATIO)} days"


def drill_build(dash: DashboardRequest) -> Page:
    """The deals behind a figure of the Sales page: a rep's closed deals, a stage's deals
    opened in the period, the won or lost deals (``rep``, ``stage``, ``status``)."""
    params = dash.params
    rep_id = None
    if params.get("rep"):
        if not params["rep"].isdigit():
            raise DashboardParamError(f"rep: {params['rep']!r} is not a rep id.")
        rep_id = int(params["rep"])
    status = params.get("status") or None
    if status is not None and status not in (m.Deal.Status.WON, m.Deal.Status.LOST):
        raise DashboardParamError(f"status: {status!r} is not one of won, lost.")
    stage = params.get("stage")
    team = dash.filters.selected("team")
    deals = drill_deals(
        start=dash.period.start,
        end=dash.period.end,
        rep_id=rep_id,
        stage=stage,
        status=status,
        team_id=team and team.id,
    )
    rows, page = paginate(dash, deals)
    parts = []
    if stage is not None:
        parts.append(f"Deals opened in the period at stage {stage}")
    else:
        parts.append(
            {None: "Deals closed", "won": "Won deals closed", "lost": "Lost deals closed"}[status]
            + " in the period"
        )
    if rep_id is not None:
        rep = m.SalesRep.objects.filter(pk=rep_id).values_list("name", flat=True).first()
        if rep is None:
            raise DashboardParamError(f"rep: no rep has id {rep_id}.")
        parts.append(f"rep {rep}")
    if team is not None:
        parts.append(f"team {team.label}")
    description = ", ".join(parts)
    table = Table(
        "deals",
        "Deals",
        [
            Column("deal", "Deal", TEXT),
            Column("name", "Name", TEXT),
            Column("rep", "Rep", TEXT),
            Column("team", "Team", TEXT),
            Column("stage", "Stage", TEXT),
            Column("status", "Status", TEXT),
            Column("opened", "Opened", DATE),
            Column("closed", "Closed", DATE),
            Column("amount", "Amount", MONEY),
            Column("currency", "Currency", TEXT),
        ],
        empty_message="No deal matches this figure in the period — pick another period or team.",
        page=page,
        note="Amounts in each deal's own currency.",
    )
    for row in rows:
        table.add(
            {
                "deal": row["external_id"],
                "name": row["name"],
                "rep": row["rep_name"] or "",
                "team": row["team_name"] or "",
                "stage": row["stage"] or NO_STAGE,
                "status": STATUS_LABELS.get(row["status"], row["status"]),
                "opened": selectors.local_date(row["opened_at"]),
                "closed": row["closed_at"] and selectors.local_date(row["closed_at"]),
                "amount": row["amount"],
                "currency": row["currency_id"],
            }
        )
    return Page(
        "Sales deals",
        tables=[table],
        export_stem="sales-deals",
        context={
            "drill_description": description,
            "back_url": dash.url("metrics:sales", rep=None, stage=None, status=None),
        },
    )
