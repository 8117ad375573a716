"""The executive financial dashboard (issue #7): revenue, expenses, operating margin and
budget variance for the period vs the prior period and the same period last year, the
monthly trend, top variances, full-year outturn, revenue by attributed channel, CAC /
LTV:CAC / payback and the data freshness of each source.

Reads stored snapshots only (one query for all of them, ``metrics.snapshots``): budget
variance by department for the period, its prior period, the same period last year and the
12 trend months, by account for the period, attribution by channel (default model) and CAC.
A department filter narrows the budget figures to that department (by account: the
department x account budget variance, one stored snapshot for every department).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dashboards.charts import Chart, Series
from dashboards.freshness import sources_freshness
from dashboards.page import DashboardRequest, Page, url_or_empty
from dashboards.tables import (
    MONEY,
    PERCENT,
    POINTS,
    RATIO,
    TEXT,
    Column,
    Table,
    favour_css,
    format_value,
    shown,
)
from finhub.core.calendar import month_period, months_ending
from metrics import selectors
from metrics.forecasts import forecast_snapshot
from metrics.params import DEPARTMENT_ACCOUNT, default_attribution_model
from metrics.reports.budget import (
    PROFIT,
    UNCLASSIFIED,
    UNCLASSIFIED_LABEL,
    favourable,
    ledger_shared,
    variance_type,
)
from metrics.reports.cac import period_cac
from metrics.reports.numbers import percent, ratio, to_number
from metrics.reports.subscriptions import subscriptions_shared
from metrics.snapshots import (
    Kind,
    attribution_request,
    budget_request,
    data_changed_since,
    period_request,
    snapshots_get,
)

REVENUE, COST_OF_SALES, EXPENSE = "revenue", "cost_of_sales", "expense"
PNL_TYPES = (REVENUE, COST_OF_SALES, EXPENSE)
TYPE_LABELS = {REVENUE: "Revenue", COST_OF_SALES: "Cost of sales", EXPENSE: "Operating expenses"}
TOP = 10
UNATTRIBUTED = "(unattributed)"
DRILL = "dashboards:gl_lines"


def _dec(value) -> Decimal:
    return Decimal(to_number(value) or 0)


def change_pct(current: Decimal, previous: Decimal) -> Decimal | None:
    """(current - previous) / |previous| in percent; undefined when previous is 0."""
    return percent(ratio(current - previous, abs(previous)))


def department_rows(snapshot, department) -> list[dict]:
    """The rows of a by-department budget-variance snapshot, narrowed to ``department``."""
    rows = snapshot.result.get("rows", [])
    if department is None:
        return rows
    if department.code:
        return [r for r in rows if r["key"] == department.code]
    return [r for r in rows if r["label"] == department.label]


def _exact(row: dict, field: str) -> Decimal:
    """A row's unrounded value (``exact``), so totals are added before rounding (rows of a
    snapshot stored before ``exact`` existed give their rounded value)."""
    return _dec(row.get("exact", {}).get(field, row.get(field)))


class Figures:
    """Actual, budget and full-year figures per account type of a set of variance rows,
    added unrounded (rounded only when shown), and the unclassified (account pending)
    actual, which counts in no revenue or expense type."""

    def __init__(self, rows: list[dict]):
        self.actual = dict.fromkeys(PNL_TYPES, Decimal(0))
        self.budget = dict.fromkeys(PNL_TYPES, Decimal(0))
        self.fy_budget = dict.fromkeys(PNL_TYPES, Decimal(0))
        self.fy_outturn = dict.fromkeys(PNL_TYPES, Decimal(0))
        self.unclassified = Decimal(0)
        self.empty = True
        for row in rows:
            kind = row["account_type"]
            if kind == UNCLASSIFIED:
                self.unclassified += _exact(row, "actual")
                self.empty = self.empty and not _exact(row, "actual")
                continue
            if kind not in PNL_TYPES:
                continue
            self.empty = False
            self.actual[kind] += _exact(row, "actual")
            self.budget[kind] += _exact(row, "budget")
            self.fy_budget[kind] += _exact(row, "full_year_budget")
            self.fy_outturn[kind] += _exact(row, "full_year_outturn")

    @staticmethod
    def _derived(values: dict) -> dict:
        expenses = values[COST_OF_SALES] + values[EXPENSE]
        operating = values[REVENUE] - expenses
        return {
            **values,
            "expenses": expenses,
            "operating": operating,
            "margin": percent(ratio(operating, values[REVENUE])),
        }

    def actuals(self) -> dict:
        return self._derived(self.actual)

    def budgets(self) -> dict:
        return self._derived(self.budget)

    def full_year(self) -> tuple[dict, dict]:
        return self._derived(self.fy_budget), self._derived(self.fy_outturn)


# measure key, label, and the type whose favourable direction it follows
MEASURES = [
    (REVENUE, "Revenue", variance_type(REVENUE)),
    (COST_OF_SALES, "Cost of sales", variance_type(COST_OF_SALES)),
    (EXPENSE, "Operating expenses", variance_type(EXPENSE)),
    ("expenses", "Total expenses", variance_type(EXPENSE)),
    ("operating", "Operating income", PROFIT),
    ("margin", "Operating margin", PROFIT),
]


def favour_class(variance: Decimal | None, measure_type: str) -> str:
    """The cell class of a measure's variance (docs/metrics.md, "Favourable and
    unfavourable")."""
    return "" if variance is None else favour_css(favourable(variance, measure_type))


