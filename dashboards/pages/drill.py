"""The ledger drill-down: a variance, a revenue/expense total or a trend bar → its GL lines
(the executive and CAC pages link here). Its total is the clicked figure: the lines' sum in
the reporting currency (each converted at its posting date), with the sum per currency
beside it, and a link back to the page it came from."""

from __future__ import annotations

from decimal import Decimal

from dashboards import pagination
from dashboards.page import DashboardParamError, DashboardRequest, Page
from dashboards.tables import DATE, MONEY, Column, Table, format_value
from metrics import selectors

ACCOUNT_TYPES = selectors.ACCOUNT_TYPE_LABELS
#: Drill groups of the executive figures: ``type=`` values and the account types they cover.
TYPE_GROUPS = {
    "revenue": ["revenue"],
    "cost_of_sales": ["cost_of_sales"],
    "expense": ["expense"],
    "expenses": ["cost_of_sales", "expense"],
    "operating": ["revenue", "cost_of_sales", "expense"],
}
#: ``type=unclassified``: the lines whose account reference is still pending.
UNCLASSIFIED = "unclassified"
GL_PARAMS = ("account", "type", "no_department", "sales_marketing", "initiative", "from")
#: ``from=`` values: the pages a drill links back to.
BACK_PAGES = {
    "executive": "Executive dashboard",
    "cac": "CAC dashboard",
    "product": "Product ROI dashboard",
}


def gl_lines_queryset(dash: DashboardRequest):
    """GL lines of the period, narrowed by the department filter and the drill parameters:
    ``account`` (code), ``type`` (TYPE_GROUPS key, or ``unclassified``: account pending),
    ``no_department=1``, ``sales_marketing=1`` (CAC cost accounts), ``initiative`` (id: the
    lines tagged with that initiative)."""
    department = dash.filters.selected("department")
    params = dash.params
    kind = params.get("type")
    pending = kind == UNCLASSIFIED
    if kind and kind not in TYPE_GROUPS and not pending:
        choices = ", ".join([*TYPE_GROUPS, UNCLASSIFIED])
        raise DashboardParamError(f"type: {kind!r} is not one of {choices}.")
    initiative = params.get("initiative", "")
    if initiative and not initiative.isdigit():
        raise DashboardParamError(f"initiative: {initiative!r} is not an initiative id.")
    return selectors.gl_lines(
        start=dash.period.start,
        end=dash.period.end,
        department_id=department.id if department is not None else None,
        no_department=params.get("no_department") == "1",
        account_code=params.get("account", ""),
        account_types=TYPE_GROUPS[kind] if kind and not pending else None,
        sales_marketing=params.get("sales_marketing") == "1",
        pending_account=pending,
        initiative_id=int(initiative) if initiative else None,
    )


def gl_lines_build(dash: DashboardRequest) -> Page:
    """The ledger lines behind a figure (newest first), with their sum per currency."""
    lines = gl_lines_queryset(dash)
    rows, page = pagination.paginate(dash, selectors.gl_line_rows(lines))
    # Summing a capped list would read every matching line: its total is the dashboard's.
    day_sums = [] if page is not None and page.capped else selectors.gl_line_day_sums(lines)
    total, sums, missing = _totals(dash, day_sums)
    table = Table(
        "gl_lines",
        "GL lines",
        [
            Column("date", "Posting date", DATE),
            Column("account", "Account"),
            Column("type", "Account type"),
            Column("department", "Department"),
            Column("description", "Description"),
            Column("amount", "Amount", MONEY),
            Column("currency", "Currency"),
            Column("external_id", "Source id"),
        ],
        empty_message="No GL lines match this figure in the period.",
        page=page,
    )
    for day, code, name, a_type, department, description, amount, currency, ext in rows:
        table.add(
            {
                "date": day,
                "account": f"{code} {name}" if code else "(account pending)",
                "type": ACCOUNT_TYPES.get(a_type, ""),
                "department": department or "(no department)",
                "description": description,
                "amount": amount,
                "currency": currency,
                "external_id": ext,
            }
        )
    if day_sums:
        table.totals = {"amount": total, "currency": dash.currency}
    table.note = (
        f"Total {format_value(total, MONEY, dash.currency)} (each line converted at its "
        "posting date)"
        + (f", {len(missing)} amount(s) without an FX rate left out" if missing else "")
        + ". Sum: "
        + "; ".join(
            f"{currency} {amount:,.2f} ({count:,} lines)" for currency, amount, count in sums
        )
        if day_sums
        else ""
    )
    if page is not None and page.capped:
        cap, most = pagination.COUNT_CAP, pagination.MAX_EXPORT_ROWS
        table.note = (
            f"More than {cap:,} lines match: the first {cap:,} are listed (newest first); "
            f"narrow the period, or export them (up to {most:,})."
        )
    if dash.exporting and sum(count for _c, _t, count in sums) > pagination.MAX_EXPORT_ROWS:
        table.title = f"GL lines (first {pagination.MAX_EXPORT_ROWS:,})"
    return Page(
        "GL lines",
        tables=[table],
        context={"drill_description": gl_description(dash), **back_link(dash)},
        export_stem="gl_lines",
    )


def _totals(dash: DashboardRequest, day_sums: list) -> tuple[Decimal, list, list]:
    """The reporting-currency total of ``(currency, day, amount, lines)`` sums (unrounded),
    the sums per currency and the amounts without a rate."""
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
    sums = [(c, amount, count) for c, (amount, count) in sorted(per_currency.items())]
    return total, sums, convert.missing


def back_link(dash: DashboardRequest) -> dict:
    """The way back to the page the drill came from (``from=``, default the executive
    dashboard), for the same period and filters."""
    origin = dash.params.get("from", "executive")
    if origin not in BACK_PAGES:
        origin = "executive"
    drill_only = dict.fromkeys(GL_PARAMS)  # the drill's own parameters are not the page's
    return {
        "back_url": dash.optional_url(f"dashboards:{origin}", **drill_only),
        "back_label": BACK_PAGES[origin],
    }


def gl_description(dash: DashboardRequest) -> str:
    """What the drill shows, in words (the page heading)."""
    parts = []
    params = dash.params
    if params.get("type") == UNCLASSIFIED:
        parts.append("Unclassified lines (account reference pending)")
    elif params.get("type"):
        parts.append(
            {
                "expenses": "Cost of sales and expense",
                "operating": "Revenue, cost of sales and expense",
            }.get(params["type"], ACCOUNT_TYPES.get(params["type"], params["type"]))
            + " lines"
        )
    if params.get("sales_marketing") == "1":
        parts.append("sales and marketing cost lines")
    if params.get("account"):
        parts.append(f"account {params['account']}")
    if params.get("initiative"):
        name = selectors.initiative_name(int(params["initiative"]))
        parts.append(f"tagged with initiative {name or params['initiative']}")
    department = dash.filters.selected("department")
    if department is not None:
        parts.append(f"department {department.label}")
    elif params.get("no_department") == "1":
        parts.append("no department")
    return ", ".join(parts) or "All GL lines"
