"""The forecast dashboard (issue #13; docs/metrics.md, "Forecast dashboard"): the predicted
full-year outturn against the budget by department and account with its intervals (a fan
chart), the backtest's prediction accuracy, the open spend anomalies and a scenario
compared with the current budget.

Reads the fiscal year's stored forecast (``metrics.forecasts.forecast_snapshot``, one query)
and never computes one: fitting every series takes too long for a page view, so forecasts
are computed in the background (nightly and after a sync changes the ledger or budgets) and
the page says so until the first one is stored. The fiscal year is the period's (the
calendar year; the current one by default).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from dashboards.charts import Chart, Series
from dashboards.page import DashboardParamError, DashboardRequest, Page, url_or_empty
from dashboards.tables import (
    INT,
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
from metrics import anomalies, scenarios
from metrics.forecasts import forecast_snapshot
from metrics.reports.forecast import model_mix
from metrics.reports.numbers import percent, to_number
from metrics.schedules import SCHEDULES
from metrics.snapshots import data_changed_since

PAGE = "dashboards:forecast"
DISMISS = "dashboards:forecast_dismiss"
PAGE_PARAMS = ("group", "scenario")
DISMISS_PERMISSION = "metrics.change_spendanomaly"
DOC_ANCHOR = "forecast-dashboard"
#: The group the fan chart shows when none is chosen (and no department is).
DEFAULT_GROUP = ("company", "operating_income")
TYPE_LABELS = {
    "revenue": "Revenue",
    "cost_of_sales": "Cost of sales",
    "expense": "Operating expenses",
    "operating_income": "Operating income",
}
LEVEL_ORDER = {"company": 0, "account_type": 1, "department": 2, "series": 3}
#: At most this many open anomalies are listed (newest first).
MAX_ANOMALIES = 100
NIGHTLY_TASK = "metrics.tasks.compute_metrics"
COLOR_ACTUAL, COLOR_FORECAST, COLOR_BUDGET = "#0b5394", "#b54708", "#52606d"
BAND_80, BAND_95 = "rgba(181, 71, 8, 0.30)", "rgba(181, 71, 8, 0.12)"
UNIT_KINDS = {"money": MONEY, "percent": PERCENT, "ratio": RATIO}


def _month(value: str) -> str:
    return dt.date.fromisoformat(value).strftime("%b %Y")


def _dec(value) -> Decimal:
    return Decimal(to_number(value) or 0)


def group_param(group: dict) -> str:
    """A group's ``?group=`` value: ``<level>:<key>``."""
    return f"{group['level']}:{group['key']}"


def next_nightly_run(now: dt.datetime) -> dt.datetime | None:
    """When the nightly metrics recompute (which refreshes the forecast) next runs, from its
    schedule (metrics/schedules.py); None when it is not a daily crontab."""
    spec = next((s for s in SCHEDULES if s.task == NIGHTLY_TASK), None)
    crontab = (spec.crontab or {}) if spec else {}
    try:
        hour, minute = int(crontab["hour"]), int(crontab["minute"])
    except (KeyError, ValueError):
        return None
    local = timezone.localtime(now)
    run = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return run if run > local else run + dt.timedelta(days=1)


def _department_ids(dash: DashboardRequest) -> tuple[dict[str, int], dict[str, int]]:
    """Department filter ids by code and by name (the forecast keys departments by code)."""
    item = dash.filters.get("department")
    options = item.options if item else []
    return {o.code: o.id for o in options if o.code}, {o.label: o.id for o in options}


def _in_department(group: dict, department) -> bool:
    if department.code:
        return group.get("department") == department.code
    return group.get("department_label") == department.label


def chosen_group(dash: DashboardRequest, groups: list[dict], department) -> dict | None:
    """The fan chart's group: ``?group=<level>:<key>`` (a bad one is a 400), else the selected
    department's first group, else the company's operating income."""
    by_param = {group_param(g): g for g in groups}
    raw = dash.params.get("group", "")
    if raw:
        if raw not in by_param:
            raise DashboardParamError(
                f"group: {raw!r} is not a forecast group of this fiscal year; pick a row of "
                "the outturn tables."
            )
        return by_param[raw]
    if department is not None:
        mine = [g for g in groups if g["level"] == "department" and _in_department(g, department)]
        if mine:
            return mine[0]
    return by_param.get(":".join(DEFAULT_GROUP)) or (groups[0] if groups else None)


