"""The reports FinHub produces: what each one is, which parameters it takes and how its
content is made.

One source of every figure: a report runs the dashboard page builder of its subject
(``dashboards/pages/*.py``) with a :class:`~dashboards.page.DashboardRequest` made from the
report's parameters and keeps the page's tables and charts (never a drill-down), so a
report and the dashboard for the same period and filters show the same numbers, read from
the same stored snapshots. Two reports have no dashboard page: the roadmap status reads
``roadmap.selectors.governance_dashboard`` (the governance page's source) and the
post-close adjustments list ``records.locks.post_close_adjustment_list``.

Parameters (besides the period) map onto the pages' filters and page parameters:
``department``, ``channel``, ``campaign``, ``team`` (record ids) and ``segment`` (a
customer segment's name) are the dashboards' filters (dashboards/filters.py); ``model`` is
the marketing page's attribution model; ``budget`` is a budget (version) id, as the metrics
API's ``budget`` parameter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from dashboards.charts import Chart, Series
from dashboards.filters import filters_from_params
from dashboards.page import DashboardRequest, Page
from dashboards.pages import cac, executive, forecast, marketing, product, retention, sales
from dashboards.tables import DATE, INT, MONEY, PERCENT, TEXT, Column, Table, favour_css, shown
from finhub.core.calendar import Period
from metrics.params import DEPARTMENT_ACCOUNT, budget_params
from metrics.reports.budget import PROFIT
from metrics.reports.numbers import percent, to_number
from metrics.snapshots import Kind, snapshots_get
from records.locks import post_close_adjustment_list, post_close_window_start
from roadmap.selectors import governance_dashboard

PARAMETERS = ("department", "channel", "campaign", "segment", "team", "budget", "model")
#: The parameters that are dashboard filters (the others are page parameters).
FILTER_PARAMETERS = ("department", "channel", "campaign", "segment", "team")
PARAMETER_LABELS = {
    "department": "Department",
    "channel": "Channel",
    "campaign": "Campaign",
    "segment": "Segment",
    "team": "Team",
    "budget": "Budget version",
    "model": "Attribution model",
}


@dataclass
class ReportRequest:
    """What a report's ``build`` gets: the period, the validated parameter values (only the
    definition's), who asks and the reporting currency."""

    period: Period
    values: dict[str, str]
    user: object
    today: dt.date
    currency: str

    def dashboard(self, *, filters=(), params=()) -> DashboardRequest:
        """A dashboard request for a page with these ``filters`` and page ``params``, made
        from the report's parameters (the page then reads exactly what its URL would)."""
        query = QueryDict(mutable=True)
        query.update(self.period.query())
        for name in (*filters, *params):
            if self.values.get(name):
                query[name] = self.values[name]
        request = HttpRequest()
        request.method = "GET"
        request.GET = query
        request.user = self.user if self.user is not None else AnonymousUser()
        extra = {name: self.values[name] for name in params if self.values.get(name)}
        return DashboardRequest(
            request,
            self.period,
            filters_from_params(query, filters),
            self.today,
            self.currency,
            extra,
        )


@dataclass
class ReportContent:
    """What a report's ``build`` returns (``tables`` include the charts' tables)."""

    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    computed_at: dt.datetime | None = None


@dataclass(frozen=True)
class ReportDefinition:
    key: str
    title: str
    description: str
    #: The parameters it takes besides the period (a subset of PARAMETERS).
    parameters: tuple[str, ...]
    build: Callable[[ReportRequest], ReportContent]


# --- from a dashboard page ---------------------------------------------------------------


def page_notes(page: Page) -> list[str]:
    """What the page says about its figures besides the tables: missing exchange rates and
    data written after the figures were computed."""
    notes = []
    missing = page.context.get("missing_fx")
    if missing:
        notes.append(
            f"{missing} amount(s) had no exchange rate to the reporting currency and are left "
            "out of the totals."
        )
    changed = page.context.get("data_changed_at")
    if changed:
        notes.append(
            f"Data changed at {timezone.localtime(changed):%Y-%m-%d %H:%M} after these figures "
            "were computed; they are recomputed on the next refresh."
        )
    return notes


