"""The Marketing ROI dashboard (issue #7; docs/metrics.md, "Marketing dashboard").

The page reads stored snapshots in one query (``metrics.snapshots.snapshots_get``): the
campaign ROI snapshot of the chosen model per channel and per campaign, the attribution
snapshot of the chosen model (won and unattributed deals) and the campaign ROI snapshots of
every model for the comparison. Only snapshots that do not exist yet (a period nobody asked
for before) are computed, and stored.

The drill-down (a campaign or channel → its deals and touchpoints) reads the rows behind a
figure (``metrics.selectors``) with two indexed queries each (count + page).

The page's size does not grow with the number of campaigns: each per-campaign table shows
the top :data:`TOP_CAMPAIGNS` by spend and links to the whole table (``?list=<table id>``,
paginated); the page's :class:`Page` tables and charts keep every campaign, for the CSV/XLSX
exports and the reports (reports/definitions.py).

:func:`build` and :func:`drill_build` are the page builders (dashboards/views.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from urllib.parse import urlencode

from django.core.paginator import Paginator

from dashboards.charts import Chart, Series
from dashboards.page import FRAMEWORK_PARAMS, DashboardParamError, DashboardRequest, Page
from dashboards.pagination import PER_PAGE, paginate
from dashboards.tables import (
    DATE,
    INT,
    MONEY,
    PERCENT,
    RATIO,
    TEXT,
    Column,
    Row,
    Table,
    format_value,
    shown,
)
from metrics import selectors
from metrics.params import (
    DEFAULT_LOOKBACK,
    GROUP_BY_CAMPAIGN,
    GROUP_BY_CHANNEL,
    MODELS,
    MetricsError,
    attribution_params,
    default_attribution_model,
)
from metrics.reports.numbers import percent, to_number
from metrics.reports.roi import RoiStatus, roi_totals
from metrics.reports.roi_reconciliation import campaign_roi_reconciliation_cached
from metrics.snapshots import Kind, snapshots_get

MODEL_LABELS = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "position_based": "Position-based",
    "time_decay": "Time decay",
    "markov": "Markov (removal effect)",
    "shapley": "Shapley",
}
STATUS_LABELS = {
    RoiStatus.OK: "",
    RoiStatus.COST_MISSING: "cost missing",
    RoiStatus.NO_ACTIVITY: "no spend, no revenue",
    RoiStatus.NOT_TRACKED: "not tracked",
}
#: Revenue of touchpoints without a campaign (direct, organic, referral…) has no spend to find:
#: it is unpaid revenue, not a campaign whose cost is missing.
UNPAID_LABEL = "unpaid: no campaign, no spend"
UNPAID_KEYS = (selectors.NO_CAMPAIGN, selectors.NO_CHANNEL)


@dataclass(frozen=True)
class RoiRow:
    """One campaign or channel under one model; ``None`` = undefined."""

    key: str
    channel: str
    cost: Decimal
    revenue: Decimal | None
    roi: Decimal | None
    roas: Decimal | None
    status: str
    #: A channel row: a channel's revenue without spend is unpaid (its touchpoints carry no
    #: campaign with spend), never a campaign's missing cost.
    channel_level: bool = False

    @property
    def paid(self) -> bool:
        """The row has spend: it counts in the ROI of paid campaigns."""
        return self.cost > 0

    @property
    def unpaid(self) -> bool:
        """Revenue with no spend to find: touchpoints without a campaign (or a channel
        without spend)."""
        return not self.paid and (self.key in UNPAID_KEYS or self.channel_level)

    @property
    def status_label(self) -> str:
        if self.unpaid and self.revenue:
            return UNPAID_LABEL if self.key in UNPAID_KEYS else "unpaid: no spend"
        return STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class RoiTotals:
    """Σ spend and Σ attributed revenue of the rows shown; ROI and ROAS of the **paid** rows
    only (rows with spend: their revenue against their spend); the revenue without spend
    split into unpaid (no campaign) and cost missing (a campaign without recorded spend)."""

    cost: Decimal
    revenue: Decimal
    roi: Decimal | None
    roas: Decimal | None
    paid_revenue: Decimal = Decimal(0)
    unpaid_revenue: Decimal = Decimal(0)
    cost_missing_revenue: Decimal = Decimal(0)


@dataclass(frozen=True)
class LackingRoi:
    key: str
    channel: str
    cost: Decimal
    status: str
    why: str


@dataclass(frozen=True)
class CostMissing:
    key: str
    channel: str
    revenue: Decimal | None


@dataclass(frozen=True)
class ComparisonRow:
    """One campaign under every model: ``revenue[model]`` and ``roi[model]``."""

    key: str
    channel: str
    cost: Decimal
    revenue: dict[str, Decimal | None]
    roi: dict[str, Decimal | None]


@dataclass(frozen=True)
class MarketingPage:
    start: dt.date
    end: dt.date
    model: str
    currency: str
    channels: list[RoiRow]
    campaigns: list[RoiRow]
    channel_totals: RoiTotals
    campaign_totals: RoiTotals
    cost_missing: list[CostMissing]
    lacking_roi: list[LackingRoi]
    comparison: list[ComparisonRow]
    models: tuple[str, ...]
    tracking_capability_percent: Decimal | None
    unlinked_spend: Decimal
    won_deals: int
    attributed_revenue: Decimal
    unattributed_deals: int
    unattributed_revenue: Decimal
    missing_fx: int
    computed_at: dt.datetime | None

    @property
    def is_empty(self) -> bool:
        """Nothing to show: no spend and no won deal in the period."""
        return not self.campaigns and not self.channels and not self.won_deals


def _requests(
    *, start: dt.date, end: dt.date, wanted: list[tuple[str, str, str]]
) -> list[tuple[str, dict]]:
    return [
        (kind, attribution_params(model=model, group_by=group_by, start=start, end=end))
        for kind, model, group_by in wanted
    ]


def _roi_rows(result: dict, channel_of: dict[str, str], *, channel_level: bool) -> list[RoiRow]:
    return [
        RoiRow(
            key=row["key"],
            channel=row["key"] if channel_level else channel_of.get(row["key"], ""),
            cost=Decimal(row["cost"]),
            revenue=to_number(row["revenue"]),
            roi=to_number(row["roi"]),
            roas=to_number(row["roas"]),
            status=row["status"],
            channel_level=channel_level,
        )
        for row in result["rows"]
    ]


def rows_totals(rows: list[RoiRow]) -> RoiTotals:
    """Σ cost and Σ attributed revenue of the rows shown, and the ROI and ROAS of the paid
    ones (docs/metrics.md, "Marketing dashboard totals")."""
    paid = [row for row in rows if row.paid]
    total = roi_totals([row.cost for row in paid], [row.revenue for row in paid])

    def revenue(selected) -> Decimal:
        return sum((row.revenue or Decimal(0) for row in selected), Decimal(0))

    return RoiTotals(
        cost=sum((row.cost for row in rows), Decimal(0)),
        revenue=revenue(rows),
        roi=total.roi,
        roas=total.roas,
        paid_revenue=total.revenue or Decimal(0),
        unpaid_revenue=revenue(row for row in rows if row.unpaid),
        cost_missing_revenue=revenue(row for row in rows if not row.paid and not row.unpaid),
    )


def marketing_page(
    *,
    start: dt.date,
    end: dt.date,
    model: str,
    channel: str = "",
    campaign: str = "",
    channel_of: dict[str, str] | None = None,
) -> MarketingPage:
    """Everything the Marketing ROI page shows, for one model and optional channel / campaign
    filters (channel and campaign names, the keys of the reports). ``channel_of`` maps
    campaign names to channel names (read when not given). One query when the snapshots
    exist."""
    if model not in MODELS:
        raise MetricsError(f"unknown model {model!r}")
    wanted = [
        (Kind.CAMPAIGN_ROI, model, GROUP_BY_CHANNEL),
        (Kind.ATTRIBUTION, model, GROUP_BY_CAMPAIGN),
        *((Kind.CAMPAIGN_ROI, each, GROUP_BY_CAMPAIGN) for each in MODELS),
    ]
    stored = snapshots_get(_requests(start=start, end=end, wanted=wanted))
    snapshots = {key: snapshot.result for key, snapshot in zip(wanted, stored, strict=True)}
    computed_at = min((snapshot.computed_at for snapshot in stored), default=None)
    if channel_of is None:
        channel_of = selectors.campaign_channel_names()
    chosen = snapshots[Kind.CAMPAIGN_ROI, model, GROUP_BY_CAMPAIGN]
    by_channel = snapshots[Kind.CAMPAIGN_ROI, model, GROUP_BY_CHANNEL]
    attribution = snapshots[Kind.ATTRIBUTION, model, GROUP_BY_CAMPAIGN]

    def keep(key: str, key_channel: str) -> bool:
        return (not channel or key_channel == channel) and (not campaign or key == campaign)

    campaigns = [
        row
        for row in _roi_rows(chosen, channel_of, channel_level=False)
        if keep(row.key, row.channel)
    ]
    channels = [
        row
        for row in _roi_rows(by_channel, channel_of, channel_level=True)
        if (not channel or row.key == channel)
        and (not campaign or row.key == channel_of.get(campaign))
    ]
    revenue_of = {row.key: row.revenue for row in campaigns}
    cost_missing = [
        CostMissing(key, channel_of.get(key, ""), revenue_of.get(key))
        for key in chosen["cost_missing"]
        if keep(key, channel_of.get(key, ""))
    ]
    lacking = [
        LackingRoi(
            key=row["key"],
            channel=channel_of.get(row["key"], ""),
            cost=Decimal(row["cost"]),
            status=row["status"],
            why=row["why"],
        )
        for row in chosen["lacking_roi"]
        if keep(row["key"], channel_of.get(row["key"], ""))
    ]
    comparison = _comparison(snapshots, channel_of, keep)
    return MarketingPage(
        start=start,
        end=end,
        model=model,
        currency=chosen["reporting_currency"],
        channels=channels,
        campaigns=campaigns,
        channel_totals=rows_totals(channels),
        campaign_totals=rows_totals(campaigns),
        cost_missing=cost_missing,
        lacking_roi=lacking,
        comparison=comparison,
        models=MODELS,
        tracking_capability_percent=to_number(chosen["tracking_capability_percent"]),
        unlinked_spend=Decimal(chosen["unlinked_spend"]),
        won_deals=attribution["attributed_count"] + attribution["unattributed_count"],
        attributed_revenue=Decimal(attribution["attributed_revenue"]),
        unattributed_deals=attribution["unattributed_count"],
        unattributed_revenue=Decimal(attribution["unattributed_revenue"]),
        missing_fx=len(chosen["missing_fx"]),
        computed_at=computed_at,
    )


def _comparison(snapshots: dict, channel_of: dict[str, str], keep) -> list[ComparisonRow]:
    """Same campaigns, every model side by side (revenue and ROI)."""
    per_model = {
        model: {
            row["key"]: row
            for row in snapshots[Kind.CAMPAIGN_ROI, model, GROUP_BY_CAMPAIGN]["rows"]
        }
        for model in MODELS
    }
    keys = sorted({key for rows in per_model.values() for key in rows})
    result = []
    for key in keys:
        key_channel = channel_of.get(key, "")
        if not keep(key, key_channel):
            continue
        cost = next(
            (Decimal(rows[key]["cost"]) for rows in per_model.values() if key in rows),
            Decimal(0),
        )
        result.append(
            ComparisonRow(
                key=key,
                channel=key_channel,
                cost=cost,
                revenue={
                    model: to_number(rows[key]["revenue"]) if key in rows else None
                    for model, rows in per_model.items()
                },
                roi={
                    model: to_number(rows[key]["roi"]) if key in rows else None
                    for model, rows in per_model.items()
                },
            )
        )
    return result


# --- the pages ---------------------------------------------------------------------------

PAGE_PARAMS = ("model", "list")
DRILL_PARAMS = ("model", "group_by", "key", "show")
DRILL = "dashboards:marketing_drill"
GROUP_LABELS = {GROUP_BY_CAMPAIGN: "Campaign", GROUP_BY_CHANNEL: "Channel"}
#: The page shows this many campaigns in each per-campaign table (and chart), the biggest
#: spend first: its size (and render time) must not grow with the number of campaigns.
#: "See all" opens the whole table, paginated (``?list=<table id>``); the CSV/XLSX exports
#: and the reports have every campaign.
TOP_CAMPAIGNS = 20
#: The per-campaign tables, shortened on the page, whole in ``?list=<id>``: table id → the
#: columns it is ranked by (spend, attributed revenue; None = no such column).
CAMPAIGN_TABLES: dict[str, tuple[str | None, str]] = {
    "campaigns": ("cost", "revenue"),
    "comparison": ("cost", ""),  # the chosen model's revenue column (set by the page)
    "cost_missing": (None, "revenue"),
    "no_roi": ("cost", "revenue"),
    "roi_not_reconciled": ("spend", "revenue"),
}
CAMPAIGN_CHART_TITLE = "Spend and revenue by campaign"


def chosen_model(dash: DashboardRequest) -> str:
    model = dash.params.get("model") or default_attribution_model()
    if model not in MODELS:
        raise DashboardParamError(f"model: {model!r} is not one of {', '.join(MODELS)}.")
    return model


def _channel_of(dash: DashboardRequest) -> dict[str, str]:
    """Campaign name → channel name from the filters' options (already read: no query)."""
    channels = {option.id: option.label for option in dash.filters.get("channel").options}
    return {
        option.label: channels.get(option.extra.get("channel_id"), selectors.NO_CHANNEL)
        for option in dash.filters.get("campaign").options
    }


