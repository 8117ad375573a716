"""Product ROI (issue #12): each development initiative's cost, benefit, ROI, cumulative ROI
and payback, the period's development cost and its ROI tracking coverage, and the cumulative
cost vs benefit (docs/metrics.md, "Product development ROI").

:func:`build` reads the stored initiative ROI snapshot of the period (one query; the JSON
shape is documented in ``metrics.reports.initiative_roi``) and computes nothing itself.
``?initiative=<id>`` draws that initiative's cumulative cost vs benefit instead of all of
them. Each figure drills to the rows behind it: the tagged GL lines (the GL drill's
``initiative`` filter), and :func:`records_build`, an initiative's cost or benefit records
of the period whose total is the figure clicked.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.urls import reverse

from dashboards import pagination
from dashboards.charts import Chart, Series
from dashboards.page import DashboardParamError, DashboardRequest, Page
from dashboards.tables import (
    DATE,
    MONEY,
    PERCENT,
    RATIO,
    TEXT,
    Column,
    Table,
    format_value,
    shown,
)
from metrics import selectors
from metrics.reports.cac import gross_margin
from metrics.reports.numbers import percent, to_number
from metrics.snapshots import Kind, data_changed_since, period_request, snapshots_get

PAGE = "dashboards:product"
RECORDS = "dashboards:product_records"
GL_DRILL = "dashboards:gl_lines"
PAGE_PARAMS = ("initiative",)
RECORDS_PARAMS = ("initiative", "show", "kind")
#: ``show=`` of the records drill -> the record kinds it may be narrowed to (``kind=``).
RECORD_KINDS = {
    "costs": {"gl": "GL", "time": "Time entries", "other": "Other"},
    "benefits": {"revenue": "Credited revenue", "retention": "Retained MRR"},
}
DOC_ANCHOR = "product-development-roi"
DOUBLE_COUNT = "possible double count"
NO_COST_REASON = "No ROI: the initiative has no cost in the period"
NO_CUMULATIVE_COST = "No cumulative ROI: the initiative has no cost since its start"
#: Initiatives listed per page (200 rows of 15 cells would cost the page its 300 ms).
PER_PAGE = 50


def _month(value: str) -> str:
    return dt.date.fromisoformat(value).strftime("%b %Y")


def _roi(value) -> object:
    """A stored ROI fraction ("0.5" / "undefined") in percent, undefined kept."""
    return shown(percent(to_number(value)))


def chosen_initiative(dash: DashboardRequest, initiatives: list[dict]) -> dict | None:
    """The initiative of ``?initiative=<id>`` (None: all); a bad id is a 400."""
    raw = dash.params.get("initiative", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise DashboardParamError(f"initiative: {raw!r} is not an initiative id.")
    found = next((row for row in initiatives if row["id"] == int(raw)), None)
    if found is None:
        raise DashboardParamError(
            f"initiative: no initiative has id {raw}; pick one from the list."
        )
    return found


def build(dash: DashboardRequest) -> Page:
    """The Product ROI page."""
    (snapshot,) = snapshots_get([period_request(Kind.INITIATIVE_ROI, dash.period)])
    result = snapshot.result
    initiatives = result.get("initiatives", [])
    chosen = chosen_initiative(dash, initiatives)
    currency = dash.currency
    listed, page = _page_of(dash, initiatives)
    table = _initiatives_table(dash, listed, result.get("totals"))
    table.page = page
    chart = _cumulative_chart(dash, result, chosen)
    doc = f"{reverse('docs-metrics')}#{DOC_ANCHOR}"
    return Page(
        "Product ROI",
        tables=[table],
        charts=[chart],
        export_stem="product-roi",
        context={
            "kpis": _kpis(result, currency, doc),
            "chosen": chosen,
            "picker_legend": "Chart",
            "picker_fields": [
                {
                    "name": "initiative",
                    "label": "Initiative",
                    "options": [
                        ("", "All initiatives"),
                        *((str(row["id"]), row["name"]) for row in initiatives),
                    ],
                    "selected": str(chosen["id"]) if chosen else "",
                }
            ],
            "picker_field_names": ["initiative"],
            "all_url": dash.url(PAGE, initiative=None) if chosen else "",
            "settings": result.get("settings", {}),
            "computed_at": snapshot.computed_at,
            "data_changed_at": data_changed_since([snapshot]),
            "missing_fx": len(result.get("missing_fx", [])),
        },
    )


def _kpis(result: dict, currency: str, doc: str) -> list[dict]:
    development = result.get("development_cost", {})
    totals = result.get("totals") or {}
    coverage = result.get("coverage", {})
    roi = _roi(totals.get("roi"))
    tracking = to_number(coverage.get("development_roi_tracking_coverage"))
    return [
        {
            "id": "kpi-development-cost",
            "title": "Development cost",
            "value": format_value(development.get("total"), MONEY, currency),
            "lines": [
                ("Product departments' GL", format_value(development.get("gl"), MONEY, currency)),
                ("Time entries", format_value(development.get("time"), MONEY, currency)),
            ],
            "doc": doc,
        },
        {
            "id": "kpi-assigned-cost",
            "title": "Cost assigned to initiatives",
            "value": format_value(development.get("assigned"), MONEY, currency),
            "lines": [
                (
                    "All initiative costs",
                    format_value((totals.get("cost") or {}).get("total"), MONEY, currency),
                )
            ],
            "doc": doc,
        },
        {
            "id": "kpi-benefit",
            "title": "Total benefit",
            "value": format_value(totals.get("benefit"), MONEY, currency),
            "doc": doc,
        },
        {
            "id": "kpi-roi",
            "title": "ROI of all initiatives",
            "value": format_value(roi, PERCENT),
            "hint": ""
            if to_number(roi) is not None
            else "No ROI: no initiative cost in the period",
            "doc": doc,
        },
        {
            "id": "kpi-coverage",
            "title": "Development ROI tracking coverage",
            "value": format_value(shown(tracking), PERCENT),
            "hint": "" if tracking is not None else "No development cost in the period",
            "lines": [
                (
                    "Covered cost",
                    format_value(coverage.get("covered_cost"), MONEY, currency),
                ),
                (
                    "Initiatives with ROI and benefit",
                    str(len(coverage.get("initiatives_with_roi_and_benefit", []))),
                ),
            ],
            "doc": doc,
        },
    ]


def _page_of(dash: DashboardRequest, initiatives: list[dict]):
    """``(rows, page)``: every initiative on an export, else one page (``?page=n``) of them,
    paged like the drill-downs (dashboards/pagination.py)."""
    if dash.exporting or len(initiatives) <= PER_PAGE:
        return initiatives, None
    page = Paginator(initiatives, PER_PAGE).get_page(dash.request.GET.get("page"))
    page.capped = False
    query = dash.request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    page.query_prefix = f"{encoded}&" if encoded else ""
    return list(page.object_list), page


def _linker(dash: DashboardRequest, name: str, **fixed):
    """``dash.url(name, **fixed, **params)`` with ``reverse`` and the page state read once:
    a row of the table has six links, and ``reverse`` per link was most of the page's time."""
    base, state = reverse(name), dash.state(**fixed)

    def url(**params) -> str:
        query = dict(state)
        for key, value in params.items():
            if value is None or value == "":
                query.pop(key, None)
            else:
                query[key] = str(value)
        return f"{base}?{urlencode(query)}"

    return url