def page_content(page: Page, items: tuple[str, ...] | None = None) -> ReportContent:
    """The tables and charts of ``page`` named in ``items`` (table or chart ids, in that
    order; None = every chart, then every table). A chart brings its table along."""
    charts, tables = page.charts_by_id, {t.id: t for t in page.tables}
    if items is None:
        items = (*charts, *tables)
    content = ReportContent(notes=page_notes(page), computed_at=page.context.get("computed_at"))
    for item in items:
        if item in charts:
            content.charts.append(charts[item])
            content.tables.append(charts[item].table)
        else:
            content.tables.append(tables[item])
    return content


def _dec(value) -> Decimal:
    return Decimal(to_number(value) or 0)


def _budget_snapshots(request: ReportRequest, *group_bys: str) -> list:
    """The budget-vs-actual snapshots of the period (the chosen budget version, or the
    current ones), as the metrics API serves them."""
    budget = int(request.values["budget"]) if request.values.get("budget") else None
    return snapshots_get(
        [
            (
                Kind.BUDGET_VARIANCE,
                budget_params(
                    start=request.period.start,
                    end=request.period.end,
                    group_by=group_by,
                    budget=budget,
                ),
            )
            for group_by in group_bys
        ]
    )


def build_pnl_department(request: ReportRequest) -> ReportContent:
    dash = request.dashboard(filters=("department",))
    page = executive.build(dash)
    content = page_content(page, ("summary", "trend"))
    department = dash.filters.selected("department")
    (snapshot,) = _budget_snapshots(request, "department")
    rows = executive.department_rows(snapshot, department)
    table = Table(
        "pnl_departments",
        "Profit and loss by department",
        [
            Column("department", "Department", TEXT),
            Column("revenue", "Revenue", MONEY),
            Column("cost_of_sales", "Cost of sales", MONEY),
            Column("expense", "Operating expenses", MONEY),
            Column("operating", "Operating income", MONEY),
            Column("margin", "Operating margin", PERCENT),
            Column("operating_budget", "Operating income budget", MONEY),
            Column("variance", "Variance", MONEY),
        ],
        currency=request.currency,
        note="Ledger lines whose account is pending count in no revenue or expense line.",
        empty_message="No ledger lines in this period.",
    )
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["key"], row["label"]), []).append(row)

    def values(label: str, figures: executive.Figures) -> dict:
        actual, budget = figures.actuals(), figures.budgets()
        variance = actual["operating"] - budget["operating"]
        return {
            "department": label,
            "revenue": actual[executive.REVENUE],
            "cost_of_sales": actual[executive.COST_OF_SALES],
            "expense": actual[executive.EXPENSE],
            "operating": actual["operating"],
            "margin": shown(actual["margin"]),
            "operating_budget": budget["operating"],
            "variance": variance,
        }

    for (_key, label), group in sorted(groups.items(), key=lambda item: item[0][1]):
        figures = executive.Figures(group)
        if figures.empty:
            continue
        row_values = values(label, figures)
        css = executive.favour_class(row_values["variance"], PROFIT)
        table.add(row_values, classes={"variance": css})
    if table.rows:
        total = values("Total", executive.Figures(rows))
        total.pop("department")
        table.totals = total
    content.tables.insert(1, table)  # after the summary, before the trend
    return content


def _variance_table(table_id: str, title: str, first: str, rows: list[dict], currency: str):
    table = Table(
        table_id,
        title,
        [
            Column("name", first, TEXT),
            Column("type", "Account type", TEXT),
            Column("actual", "Actual", MONEY),
            Column("budget", "Budget", MONEY),
            Column("variance", "Variance", MONEY),
            Column("variance_pct", "Variance %", PERCENT),
        ],
        currency=currency,
        note='Green is favourable, red unfavourable (docs/metrics.md, "Favourable and '
        'unfavourable").',
        empty_message="No ledger lines or budget in this period.",
    )
    kinds = {**executive.TYPE_LABELS, executive.UNCLASSIFIED: executive.UNCLASSIFIED_LABEL}
    for row in rows:
        if row["account_type"] not in kinds:
            continue  # balance-sheet accounts: no budget variance
        css = favour_css(row.get("favourable"))
        table.add(
            {
                "name": row["label"],
                "type": kinds[row["account_type"]],
                "actual": row["actual"],
                "budget": row["budget"],
                "variance": row["variance"],
                "variance_pct": shown(percent(to_number(row.get("variance_pct")))),
            },
            classes={"variance": css, "variance_pct": css},
        )
    return table


