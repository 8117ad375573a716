"""CAC monitoring (issue #7): blended and paid CAC by month and channel, LTV:CAC and CAC
payback (docs/metrics.md, "CAC dashboard") with the roadmap scorecard's targets as reference lines.

Reads the stored CAC snapshot of the period (one query) and the targets (one query). The
targets are the roadmap success metrics the engine measures
(``metrics.reports.cac.SCORECARD_METRICS``) for the last complete month; the page shows their
latest measurement (roadmap.selectors) and says which key to add when a target is missing.

A value that is undefined (a zero denominator) shows "—" with the reason on hover (no new
customers, no customer churned, no spend…); the month in progress is labelled so, and the
headline figures are those of the last complete month.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dashboards.charts import Chart, Reference, Series
from dashboards.page import DashboardRequest, Page, url_or_empty
from dashboards.tables import (
    INT,
    MONEY,
    PERCENT,
    RATIO,
    TEXT,
    UNDEFINED_TITLE,
    Column,
    Table,
    format_value,
    shown,
)
from finhub.core.calendar import month_of, month_period
from metrics.reports.cac import SCORECARD_METRICS, last_complete_month, period_cac
from metrics.reports.numbers import UNDEFINED, percent, to_number
from metrics.reports.subscriptions import subscriptions_shared
from metrics.snapshots import Kind, data_changed_since, period_request, snapshots_get
from roadmap.selectors import metric_latest_measurements, metric_list

#: CAC month field -> the key of the success metric that holds its target.
CAC_TARGET_KEYS = {field: key for key, field in SCORECARD_METRICS}
DRILL = "dashboards:gl_lines"
NO_CHANNEL_KEY = ""  # customers without a known acquisition channel (computations/cac.py)
TARGETS = [
    # measure, label, value kind, snapshot field
    ("blended_cac", "Blended CAC", MONEY, "blended_cac"),
    ("ltv_to_cac", "LTV:CAC", RATIO, "ltv_to_cac"),
    ("payback_months", "CAC payback (months)", RATIO, "payback_months"),
]


IN_PROGRESS = " (in progress)"


def _label(month: str) -> str:
    return dt.date.fromisoformat(month).strftime("%b %Y")


def _month_label(month: str, today: dt.date) -> str:
    """A table's month label; the current month says it is not complete."""
    in_progress = month >= month_of(today).isoformat()
    return _label(month) + (IN_PROGRESS if in_progress else "")


def _zero(value) -> bool:
    number = to_number(value)
    return number is not None and number == 0


def undefined_reason(row: dict, field: str) -> str:
    """Why ``field`` of a stored CAC month is undefined (the hover text of its "—")."""
    no_new = "No new customers in the month, so no CAC"
    if field in ("blended_cac", "payback_months") and row.get("new_customers") == 0:
        return no_new
    if field in ("ltv", "ltv_to_cac"):
        if to_number(row.get("arpa")) is None:
            return "No active customers at the month end, so no ARPA and no LTV"
        if _zero(row.get("logo_churn_rate")):
            return "No customer churned in the month, so the churn rate is 0 and LTV undefined"
        if to_number(row.get("logo_churn_rate")) is None:
            return "No customers active at the month start, so no churn rate and no LTV"
        if field == "ltv_to_cac" and row.get("new_customers") == 0:
            return no_new
    if field == "payback_months" and to_number(row.get("arpa")) is None:
        return "No active customers at the month end, so no ARPA"
    return UNDEFINED_TITLE


def channel_undefined_reason(row: dict, channel: str) -> str:
    """Why a channel's CAC (and payback) of a stored CAC month is undefined."""
    spend = to_number(row.get("channel_spend", {}).get(channel))
    if not spend:
        return "No spend in this channel in the month, so no CAC"
    return "No new customers from this channel in the month, so no CAC"


def channel_has_no_cost(row: dict, channel: str) -> bool:
    """A channel without spend has no CAC (reports before the spend was stored: CAC 0)."""
    if "channel_spend" in row:
        return not to_number(row["channel_spend"].get(channel))
    return _zero(row.get("channel_cac", {}).get(channel))


def success_metric_targets(keys) -> dict[str, tuple[str, Decimal, str, str]]:
    """key -> (name, target, unit, direction) of the roadmap success metrics (one query)."""
    return {
        key: (name, target, unit, direction)
        for key, name, target, unit, direction in metric_list()
        .filter(key__in=list(keys))
        .values_list("key", "name", "target_value", "unit", "direction")
    }