def _initiatives_table(dash: DashboardRequest, initiatives: list[dict], totals) -> Table:
    table = Table(
        "initiatives",
        "Initiatives: cost, benefit, ROI and payback",
        [
            Column("name", "Initiative", TEXT),
            Column("product", "Product", TEXT),
            Column("start", "Start", TEXT),
            Column("cost_gl", "GL cost", MONEY),
            Column("cost_time", "Time cost", MONEY),
            Column("cost_other", "Other cost", MONEY),
            Column("cost_tagged_gl", "Tagged GL lines", MONEY),
            Column("cost_total", "Total cost", MONEY),
            Column("benefit", "Benefit", MONEY),
            Column("roi", "ROI", PERCENT),
            Column("cumulative_cost", "Cumulative cost", MONEY),
            Column("cumulative_benefit", "Cumulative benefit", MONEY),
            Column("cumulative_roi", "Cumulative ROI", PERCENT),
            Column("payback", "Payback month", TEXT),
            Column("flags", "Flags", TEXT),
        ],
        currency=dash.currency,
        note="Cost = the initiative's cost records (GL, time entries = hours x rate, other) "
        "+ the GL lines tagged with it, in the period; benefit = its credited revenue and "
        "retained MRR x gross margin. Cumulative figures count from the initiative's start "
        "month to the period end. A month with both a GL cost record and tagged GL lines is "
        "flagged “possible double count” (both stay in the cost): hover the flag for the "
        "months. Click a cost or the benefit for its records, the name for its chart.",
        empty_message="No initiatives yet: they come from the product / project-management "
        "connector (or the initiatives import).",
    )
    page_url = _linker(dash, PAGE)
    records_url = _linker(dash, RECORDS)
    gl_url = _linker(dash, GL_DRILL, **{"from": "product"})
    for row in initiatives:
        pk, cost = row["id"], row["cost"]

        def records(show: str, kind: str = "", pk=pk) -> str:
            return records_url(initiative=pk, show=show, kind=kind or None)

        flagged = bool(row.get("double_count_months"))
        months = ", ".join(_month(m) for m in row.get("double_count_months", []))
        table.add(
            {
                "name": row["name"],
                "product": row.get("product", ""),
                "start": _month(row["start"]) if row.get("start") else "",
                "cost_gl": cost["gl"],
                "cost_time": cost["time"],
                "cost_other": cost["other"],
                "cost_tagged_gl": cost["tagged_gl"],
                "cost_total": cost["total"],
                "benefit": row["benefit"],
                "roi": _roi(row["roi"]),
                "cumulative_cost": row["cumulative_cost"],
                "cumulative_benefit": row["cumulative_benefit"],
                "cumulative_roi": _roi(row["cumulative_roi"]),
                "payback": _month(row["payback_month"])
                if row.get("payback_month")
                else "not paid back",
                "flags": DOUBLE_COUNT if flagged else "",
            },
            link=page_url(initiative=pk),
            links={  # a zero has no rows behind it: no link
                key: url
                for key, value, url in (
                    ("cost_gl", cost["gl"], records("costs", "gl")),
                    ("cost_time", cost["time"], records("costs", "time")),
                    ("cost_other", cost["other"], records("costs", "other")),
                    ("cost_tagged_gl", cost["tagged_gl"], gl_url(initiative=pk)),
                    ("benefit", row["benefit"], records("benefits")),
                )
                if to_number(value)
            },
            classes={"flags": "double-count"} if flagged else {},
            css="warning" if flagged else "",
            titles={
                "roi": NO_COST_REASON,
                "cumulative_roi": NO_CUMULATIVE_COST,
                "flags": f"Months with both a GL cost record and tagged GL lines: {months}"
                if flagged
                else "",
            },
        )
    if initiatives and totals:  # of every initiative, whichever page is shown
        table.totals_label = "Total (all initiatives)"
        cost = totals["cost"]
        table.totals = {
            "cost_gl": cost["gl"],
            "cost_time": cost["time"],
            "cost_other": cost["other"],
            "cost_tagged_gl": cost["tagged_gl"],
            "cost_total": cost["total"],
            "benefit": totals["benefit"],
            "roi": _roi(totals["roi"]),
            "cumulative_cost": totals["cumulative_cost"],
            "cumulative_benefit": totals["cumulative_benefit"],
        }
    return table