def build(dash: DashboardRequest) -> Page:
    """The executive dashboard page."""
    period = dash.period
    prior, last_year = period.prior(), period.last_year()
    trend = months_ending(period.end)
    department = dash.filters.selected("department")
    # A first visit computes up to 16 budget reports of one to three years: each year's GL
    # totals are read once for all of them (and CAC's subscription events once).
    with ledger_shared(), subscriptions_shared():
        snapshots = snapshots_get(
            [
                budget_request(period),
                budget_request(prior),
                budget_request(last_year),
                budget_request(period, "account"),
                *(budget_request(month) for month in trend),
                attribution_request(period),
                period_request(Kind.CAC, period),
                *([budget_request(period, DEPARTMENT_ACCOUNT)] if department is not None else []),
            ]
        )
    current, previous, year_ago, by_account = snapshots[:4]
    trend_snapshots = snapshots[4 : 4 + len(trend)]
    attribution, cac = snapshots[4 + len(trend)], snapshots[5 + len(trend)]
    currency = dash.currency

    now = Figures(department_rows(current, department))
    before = Figures(department_rows(previous, department))
    ago = Figures(department_rows(year_ago, department))
    fiscal_year = current.result.get("fiscal_year", period.end.year)
    has_budget = bool(current.result.get("budget_versions"))
    budgets_url = url_or_empty("admin:records_budget_changelist")
    no_budget = f"No budget loaded for FY{fiscal_year} — import one in Admin \u203a Budgets."

    summary, kpis = _summary(dash, now, before, ago, has_budget)
    unclassified_url = dash.url(DRILL, type=UNCLASSIFIED)
    if now.unclassified or before.unclassified or ago.unclassified:
        summary.add(
            {
                "measure": UNCLASSIFIED_LABEL,
                "current": now.unclassified,
                "prior": before.unclassified,
                "last_year": ago.unclassified,
            },
            link=unclassified_url,
            css="muted",
        )
    trend_chart = _trend(dash, trend, trend_snapshots, department)
    dept_table = _department_variances(
        dash, current, department, has_budget, no_budget, budgets_url
    )
    if department is not None:
        account_rows = [
            row
            for row in snapshots[-1].result.get("rows", [])
            if (
                row["department"] == department.code
                if department.code
                else row["department_label"] == department.label
            )
        ]
    else:
        account_rows = by_account.result.get("rows", [])
    account_table = _account_variances(dash, account_rows, has_budget, no_budget, budgets_url)
    outturn = _outturn(dash, now, current, has_budget, no_budget, budgets_url, fiscal_year)
    _predicted_outturn(outturn, forecast_snapshot(fiscal_year=fiscal_year), department)
    channel_chart = _channel_revenue(dash, attribution)
    unit = _unit_economics(dash, cac)
    for table in (summary, dept_table, account_table, outturn, unit):
        table.currency = currency

    freshness = sources_freshness()
    missing_fx = sum(len(s.result.get("missing_fx", [])) for s in (current, attribution, cac))
    return Page(
        "Executive dashboard",
        tables=[summary, dept_table, account_table, outturn, unit],
        charts=[trend_chart, channel_chart],
        export_stem="executive",
        context={
            "kpis": kpis,
            "has_budget": has_budget,
            "no_budget_message": no_budget,
            "budgets_url": budgets_url,
            "fiscal_year": fiscal_year,
            "no_data": now.empty,
            "freshness": freshness,
            "computed_at": min(s.computed_at for s in snapshots),
            "data_changed_at": data_changed_since(snapshots),
            "missing_fx": missing_fx,
            "unclassified": now.unclassified,
            "unclassified_text": format_value(now.unclassified, MONEY, currency),
            "unclassified_url": unclassified_url,
            "closed_through": _closed_through_label(current),
            "cac_url": dash.optional_url("dashboards:cac", department=None),
            "comparison": {"prior": prior, "last_year": last_year},
        },
    )