def _drill_links(dash: DashboardRequest, group_by: str):
    """``key → drill-down URL``: the page state is encoded once, not once per row (a few
    hundred campaigns in five tables)."""
    prefix = dash.url(DRILL, group_by=group_by, list=None)
    return lambda key: f"{prefix}&{urlencode({'key': key})}"


def _roi_table(
    dash,
    table_id: str,
    title: str,
    rows: list[RoiRow],
    totals: RoiTotals,
    *,
    group_by: str,
    empty: str,
) -> Table:
    columns = [Column("key", GROUP_LABELS[group_by], TEXT)]
    if group_by == GROUP_BY_CAMPAIGN:
        columns.append(Column("channel", "Channel", TEXT))
    columns += [
        Column("cost", "Spend", MONEY),
        Column("revenue", "Attributed revenue", MONEY),
        Column("roi", "ROI", PERCENT),
        Column("roas", "ROAS", RATIO),
        Column("status", "Note", TEXT),
    ]
    table = Table(table_id, title, columns, currency=dash.currency, empty_message=empty)
    drill = _drill_links(dash, group_by)
    for row in rows:
        link = drill(row.key)
        table.add(
            {
                "key": row.key,
                "channel": row.channel,
                "cost": row.cost,
                "revenue": row.revenue,
                "roi": shown(percent(row.roi)),
                "roas": shown(row.roas),
                "status": row.status_label,
            },
            link=link,
            links={"revenue": link},
            classes={"roi": "unfavourable" if row.roi is not None and row.roi < 0 else ""},
        )
    if rows:
        table.totals = {
            "cost": totals.cost,
            "revenue": totals.revenue,
            "roi": shown(percent(totals.roi)),
            "roas": shown(totals.roas),
            "status": "ROI, ROAS: rows with spend",
        }
    return table