def build(dash: DashboardRequest) -> Page:
    """The forecast page."""
    fiscal_year = dash.period.start.year
    snapshot = forecast_snapshot(fiscal_year=fiscal_year)
    result = snapshot.result if snapshot is not None else {}
    groups = result.get("groups", [])
    department = dash.filters.selected("department")
    chosen = chosen_group(dash, groups, department) if groups else None
    currency = result.get("reporting_currency") or dash.currency
    budgets_url = url_or_empty("admin:records_budget_changelist")

    tables = [
        _company_table(dash, groups, chosen, currency),
        _departments_table(dash, groups, department, chosen, currency),
    ]
    if department is not None:
        tables.append(_accounts_table(dash, groups, department, chosen, currency))
    charts = []
    if chosen is not None:
        charts.append(_fan_chart(dash, result, chosen, currency))
    accuracy = result.get("accuracy", {})
    tables += [_accuracy_table(accuracy), _accuracy_groups_table(accuracy)]
    if accuracy.get("outturn_error"):
        charts.append(_outturn_error_chart(accuracy))

    open_anomalies = list(anomalies.anomalies_list(status="open")[:MAX_ANOMALIES])
    tables.append(_anomalies_table(open_anomalies, dash.currency))
    scenario_context, scenario_tables = _scenario(dash, fiscal_year)
    tables += scenario_tables

    computed = [snapshot] if snapshot is not None else []
    return Page(
        "Forecast",
        tables=tables,
        charts=charts,
        export_stem="forecast",
        context={
            "fiscal_year": str(fiscal_year),  # not "2,026" (thousand separators are on)
            "has_forecast": snapshot is not None,
            "next_run": next_nightly_run(timezone.now()) if snapshot is None else None,
            "origin": _month(result["origin"]) if result.get("origin") else "",
            "series_count": result.get("series_count"),
            "has_budget": bool(result.get("budget_versions")),
            "budgets_url": budgets_url,
            "department_label": department.label if department else "",
            "all_departments_url": dash.url(PAGE, department=None, group=None)
            if department
            else "",
            "chosen": chosen,
            "chosen_note": _chosen_note(chosen) if chosen else "",
            "fan_fill": FAN_FILL,
            "kpis": _kpis(result, chosen, currency) if snapshot is not None else [],
            "model_mix": _model_mix(accuracy),
            "accuracy_window": " \u2013 ".join(_month(m) for m in accuracy.get("window", [])),
            "anomalies": open_anomalies,
            "anomaly_count": len(open_anomalies),
            "anomalies_capped": len(open_anomalies) >= MAX_ANOMALIES,
            "can_dismiss": dash.user.has_perm(DISMISS_PERMISSION),
            "dismiss_next": dash.request.get_full_path(),
            **scenario_context,
            "computed_at": snapshot.computed_at if snapshot is not None else None,
            "data_changed_at": data_changed_since(computed),
        },
    )


def _group_label(group: dict) -> str:
    level = group["level"]
    if level in ("company", "account_type"):
        return TYPE_LABELS.get(group["key"], group.get("label", ""))
    if level == "department":
        kind = TYPE_LABELS.get(group.get("account_type", ""), group.get("account_type", ""))
        return f"{group.get('department_label') or group['department']} — {kind}"
    account = f"{group.get('account', '')} {group.get('account_label', '')}".strip()
    return f"{group.get('department_label') or group.get('department', '')} — {account}"


def _chosen_note(group: dict) -> str:
    if group["level"] != "series":
        return "A total of its series' forecasts (each series by its own model)."
    text = f"Model: {group.get('model_label') or group.get('model') or '—'}."
    if group.get("fallback"):
        text += f" {group['fallback']}"
    return text