def _summary(dash, now: Figures, before: Figures, ago: Figures, has_budget: bool):
    actual, budget = now.actuals(), now.budgets()
    prior, year_ago = before.actuals(), ago.actuals()
    table = Table(
        "summary",
        "Profit and loss summary",
        [
            Column("measure", "Measure", TEXT),
            Column("current", "This period", MONEY),
            Column("prior", "Prior period", MONEY),
            Column("prior_change", "Change vs prior", PERCENT),
            Column("last_year", "Same period last year", MONEY),
            Column("last_year_change", "Change vs last year", PERCENT),
            Column("budget", "Budget", MONEY),
            Column("variance", "Variance", MONEY),
            Column("variance_pct", "Variance %", PERCENT),
        ],
        note=(
            f"Prior period: {dash.period.prior().label}; same period last year: "
            f"{dash.period.last_year().label}. The margin's changes and variance are in "
            "percentage points (pp). The budget covers the same days as the actuals: a month the "
            "period covers in part counts with the share of its days "
            '(docs/metrics.md, "Budgets and periods"). Ledger lines whose account reference '
            "is pending count in no revenue or expense line; they are shown as unclassified."
        ),
        empty_message="No ledger lines in this period — run a sync of the ERP connector, or "
        "pick another period.",
        currency=dash.currency,
    )
    if now.empty and before.empty and ago.empty:
        return table, []
    drill_type = {"margin": "operating"}
    kpis = []
    for key, label, measure_type in MEASURES:
        is_margin = key == "margin"
        cur, pri, ly, bud = actual[key], prior[key], year_ago[key], budget[key]
        if is_margin:
            variance = None if cur is None or bud is None else cur - bud
            var_pct = None
            pri_change = None if cur is None or pri is None else cur - pri
            ly_change = None if cur is None or ly is None else cur - ly
        else:
            variance = cur - bud
            var_pct = percent(ratio(variance, abs(bud)))
            pri_change, ly_change = change_pct(cur, pri), change_pct(cur, ly)
        link = dash.url(DRILL, type=drill_type.get(key, key))
        css = favour_class(variance, measure_type) if has_budget else ""
        if is_margin:
            cur, pri, ly, bud = shown(cur), shown(pri), shown(ly), shown(bud)
            variance = shown(variance)
        table.add(
            {
                "measure": label,
                "current": cur,
                "prior": pri,
                "prior_change": shown(pri_change),
                "last_year": ly,
                "last_year_change": shown(ly_change),
                "budget": bud if has_budget else None,
                "variance": variance if has_budget else None,
                "variance_pct": (shown(var_pct) if not is_margin else None) if has_budget else None,
            },
            link=link,
            classes={"variance": css, "variance_pct": css},
            # The margin's level in percent; its changes and variance in percentage points.
            kinds={
                **{k: PERCENT for k in ("current", "prior", "last_year", "budget")},
                **{k: POINTS for k in ("prior_change", "last_year_change", "variance")},
            }
            if is_margin
            else {},
            css="margin" if is_margin else "",
        )
        if key in (REVENUE, "expenses", "margin"):
            cells = dict(
                zip(
                    [c.key for c in table.columns],
                    table._cells(table.rows[-1].values, table.rows[-1]),
                    strict=True,
                )
            )
            lines = [
                ("Prior period", f"{cells['prior'].text} ({cells['prior_change'].text})", ""),
                ("Last year", f"{cells['last_year'].text} ({cells['last_year_change'].text})", ""),
            ]
            if has_budget:
                lines.append(("Budget", cells["budget"].text, ""))
                lines.append(("Variance", cells["variance"].text, css))
            kpis.append(
                {
                    "id": f"kpi-{key}",
                    "title": "Expenses" if key == "expenses" else label,
                    "value": cells["current"].text,
                    "css": cells["current"].css,
                    "link": link,
                    "lines": lines,
                }
            )
    operating_variance = actual["operating"] - budget["operating"]
    variance_css = favour_class(operating_variance, PROFIT) if has_budget else ""
    kpis.append(
        {
            "id": "kpi-variance",
            "title": "Budget variance (operating income)",
            "value": format_value(operating_variance, MONEY, dash.currency)
            if has_budget
            else "No budget",
            "css": variance_css,
            "link": dash.url(DRILL, type="operating"),
            "lines": [
                (
                    "Of budget",
                    format_value(
                        shown(percent(ratio(operating_variance, abs(budget["operating"])))), PERCENT
                    ),
                    variance_css,
                ),
                ("Operating income", format_value(actual["operating"], MONEY, dash.currency), ""),
                ("Budgeted", format_value(budget["operating"], MONEY, dash.currency), ""),
            ]
            if has_budget
            else [],
        }
    )
    return table, kpis


