"""Retention and customer success (issue #12; docs/metrics.md, "Retention dashboard"): MRR
movements as a waterfall, NRR/GRR by month, the cohort heat maps and CS ROI per segment with
its inputs, and the customers behind every movement (the drill page).

Reads three stored snapshots of the period in one query — subscriptions (narrowed by the
segment and channel filters), cohorts and CS ROI (every customer: those reports take no
filter) — and computes nothing itself: the figures are the reports'
(metrics/reports/subscriptions.py, cohorts.py, cs_roi.py document the shapes read here).
The headline figures are those of the last complete month of the period (the month in
progress has few movements yet); an undefined value shows "—" with its reason on hover.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.core.paginator import Paginator
from django.urls import reverse

from dashboards.charts import Chart, Series
from dashboards.page import DashboardParamError, DashboardRequest, Page
from dashboards.tables import (
    INT,
    MONEY,
    PERCENT,
    TEXT,
    UNDEFINED_TITLE,
    Column,
    Table,
    format_value,
)
from finhub.core.calendar import month_of, month_period
from metrics.reports.numbers import UNDEFINED, percent, to_number
from metrics.reports.subscriptions import subscriptions_shared
from metrics.snapshots import (
    Kind,
    data_changed_since,
    period_request,
    snapshot_compute,
    snapshots_get,
    subscription_customers_request,
    subscriptions_request,
)

PAGE = "dashboards:retention"
DRILL = "dashboards:retention_customers"
#: The drill's own parameters (dropped from the link back to the page).
DRILL_PARAMS = ("movement", "in_month")
#: Movement (the report's customers key) -> its column, label and sign in the waterfall.
MOVEMENTS = {
    "new": ("new_mrr", "New", 1),
    "reactivation": ("reactivation_mrr", "Reactivation", 1),
    "expansion": ("expansion_mrr", "Expansion", 1),
    "contraction": ("contraction_mrr", "Contraction", -1),
    "churned": ("churned_mrr", "Churn", -1),
}
IN_PROGRESS = " (in progress)"
NOT_REACHED = "This cohort has not reached that month yet"
DOC = "docs-metrics"
SUBSCRIPTIONS_DOC = "subscriptions-and-mrr"
COHORTS_DOC = "cohorts-and-retention"
CS_ROI_DOC = "customer-success-roi"
COLOR_MRR, COLOR_UP, COLOR_DOWN = "#0b5394", "#1b7f3b", "#b42318"

# Why a stored subscriptions month's value is undefined (the hover text of its "—").
NO_START_MRR = "No MRR at the start of the month, so no NRR or GRR"
NO_T12M = "No customer had MRR 12 months earlier, so no trailing-12-month NRR or GRR"
NO_START_CUSTOMERS = "No customers active at the start of the month, so no logo churn rate"
NO_ACTIVE = "No active customers at the month end, so no ARPA"
REASONS = {
    "nrr_month": NO_START_MRR,
    "grr_month": NO_START_MRR,
    "nrr_t12m": NO_T12M,
    "grr_t12m": NO_T12M,
    "logo_churn_rate": NO_START_CUSTOMERS,
    "arpa": NO_ACTIVE,
}


def _label(month: str) -> str:
    return dt.date.fromisoformat(month).strftime("%b %Y")


def _month_label(month: str, today: dt.date) -> str:
    return _label(month) + (IN_PROGRESS if month >= month_of(today).isoformat() else "")


def _rate(value) -> object:
    """A stored ratio (0.95) in percent (95), undefined kept."""
    number = to_number(value)
    return UNDEFINED if number is None else percent(Decimal(number))


def _money(value) -> Decimal:
    return Decimal(to_number(value) or 0)


def _money_text(value, currency: str) -> str:
    """A stored amount as shown, or "" when it is zero or missing (nothing to say)."""
    return format_value(value, MONEY, currency) if _money(value) else ""


def _doc(anchor: str) -> str:
    return f"{reverse(DOC)}#{anchor}"


def headline_month(months: list[dict], today: dt.date) -> dict | None:
    """The last month of the period before today's month, else the period's (only) month in
    progress."""
    current = month_of(today).isoformat()
    done = [row for row in months if row["month"] < current]
    return (done or months or [None])[-1]


def _reason(text: str) -> str:
    return (text[:1].upper() + text[1:]) if text else UNDEFINED_TITLE


def movement_url(dash: DashboardRequest, movement: str, month: str | None = None) -> str:
    """The customers behind a movement of one month (or of the whole period)."""
    return dash.url(DRILL, movement=movement, in_month=month[:7] if month else None)


# --- the page --------------------------------------------------------------------------------


def build(dash: DashboardRequest) -> Page:
    """The retention and customer-success page."""
    segment = dash.filters.selected("segment")
    channel = dash.filters.selected("channel")
    with subscriptions_shared():  # the three reports missing share one read of the events
        subs, cohorts, cs = snapshots_get(
            [
                subscriptions_request(
                    dash.period,
                    segment=segment.key if segment else None,
                    channel=channel.label if channel else None,
                ),
                period_request(Kind.COHORTS, dash.period),
                period_request(Kind.CS_ROI, dash.period),
            ]
        )
    months = subs.result.get("months", [])
    currency = dash.currency
    head = headline_month(months, dash.today)
    cs_scope = _cs_scope(cs.result, segment.key if segment else None)
    charts = [
        _waterfall(dash, months),
        _movements_chart(dash, months),
        _retention_chart(dash, months),
    ]
    tables = [
        *_cohort_tables(cohorts.result),
        _cs_segments_table(cs.result, segment.key if segment else None, currency),
        _cs_months_table(cs_scope, currency, dash.today),
    ]
    snapshots = [subs, cohorts, cs]
    missing_fx = {
        (item["currency"], item["date"], item["amount"])
        for snap in snapshots
        for item in snap.result.get("missing_fx", [])
    }
    return Page(
        "Retention & customer success",
        tables=tables,
        charts=charts,
        export_stem="retention",
        context={
            "kpis": _headline(head, cs_scope, currency, dash.today),
            "headline_month": _month_label(head["month"], dash.today) if head else "",
            "segment_label": segment.label if segment else "",
            "channel_label": channel.label if channel else "",
            "cs_settings": cs.result.get("settings", {}),
            "cs_coverage": cs.result.get("coverage", {}),
            "cs_cost": format_value(cs.result.get("cs_cost"), MONEY, currency),
            "unallocated_cs_cost": _money_text(cs.result.get("unallocated_cs_cost"), currency),
            "headline_complete": head is not None
            and head["month"] < month_of(dash.today).isoformat(),
            "unsegmented": cs.result.get("unsegmented", {}),
            "cohort_last_month": _label(cohorts.result["last_month"])
            if cohorts.result.get("last_month")
            else "",
            "computed_at": min(s.computed_at for s in snapshots),
            "data_changed_at": data_changed_since(snapshots),
            "missing_fx": len(missing_fx),
        },
    )


def _headline(head: dict | None, cs_scope: dict, currency: str, today: dt.date) -> list[dict]:
    """KPI tiles: the headline month's MRR figures and the period's CS ROI."""
    tiles = []
    if head is not None:
        month = _month_label(head["month"], today)

        def tile(key: str, title: str, field: str, kind: str, anchor: str, lines=()) -> dict:
            value = head.get(field)
            if kind == PERCENT:
                value = _rate(value)
            number = to_number(value)
            return {
                "id": f"kpi-{key}",
                "title": f"{title} — {month}",
                "value": format_value(value, kind, currency),
                "css": "negative" if number is not None and number < 0 else "",
                "hint": REASONS.get(field, UNDEFINED_TITLE) if number is None else "",
                "lines": list(lines),
                "doc": _doc(anchor),
            }

        def line(label: str, field: str, kind: str) -> tuple[str, str]:
            value = head.get(field)
            return label, format_value(_rate(value) if kind == PERCENT else value, kind, currency)

        tiles += [
            tile(
                "ending-mrr",
                "Ending MRR",
                "ending_mrr",
                MONEY,
                SUBSCRIPTIONS_DOC,
                [line("Starting MRR", "starting_mrr", MONEY)],
            ),
            tile(
                "net-new-mrr",
                "Net new MRR",
                "net_new_mrr",
                MONEY,
                SUBSCRIPTIONS_DOC,
                [
                    line("New", "new_mrr", MONEY),
                    line("Churned", "churned_mrr", MONEY),
                ],
            ),
            tile(
                "nrr",
                "NRR",
                "nrr_month",
                PERCENT,
                SUBSCRIPTIONS_DOC,
                [line("Trailing 12 months", "nrr_t12m", PERCENT)],
            ),
            tile(
                "grr",
                "GRR",
                "grr_month",
                PERCENT,
                SUBSCRIPTIONS_DOC,
                [line("Trailing 12 months", "grr_t12m", PERCENT)],
            ),
            tile(
                "logo-churn",
                "Logo churn rate",
                "logo_churn_rate",
                PERCENT,
                SUBSCRIPTIONS_DOC,
                [
                    line("Churned customers", "churned_customers", INT),
                    line("Active at the start", "customers_start", INT),
                ],
            ),
            tile(
                "arpa",
                "ARPA",
                "arpa",
                MONEY,
                SUBSCRIPTIONS_DOC,
                [line("Active customers", "customers_end", INT)],
            ),
        ]
    if cs_scope:
        roi = _rate(cs_scope.get("roi"))
        tiles.append(
            {
                "id": "kpi-cs-roi",
                "title": f"CS ROI — {cs_scope['label']}, the period",
                "value": format_value(roi, PERCENT),
                "css": "negative" if (to_number(roi) or 0) < 0 else "",
                "hint": _reason(cs_scope.get("reason", "")) if to_number(roi) is None else "",
                "lines": [
                    (
                        "Retention value",
                        format_value(cs_scope.get("retention_value"), MONEY, currency),
                    ),
                    ("CS cost", format_value(cs_scope.get("cs_cost"), MONEY, currency)),
                ],
                "doc": _doc(CS_ROI_DOC),
            }
        )
    return tiles


# --- MRR movements ---------------------------------------------------------------------------


def _waterfall(dash: DashboardRequest, months: list[dict]) -> Chart:
    """Starting MRR, each movement of the period, ending MRR: floating bars on an invisible
    base (a stacked spacer series), each movement bar opening its customers."""
    currency = dash.currency
    table = Table(
        "mrr_waterfall",
        "MRR waterfall of the period",
        [
            Column("step", "Step", TEXT),
            Column("amount", "Amount", MONEY),
            Column("customers", "Customers", INT),
        ],
        currency=currency,
        note="Contraction and churn are subtracted (shown with a minus sign); each movement "
        "opens the customers behind it.",
        empty_message="No subscription months in this period.",
    )
    labels: list[str] = []
    base: list = []
    steps: dict[str, list] = {"mrr": [], "up": [], "down": []}
    links: list[str] = []
    if months:
        start, end = _money(months[0]["starting_mrr"]), _money(months[-1]["ending_mrr"])
        running = start

        def add(label: str, floor, kind: str, value: Decimal, link: str = "") -> None:
            labels.append(label)
            base.append(floor)
            for name in steps:
                steps[name].append(value if name == kind else None)
            links.append(link)

        add("Starting MRR", 0, "mrr", start)
        table.add({"step": "Starting MRR", "amount": start})
        for movement, (field, label, sign) in MOVEMENTS.items():
            amount = sum((_money(row[field]) for row in months), Decimal(0))
            count = sum(row.get("movement_counts", {}).get(movement, 0) for row in months)
            link = movement_url(dash, movement)
            if sign > 0:
                add(label, running, "up", amount, link)
                running += amount
            else:
                running -= amount
                add(label, running, "down", amount, link)
            table.add(
                {"step": label, "amount": sign * amount, "customers": count},
                link=link,
                links={"amount": link},
            )
        add("Ending MRR", 0, "mrr", end)
        table.add({"step": "Ending MRR", "amount": end})
    series = [
        Series("Base", base, spacer=True),
        Series("MRR", steps["mrr"], color=COLOR_MRR),
        Series("Increase", steps["up"], links, color=COLOR_UP),
        Series("Decrease", steps["down"], links, color=COLOR_DOWN),
    ]
    return Chart(
        "waterfall",
        "MRR waterfall of the period",
        labels,
        series,
        table,
        currency=currency,
        stacked=True,
        description="MRR waterfall: starting MRR, new, reactivation and expansion added, "
        "contraction and churn subtracted, ending MRR; the figures are in the table beside "
        "the chart",
    )


def _movements_chart(dash: DashboardRequest, months: list[dict]) -> Chart:
    """Each month's movements (bars, churn and contraction below zero) and net new MRR, with
    the month table whose every movement opens its customers."""
    currency, today = dash.currency, dash.today
    labels = [_month_label(row["month"], today) for row in months]
    table = Table(
        "mrr_movements",
        "MRR movements by month",
        [
            Column("month", "Month", TEXT),
            Column("starting_mrr", "Starting MRR", MONEY),
            Column("new_mrr", "New", MONEY),
            Column("reactivation_mrr", "Reactivation", MONEY),
            Column("expansion_mrr", "Expansion", MONEY),
            Column("contraction_mrr", "Contraction", MONEY),
            Column("churned_mrr", "Churn", MONEY),
            Column("net_new_mrr", "Net new MRR", MONEY),
            Column("ending_mrr", "Ending MRR", MONEY),
        ],
        currency=currency,
        note="Contraction and churn are amounts lost (net new = new + reactivation + "
        "expansion - contraction - churn). Click an amount for the customers behind it.",
        empty_message="No subscription months in this period.",
    )
    for row in months:
        links = {
            field: movement_url(dash, movement, row["month"])
            for movement, (field, _label, _sign) in MOVEMENTS.items()
        }
        table.add(
            {"month": _month_label(row["month"], today)}
            | {column.key: row.get(column.key) for column in table.columns[1:]},
            links=links,
        )
    if months:
        table.totals = {
            "starting_mrr": months[0]["starting_mrr"],
            **{
                field: sum((_money(row[field]) for row in months), Decimal(0))
                for field, _label, _sign in MOVEMENTS.values()
            },
            "net_new_mrr": sum((_money(row["net_new_mrr"]) for row in months), Decimal(0)),
            "ending_mrr": months[-1]["ending_mrr"],
        }
        table.totals_label = "Period"
    series = [
        Series(
            label,
            [sign * _money(row[field]) for row in months],
            [movement_url(dash, movement, row["month"]) for row in months],
            color=color,
        )
        for (movement, (field, label, sign)), color in zip(
            MOVEMENTS.items(), [COLOR_UP, "#0e7490", "#6941c6", "#b54708", COLOR_DOWN], strict=True
        )
    ]
    series.append(
        Series("Net new MRR", [row["net_new_mrr"] for row in months], type="line", color="#52606d")
    )
    return Chart(
        "movements",
        "MRR movements by month",
        labels,
        series,
        table,
        currency=currency,
        stacked=True,
        table_below=True,
    )


def _retention_chart(dash: DashboardRequest, months: list[dict]) -> Chart:
    """NRR and GRR of each month and over the trailing 12 months, in %."""
    today = dash.today
    labels = [_month_label(row["month"], today) for row in months]
    fields = [
        ("nrr_month", "NRR (month)", "#0b5394"),
        ("grr_month", "GRR (month)", "#b54708"),
        ("nrr_t12m", "NRR (trailing 12 months)", "#1b7f3b"),
        ("grr_t12m", "GRR (trailing 12 months)", "#6941c6"),
    ]
    table = Table(
        "retention_months",
        "NRR and GRR by month",
        [
            Column("month", "Month", TEXT),
            *(Column(field, label, PERCENT) for field, label, _c in fields),
            Column("logo_churn_rate", "Logo churn rate", PERCENT),
            Column("arpa", "ARPA", MONEY),
        ],
        currency=dash.currency,
        note="NRR = (start MRR + expansion - contraction - churn) / start MRR; GRR leaves "
        "expansion out. Trailing 12 months: today's MRR of the customers active 12 months "
        "earlier / their MRR then (GRR: at most their MRR then).",
        empty_message="No subscription months in this period.",
    )
    for row in months:
        values = {"month": _month_label(row["month"], today)}
        titles = {}
        for field in [*(f for f, _l, _c in fields), "logo_churn_rate"]:
            values[field] = _rate(row.get(field))
            titles[field] = REASONS[field]
        values["arpa"] = row.get("arpa")
        titles["arpa"] = REASONS["arpa"]
        table.add(values, titles=titles)
    series = [
        Series(label, [_rate(row.get(field)) for row in months], type="line", color=color)
        for field, label, color in fields
    ]
    return Chart(
        "retention",
        "NRR and GRR by month",
        labels,
        series,
        table,
        type="line",
        value_kind=PERCENT,
        table_below=True,
    )


# --- cohorts ---------------------------------------------------------------------------------


def heat_class(value) -> str:
    """The cell class of a retention in % (0-100, above 100 as 100): ``heat heat-0`` … ``-10``."""
    number = to_number(value)
    if number is None:
        return ""
    level = max(0, min(10, int((Decimal(number) / 10).to_integral_value())))
    return f"heat heat-{level}"


def _cohort_tables(result: dict) -> list[Table]:
    """Logo and revenue retention by cohort month x months since start, as heat maps."""
    width = (result.get("max_months") or 0) + 1 if result.get("cohorts") else 0
    tables = []
    for kind, title, note in (
        (
            "logo",
            "Logo retention by cohort",
            "Members with MRR at the end of each month / members of the cohort.",
        ),
        (
            "revenue",
            "Revenue retention by cohort",
            "Members' MRR at the end of each month / their MRR at the end of the cohort "
            "month (above 100% when they grew).",
        ),
    ):
        table = Table(
            f"cohort_{kind}",
            title,
            [
                Column("cohort", "Cohort", TEXT),
                Column("customers", "Customers", INT),
                Column("start_mrr", "Starting MRR", MONEY),
                *(Column(f"m{k}", f"Month {k}", PERCENT) for k in range(width)),
            ],
            currency=result.get("reporting_currency", ""),
            note=note + " A cohort is the month a customer first ended with MRR.",
            empty_message="No customer started in this period, so no cohort.",
        )
        for cohort in result.get("cohorts", []):
            rates = cohort[kind]
            values = {
                "cohort": _label(cohort["cohort"]),
                "customers": cohort["customers"],
                "start_mrr": cohort["start_mrr"],
            }
            classes, titles = {}, {}
            for k in range(width):
                key = f"m{k}"
                if k < len(rates):
                    values[key] = _rate(rates[k])
                    classes[key] = heat_class(values[key])
                else:
                    values[key] = None
                    titles[key] = NOT_REACHED
            table.add(values, classes=classes, titles=titles)
        tables.append(table)
    return tables


# --- customer-success ROI --------------------------------------------------------------------


def _cs_scope(result: dict, segment: str | None) -> dict:
    """The CS ROI the headline shows: the selected segment's, else every customer's."""
    if segment is not None:
        found = next((s for s in result.get("segments", []) if s["segment"] == segment), None)
        return {**found, "label": segment} if found else {}
    total = result.get("total")
    return {**total, "label": "all customers"} if total else {}


def _cs_segments_table(result: dict, segment: str | None, currency: str) -> Table:
    settings = result.get("settings", {})
    table = Table(
        "cs_roi_segments",
        "Customer-success ROI by segment",
        [
            Column("segment", "Segment", TEXT),
            Column("roi", "CS ROI", PERCENT),
            Column("retention_value", "Retention value", MONEY),
            Column("cs_cost", "CS cost", MONEY),
            Column("baseline_rate", "Baseline churn rate", PERCENT),
            Column("start_mrr", "Start MRR (months added)", MONEY),
            Column("churned_mrr", "Churned MRR", MONEY),
            Column("churn_avoided", "Churn avoided", MONEY),
            Column("expansion", "Expansion", MONEY),
            Column("contraction", "Contraction", MONEY),
        ],
        currency=currency,
        note=(
            "Retention value = (expansion - contraction + churn avoided) x gross margin "
            f"{settings.get('gross_margin', '')} x {settings.get('value_horizon_months', '')} "
            "months; churn avoided = baseline churn rate x start MRR - churned MRR, each month "
            "(negative: more churn than the baseline). The CS cost is shared between segments "
            "by their start MRR. CS ROI = (retention value - CS cost) / CS cost."
        ),
        empty_message="No customer has a segment yet.",
    )
    rows = [s for s in result.get("segments", []) if segment is None or s["segment"] == segment]
    for item in rows:
        _cs_row(table, item, item["segment"] or "(no segment)")
    if result.get("total"):
        _cs_row(table, result["total"], "All customers", css="total-row")
    return table


def _cs_row(table: Table, item: dict, label: str, css: str = "") -> None:
    reason = _reason(item.get("reason", ""))
    baseline_reason = reason if to_number(item.get("baseline_rate")) is None else ""
    table.add(
        {
            "segment": label,
            "start_mrr": item.get("start_mrr"),
            "baseline_rate": _rate(item.get("baseline_rate")),
            "churned_mrr": item.get("churned_mrr"),
            "churn_avoided": item.get("churn_avoided"),
            "expansion": item.get("expansion"),
            "contraction": item.get("contraction"),
            "cs_cost": item.get("cs_cost"),
            "retention_value": item.get("retention_value"),
            "roi": _rate(item.get("roi")),
        },
        css=css,
        titles={
            "baseline_rate": baseline_reason or UNDEFINED_TITLE,
            "churn_avoided": baseline_reason or UNDEFINED_TITLE,
            "retention_value": baseline_reason or UNDEFINED_TITLE,
            "roi": reason,
        },
    )


def _cs_months_table(scope: dict, currency: str, today: dt.date) -> Table:
    table = Table(
        "cs_roi_months",
        f"What CS ROI is made of, by month — {scope.get('label', 'all customers')}",
        [
            Column("month", "Month", TEXT),
            Column("start_mrr", "Start MRR", MONEY),
            Column("churned_mrr", "Churned MRR", MONEY),
            Column("churn_avoided", "Churn avoided", MONEY),
            Column("expansion", "Expansion", MONEY),
            Column("contraction", "Contraction", MONEY),
        ],
        currency=currency,
        empty_message="No CS ROI for this selection.",
    )
    reason = _reason(scope.get("reason", "")) if scope else UNDEFINED_TITLE
    for month in scope.get("months", []):
        table.add(
            {"month": _month_label(month["month"], today)}
            | {column.key: month.get(column.key) for column in table.columns[1:]},
            titles={"churn_avoided": reason},
        )
    return table


# --- the drill: the customers behind a movement -------------------------------------------------


def _drill_month(dash: DashboardRequest) -> str | None:
    raw = dash.params.get("in_month")
    if not raw:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{2})", raw)
    if not match or not 1 <= int(match[2]) <= 12:
        raise DashboardParamError(f"in_month: {raw!r} is not a month (YYYY-MM).")
    month = dt.date(int(match[1]), int(match[2]), 1)
    if not month_of(dash.period.start) <= month <= month_of(dash.period.end):
        raise DashboardParamError(f"in_month: {raw} is not a month of the period.")
    return month.isoformat()


def customers_build(dash: DashboardRequest) -> Page:
    """The customers behind one movement of one month (``in_month=YYYY-MM``) or of the
    period, each with what it adds to the movement; their total is the figure clicked."""
    movement = dash.params.get("movement", "")
    if movement not in MOVEMENTS:
        raise DashboardParamError(f"movement: {movement!r} is not one of {', '.join(MOVEMENTS)}.")
    month = _drill_month(dash)
    segment = dash.filters.selected("segment")
    channel = dash.filters.selected("channel")
    filters = {
        "segment": segment.key if segment else None,
        "channel": channel.label if channel else None,
    }
    # The figure comes from the page's snapshot; the customers from their own snapshot, of
    # the one month asked for when there is one (small), else of the period.
    scope = dash.period if month is None else month_period(dt.date.fromisoformat(month))
    customers_request = subscription_customers_request(scope, **filters)
    with subscriptions_shared():
        subs, movers = snapshots_get(
            [subscriptions_request(dash.period, **filters), customers_request]
        )
    if movers.computed_at < subs.computed_at:  # the data changed since the list was made
        movers = snapshot_compute(kind=customers_request[0], params=customers_request[1])
    field, label, _sign = MOVEMENTS[movement]
    months = [
        row for row in subs.result.get("months", []) if month is None or row["month"] == month
    ]
    figure = sum((_money(row[field]) for row in months), Decimal(0))
    listed = [
        (row["month"], customer)
        for row in movers.result.get("months", [])
        if month is None or row["month"] == month
        for customer in row.get("customers", {}).get(movement, [])
    ]
    total = sum((_money(customer["amount"]) for _m, customer in listed), Decimal(0))
    currency = dash.currency
    table = Table(
        "movement_customers",
        f"{label} MRR — customers",
        [
            Column("month", "Month", TEXT),
            Column("external_id", "Customer id", TEXT),
            Column("name", "Customer", TEXT),
            Column("amount", f"{label} MRR", MONEY),
        ],
        currency=currency,
        empty_message=f"No customer had {label.lower()} MRR here.",
    )
    rows, page = _paginate(dash, listed)
    for row_month, customer in rows:
        table.add(
            {
                "month": _label(row_month),
                "external_id": customer.get("external_id", ""),
                "name": customer.get("name", ""),
                "amount": customer["amount"],
            }
        )
    table.page = page
    if listed:
        table.totals = {"amount": total}
    note = (
        f"{len(listed):,} customer{'s' if len(listed) != 1 else ''}, total "
        f"{format_value(total, MONEY, currency)}: the {label.lower()} MRR of the dashboard."
    )
    if total != figure:  # each amount is rounded to the cent, the figure once
        note += (
            f" Each amount is rounded to the cent, so they add up to "
            f"{format_value(total - figure, MONEY, currency)} more than the figure "
            f"({format_value(figure, MONEY, currency)})."
        )
    table.note = note
    where = _label(month) if month else dash.period.label
    scope = ", ".join(
        part
        for part in (
            f"segment {segment.label}" if segment else "",
            f"channel {channel.label}" if channel else "",
        )
        if part
    )
    return Page(
        "Customers behind an MRR movement",
        tables=[table],
        export_stem="retention-customers",
        context={
            "drill_description": f"{label} MRR, {where}" + (f" ({scope})" if scope else ""),
            "drill_total": format_value(figure, MONEY, currency),
            "back_url": dash.url(PAGE, **dict.fromkeys(DRILL_PARAMS)),
            "back_label": "Retention & customer success dashboard",
            "computed_at": subs.computed_at,
            "data_changed_at": data_changed_since([subs]),
        },
    )


def _paginate(dash: DashboardRequest, rows: list):
    """Every row for an export; else the requested page of 50 (the list is in memory)."""
    if dash.exporting:
        return rows, None
    page = Paginator(rows, 50).get_page(dash.request.GET.get("page"))
    page.capped = False
    query = dash.request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    page.query_prefix = f"{encoded}&" if encoded else ""
    return list(page.object_list), page