def _roi_chart(dash, chart_id: str, title: str, table: Table, group_by: str) -> Chart:
    """Spend and attributed revenue of the table's rows (each bar opens the row's link)."""
    rows = table.rows
    links = [row.link for row in rows]
    return Chart(
        chart_id,
        title,
        [row.values["key"] for row in rows],
        [
            Series("Spend", [row.values["cost"] for row in rows], links, color="#b54708"),
            Series(
                "Attributed revenue",
                [row.values["revenue"] for row in rows],
                links,
                color="#0b5394",
            ),
        ],
        table,
        currency=dash.currency,
        description=f"{title}: spend and attributed revenue per {group_by}; click a bar for "
        "its deals and touchpoints; the figures are in the table with the chart",
    )


def build(dash: DashboardRequest) -> Page:
    """The Marketing ROI page: campaigns and channels under the chosen model, the model
    comparison, and the cost-missing and no-ROI lists."""
    model = chosen_model(dash)
    channel = dash.filters.selected("channel")
    campaign = dash.filters.selected("campaign")
    data = marketing_page(
        start=dash.period.start,
        end=dash.period.end,
        model=model,
        channel=channel.label if channel else "",
        campaign=campaign.label if campaign else "",
        channel_of=_channel_of(dash),
    )
    no_data = (
        "No campaign spend or attributed revenue in this period — sync the marketing and CRM "
        "connectors, or pick another period."
    )
    campaigns = _roi_table(
        dash,
        "campaigns",
        "Campaigns",
        data.campaigns,
        data.campaign_totals,
        group_by=GROUP_BY_CAMPAIGN,
        empty=no_data,
    )
    campaigns.note = (
        f"Attributed revenue under the {MODEL_LABELS[model]} model; ROI = (revenue - spend) / "
        "spend, ROAS = revenue / spend. The total's ROI and ROAS are those of the campaigns "
        "with spend (paid); revenue of touchpoints without a campaign (direct, organic, "
        "referral…) is unpaid and counts in no ROI. Click a campaign for its deals and "
        "touchpoints."
    )
    channels = _roi_table(
        dash,
        "channels",
        "Channels",
        data.channels,
        data.channel_totals,
        group_by=GROUP_BY_CHANNEL,
        empty=no_data,
    )
    channels.note = (
        "A channel's spend is that of its campaigns; a channel without spend (its revenue "
        "comes from touchpoints without a paid campaign) is unpaid and counts in no ROI."
    )
    comparison = _comparison_table(dash, data)
    drill = _drill_links(dash, GROUP_BY_CAMPAIGN)
    cost_missing = Table(
        "cost_missing",
        "Cost missing: attributed revenue but no spend",
        [
            Column("key", "Campaign", TEXT),
            Column("channel", "Channel", TEXT),
            Column("revenue", "Attributed revenue", MONEY),
        ],
        currency=dash.currency,
        empty_message="No campaign has attributed revenue without spend in this period.",
        note="These campaigns have no ROI until their spend is recorded — load it through the "
        "marketing connector (campaign spend).",
    )
    for row in data.cost_missing:
        cost_missing.add(
            {"key": row.key, "channel": row.channel, "revenue": row.revenue},
            link=drill(row.key),
        )
    no_roi = Table(
        "no_roi",
        "No ROI: spend without trackable revenue",
        [
            Column("key", "Campaign", TEXT),
            Column("channel", "Channel", TEXT),
            Column("cost", "Spend", MONEY),
            Column("why", "Why", TEXT),
        ],
        currency=dash.currency,
        empty_message="Every campaign with spend in this period has an ROI.",
        note="Tag the campaign's touchpoints (UTM / campaign id) so revenue can be attributed.",
    )
    for row in data.lacking_roi:
        no_roi.add(
            {"key": row.key, "channel": row.channel, "cost": row.cost, "why": row.why},
            link=drill(row.key),
        )
    charts = [
        _roi_chart(dash, "campaign_roi", CAMPAIGN_CHART_TITLE, campaigns, GROUP_BY_CAMPAIGN),
        _roi_chart(dash, "channel_roi", "Spend and revenue by channel", channels, GROUP_BY_CHANNEL),
        _comparison_chart(dash, comparison, data.models),
    ]
    totals = data.campaign_totals

    def money(value) -> str:
        return format_value(value, MONEY, dash.currency)

    kpis = [
        {
            "id": "kpi-spend",
            "title": "Spend",
            "value": format_value(totals.cost, MONEY, dash.currency),
            "lines": [
                (
                    "Not linked to a campaign",
                    format_value(data.unlinked_spend, MONEY, dash.currency),
                )
            ],
        },
        {
            "id": "kpi-revenue",
            "title": "Attributed revenue",
            "value": format_value(totals.revenue, MONEY, dash.currency),
            "lines": [
                ("Won deals", format_value(data.won_deals, INT)),
                (
                    "Unattributed",
                    f"{format_value(data.unattributed_deals, INT)} · "
                    f"{format_value(data.unattributed_revenue, MONEY, dash.currency)}",
                ),
            ],
        },
        {
            "id": "kpi-roi",
            "title": "ROI of paid campaigns",
            "value": format_value(shown(percent(totals.roi)), PERCENT),
            "hint": "" if totals.roi is not None else "No campaign had spend in this period",
            "css": "negative" if totals.roi is not None and totals.roi < 0 else "",
            "lines": [
                ("ROAS", format_value(shown(totals.roas), RATIO)),
                ("Revenue of paid campaigns", money(totals.paid_revenue)),
            ],
        },
        {
            "id": "kpi-unpaid",
            "title": "Unpaid revenue (no campaign)",
            "value": money(totals.unpaid_revenue),
            "hint": "Revenue attributed to touchpoints without a campaign (direct, organic, "
            "referral…): nothing was spent on it, so it counts in no ROI",
            "lines": [("Cost missing", money(totals.cost_missing_revenue))],
        },
        {
            "id": "kpi-tracking",
            "title": "ROI tracking capability",
            "value": format_value(shown(data.tracking_capability_percent), PERCENT),
            "hint": ""
            if data.tracking_capability_percent is not None
            else "No campaign had spend in this period",
            "lines": [
                ("Campaigns with spend and no ROI", format_value(len(data.lacking_roi), INT)),
                (
                    "Campaigns with revenue, no spend (cost missing)",
                    format_value(len(data.cost_missing), INT),
                ),
            ],
        },
    ]
    page = Page(
        "Marketing ROI",
        tables=[cost_missing, no_roi, _not_reconciled_table(dash, data)],
        charts=charts,
        export_stem=f"marketing-{model}",
        context={
            "kpis": kpis,
            "model": model,
            "model_label": MODEL_LABELS[model],
            "model_links": [
                (each, MODEL_LABELS[each], f"?{dash.query(model=each)}") for each in MODELS
            ],
            "picker_legend": "Attribution",
            "picker_fields": [
                {
                    "name": "model",
                    "label": "Model",
                    "options": [(each, MODEL_LABELS[each]) for each in MODELS],
                    "selected": model,
                }
            ],
            "picker_field_names": ["model"],
            "no_data": data.is_empty,
            "no_data_message": no_data,
            "computed_at": data.computed_at,
            "missing_fx": data.missing_fx,
        },
    )
    # The page's tables and charts have every campaign (the exports and the reports read
    # them); the HTML shows the shortlists, or one whole table a page at a time.
    listed = dash.params.get("list", "")
    if listed:
        page.context["listed"] = _listed_table(dash, page, listed, model)
        page.context["back_url"] = f"?{dash.query(list=None)}"
    else:
        page.context["short"] = _shortlists(dash, page, model)
    return page