def _trend(dash, months, snapshots, department) -> Chart:
    labels, series = [], {k: [] for k in ("rev", "rev_b", "exp", "exp_b")}
    links: dict[str, list[str]] = {"rev": [], "exp": []}
    table = Table(
        "trend",
        "Monthly actual vs budget",
        [
            Column("month", "Month", TEXT),
            Column("revenue", "Revenue", MONEY),
            Column("revenue_budget", "Revenue budget", MONEY),
            Column("expenses", "Expenses", MONEY),
            Column("expenses_budget", "Expenses budget", MONEY),
            Column("operating", "Operating income", MONEY),
            Column("operating_budget", "Operating income budget", MONEY),
        ],
        currency=dash.currency,
        note="The 12 months to the end of the period; click a bar or a month for its GL lines.",
    )
    for month, snapshot in zip(months, snapshots, strict=True):
        figures = Figures(department_rows(snapshot, department))
        actual, budget = figures.actuals(), figures.budgets()
        label = month.start.strftime("%b %Y")
        labels.append(label)
        series["rev"].append(actual[REVENUE])
        series["rev_b"].append(budget[REVENUE])
        series["exp"].append(actual["expenses"])
        series["exp_b"].append(budget["expenses"])
        links["rev"].append(dash.url(DRILL, period=month_period(month.start), type=REVENUE))
        links["exp"].append(dash.url(DRILL, period=month_period(month.start), type="expenses"))
        table.add(
            {
                "month": label,
                "revenue": actual[REVENUE],
                "revenue_budget": budget[REVENUE],
                "expenses": actual["expenses"],
                "expenses_budget": budget["expenses"],
                "operating": actual["operating"],
                "operating_budget": budget["operating"],
            },
            link=dash.url(DRILL, period=month_period(month.start), type="operating"),
            links={"revenue": links["rev"][-1], "expenses": links["exp"][-1]},
        )
    return Chart(
        "trend",
        "Monthly trend: actual vs budget",
        labels,
        [
            Series("Revenue", series["rev"], links["rev"], type="bar", color="#0b5394"),
            Series("Revenue budget", series["rev_b"], type="line", color="#5b9bd5"),
            Series("Expenses", series["exp"], links["exp"], type="bar", color="#b54708"),
            Series("Expenses budget", series["exp_b"], type="line", color="#f0a35e"),
        ],
        table,
        currency=dash.currency,
        description="Revenue and expenses per month, actual (bars) and budget (lines); "
        "the figures are in the table under the chart",
        table_below=True,
    )


