"""CAC monitoring (issue #7): blended and paid CAC by month and channel, LTV:CAC and CAC
payback (METRICS.md §4) with the roadmap scorecard's targets as reference lines.

Reads the stored CAC snapshot of the period (one query) and the targets (one query). The
targets are roadmap success metrics with the keys in
``metrics.dashboards.selectors.CAC_TARGET_KEYS``; the programme shipped in
roadmap/programme.py defines none of them yet, so the page says which key to add.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.urls import NoReverseMatch, reverse

from metrics import models as m
from metrics.computations.presentation import UNDEFINED, ratio
from metrics.dashboards.charts import Chart, Reference, Series
from metrics.dashboards.pages import DashboardRequest, Page
from metrics.dashboards.period import month_period
from metrics.dashboards.selectors import CAC_TARGET_KEYS, success_metric_targets
from metrics.dashboards.snapshots import data_changed_since, period_request, snapshots_get
from metrics.dashboards.tables import INT, MONEY, RATIO, TEXT, Column, Table, to_number

Kind = m.MetricSnapshot.Kind
DRILL = "metrics:gl_lines"
NO_CHANNEL_KEY = ""  # customers without a known acquisition channel (computations/cac.py)
TARGETS = [
    # measure, label, value kind, snapshot field
    ("blended_cac", "Blended CAC", MONEY, "blended_cac"),
    ("ltv_to_cac", "LTV:CAC", RATIO, "ltv_to_cac"),
    ("payback_months", "CAC payback (months)", RATIO, "payback_months"),
]


def _label(month: str) -> str:
    return dt.date.fromisoformat(month).strftime("%b %Y")


def _met(value, target: Decimal, direction: str) -> str:
    number = to_number(value)
    if number is None:
        return "Not measured"
    ok = number <= target if direction == "at_most" else number >= target
    return "Met" if ok else "Not met"


def build(dash: DashboardRequest) -> Page:
    """The CAC monitoring page."""
    (snapshot,) = snapshots_get([period_request(Kind.CAC, dash.period)])
    targets = success_metric_targets(CAC_TARGET_KEYS.values())
    months = snapshot.result.get("months", [])
    channel = dash.filters.selected("channel")
    currency = dash.currency
    labels = [_label(row["month"]) for row in months]
    drill_links = [
        dash.url(
            DRILL,
            period=month_period(dt.date.fromisoformat(row["month"])),
            sales_marketing="1",
            channel=None,
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
        "MRR is in the month; paid CAC = paid-channel spend / their new customers "
        "(METRICS.md §4). Open a month for its sales and marketing GL lines.",
        empty_message="No months in this period.",
    )
    blended_target = target_of["blended_cac"]
    for row, link in zip(months, drill_links, strict=True):
        values = {
            "month": _label(row["month"]),
            "new_customers": row["new_customers"],
            "cost": row["sales_marketing_cost"],
            "blended_cac": row["blended_cac"],
            "paid_cac": row["paid_cac"],
            "target": blended_target[1] if blended_target else None,
        }
        if channel is not None:
            values["channel_cac"] = row["channel_cac"].get(channel.label, UNDEFINED)
        month_table.add(values, link=link, links={"cost": link})
    if months:
        cost = sum((Decimal(to_number(r["sales_marketing_cost"]) or 0) for r in months), Decimal(0))
        new = sum(int(r["new_customers"]) for r in months)
        blended = ratio(cost, new)
        month_table.totals = {
            "new_customers": new,
            "cost": cost,
            "blended_cac": UNDEFINED if blended is None else blended,
        }
        month_table.totals_label = "Period"
        month_table.totals_link = dash.url(DRILL, sales_marketing="1", channel=None)
    series = [
        Series("Blended CAC", [r["blended_cac"] for r in months], drill_links, color="#0b5394"),
        Series("Paid CAC", [r["paid_cac"] for r in months], drill_links, color="#b54708"),
    ]
    if channel is not None:
        series.append(
            Series(
                f"{channel.label} CAC",
                [r["channel_cac"].get(channel.label) for r in months],
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
                    "month": _label(row["month"]),
                    "value": row[field],
                    "target": target[1] if target else None,
                    "status": _met(row[field], target[1], target[3]) if target else "No target",
                },
                link=link,
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
            Column("paid", "Paid", TEXT),
            Column("cac", "CAC", MONEY),
            Column("payback", "Payback (months)", RATIO),
        ],
        currency=currency,
        note="A channel's CAC = its acquisition cost (campaign spend) / its new customers; "
        "payback uses the blended ARPA (METRICS.md §4).",
        empty_message="No channel had acquisition cost or new customers in this period.",
    )
    for row in months:
        for name, value in sorted(row.get("channel_cac", {}).items()):
            if channel is not None and name != channel.label:
                continue
            channel_table.add(
                {
                    "month": _label(row["month"]),
                    "channel": name or "(unknown channel)",
                    "paid": "yes" if name in paid else "no",
                    "cac": value,
                    "payback": row.get("channel_payback_months", {}).get(name, UNDEFINED),
                }
            )

    # --- targets ----------------------------------------------------------------------------
    latest = months[-1] if months else {}
    target_table = Table(
        "targets",
        "Targets from the roadmap scorecard",
        [
            Column("measure", "Measure", TEXT),
            Column("key", "Success metric key", TEXT),
            Column("target", "Target", RATIO),
            Column("latest", f"Latest ({_label(latest['month'])})" if latest else "Latest", RATIO),
            Column("status", "Against target", TEXT),
        ],
        currency=currency,
    )
    missing = []
    for measure, label, kind, field in TARGETS:
        key = CAC_TARGET_KEYS[measure]
        target = target_of[measure]
        if target is None:
            missing.append(key)
        target_table.add(
            {
                "measure": label,
                "key": key,
                "target": target[1] if target else None,
                "latest": latest.get(field),
                "status": _met(latest.get(field), target[1], target[3])
                if target
                else "No target set",
            },
            kinds={"target": kind, "latest": kind},
        )
    try:
        metrics_admin = reverse("admin:roadmap_successmetric_changelist")
    except NoReverseMatch:
        metrics_admin = ""
    if missing:  # also said above the charts; here too for whoever reads only the table
        target_table.note = (
            "No target in the roadmap scorecard for "
            + ", ".join(f"“{key}”" for key in missing)
            + " — add a success metric with that key in Admin \u203a Roadmap \u203a "
            "Success metrics to draw it as a reference line."
        )
    return Page(
        "CAC monitoring",
        tables=[channel_table, target_table],
        charts=[cac_chart, ltv_chart, payback_chart],
        export_stem="cac",
        context={
            "missing_targets": missing,
            "metrics_admin_url": metrics_admin,
            "gross_margin": snapshot.result.get("gross_margin"),
            "paid_channels": snapshot.result.get("paid_channels", []),
            "computed_at": snapshot.computed_at,
            "data_changed_at": data_changed_since([snapshot]),
            "missing_fx": len(snapshot.result.get("missing_fx", [])),
        },
    )