# --- outturn vs budget -----------------------------------------------------------------------

OUTTURN_COLUMNS = [
    Column("predicted", "Predicted outturn", MONEY),
    Column("low80", "80% low", MONEY),
    Column("high80", "80% high", MONEY),
    Column("budget", "FY budget", MONEY),
    Column("variance", "Predicted variance", MONEY),
    Column("variance_pct", "Variance %", PERCENT),
    Column("over_budget", "P(over budget)", PERCENT),
]


def _outturn_values(group: dict) -> dict:
    probability = to_number(group.get("probability_over_budget"))
    return {
        "predicted": group.get("predicted_outturn"),
        "low80": group.get("outturn_lower80"),
        "high80": group.get("outturn_upper80"),
        "budget": group.get("full_year_budget"),
        "variance": group.get("predicted_variance"),
        "variance_pct": shown(to_number(group.get("predicted_variance_pct"))),
        "over_budget": shown(percent(Decimal(probability)) if probability is not None else None),
    }


def _add_outturn_row(table: Table, group: dict, values: dict, link: str, chosen) -> None:
    css = favour_css(group.get("favourable"))
    table.add(
        {**values, **_outturn_values(group)},
        link=link,
        classes={"variance": css, "variance_pct": css},
        css="chosen" if chosen is group else "",
        titles={"variance_pct": "No budget for the year, so no variance in percent"},
    )


NO_FORECAST = (
    "No forecast stored for this fiscal year yet: forecasts are computed nightly and after "
    "a sync changes the ledger or budgets."
)


def _company_table(dash, groups, chosen, currency) -> Table:
    table = Table(
        "outturn_company",
        "Predicted full-year outturn vs budget",
        [Column("measure", "Measure", TEXT), *OUTTURN_COLUMNS],
        currency=currency,
        note="Predicted outturn = actuals of the closed months + the forecast of the others; "
        "the 80% range holds the outturn with 80% probability. P(over budget) is the "
        "probability that the outturn exceeds the budget. Open a row for its fan chart.",
        empty_message=NO_FORECAST,
    )
    totals = [g for g in groups if g["level"] in ("account_type", "company")]
    order = list(TYPE_LABELS)
    totals.sort(key=lambda g: order.index(g["key"]) if g["key"] in order else len(order))
    for group in totals:
        _add_outturn_row(
            table,
            group,
            {"measure": _group_label(group)},
            dash.url(PAGE, group=group_param(group)),
            chosen,
        )
    return table


def _departments_table(dash, groups, department, chosen, currency) -> Table:
    by_code, by_name = _department_ids(dash)
    table = Table(
        "outturn_departments",
        "Predicted outturn by department"
        + (f" — {department.label}" if department is not None else ""),
        [
            Column("department", "Department", TEXT),
            Column("type", "Account type", TEXT),
            *OUTTURN_COLUMNS,
        ],
        currency=currency,
        note="Each department's accounts of one type, added. Open a department for its "
        "accounts; open a figure for its fan chart.",
        empty_message=NO_FORECAST if not groups else "No forecast series in this department.",
    )
    rows = [g for g in groups if g["level"] == "department"]
    if department is not None:
        rows = [g for g in rows if _in_department(g, department)]
    rows.sort(key=lambda g: (g.get("department_label", ""), g.get("account_type", "")))
    for group in rows:
        dept_id = by_code.get(group.get("department", "")) or by_name.get(
            group.get("department_label", "")
        )
        chart_link = dash.url(PAGE, group=group_param(group))
        table.add(
            {
                "department": group.get("department_label") or group.get("department", ""),
                "type": TYPE_LABELS.get(group.get("account_type", ""), group.get("account_type")),
                **_outturn_values(group),
            },
            link=dash.url(PAGE, department=dept_id, group=group_param(group)) if dept_id else "",
            links={"predicted": chart_link},
            classes={
                "variance": favour_css(group.get("favourable")),
                "variance_pct": favour_css(group.get("favourable")),
            },
            css="chosen" if chosen is group else "",
            titles={"variance_pct": "No budget for the year, so no variance in percent"},
        )
    return table