def _variance_columns(first: str) -> list[Column]:
    return [
        Column("name", first, TEXT),
        Column("type", "Account type", TEXT),
        Column("actual", "Actual", MONEY),
        Column("budget", "Budget", MONEY),
        Column("variance", "Variance", MONEY),
        Column("variance_pct", "Variance %", PERCENT),
    ]


def _top(rows: list[dict]) -> list[dict]:
    pnl = [r for r in rows if r["account_type"] in PNL_TYPES and _dec(r["variance"]) != 0]
    return sorted(pnl, key=lambda r: (-abs(_dec(r["variance"])), r["label"]))[:TOP]


def _variance_row(table: Table, row: dict, link: str) -> None:
    css = favour_css(row.get("favourable"))
    table.add(
        {
            "name": row["label"],
            "type": TYPE_LABELS.get(row["account_type"], row["account_type"]),
            "actual": row["actual"],
            "budget": row["budget"],
            "variance": row["variance"],
            "variance_pct": shown(percent(to_number(row.get("variance_pct")))),
        },
        link=link,
        classes={"variance": css, "variance_pct": css},
    )


def _department_variances(dash, snapshot, department, has_budget, no_budget, budgets_url):
    table = Table(
        "department_variances",
        "Top variances by department",
        _variance_columns("Department"),
        note="Largest differences from budget first; green is favourable, red unfavourable. "
        "Open a row for its GL lines.",
        empty_message=no_budget if not has_budget else "No variance in this period.",
        empty_link=budgets_url if not has_budget else "",
        empty_link_label="Budgets",
    )
    if not has_budget:
        return table
    options = dash.filters.get("department").options if dash.filters.get("department") else []
    by_code = {o.code: o.id for o in options if o.code}
    by_label = {o.label: o.id for o in options}
    for row in _top(department_rows(snapshot, department)):
        dept_id = by_code.get(row["key"]) if row["key"] else by_label.get(row["label"])
        params = {"type": row["account_type"]}
        if dept_id is not None:
            params["department"] = dept_id
        else:
            params["no_department"] = "1"
        _variance_row(table, row, dash.url(DRILL, **params))
    return table


def _account_variances(dash, rows, has_budget, no_budget, budgets_url):
    department = dash.filters.selected("department")
    table = Table(
        "account_variances",
        "Top variances by account" + (f" — {department.label}" if department else ""),
        _variance_columns("Account"),
        note="Largest differences from budget first. Open a row for its GL lines.",
        empty_message=no_budget if not has_budget else "No variance in this period.",
        empty_link=budgets_url if not has_budget else "",
        empty_link_label="Budgets",
    )
    if not has_budget:
        return table
    for row in _top(rows):
        label = f"{row['key']} {row['label']}".strip()
        _variance_row(
            table,
            {**row, "label": label},
            dash.url(DRILL, account=row["key"], type=row["account_type"]),
        )
    return table