# --- what the page shows of the per-campaign tables ---------------------------------------


@dataclass(frozen=True)
class Shortlist:
    """A per-campaign table (or chart) as the page shows it: its first ``shown`` campaigns
    by rank, of ``total``, with the link to the whole list."""

    table: Table
    total: int
    shown: int
    see_all_url: str
    chart: Chart | None = None

    @property
    def more(self) -> bool:
        return self.total > self.shown


def _ranked(table: Table, model: str) -> list[Row]:
    """The table's rows, the biggest spend first, then the biggest attributed revenue (the
    chosen model's), then by name. The revenue of touchpoints without a campaign comes
    first: it has no spend, yet is often the largest row, and must not vanish into "Other"."""
    spend, revenue = CAMPAIGN_TABLES[table.id]
    revenue = revenue or f"{model}_revenue"

    def rank(row: Row):
        cost = row.values.get(spend) if spend else None
        income = to_number(row.values.get(revenue))
        unpaid = row.values["key"] in UNPAID_KEYS
        return (not unpaid, -(cost or 0), -(income or 0), row.values["key"])

    return sorted(table.rows, key=rank)


def _export_links(dash: DashboardRequest, table: Table) -> Table:
    """A shortened copy exports its whole table (same id): the view sets the export links
    of the page's own tables only, so set the copy's the same way."""
    query = dash.request.GET.copy()
    for key in FRAMEWORK_PARAMS:
        query.pop(key, None)
    base = query.urlencode()
    prefix = f"{dash.request.path}?{base + '&' if base else ''}table={table.id}"
    table.csv_url, table.xlsx_url = f"{prefix}&format=csv", f"{prefix}&format=xlsx"
    return table