def _accounts_table(dash, groups, department, chosen, currency) -> Table:
    table = Table(
        "outturn_accounts",
        f"Predicted outturn by account — {department.label}",
        [
            Column("account", "Account", TEXT),
            Column("type", "Account type", TEXT),
            *OUTTURN_COLUMNS,
            Column("model", "Model", TEXT),
            Column("fallback", "Why this model", TEXT),
        ],
        currency=currency,
        note="One series per account with a budget this year, forecast by the model that "
        "predicted it best in the backtest (ties go to the simpler model). Open a row for "
        "its fan chart.",
        empty_message="No forecast series in this department.",
    )
    rows = [g for g in groups if g["level"] == "series" and _in_department(g, department)]
    rows.sort(key=lambda g: g.get("account", ""))
    for group in rows:
        _add_outturn_row(
            table,
            group,
            {
                "account": f"{group.get('account', '')} {group.get('account_label', '')}".strip(),
                "type": TYPE_LABELS.get(group.get("account_type", ""), group.get("account_type")),
                "model": group.get("model_label") or group.get("model", ""),
                "fallback": group.get("fallback", ""),
            },
            dash.url(PAGE, group=group_param(group)),
            chosen,
        )
    return table


def _kpis(result: dict, chosen: dict | None, currency: str) -> list[dict]:
    doc = f"{reverse('docs-metrics')}#{DOC_ANCHOR}"
    tiles = []
    if chosen is not None:
        values = _outturn_values(chosen)
        tiles.append(
            {
                "id": "kpi-outturn",
                "title": f"Predicted outturn — {_group_label(chosen)}",
                "value": format_value(values["predicted"], MONEY, currency),
                "lines": [
                    (
                        "80% range",
                        f"{format_value(values['low80'], MONEY, currency)} to "
                        f"{format_value(values['high80'], MONEY, currency)}",
                    ),
                    ("FY budget", format_value(values["budget"], MONEY, currency)),
                    (
                        "Predicted variance",
                        format_value(values["variance"], MONEY, currency),
                        favour_css(chosen.get("favourable")),
                    ),
                    ("P(over budget)", format_value(values["over_budget"], PERCENT)),
                ],
                "doc": doc,
            }
        )
    accuracy = result.get("accuracy", {})
    window = " \u2013 ".join(_month(m) for m in accuracy.get("window", []))
    value = accuracy.get("scorecard_accuracy_percent")
    tiles.append(
        {
            "id": "kpi-accuracy",
            "title": "Budget variance prediction accuracy",
            "value": format_value(shown(to_number(value)), PERCENT),
            "hint": "No actuals in the backtest window, so no accuracy"
            if to_number(value) is None
            else "",
            "lines": [
                ("Horizon", "1 month ahead"),
                ("Window", window or "—"),
                ("Models", _model_mix(accuracy) or "—"),
            ],
            "doc": doc,
        }
    )
    return tiles


# --- fan chart -------------------------------------------------------------------------------