def _outturn(dash, now: Figures, snapshot, has_budget, no_budget, budgets_url, fiscal_year):
    budget, outturn = now.full_year()
    closed = snapshot.result.get("closed_months", [])
    table = Table(
        "outturn",
        f"Full-year outturn vs budget, FY{fiscal_year}",
        [
            Column("measure", "Measure", TEXT),
            Column("budget", f"FY{fiscal_year} budget", MONEY),
            Column("outturn", "Outturn", MONEY),
            Column("difference", "Outturn \u2212 budget", MONEY),
            Column("difference_pct", "Difference %", PERCENT),
        ],
        note=(
            f"Outturn = actuals of the {len(closed)} closed month(s) + budget of the "
            f"remaining {12 - len(closed)}. Closed months are those up to the last closed "
            f"month ({_closed_through_label(snapshot)}: the last month ended before today), "
            'whichever period is viewed (docs/metrics.md, "Full-year outturn").'
        ),
        empty_message=no_budget,
        empty_link=budgets_url,
        empty_link_label="Budgets",
    )
    if not has_budget:
        return table
    for key, label, measure_type in MEASURES[:5]:
        difference = outturn[key] - budget[key]
        css = favour_class(difference, measure_type)
        table.add(
            {
                "measure": label,
                "budget": budget[key],
                "outturn": outturn[key],
                "difference": difference,
                "difference_pct": shown(percent(ratio(difference, abs(budget[key])))),
            },
            classes={"difference": css, "difference_pct": css},
        )
    return table


NO_RANGE = "Intervals do not add up: the forecast stores no range for this total"


def predicted_outturns(result: dict, department) -> dict[str, tuple]:
    """Measure key -> (predicted outturn, 80% low, 80% high) from a stored forecast: the
    company's account-type and operating-income totals, or the department's account-type
    totals. Totals the forecast does not store (total expenses; a department's operating
    income) add the predicted outturns and have no range."""
    groups = result.get("groups", [])
    if department is None:
        by_type = {g["key"]: g for g in groups if g["level"] == "account_type"}
    else:
        by_type = {
            g["account_type"]: g
            for g in groups
            if g["level"] == "department"
            and (
                g.get("department") == department.code
                if department.code
                else g.get("department_label") == department.label
            )
        }
    out: dict[str, tuple] = {}
    for kind in PNL_TYPES:
        group = by_type.get(kind)
        out[kind] = (
            (_dec(group["predicted_outturn"]), group["outturn_lower80"], group["outturn_upper80"])
            if group
            else (Decimal(0), None, None)  # no series of that type: nothing budgeted or spent
        )
    expenses = out[COST_OF_SALES][0] + out[EXPENSE][0]
    out["expenses"] = (expenses, None, None)
    company = next(
        (g for g in groups if g["level"] == "company" and g["key"] == "operating_income"), None
    )
    if department is None and company is not None:
        out["operating"] = (
            _dec(company["predicted_outturn"]),
            company["outturn_lower80"],
            company["outturn_upper80"],
        )
    else:
        out["operating"] = (out[REVENUE][0] - expenses, None, None)
    return out


def _predicted_outturn(table: Table, snapshot, department) -> None:
    """Add the stored forecast's predicted outturn and its 80% range to the outturn table
    ("—" with a note when none is stored)."""
    table.columns += [
        Column("predicted", "Predicted outturn", MONEY),
        Column("predicted_low", "Predicted 80% low", MONEY),
        Column("predicted_high", "Predicted 80% high", MONEY),
    ]
    if not table.rows:
        return  # no budget for the year (January before it is loaded): nothing to compare
    if snapshot is None:
        table.note += (
            " Predicted outturn: no forecast is stored for this fiscal year yet; forecasts are "
            "computed nightly and after a sync changes the ledger or budgets."
        )
        for row in table.rows:
            row.titles.update(
                dict.fromkeys(
                    ("predicted", "predicted_low", "predicted_high"),
                    "No forecast stored for this fiscal year yet",
                )
            )
        return
    origin = snapshot.result.get("origin")
    made = month_period(dt.date.fromisoformat(origin)).label if origin else "the last closed month"
    table.note += (
        f" Predicted outturn = actuals of the closed months + the forecast of the others, made "
        f"at the end of {made}; the 80% range holds it with 80% probability "
        '(docs/metrics.md, "Forecasts and prediction accuracy").'
    )
    predicted = predicted_outturns(snapshot.result, department)
    for row, (key, _label, _type) in zip(table.rows, MEASURES[:5], strict=True):
        value, low, high = predicted[key]
        row.values.update({"predicted": value, "predicted_low": low, "predicted_high": high})
        if low is None:
            row.titles.update({"predicted_low": NO_RANGE, "predicted_high": NO_RANGE})