def build_budget_vs_actual(request: ReportRequest) -> ReportContent:
    dash = request.dashboard(filters=("department",))
    department = dash.filters.selected("department")
    version = request.values.get("budget")
    if version:
        # The executive page compares with the current budget only: with another version
        # the report shows the metrics API's figures for that version alone.
        content = ReportContent()
        budget_note = f"Budget version {version} (not the current budget)."
    else:
        page = executive.build(dash)
        content = page_content(page, ("summary", "outturn", "trend"))
        budget_note = ""
    by_department, by_account = _budget_snapshots(
        request, "department", DEPARTMENT_ACCOUNT if department is not None else "account"
    )
    account_rows = by_account.result.get("rows", [])
    if department is not None:
        account_rows = [
            row
            for row in account_rows
            if (
                row["department"] == department.code
                if department.code
                else row["department_label"] == department.label
            )
        ]
    tables = [
        _variance_table(
            "variance_departments",
            "Budget vs actual by department",
            "Department",
            executive.department_rows(by_department, department),
            request.currency,
        ),
        _variance_table(
            "variance_accounts",
            "Budget vs actual by account"
            + (f" \u2014 {department.label}" if department is not None else ""),
            "Account",
            [{**row, "label": f"{row['key']} {row['label']}".strip()} for row in account_rows],
            request.currency,
        ),
    ]
    # after the summary (none with another version), before the outturn and the trend
    content.tables[0 if version else 1 : 0 if version else 1] = tables
    if budget_note:
        content.notes.append(budget_note)
    if not by_department.result.get("budget_versions"):
        content.notes.append(
            f"No budget loaded for FY{by_department.result.get('fiscal_year')}: the budget "
            "columns are zero."
        )
    if content.computed_at is None:
        content.computed_at = min(by_department.computed_at, by_account.computed_at)
    return content


def build_forecast_outturn(request: ReportRequest) -> ReportContent:
    page = forecast.build(request.dashboard(filters=("department",)))
    content = page_content(page)
    if not page.context.get("has_forecast"):
        content.notes.append(
            "No forecast is stored for this fiscal year yet; forecasts are computed nightly."
        )
    return content


def build_campaign_roi(request: ReportRequest) -> ReportContent:
    dash = request.dashboard(filters=("channel", "campaign"), params=("model",))
    page = marketing.build(dash)
    content = page_content(page, ("campaign_roi", "channel_roi", "cost_missing", "no_roi"))
    content.notes.insert(0, f"Attribution model: {page.context.get('model_label')}.")
    return content


def build_cac_ltv(request: ReportRequest) -> ReportContent:
    return page_content(cac.build(request.dashboard(filters=("channel",))))


def build_retention_cs_roi(request: ReportRequest) -> ReportContent:
    return page_content(retention.build(request.dashboard(filters=("segment", "channel"))))


def build_product_roi(request: ReportRequest) -> ReportContent:
    return page_content(product.build(request.dashboard()))


def build_sales_performance(request: ReportRequest) -> ReportContent:
    return page_content(sales.build(request.dashboard(filters=("team",))))


# --- without a dashboard page --------------------------------------------------------------