def _fan_chart(dash, result: dict, group: dict, currency: str) -> Chart:
    """Actuals of the closed months, the forecast of the others with its 80% and 95% bands
    (filled between their low and high lines by js/forecast.js), and the budget."""
    months = group.get("months", [])
    label = _group_label(group)
    table = Table(
        "fan",
        f"Actual, forecast and budget by month — {label}",
        [
            Column("month", "Month", TEXT),
            Column("actual", "Actual", MONEY),
            Column("forecast", "Forecast", MONEY),
            Column("lower80", "80% low", MONEY),
            Column("upper80", "80% high", MONEY),
            Column("lower95", "95% low", MONEY),
            Column("upper95", "95% high", MONEY),
            Column("budget", "Budget", MONEY),
        ],
        currency=currency,
        note=f"Closed months show the actual; the others the forecast made at the end of "
        f"{_month(result['origin']) if result.get('origin') else 'the last closed month'}, "
        "with the ranges that hold the actual with 80% and 95% probability.",
        empty_message="No months in this forecast.",
    )
    labels = []
    series: dict[str, list] = {
        k: [] for k in ("actual", "forecast", "lower80", "upper80", "lower95", "upper95", "budget")
    }
    for index, row in enumerate(months):
        labels.append(_month(row["month"]))
        closed = bool(row.get("closed"))
        series["actual"].append(row.get("actual") if closed else None)
        series["budget"].append(row.get("budget"))
        # The fan opens at the last actual, so the forecast line joins the actuals.
        next_open = index + 1 < len(months) and not months[index + 1].get("closed")
        for key in ("forecast", "lower80", "upper80", "lower95", "upper95"):
            if closed:
                series[key].append(row.get("actual") if next_open else None)
            else:
                series[key].append(row.get(key))
        table.add(
            {
                "month": _month(row["month"]),
                "actual": row.get("actual") if closed else None,
                "forecast": None if closed else row.get("forecast"),
                "lower80": None if closed else row.get("lower80"),
                "upper80": None if closed else row.get("upper80"),
                "lower95": None if closed else row.get("lower95"),
                "upper95": None if closed else row.get("upper95"),
                "budget": row.get("budget"),
            },
            css="" if closed else "forecast-month",
        )
    if months:
        table.totals = {
            "actual": sum((_dec(r.get("actual")) for r in months if r.get("closed")), Decimal(0)),
            "forecast": sum(
                (_dec(r.get("forecast")) for r in months if not r.get("closed")), Decimal(0)
            ),
            "budget": group.get("full_year_budget"),
        }
        table.totals_label = "Full year"
    return Chart(
        "fan",
        f"Forecast fan chart — {label}",
        labels,
        [
            # Band order matters: each high line fills down to the low line before it.
            Series("95% range (low)", series["lower95"], type="line", color=BAND_95, spacer=True),
            Series("95% range", series["upper95"], type="line", color=BAND_95),
            Series("80% range (low)", series["lower80"], type="line", color=BAND_80, spacer=True),
            Series("80% range", series["upper80"], type="line", color=BAND_80),
            Series("Forecast", series["forecast"], type="line", color=COLOR_FORECAST),
            Series("Actual", series["actual"], type="line", color=COLOR_ACTUAL),
            Series("Budget", series["budget"], type="line", color=COLOR_BUDGET),
        ],
        table,
        type="line",
        currency=currency,
        description=f"{label}: actual by month, the forecast with its 80% and 95% ranges and "
        "the budget; the figures are in the table under the chart",
        table_below=True,
    )


#: The fan chart's filled bands for js/forecast.js: dataset index -> fill target.
FAN_FILL = {"chart": "fan", "fill": {"1": "-1", "3": "-1"}, "flat": [0, 1, 2, 3]}


# --- accuracy --------------------------------------------------------------------------------


def _model_mix(accuracy: dict) -> str:
    return ", ".join(f"{model.replace('_', ' ')} {count}" for model, count in model_mix(accuracy))


def _accuracy_table(accuracy: dict) -> Table:
    table = Table(
        "accuracy_horizons",
        "Prediction accuracy by horizon and model",
        [
            Column("horizon", "Months ahead", INT),
            Column("model", "Model", TEXT),
            Column("accuracy", "Accuracy", PERCENT),
            Column("direction", "Direction accuracy", PERCENT),
            Column("points", "Series-months", INT),
        ],
        note="Backtest over the last 12 closed months: accuracy = "
        "1 \u2212 Σ|actual \u2212 predicted| / Σ|actual|; direction accuracy = "
        "the share of series-months whose predicted and actual variance have the same "
        "sign. “Chosen per series” is each series' own model; the other rows "
        "forecast every series with one model.",
        empty_message=NO_FORECAST if not accuracy else "No closed months to backtest yet.",
    )
    rows = [(row, "Chosen per series", "chosen") for row in accuracy.get("overall", [])]
    rows += [
        (row, row.get("model_label") or row.get("model", ""), "")
        for row in accuracy.get("by_model", [])
    ]
    rows.sort(key=lambda item: (item[0].get("horizon", 0), item[2] != "chosen"))
    for row, model, css in rows:
        table.add(
            {
                "horizon": row.get("horizon"),
                "model": model,
                "accuracy": shown(to_number(row.get("accuracy_percent"))),
                "direction": shown(to_number(row.get("direction_accuracy_percent"))),
                "points": row.get("points"),
            },
            css=css,
            titles={
                "accuracy": "No actuals at this horizon, so no accuracy",
                "direction": "No series-month at this horizon",
            },
        )
    return table