def _other_values(table: Table, rest: list[Row], models: tuple[str, ...]) -> dict:
    """The "Other campaigns" row of a chart's table: Σ spend, Σ attributed revenue, and the
    ROI (and ROAS) of those with spend, as the totals row."""
    paid = [row for row in rest if (row.values.get("cost") or 0) > 0]
    values: dict = {
        "key": f"Other {len(rest)} campaigns",
        "cost": sum((row.values["cost"] for row in rest), Decimal(0)),
    }
    revenue_keys = ["revenue"] if table.id == "campaigns" else [f"{m}_revenue" for m in models]
    for key in revenue_keys:
        revenues = [row.values.get(key) for row in rest]
        values[key] = (
            None
            if all(value is None for value in revenues)
            else sum((value or Decimal(0) for value in revenues), Decimal(0))
        )
        roi = roi_totals(
            [row.values["cost"] for row in paid], [row.values.get(key) for row in paid]
        )
        values[key.replace("revenue", "roi")] = (
            shown(percent(roi.roi)) if values[key] is not None else None
        )
        if table.id == "campaigns":
            values["roas"] = shown(roi.roas)
            values["status"] = "ROI, ROAS: rows with spend"
    return values


def _shortlist(dash, table: Table, model: str, *, other: bool) -> Shortlist:
    """The table's first TOP_CAMPAIGNS campaigns by rank; with ``other``, one more row sums
    the rest (a chart's table: its bars then add up to the total)."""
    ranked = _ranked(table, model)
    url = f"?{dash.query(list=table.id)}"
    rows = ranked[:TOP_CAMPAIGNS]
    rest = ranked[TOP_CAMPAIGNS:]
    if other and rest:
        rows.append(Row(_other_values(table, rest, MODELS), link=url, css="other"))
    short = _export_links(dash, replace(table, rows=rows))
    if rest:
        ranked_by = "spend (then attributed revenue)" if CAMPAIGN_TABLES[table.id][0] else "revenue"
        short.note = " ".join(
            filter(
                None, [short.note, f"The {TOP_CAMPAIGNS} campaigns with the biggest {ranked_by}."]
            )
        )
    return Shortlist(
        short, total=len(ranked), shown=min(len(ranked), TOP_CAMPAIGNS), see_all_url=url
    )