def build_roadmap_status(request: ReportRequest) -> ReportContent:
    """Phases with progress, the checklist, open risks and the scorecard, from the
    governance dashboard's selector (live data: no snapshot)."""
    board = governance_dashboard()
    content = ReportContent()
    if board.programme is None:
        content.notes.append("No roadmap programme is set up yet.")
        return content
    phases = Table(
        "phases",
        "Phases",
        [
            Column("phase", "Phase", TEXT),
            Column("start", "Start", DATE),
            Column("end", "End", DATE),
            Column("done", "Items done", INT),
            Column("applicable", "Applicable items", INT),
            Column("blocked", "Blocked", INT),
            Column("overdue", "Overdue", INT),
            Column("percent", "Progress", PERCENT),
        ],
        empty_message="The programme has no phases.",
    )
    for phase in board.phases:
        phases.add(
            {
                "phase": f"{phase.number}. {phase.name}",
                "start": phase.start_date,
                "end": phase.end_date,
                "done": phase.done,
                "applicable": phase.applicable,
                "blocked": phase.blocked,
                "overdue": phase.overdue,
                "percent": shown(phase.percent),
            },
            css="current" if phase.is_current else "",
        )
    progress = Chart(
        "phase_progress",
        "Progress by phase",
        [row.values["phase"] for row in phases.rows],
        [Series("Progress", [row.values["percent"] for row in phases.rows], color="#1b7f3b")],
        phases,
        value_kind=PERCENT,
        horizontal=True,
    )
    checklist = Table(
        "checklist",
        "Checklist",
        [
            Column("scope", "Scope", TEXT),
            Column("done", "Done", INT),
            Column("applicable", "Applicable", INT),
            Column("percent", "Progress", PERCENT),
        ],
    )
    pre = board.pre_implementation
    checklist.add(
        {
            "scope": "Pre-implementation",
            "done": pre.get("done", 0),
            "applicable": pre.get("applicable", 0),
            "percent": shown(pre.get("percent")),
        }
    )
    checklist.add(
        {
            "scope": "Whole programme",
            "done": board.overall_done,
            "applicable": board.overall_applicable,
            "percent": shown(board.overall_percent),
        }
    )
    attention = Table(
        "attention",
        "Checklist items needing attention (overdue or blocked)",
        [
            Column("item", "Item", TEXT),
            Column("due", "Due", DATE),
            Column("status", "Status", TEXT),
        ],
        empty_message="Nothing overdue or blocked.",
    )
    for item in board.attention:
        attention.add(
            {"item": item.title, "due": item.due_date, "status": item.get_status_display()}
        )
    risks = Table(
        "risks",
        "Open risks",
        [
            Column("risk", "Risk", TEXT),
            Column("category", "Category", TEXT),
            Column("likelihood", "Likelihood", INT),
            Column("impact", "Impact", INT),
            Column("score", "Score", INT),
            Column("owner", "Owner", TEXT),
            Column("status", "Status", TEXT),
            Column("review", "Review date", DATE),
        ],
        empty_message="No open risk.",
    )
    for risk in board.risks:
        risks.add(
            {
                "risk": risk.title,
                "category": risk.get_category_display(),
                "likelihood": risk.likelihood,
                "impact": risk.impact,
                "score": risk.score,
                "owner": str(risk.owner) if risk.owner else "",
                "status": risk.get_status_display(),
                "review": risk.review_date,
            }
        )
    scorecard = Table(
        "scorecard",
        "Scorecard",
        [
            Column("metric", "Metric", TEXT),
            Column("group", "Group", TEXT),
            Column("target", "Target", TEXT),
            Column("baseline", "Baseline", TEXT),
            Column("latest", "Latest value", TEXT),
            Column("measured", "Measured", DATE),
            Column("met", "Met", TEXT),
        ],
        empty_message="No success metric is defined.",
    )
    states = {"met": "Met", "not_met": "Not met", "not_measured": "Not measured"}
    for metric in board.metrics:
        scorecard.add(
            {
                "metric": metric.name,
                "group": metric.group_label,
                "target": metric.target_text,
                "baseline": metric.baseline_text,
                "latest": metric.latest_text,
                "measured": timezone.localtime(metric.latest_at).date()
                if metric.latest_at
                else None,
                "met": states.get(metric.state, metric.state),
            },
            classes={"met": favour_css({"met": True, "not_met": False}.get(metric.state))},
        )
    content.charts = [progress]
    content.tables = [phases, checklist, scorecard, attention, risks]
    content.notes.append(
        f"Programme {board.programme}: live figures as of {board.today.isoformat()}."
    )
    return content