def _accuracy_groups_table(accuracy: dict) -> Table:
    table = Table(
        "accuracy_groups",
        "Prediction accuracy by account type",
        [
            Column("group", "Account type", TEXT),
            Column("horizon", "Months ahead", INT),
            Column("accuracy", "Accuracy", PERCENT),
            Column("direction", "Direction accuracy", PERCENT),
            Column("points", "Series-months", INT),
        ],
        note="The chosen models' backtest, per account type.",
        empty_message=NO_FORECAST if not accuracy else "No closed months to backtest yet.",
    )
    for row in accuracy.get("by_group", []):
        table.add(
            {
                "group": TYPE_LABELS.get(row.get("group", ""), row.get("label", "")),
                "horizon": row.get("horizon"),
                "accuracy": shown(to_number(row.get("accuracy_percent"))),
                "direction": shown(to_number(row.get("direction_accuracy_percent"))),
                "points": row.get("points"),
            },
            titles={"accuracy": "No actuals at this horizon, so no accuracy"},
        )
    return table


def _outturn_error_chart(accuracy: dict) -> Chart:
    table = Table(
        "outturn_error",
        "Full-year outturn error by origin month",
        [Column("origin", "Forecast made at the end of", TEXT), Column("error", "Error", PERCENT)],
        note="The last complete fiscal year: "
        "|predicted \u2212 actual full-year outturn| / |actual| "
        "for a forecast made at the end of each month.",
    )
    labels, values = [], []
    for row in accuracy.get("outturn_error", []):
        value = shown(to_number(row.get("error_percent")))
        labels.append(_month(row["origin"]))
        values.append(value)
        table.add({"origin": _month(row["origin"]), "error": value})
    return Chart(
        "outturn_error",
        "Full-year outturn error by origin month",
        labels,
        [Series("Outturn error", values, color=COLOR_FORECAST)],
        table,
        value_kind=PERCENT,
        description="The full-year outturn error of a forecast made at the end of each month of "
        "the last complete fiscal year; the figures are in the table beside the chart",
    )


# --- anomalies -------------------------------------------------------------------------------


def _anomalies_table(rows: list, currency: str) -> Table:
    table = Table(
        "anomalies",
        "Open spend anomalies",
        [
            Column("kind", "Kind", TEXT),
            Column("what", "What", TEXT),
            Column("period", "Period", TEXT),
            Column("actual", "Actual", MONEY),
            Column("expected", "Expected", MONEY),
            Column("low", "Expected low", MONEY),
            Column("high", "Expected high", MONEY),
            Column("deviation", "Deviation", MONEY),
            Column("deviation_pct", "Deviation %", PERCENT),
            Column("score", "Score", RATIO),
        ],
        currency=currency,
        note="A day of campaign spend or a week of GL expense outside the range its own "
        "history makes likely (score: how many robust standard deviations off), newest "
        "first. Open one for the records behind it.",
        empty_message="No open anomaly.",
    )
    for anomaly in rows:
        start, end = anomaly.period_start, anomaly.period_end
        period = f"{start.day} {start:%b %Y}"
        if end != start:  # a week (Monday to Sunday)
            period = f"{start.day} {start:%b} \u2013 {end.day} {end:%b %Y}"
        table.add(
            {
                "kind": anomaly.get_kind_display(),
                "what": anomaly.label,
                "period": period,
                "actual": anomaly.actual,
                "expected": anomaly.expected,
                "low": anomaly.low,
                "high": anomaly.high,
                "deviation": anomaly.deviation,
                "deviation_pct": shown(percent(anomaly.deviation_pct)),
                "score": anomaly.score,
            },
            link=anomalies.anomaly_lines_url(anomaly) or "",
            css="anomaly-high" if _dec(anomaly.deviation) > 0 else "anomaly-low",
            titles={"deviation_pct": "Nothing expected, so no deviation in percent"},
        )
    return table