def _shortlists(dash, page: Page, model: str) -> dict[str, Shortlist]:
    """What the page shows of each per-campaign table and chart, by table id."""
    tables = page.tables_by_id
    result = {
        table_id: _shortlist(dash, tables[table_id], model, other=False)
        for table_id in ("cost_missing", "no_roi", "roi_not_reconciled")
    }
    campaigns = _shortlist(dash, tables["campaigns"], model, other=True)
    result["campaigns"] = replace(
        campaigns,
        chart=_roi_chart(
            dash, "campaign_roi", CAMPAIGN_CHART_TITLE, campaigns.table, GROUP_BY_CAMPAIGN
        ),
    )
    comparison = _shortlist(dash, tables["comparison"], model, other=True)
    result["comparison"] = replace(
        comparison,
        chart=_comparison_chart(dash, comparison.table, MODELS),
    )
    return result


def _listed_table(dash, page: Page, table_id: str, model: str) -> Table:
    """``?list=<id>``: one per-campaign table whole, ranked as on the page, PER_PAGE rows a
    page (``&page=n``)."""
    if table_id not in CAMPAIGN_TABLES:
        raise DashboardParamError(f"list: {table_id!r} is not one of {', '.join(CAMPAIGN_TABLES)}.")
    table = page.tables_by_id[table_id]
    paginator = Paginator(_ranked(table, model), PER_PAGE)
    shown_page = paginator.get_page(dash.request.GET.get("page"))
    shown_page.capped = False  # type: ignore[attr-defined]
    query = dash.request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    shown_page.query_prefix = f"{encoded}&" if encoded else ""  # type: ignore[attr-defined]
    return _export_links(dash, replace(table, rows=list(shown_page.object_list), page=shown_page))