def _cumulative_chart(dash: DashboardRequest, result: dict, chosen: dict | None) -> Chart:
    points = chosen["cumulative"] if chosen else result.get("cumulative", [])
    subject = chosen["name"] if chosen else "all initiatives"
    table = Table(
        "cumulative",
        f"Cumulative cost vs benefit: {subject}",
        [
            Column("month", "Month end", TEXT),
            Column("cost", "Cumulative cost", MONEY),
            Column("benefit", "Cumulative benefit", MONEY),
            Column("net", "Benefit − cost", MONEY),  # noqa: RUF001 - a minus sign
            Column("ratio", "Benefit / cost", RATIO),
        ],
        currency=dash.currency,
        note=(
            f"From the initiative's start month ({_month(chosen['start'])}) to the period end."
            if chosen
            else "Each initiative from its start month, at the end of every month of the "
            "period. Payback is the first month the benefit line reaches the cost line."
        ),
        empty_message="No initiative has cost or benefit by the end of this period.",
    )
    for point in points:
        cost, benefit = Decimal(point["cost"]), Decimal(point["benefit"])
        table.add(
            {
                "month": _month(point["month"]),
                "cost": cost,
                "benefit": benefit,
                "net": benefit - cost,
                "ratio": shown(benefit / cost if cost else None),
            },
            titles={"ratio": "No cost yet, so no ratio"},
        )
    return Chart(
        "cumulative",
        f"Cumulative cost vs benefit — {subject}",
        [_month(p["month"]) for p in points],
        [
            Series("Cumulative cost", [p["cost"] for p in points], color="#b42318"),
            Series("Cumulative benefit", [p["benefit"] for p in points], color="#1b7f3b"),
        ],
        table,
        type="line",
        currency=dash.currency,
        table_below=True,
    )


# --- drill: an initiative's cost or benefit records ------------------------------------------