# --- scenarios -------------------------------------------------------------------------------


def _scenario(dash: DashboardRequest, fiscal_year: int) -> tuple[dict, list[Table]]:
    """The scenario picker and, for a chosen scenario, its comparison with the current
    budget and its drivers."""
    options = scenarios.scenarios_list(fiscal_year=fiscal_year)
    raw = dash.params.get("scenario", "")
    chosen = None
    if raw:
        if not raw.isdigit():
            raise DashboardParamError(f"scenario: {raw!r} is not a scenario id.")
        chosen = next((s for s in options if s["id"] == int(raw)), None)
        if chosen is None:
            raise DashboardParamError(
                f"scenario: no scenario of FY{fiscal_year} has id {raw}; pick one from the list."
            )
    context = {
        "picker_legend": "Scenario",
        "picker_fields": [
            {
                "name": "scenario",
                "label": "Compare with scenario",
                "options": [("", "None"), *((str(s["id"]), s["name"]) for s in options)],
                "selected": raw,
            }
        ],
        "picker_field_names": ["scenario"],
        "scenarios": options,
        "scenario_admin_url": url_or_empty("admin:records_budget_changelist"),
        "scenario": None,
        "scenario_notes": [],
    }
    if chosen is None:
        return context, []
    comparison = scenarios.scenario_comparison(scenario_id=chosen["id"], today=dash.today)
    context["scenario"] = comparison["scenario"]
    context["scenario_current"] = comparison.get("current") or {}
    context["scenario_notes"] = comparison.get("notes", [])
    return context, [
        _comparison_table(comparison, dash.currency),
        _drivers_table(comparison),
    ]


def _comparison_table(comparison: dict, currency: str) -> Table:
    scenario = comparison["scenario"]
    current = comparison.get("current") or {}
    table = Table(
        "scenario_comparison",
        f"Scenario “{scenario.get('name') or scenario.get('label')}” vs the current budget",
        [
            Column("measure", "Measure", TEXT),
            Column("current", current.get("label") or "Current budget", MONEY),
            Column("scenario", scenario.get("label") or scenario.get("name", "Scenario"), MONEY),
            Column("difference", "Difference", MONEY),
        ],
        currency=currency,
        note="Differences are scenario \u2212 current; percentages differ in percentage points.",
        empty_message="The scenario has nothing to compare.",
    )
    for row in comparison.get("rows", []):
        kind = UNIT_KINDS.get(row.get("unit", "money"), MONEY)
        kinds = {} if kind == MONEY else {"current": kind, "scenario": kind, "difference": kind}
        if kind == PERCENT:
            kinds["difference"] = POINTS
        table.add(
            {
                "measure": row.get("label", row.get("key", "")),
                "current": shown(to_number(row.get("current"))),
                "scenario": shown(to_number(row.get("scenario"))),
                "difference": shown(to_number(row.get("difference"))),
            },
            kinds=kinds,
        )
    return table


def _drivers_table(comparison: dict) -> Table:
    table = Table(
        "scenario_drivers",
        "Scenario drivers",
        [
            Column("driver", "Driver", TEXT),
            Column("target", "Applies to", TEXT),
            Column("percent", "Change", PERCENT),
            Column("from_month", "From", TEXT),
        ],
        note="What the scenario changes in the budget it was copied from.",
        empty_message="This scenario has no drivers: its lines are a copy of its base version.",
    )
    for driver in comparison.get("drivers", []):
        from_month = driver.get("from_month")
        table.add(
            {
                "driver": driver.get("kind_label") or driver.get("kind", ""),
                "target": driver.get("target", ""),
                "percent": driver.get("percent"),
                "from_month": _month(str(from_month)[:10]) if from_month else "",
            }
        )
    return table