def _not_reconciled_table(dash, data: MarketingPage) -> Table:
    """ROI measurement: the campaigns with spend (of the rows shown) whose ROI is not
    reconciled, and why (docs/metrics.md, "Campaign ROI measurement capability"). One query
    while no data changed (cached); else the tagged GL lines, the won deals with their ERP
    revenue and the unmatched deals' touchpoints: a fixed number whatever the data size."""
    result = campaign_roi_reconciliation_cached(
        start=data.start,
        end=data.end,
        model=data.model,
        roi_rows={row.key: (row.cost, row.revenue) for row in data.campaigns},
        computed_at=data.computed_at,
    )
    capability = result.capability_percent
    table = Table(
        "roi_not_reconciled",
        "ROI measurement: campaigns not reconciled",
        [
            Column("key", "Campaign", TEXT),
            Column("spend", "Spend", MONEY),
            Column("gl", "GL (tagged)", MONEY),
            Column("revenue", "Attributed revenue", MONEY),
            Column("unmatched", "Unmatched revenue", MONEY),
            Column("why", "Why", TEXT),
        ],
        currency=dash.currency,
        empty_message="Every campaign with spend in this period has a reconciled ROI."
        if capability is not None
        else "No campaign had spend in this period.",
        note=(
            f"{result.reconciled} of {result.with_spend} campaigns with spend have a "
            f"reconciled ROI ({capability}%, the scorecard's campaign ROI measurement "
            "capability for this period): spend equal to the GL "
            "lines tagged with the campaign (within 0.5%, at least 1 cent) and attributed "
            f"revenue ({MODEL_LABELS[data.model]}) only from won deals matched to ERP revenue."
            if capability is not None
            else ""
        ),
    )
    drill = _drill_links(dash, GROUP_BY_CAMPAIGN)
    for row in result.failing:
        table.add(
            {
                "key": row.key,
                "spend": row.spend,
                "gl": row.gl_cost,
                "revenue": row.attributed_revenue,
                "unmatched": row.unmatched_revenue,
                "why": row.why,
            },
            link=drill(row.key),
        )
    return table


def _comparison_chart(dash, table: Table, models: tuple[str, ...]) -> Chart:
    return Chart(
        "model_comparison",
        "Attributed revenue by model",
        [row.values["key"] for row in table.rows],
        [
            Series(MODEL_LABELS[each], [row.values[f"{each}_revenue"] for row in table.rows])
            for each in models
        ],
        table,
        currency=dash.currency,
        description="Attributed revenue of each campaign under every attribution model; "
        "the figures are in the table with the chart",
    )


def _comparison_table(dash, data: MarketingPage) -> Table:
    columns = [Column("key", "Campaign", TEXT), Column("cost", "Spend", MONEY)]
    for each in data.models:
        columns.append(Column(f"{each}_revenue", f"{MODEL_LABELS[each]} revenue", MONEY))
        columns.append(Column(f"{each}_roi", f"{MODEL_LABELS[each]} ROI", PERCENT))
    table = Table(
        "comparison",
        "Model comparison: revenue and ROI per campaign under every model",
        columns,
        currency=dash.currency,
        empty_message="No campaign spend or attributed revenue in this period.",
    )
    drill = _drill_links(dash, GROUP_BY_CAMPAIGN)
    for row in data.comparison:
        values = {"key": row.key, "cost": row.cost}
        for each in data.models:
            values[f"{each}_revenue"] = row.revenue[each]
            values[f"{each}_roi"] = (
                shown(percent(row.roi[each])) if row.revenue[each] is not None else None
            )
        table.add(values, link=drill(row.key))
    return table