def _met(value, target: Decimal, direction: str) -> str:
    number = to_number(value)
    if number is None:
        return "Not measured"
    ok = number <= target if direction == "at_most" else number >= target
    return "Met" if ok else "Not met"


def build(dash: DashboardRequest) -> Page:
    """The CAC monitoring page."""
    with subscriptions_shared():
        (snapshot,) = snapshots_get([period_request(Kind.CAC, dash.period)])
    targets = success_metric_targets(CAC_TARGET_KEYS.values())
    months = snapshot.result.get("months", [])
    channel = dash.filters.selected("channel")
    currency = dash.currency
    today = dash.today
    labels = [_month_label(row["month"], today) for row in months]
    drill_links = [
        dash.url(
            DRILL,
            period=month_period(dt.date.fromisoformat(row["month"])),
            sales_marketing="1",
            channel=None,
            **{"from": "cac"},
        )
        for row in months
    ]
    target_of = {measure: targets.get(CAC_TARGET_KEYS[measure]) for measure, *_rest in TARGETS}

    def references(measure: str) -> list[Reference]:
        target = target_of[measure]
        return [Reference(f"Target: {target[0]}", target[1])] if target else []

    # --- CAC by month ---------------------------------------------------------------------
    columns = [
        Column("month", "Month", TEXT),
        Column("new_customers", "New customers", INT),
        Column("cost", "Sales & marketing cost", MONEY),
        Column("blended_cac", "Blended CAC", MONEY),
        Column("paid_cac", "Paid CAC", MONEY),
    ]
    if channel is not None:
        columns.append(Column("channel_cac", f"{channel.label} CAC", MONEY))
    columns.append(Column("target", "Blended CAC target", MONEY))
    month_table = Table(
        "cac_months",
        "CAC by month",
        columns,
        currency=currency,
        note="Blended CAC = all sales and marketing cost of the month / customers whose first "
        "MRR is in the month; paid CAC = paid-channel spend / their new customers. Open a "
        "month for its sales and marketing GL lines.",
        empty_message="No months in this period.",
    )
    blended_target = target_of["blended_cac"]
    for row, link in zip(months, drill_links, strict=True):
        values = {
            "month": _month_label(row["month"], today),
            "new_customers": row["new_customers"],
            "cost": row["sales_marketing_cost"],
            "blended_cac": row["blended_cac"],
            "paid_cac": row["paid_cac"],
            "target": blended_target[1] if blended_target else None,
        }
        titles = {"blended_cac": undefined_reason(row, "blended_cac")}
        if to_number(row["paid_cac"]) is None:
            titles["paid_cac"] = "No new customers from a paid channel in the month, so no paid CAC"
        if channel is not None:
            value = row["channel_cac"].get(channel.label, UNDEFINED)
            if channel_has_no_cost(row, channel.label):
                value = UNDEFINED
            values["channel_cac"] = value
            titles["channel_cac"] = channel_undefined_reason(row, channel.label)
        month_table.add(values, link=link, links={"cost": link}, titles=titles)
    if months:
        period = period_cac(snapshot.result)
        month_table.totals = {
            "new_customers": period.new_customers,
            "cost": period.sales_marketing_cost,
            "blended_cac": shown(period.blended_cac),
        }
        month_table.totals_label = "Period"
        month_table.totals_link = dash.url(
            DRILL, sales_marketing="1", channel=None, **{"from": "cac"}
        )
    series = [
        Series("Blended CAC", [r["blended_cac"] for r in months], drill_links, color="#0b5394"),
        Series("Paid CAC", [r["paid_cac"] for r in months], drill_links, color="#b54708"),
    ]
    if channel is not None:
        series.append(
            Series(
                f"{channel.label} CAC",
                [
                    None
                    if channel_has_no_cost(r, channel.label)
                    else r["channel_cac"].get(channel.label)
                    for r in months
                ],
                color="#6941c6",
            )
        )
    cac_chart = Chart(
        "cac",
        "Blended and paid CAC by month",
        labels,
        series,
        month_table,
        currency=currency,
        references=references("blended_cac"),
        table_below=True,
    )

    # --- LTV:CAC and payback ----------------------------------------------------------------
    def ratio_chart(chart_id: str, measure: str, title: str, field: str, color: str) -> Chart:
        target = target_of[measure]
        table = Table(
            f"{chart_id}_months",
            title,
            [
                Column("month", "Month", TEXT),
                Column("value", title, RATIO),
                Column("target", "Target", RATIO),
                Column("status", "Against target", TEXT),
            ],
            empty_message="No months in this period.",
        )
        for row, link in zip(months, drill_links, strict=True):
            table.add(
                {
                    "month": _month_label(row["month"], today),
                    "value": row[field],
                    "target": target[1] if target else None,
                    "status": _met(row[field], target[1], target[3]) if target else "No target",
                },
                link=link,
                titles={"value": undefined_reason(row, field)},
            )
        return Chart(
            chart_id,
            title,
            labels,
            [Series(title, [r[field] for r in months], drill_links, type="line", color=color)],
            table,
            type="line",
            value_kind=RATIO,
            references=references(measure),
        )

    ltv_chart = ratio_chart("ltv_cac", "ltv_to_cac", "LTV:CAC", "ltv_to_cac", "#1b7f3b")
    payback_chart = ratio_chart(
        "payback", "payback_months", "CAC payback (months)", "payback_months", "#6941c6"
    )

    # --- CAC by channel ---------------------------------------------------------------------
    options = dash.filters.get("channel").options if dash.filters.get("channel") else []
    paid = {o.label for o in options if o.extra.get("is_paid")}
    channel_table = Table(
        "channel_cac",
        "CAC and payback by acquisition channel",
        [
            Column("month", "Month", TEXT),
            Column("channel", "Channel", TEXT),
            Column("paid", "Paid (configured)", TEXT),
            Column("cac", "CAC", MONEY),
            Column("payback", "Payback (months)", RATIO),
            Column("spend", "Spend", MONEY),
            Column("new_customers", "New customers", INT),
        ],
        currency=currency,
        note="A channel's CAC = its acquisition cost (campaign spend) / its new customers; "
        "payback uses the blended ARPA. A channel without spend has no CAC (—). Paid CAC "
        "counts the channels flagged paid; a channel with spend that is not flagged paid is "
        "marked “no — has spend”: its spend is left out of paid CAC until it is flagged "
        "(docs/metrics.md, CAC, LTV and payback).",
        empty_message="No channel had acquisition cost or new customers in this period.",
    )
    for row in months:
        for name, value in sorted(row.get("channel_cac", {}).items()):
            if channel is not None and name != channel.label:
                continue
            spend = row.get("channel_spend", {}).get(name)
            payback = row.get("channel_payback_months", {}).get(name, UNDEFINED)
            if channel_has_no_cost(row, name):
                value = payback = UNDEFINED
            has_spend = bool(to_number(spend))
            reason = channel_undefined_reason(row, name)
            channel_table.add(
                {
                    "month": _month_label(row["month"], today),
                    "channel": name or "(unknown channel)",
                    "paid": "yes" if name in paid else "no — has spend" if has_spend else "no",
                    "cac": value,
                    "payback": payback,
                    "spend": spend if spend is not None else "0",
                    "new_customers": row.get("channel_new_customers", {}).get(name),
                },
                titles={"cac": reason, "payback": reason},
            )

    # --- inputs of LTV:CAC and payback ---------------------------------------------------------
    inputs = Table(
        "cac_inputs",
        "What LTV:CAC and payback are made of, by month",
        [
            Column("month", "Month", TEXT),
            Column("new_customers", "New customers", INT),
            Column("churned", "Churned customers", INT),
            Column("active", "Active at month end", INT),
            Column("churn_rate", "Logo churn rate", PERCENT),
            Column("arpa", "ARPA", MONEY),
            Column("ltv", "LTV", MONEY),
            Column("blended_cac", "Blended CAC", MONEY),
            Column("ltv_to_cac", "LTV:CAC", RATIO),
            Column("payback", "Payback (months)", RATIO),
        ],
        currency=currency,
        note="LTV = ARPA x gross margin / logo churn rate; LTV:CAC = LTV / blended CAC; payback "
        "= blended CAC / (ARPA x gross margin). A month with few churned customers has a "
        "small churn rate and so a large LTV: that, or a month with few new customers (a "
        "high CAC), is what makes LTV:CAC jump.",
        empty_message="No months in this period.",
    )
    for row, link in zip(months, drill_links, strict=True):
        inputs.add(
            {
                "month": _month_label(row["month"], today),
                "new_customers": row["new_customers"],
                "churned": row.get("churned_customers"),
                "active": row.get("active_customers"),
                "churn_rate": shown(percent(to_number(row.get("logo_churn_rate")))),
                "arpa": row.get("arpa"),
                "ltv": row.get("ltv"),
                "blended_cac": row["blended_cac"],
                "ltv_to_cac": row["ltv_to_cac"],
                "payback": row["payback_months"],
            },
            link=link,
            titles={
                "churn_rate": undefined_reason(row, "ltv"),
                "arpa": undefined_reason(row, "payback_months"),
                "ltv": undefined_reason(row, "ltv"),
                "blended_cac": undefined_reason(row, "blended_cac"),
                "ltv_to_cac": undefined_reason(row, "ltv_to_cac"),
                "payback": undefined_reason(row, "payback_months"),
            },
        )

    # --- targets: the scorecard's measurement, else this period's last complete month ------
    complete = last_complete_month(months, today)
    measured = metric_latest_measurements(keys=CAC_TARGET_KEYS.values())
    target_table = Table(
        "targets",
        "Targets from the roadmap scorecard",
        [
            Column("measure", "Measure", TEXT),
            Column("key", "Success metric key", TEXT),
            Column("target", "Target", RATIO),
            Column("latest", "Measured", RATIO),
            Column("status", "Against target", TEXT),
            Column("measured_for", "Measured for", TEXT),
        ],
        currency=currency,
        note="The scorecard measures these for the last complete month (the latest month "
        "before the current one with new customers); without a measurement yet, this "
        "period's last complete month is shown.",
    )
    missing = []
    for measure, label, kind, field in TARGETS:
        key = CAC_TARGET_KEYS[measure]
        target = target_of[measure]
        if target is None:
            missing.append(key)
        if key in measured:
            value, source = measured[key]["value"], measured[key]["period"] or "scorecard"
            title = ""
        elif complete is not None:
            value, source = complete.get(field), _label(complete["month"])
            title = undefined_reason(complete, field)
        else:
            value, source, title = None, "not measured yet", ""
        target_table.add(
            {
                "measure": label,
                "key": key,
                "target": target[1] if target else None,
                "latest": value,
                "status": _met(value, target[1], target[3]) if target else "No target set",
                "measured_for": source,
            },
            kinds={"target": kind, "latest": kind},
            titles={"latest": title},
        )
    metrics_admin = url_or_empty("admin:roadmap_successmetric_changelist")
    if missing:  # also said above the charts; here too for whoever reads only the table
        target_table.note = (
            "No target in the roadmap scorecard for "
            + ", ".join(f"“{key}”" for key in missing)
            + " — add a success metric with that key in Admin \u203a Roadmap \u203a "
            "Success metrics to draw it as a reference line."
        )
    kpis = _headline(complete, currency)
    return Page(
        "CAC monitoring",
        tables=[channel_table, inputs, target_table],
        charts=[cac_chart, ltv_chart, payback_chart],
        export_stem="cac",
        context={
            "kpis": kpis,
            "complete_month": _label(complete["month"]) if complete else "",
            "missing_targets": missing,
            "metrics_admin_url": metrics_admin,
            "gross_margin": snapshot.result.get("gross_margin"),
            "paid_channels": snapshot.result.get("paid_channels", []),
            "computed_at": snapshot.computed_at,
            "data_changed_at": data_changed_since([snapshot]),
            "missing_fx": len(snapshot.result.get("missing_fx", [])),
        },
    )


def _headline(complete: dict | None, currency: str) -> list[dict]:
    """KPI tiles of the last complete month of the period (the month in progress has few
    new customers and churned ones yet, so its ratios mislead or are undefined)."""
    if complete is None:
        return []
    month = _label(complete["month"])
    tiles = []
    for field, title, kind in (
        ("blended_cac", "Blended CAC", MONEY),
        ("ltv_to_cac", "LTV:CAC", RATIO),
        ("payback_months", "CAC payback (months)", RATIO),
    ):
        value = complete.get(field)
        tiles.append(
            {
                "id": f"kpi-{field.replace('_', '-')}",
                "title": f"{title} — {month}",
                "value": format_value(value, kind, currency),
                "hint": undefined_reason(complete, field) if to_number(value) is None else "",
            }
        )
    return tiles