def records_build(dash: DashboardRequest) -> Page:
    """An initiative's cost (``show=costs``) or benefit (``show=benefits``) records in the
    period, optionally of one kind, newest first, with their total in the reporting currency
    (each converted at its date; benefits also x gross margin: the dashboard's figure)."""
    params = dash.params
    raw = params.get("initiative", "")
    if not raw:
        raise DashboardParamError("initiative: required (the initiative's id).")
    if not raw.isdigit():
        raise DashboardParamError(f"initiative: {raw!r} is not an initiative id.")
    show = params.get("show", "costs")
    if show not in RECORD_KINDS:
        raise DashboardParamError(f"show: {show!r} is not one of costs, benefits.")
    kind = params.get("kind", "")
    if kind and kind not in RECORD_KINDS[show]:
        choices = ", ".join(RECORD_KINDS[show])
        raise DashboardParamError(f"kind: {kind!r} is not one of {choices} (show={show}).")
    initiative_id = int(raw)
    name = selectors.initiative_name(initiative_id)
    if name is None:
        raise DashboardParamError(f"initiative: no initiative has id {raw}.")
    records = selectors.initiative_records(
        kind=show,
        initiative_id=initiative_id,
        start=dash.period.start,
        end=dash.period.end,
        record_kind=kind,
    )
    rows, page = pagination.paginate(dash, selectors.initiative_record_rows(records))
    total, sums, missing = _converted_total(selectors.initiative_record_day_sums(records))
    currency = dash.currency
    kind_label = RECORD_KINDS[show].get(kind, "")
    what = f"{kind_label.lower()} " if kind_label else ""
    columns = [
        Column("date", "Date", DATE),
        Column("kind", "Kind", TEXT),
        Column("description", "Description", TEXT),
        Column("amount", "Amount", MONEY),
        Column("currency", "Currency", TEXT),
        Column("external_id", "Source id", TEXT),
    ]
    if show == "costs":
        columns[3:3] = [Column("hours", "Hours", RATIO), Column("rate", "Hourly rate", MONEY)]
    table = Table(
        show,
        f"{'Cost' if show == 'costs' else 'Benefit'} records of {name}",
        columns,
        empty_message=f"No {what}{show[:-1]} records of {name} are dated in this period.",
        page=page,
    )
    labels = RECORD_KINDS[show]
    for row in rows:
        table.add(
            {
                "date": row["date"],
                "kind": labels.get(row["kind"], row["kind"]),
                "description": row["description"],
                "hours": row.get("hours"),
                "rate": row.get("hourly_rate"),
                "amount": row["amount"],
                "currency": row["currency_id"],
                "external_id": row["external_id"],
            }
        )
    margin = gross_margin()
    figure = total * margin if show == "benefits" else total
    if sums:
        table.totals = {"amount": total, "currency": currency}
        table.note = (
            f"Total {format_value(total, MONEY, currency)} (each record converted at its date)"
            + (f", {len(missing)} amount(s) without an FX rate left out" if missing else "")
            + ". Sum: "
            + "; ".join(f"{c} {amount:,.2f} ({n:,} records)" for c, amount, n in sums)
            + (
                f". Benefit = total x gross margin {margin} = "
                f"{format_value(figure, MONEY, currency)}."
                if show == "benefits"
                else "."
            )
        )
    title = "Benefit (at gross margin)" if show == "benefits" else f"{kind_label or 'All'} cost"
    return Page(
        f"{name}: {show}",
        tables=[table],
        export_stem=f"product-{show}",
        context={
            "drill_description": f"{name}: {what}{show[:-1]} records",
            "figure": {"title": title, "value": format_value(figure, MONEY, currency)},
            "tabs": [
                (each, each.capitalize(), dash.url(RECORDS, show=each, kind=None, page=None))
                for each in RECORD_KINDS
            ],
            "show": show,
            "gl_url": dash.url(
                GL_DRILL, initiative=initiative_id, show=None, kind=None, **{"from": "product"}
            ),
            "back_url": dash.url(PAGE, show=None, kind=None),
        },
    )


def _converted_total(day_sums: list) -> tuple[Decimal, list, list]:
    """The reporting-currency total of ``(currency, day, amount, records)`` sums, the sums
    per currency and the amounts without a rate (as the GL drill does)."""
    if not day_sums:
        return Decimal(0), [], []
    days = [day for _c, day, _a, _n in day_sums]
    convert = selectors.converter(start=min(days), end=max(days))
    total = Decimal(0)
    per_currency: dict[str, list] = {}
    for currency, day, amount, count in day_sums:
        value = convert(amount, currency, day)
        if value is not None:
            total += value
        entry = per_currency.setdefault(currency, [Decimal(0), 0])
        entry[0] += amount
        entry[1] += count
    sums = [(c, amount, n) for c, (amount, n) in sorted(per_currency.items())]
    return total, sums, convert.missing