def drill_build(dash: DashboardRequest) -> Page:
    """A campaign or channel → the won deals its touchpoints helped convert and those
    touchpoints (``show=deals|touchpoints``, paginated; the export has every row)."""
    group_by = dash.params.get("group_by", GROUP_BY_CAMPAIGN)
    if group_by not in GROUP_LABELS:
        raise DashboardParamError(f"group_by: {group_by!r} is not one of campaign, channel.")
    key = dash.params.get("key", "")
    if not key:
        raise DashboardParamError(f"key: the {group_by} name is required.")
    show = dash.params.get("show", "deals")
    if show not in ("deals", "touchpoints"):
        raise DashboardParamError(f"show: {show!r} is not one of deals, touchpoints.")
    model = chosen_model(dash)
    start, end = dash.period.start, dash.period.end
    (snapshot,) = snapshots_get(
        _requests(start=start, end=end, wanted=[(Kind.CAMPAIGN_ROI, model, group_by)])
    )
    figures = next((row for row in snapshot.result["rows"] if row["key"] == key), None)
    deals = selectors.attributed_deals(group_by=group_by, key=key, start=start, end=end)
    touchpoints = selectors.group_touchpoints(group_by=group_by, key=key, start=start, end=end)
    label = f"{GROUP_LABELS[group_by]} {key}"
    if show == "deals":
        rows, page = paginate(dash, deals)
        table = Table(
            "deals",
            f"Won deals {label} helped convert",
            [
                Column("closed", "Closed", DATE),
                Column("deal", "Deal", TEXT),
                Column("name", "Name", TEXT),
                Column("contact", "Contact", TEXT),
                Column("rep", "Rep", TEXT),
                Column("amount", "Amount", MONEY),
                Column("currency", "Currency", TEXT),
            ],
            empty_message=f"No won deal closed in this period had an eligible touchpoint of "
            f"{label} — pick a longer period or check that its touchpoints are tagged.",
            page=page,
            note="Won deals closed in the period whose contact had a touchpoint of this "
            f"{group_by} within the {DEFAULT_LOOKBACK.days}-day lookback before the close "
            "(the same for every model; the model only splits the credit).",
        )
        for row in rows:
            table.add(
                {
                    "closed": selectors.local_date(row["closed_at"]),
                    "deal": row["external_id"],
                    "name": row["name"],
                    "contact": row["contact_name"] or "",
                    "rep": row["rep_name"] or "",
                    "amount": row["amount"],
                    "currency": row["currency_id"],
                }
            )
        other = ("touchpoints", touchpoints.count())
        count = page.paginator.count if page else len(rows)
    else:
        rows, page = paginate(dash, touchpoints)
        table = Table(
            "touchpoints",
            f"Touchpoints of {label}",
            [
                Column("occurred", "Occurred (UTC)", TEXT),
                Column("type", "Type", TEXT),
                Column("contact", "Contact", TEXT),
                Column("campaign", "Campaign", TEXT),
                Column("channel", "Channel", TEXT),
                Column("source_id", "Source id", TEXT),
            ],
            empty_message=f"No touchpoint of {label} from the lookback start to the end of "
            "the period — sync the marketing connector or pick another period.",
            page=page,
            note=f"From {DEFAULT_LOOKBACK.days} days before the period start (the attribution "
            "lookback) to the end of the period, newest first.",
        )
        for row in rows:
            table.add(
                {
                    "occurred": row["occurred_at"].astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
                    "type": row["type"],
                    "contact": row["contact_name"] or "",
                    "campaign": row["campaign_name"] or "",
                    "channel": row["channel_name"] or "",
                    "source_id": row["external_id"],
                }
            )
        other = ("deals", deals.count())
        count = page.paginator.count if page else len(rows)
    counts = dict([(show, count), other])
    return Page(
        f"{label}: deals and touchpoints",
        tables=[table],
        export_stem=f"marketing-{group_by}-{show}",
        context={
            "drill_label": label,
            "show": show,
            "tabs": [
                (name, title, counts[name], f"?{dash.query(show=name, page=None)}")
                for name, title in (("deals", "Deals"), ("touchpoints", "Touchpoints"))
            ],
            "figures": figures
            and {
                "cost": format_value(figures["cost"], MONEY, dash.currency),
                "revenue": format_value(figures["revenue"], MONEY, dash.currency),
                "roi": format_value(shown(percent(to_number(figures["roi"]))), PERCENT),
                "status": RoiRow(
                    key=key,
                    channel="",
                    cost=Decimal(figures["cost"]),
                    revenue=to_number(figures["revenue"]),
                    roi=None,
                    roas=None,
                    status=figures["status"],
                    channel_level=group_by == GROUP_BY_CHANNEL,
                ).status_label,
            },
            "model_label": MODEL_LABELS[model],
            "back_url": dash.url("dashboards:marketing", group_by=None, key=None, show=None),
        },
    )
