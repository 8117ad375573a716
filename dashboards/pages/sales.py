"""The Sales analytics dashboard (issue #7; docs/metrics.md, "Sales dashboard").

All teams: the page reads the stored sales report (``metrics.reports.sales``) — pipeline,
win rate, deal size, cycle, quota attainment per rep and team, sales ROI and the
sales-finance mismatches (the ERP checks). One team: the same report with the team's
argument, computed live (one snapshot holds all teams); sales cost has no team in the ledger,
so sales cost and ROI stay the whole sales department's, from the stored report.

The drill-down (a rep, a stage or the won deals → the deals) returns a lazy queryset of
dicts the view paginates. :func:`build` and :func:`drill_build` are the page builders
(dashboards/views.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from dashboards.charts import Chart, Reference, Series
from dashboards.page import DashboardParamError, DashboardRequest, Page
from dashboards.pagination import paginate
from dashboards.tables import (
    DATE,
    INT,
    MONEY,
    NONE_TEXT,
    PERCENT,
    RATIO,
    TEXT,
    Column,
    Table,
    format_value,
    shown,
)
from metrics import selectors
from metrics.params import period_params
from metrics.reports.numbers import percent, to_number
from metrics.reports.sales import sales_report, stage_sort_key
from metrics.snapshots import Kind, snapshot_get_or_compute

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
    def pipeline_won_deals(self) -> int:
        """Won deals among the deals opened in the period (the pipeline's won rows)."""
        return sum(row.deals - row.open_deals for row in self.pipeline if _is_won(row.stage))

    @property
    def pipeline_totals(self) -> StageRow:
        return StageRow(
            stage="Total",
            deals=sum(row.deals for row in self.pipeline),
            amount=sum((row.amount for row in self.pipeline), Decimal(0)),
            open_deals=sum(row.open_deals for row in self.pipeline),
            open_amount=sum((row.open_amount for row in self.pipeline), Decimal(0)),
        )


def _is_won(stage: str) -> bool:
    return stage.strip().lower() == "closed won"


def _percent(value: str | None) -> Decimal | None:
    return percent(to_number(value))


def _quota_rows(rows: list[dict], rep_ids: dict[str, int], *, reps: bool) -> list[QuotaRow]:
    return [
        QuotaRow(
            name=row["rep"] if reps else row["team"],
            team=row["team"],
            period_start=dt.date.fromisoformat(row["period_start"]),
            period_end=dt.date.fromisoformat(row["period_end"]),
            quota=to_number(row["quota"]),
            won_revenue=Decimal(row["won_revenue"]),
            attainment_percent=_percent(row["attainment"]),
            rep_id=rep_ids.get(row["rep"]) if reps else None,
        )
        for row in rows
    ]


def _stage_rows(pipeline: list[dict]) -> list[StageRow]:
    """The snapshot's pipeline per (month, stage) summed per stage, in pipeline order."""
    totals: dict[str, list] = {}
    for row in pipeline:
        item = totals.setdefault(row["stage"] or NO_STAGE, [0, Decimal(0), 0, Decimal(0)])
        item[0] += row["deals"]
        item[1] += Decimal(row["amount"])
        item[2] += row["open_deals"]
        item[3] += Decimal(row["open_amount"])
    ordered = sorted(totals.items(), key=lambda item: stage_sort_key(_stage_name(item[0])))
    return [StageRow(stage, *values) for stage, values in ordered]


def _stage_name(stage: str) -> str:
    return "" if stage == NO_STAGE else stage


def sales_page(*, start: dt.date, end: dt.date, team_id: int | None = None) -> SalesPage:
    """Everything the Sales page shows, for all teams or one team (see the module doc).
    Two queries for all teams when the snapshot exists; seven more for one team."""
    snapshot = snapshot_get_or_compute(kind=Kind.SALES, params=period_params(start=start, end=end))
    company = snapshot.result
    report = company if team_id is None else sales_report(start=start, end=end, team_id=team_id)
    rep_ids = selectors.sales_rep_ids(row["rep"] for row in report["quota_attainment"]["reps"])
    cycle = report["sales_cycle_days"]
    return SalesPage(
        start=start,
        end=end,
        currency=report["reporting_currency"],
        team=report.get("team", ""),
        won_deals=report["won_deals"],
        lost_deals=report["lost_deals"],
        win_rate_percent=_percent(report["win_rate"]),
        won_revenue=Decimal(report["won_revenue"]),
        average_deal_size=to_number(report["average_deal_size"]),
        cycle_deals=cycle["deals"],
        cycle_median_days=to_number(cycle["median"]),
        cycle_mean_days=to_number(cycle["mean"]),
        pipeline=_stage_rows(report["pipeline"]),
        reps=_quota_rows(report["quota_attainment"]["reps"], rep_ids, reps=True),
        teams=_quota_rows(report["quota_attainment"]["teams"], rep_ids, reps=False),
        # Cost is booked per department, not per team: the department's for every team.
        sales_cost=Decimal(company["sales_cost"]),
        sales_roi_percent=_percent(company["sales_roi"]),
        consistency_percent=_percent(report["sales_finance_consistency"]),
        tolerance_percent=percent(Decimal(report["tolerance"])),
        mismatches=[
            Mismatch(
                deal=row["deal"],
                name=row["name"],
                amount=Decimal(row["amount"]),
                currency=row["currency"],
                erp_revenue=to_number(row["erp_revenue"]),
                why=row["why"],
            )
            for row in report["mismatches"]
        ],
        missing_fx=len(report["missing_fx"]),
        computed_at=snapshot.computed_at,
    )


# --- drill-down: a rep, a stage or the won deals → the deals --------------------------------

#: What a drill selects: the deals behind one figure of the page — a rep's deals closed in the
#: period (won and lost: win rate, attainment), deals opened in the period at a stage (the
#: pipeline row), or the won / lost deals closed in the period.


# --- the pages ---------------------------------------------------------------------------

DRILL_PARAMS = ("rep", "stage", "status")
DRILL = "dashboards:sales_deals"
STATUS_LABELS = selectors.DEAL_STATUS_LABELS


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
        "Pipeline: deals opened in the period, by current stage",
        [
            Column("stage", "Current stage", TEXT),
            Column("deals", "Deals opened", INT),
            Column("amount", "Amount opened", MONEY),
            Column("open_deals", "Still open", INT),
            Column("open_amount", "Open amount", MONEY),
        ],
        currency=dash.currency,
        empty_message=no_deals,
        note="Deals opened in the period, by their current stage in pipeline order; click a "
        "stage for its deals. Its won and lost rows count only the deals opened in the period "
        f"(won: {data.pipeline_won_deals}); the won deals and win rate above count the deals "
        f"closed in the period, whenever they were opened (won: {data.won_deals}).",
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
        [Column("rep", "Rep", TEXT), Column("team", "Team", TEXT), *QUOTA_COLUMNS],
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
            {"rep": row.name, "team": row.team, **_quota_cells(row)},
            classes={"attainment": _attainment_class(row.attainment_percent)},
            link=link,
        )
        rep_links.append(link)
        rep_labels.append(label if len({r.period_start for r in data.reps}) > 1 else row.name)
        rep_values.append(row.attainment_percent)

    teams = Table(
        "teams",
        "Quota attainment per team",
        [Column("team", "Team", TEXT), *QUOTA_COLUMNS],
        currency=dash.currency,
        empty_message=reps.empty_message,
    )
    for row in data.teams:
        teams.add(
            {"team": row.name, **_quota_cells(row)},
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
            "title": "Won revenue (deals closed in the period)",
            "value": money(data.won_revenue),
            "link": dash.url(DRILL, status=selectors.DEAL_WON),
            "lines": [
                ("Won deals closed", format_value(data.won_deals, INT)),
                (
                    "Won of the deals opened in the period",
                    format_value(data.pipeline_won_deals, INT),
                ),
                ("Average deal size", money(shown(data.average_deal_size))),
            ],
        },
        {
            "id": "kpi-win-rate",
            "title": "Win rate (deals closed in the period)",
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
                "dashboards:gl_lines", team=None, department=None, type="expenses"
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


QUOTA_COLUMNS = [
    Column("quota_period", "Quota period", TEXT),
    Column("quota", "Quota", MONEY),
    Column("won_revenue", "Won revenue", MONEY),
    Column("attainment", "Attainment", PERCENT),
]


def _quota_cells(row: QuotaRow) -> dict:
    """The cells of :data:`QUOTA_COLUMNS` for a rep's or a team's quota."""
    return {
        "quota_period": _period_label(row.period_start, row.period_end),
        "quota": row.quota,
        "won_revenue": row.won_revenue,
        "attainment": shown(row.attainment_percent),
    }


def _attainment_class(value: Decimal | None) -> str:
    if value is None:
        return ""
    return "favourable" if value >= 100 else "unfavourable"


def _days(value: Decimal | None) -> str:
    return NONE_TEXT if value is None else f"{format_value(value, RATIO)} days"


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
    if status is not None and status not in (selectors.DEAL_WON, selectors.DEAL_LOST):
        raise DashboardParamError(f"status: {status!r} is not one of won, lost.")
    stage = params.get("stage")
    team = dash.filters.selected("team")
    deals = selectors.closed_deals(
        start=dash.period.start,
        end=dash.period.end,
        rep_id=rep_id,
        stage=None if stage is None else "" if stage == NO_STAGE else stage,
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
        rep = selectors.sales_rep_name(rep_id)
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
            "back_url": dash.url("dashboards:sales", rep=None, stage=None, status=None),
        },
    )