def build_post_close_adjustments(request: ReportRequest) -> ReportContent:
    """Changes recorded to records of locked months since the month before the period was
    locked (the window of this period's pack)."""
    since = post_close_window_start(month=request.period.start)
    adjustments = post_close_adjustment_list(since=since)
    table = Table(
        "post_close_adjustments",
        "Post-close adjustments",
        [
            Column("recorded", "Recorded at", TEXT),
            Column("month", "Locked month", DATE),
            Column("entity", "Records", TEXT),
            Column("source", "Source", TEXT),
            Column("external_id", "External id", TEXT),
            Column("outcome", "Change", TEXT),
            Column("via", "Via", TEXT),
            Column("user", "By", TEXT),
            Column("summary", "Summary", TEXT),
        ],
        empty_message="No change to a locked month was recorded in this window.",
    )
    for item in adjustments:  # newest first
        table.add(
            {
                "recorded": f"{timezone.localtime(item.recorded_at):%Y-%m-%d %H:%M}",
                "month": item.month,
                "entity": item.entity,
                "source": str(item.source),
                "external_id": item.external_id,
                "outcome": item.get_outcome_display(),
                "via": item.via,
                "user": str(item.user) if item.user_id else "",
                "summary": item.summary,
            }
        )
    if since is None:
        note = (
            "The month before this period was never locked: every post-close adjustment "
            "recorded so far is listed."
        )
    else:
        note = (
            f"Changes recorded since {timezone.localtime(since):%Y-%m-%d %H:%M}, when the "
            "month before this period was locked."
        )
    return ReportContent(tables=[table], notes=[note])


REPORTS: dict[str, ReportDefinition] = {
    d.key: d
    for d in (
        ReportDefinition(
            "pnl_department",
            "P&L by department",
            "Revenue, cost of sales, operating expenses and operating income by department, "
            "against the prior period, last year and budget, with the monthly trend.",
            ("department",),
            build_pnl_department,
        ),
        ReportDefinition(
            "budget_vs_actual",
            "Budget vs actual",
            "Actuals against budget with variances by department and by account, the "
            "full-year outturn and the monthly trend.",
            ("department", "budget"),
            build_budget_vs_actual,
        ),
        ReportDefinition(
            "forecast_outturn",
            "Forecast outturn",
            "Predicted full-year outturn against budget by department, the forecast fan "
            "chart and the prediction accuracy.",
            ("department",),
            build_forecast_outturn,
        ),
        ReportDefinition(
            "campaign_roi",
            "Campaign ROI",
            "Spend, attributed revenue, ROI and ROAS by campaign and channel under an "
            "attribution model; campaigns missing cost or ROI.",
            ("channel", "campaign", "model"),
            build_campaign_roi,
        ),
        ReportDefinition(
            "cac_ltv",
            "CAC & LTV",
            "Blended and paid CAC by month, LTV:CAC and payback, by acquisition channel, "
            "against the scorecard targets.",
            ("channel",),
            build_cac_ltv,
        ),
        ReportDefinition(
            "retention_cs_roi",
            "Retention & CS ROI",
            "MRR waterfall and movements, NRR and GRR, cohorts and customer-success ROI.",
            ("segment", "channel"),
            build_retention_cs_roi,
        ),
        ReportDefinition(
            "product_roi",
            "Product ROI",
            "Cost, benefit, ROI and payback of each product initiative.",
            (),
            build_product_roi,
        ),
        ReportDefinition(
            "sales_performance",
            "Sales performance",
            "Pipeline by stage, quota attainment per rep and team, and sales-finance mismatches.",
            ("team",),
            build_sales_performance,
        ),
        ReportDefinition(
            "roadmap_status",
            "Roadmap status",
            "Phases with progress, the checklist, open risks and the scorecard.",
            (),
            build_roadmap_status,
        ),
        ReportDefinition(
            "post_close_adjustments",
            "Post-close adjustments",
            "Changes to records of locked months recorded since the previous month was locked.",
            (),
            build_post_close_adjustments,
        ),
    )
}


def report_choices() -> list[tuple[str, str]]:
    """(key, title) of every report, in the order of :data:`REPORTS`."""
    return [(d.key, d.title) for d in REPORTS.values()]