def _closed_through_label(snapshot) -> str:
    """The last closed month of a budget snapshot, in words (``November 2026``)."""
    closed_through = snapshot.result.get("closed_through")
    if not closed_through:
        return "none"
    return month_period(dt.date.fromisoformat(closed_through)).label


def _channel_revenue(dash, snapshot) -> Chart:
    result = snapshot.result
    model = snapshot.params.get("model", default_attribution_model())
    marketing = url_or_empty("dashboards:marketing")
    channel_ids = selectors.channel_ids() if marketing and result.get("rows") else {}
    table = Table(
        "channel_revenue",
        "Revenue by attributed channel",
        [
            Column("channel", "Channel", TEXT),
            Column("conversions", "Attributed conversions", RATIO),
            Column("revenue", "Attributed revenue", MONEY),
            Column("share", "Share of won revenue", PERCENT),
        ],
        currency=dash.currency,
        note=(
            f"{model.replace('_', ' ').capitalize()} attribution, "
            f"{snapshot.params.get('lookback_days')}-day lookback; won deals closed in the "
            "period, all departments."
        ),
        empty_message="No won deals in this period, so no revenue to attribute.",
    )
    attributed = _dec(result.get("attributed_revenue"))
    unattributed = _dec(result.get("unattributed_revenue"))
    total = attributed + unattributed
    labels, values, links = [], [], []
    for row in sorted(result.get("rows", []), key=lambda r: -_dec(r["revenue"])):
        link = ""
        if marketing and row["key"] in channel_ids and row["key"] != UNATTRIBUTED:
            link = dash.url(
                "dashboards:marketing", channel=channel_ids[row["key"]], department=None
            )
        table.add(
            {
                "channel": row["key"],
                "conversions": row["conversions"],
                "revenue": row["revenue"],
                "share": percent(ratio(_dec(row["revenue"]), total)),
            },
            link=link,
        )
        labels.append(row["key"])
        values.append(row["revenue"])
        links.append(link)
    has_row = any(row["key"] == UNATTRIBUTED for row in result.get("rows", []))
    if result.get("unattributed_count") and not has_row:
        table.add(
            {
                "channel": "(unattributed)",
                "conversions": result["unattributed_count"],
                "revenue": result["unattributed_revenue"],
                "share": percent(ratio(unattributed, total)),
            },
            css="muted",
        )
        labels.append("(unattributed)")
        values.append(result["unattributed_revenue"])
        links.append("")
    if table.rows:
        table.totals = {
            "conversions": result.get("attributed_count", 0) + result.get("unattributed_count", 0),
            "revenue": total,
            "share": percent(Decimal(1)) if total else None,
        }
    return Chart(
        "channel_revenue",
        "Revenue by attributed channel",
        labels,
        [Series("Attributed revenue", values, links, color="#0b5394")],
        table,
        horizontal=True,
        currency=dash.currency,
    )


def _unit_economics(dash, snapshot) -> Table:
    months = snapshot.result.get("months", [])
    table = Table(
        "unit_economics",
        "CAC, LTV:CAC and payback",
        [Column("measure", "Measure", TEXT), Column("value", "Value", MONEY)],
        empty_message="No months in this period.",
    )
    if not months:
        return table
    period = period_cac(snapshot.result)
    last = months[-1]
    last_label = month_period(dt.date.fromisoformat(last["month"])).label
    cac_link = dash.url(DRILL, sales_marketing="1")
    table.add(
        {"measure": "Blended CAC (period)", "value": shown(period.blended_cac)}, link=cac_link
    )
    table.add(
        {"measure": "New customers (period)", "value": period.new_customers},
        kinds={"value": "int"},
    )
    table.add(
        {"measure": f"LTV:CAC ({last_label})", "value": last["ltv_to_cac"]},
        kinds={"value": RATIO},
    )
    table.add(
        {"measure": f"CAC payback, months ({last_label})", "value": last["payback_months"]},
        kinds={"value": RATIO},
    )
    return table
