"""Drill-down pages: the rows behind a figure, paginated on the page, whole in the export.

:func:`paginate` is the helper every drill page uses; :func:`gl_lines_build` is the ledger
drill (a variance, a revenue/expense total or a trend bar → its GL lines).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count, Sum

from metrics import models as m
from metrics.dashboards.pages import DashboardParamError, DashboardRequest, Page
from metrics.dashboards.tables import DATE, MONEY, Column, Table

PER_PAGE = 50
#: An export of a drill-down writes at most this many rows (the page says so).
MAX_EXPORT_ROWS = 100_000
#: Pages list at most this many rows: counting (and summing) hundreds of thousands of rows
#: on every page view would cost more than the page may (p95 300 ms); a longer list says
#: "more than 10,000" and its export has them all (up to MAX_EXPORT_ROWS).
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """A paginator whose count was read with a LIMIT (see :data:`COUNT_CAP`)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


def paginate(dash: DashboardRequest, queryset, *, per_page: int = PER_PAGE):
    """``(rows, page)``: on an export every row (up to MAX_EXPORT_ROWS) and page None;
    otherwise the requested page (``?page=n``, out of range → the last page) with a
    ``query_prefix`` for the pagination links (the page state plus the drill parameters)
    and ``capped`` (True when more than COUNT_CAP rows match: only those are paged)."""
    if dash.exporting:
        return list(queryset[:MAX_EXPORT_ROWS]), None
    total = queryset.order_by()[: COUNT_CAP + 1].count()
    paginator = CappedPaginator(queryset, per_page, count=min(total, COUNT_CAP))
    page = paginator.get_page(dash.request.GET.get("page"))
    page.capped = total > COUNT_CAP
    query = dash.request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    page.query_prefix = f"{encoded}&" if encoded else ""
    return list(page.object_list), page


ACCOUNT_TYPES = dict(m.Account.Type.choices)
#: Drill groups of the executive figures: ``type=`` values and the account types they cover.
TYPE_GROUPS = {
    "revenue": ["revenue"],
    "cost_of_sales": ["cost_of_sales"],
    "expense": ["expense"],
    "expenses": ["cost_of_sales", "expense"],
    "operating": ["revenue", "cost_of_sales", "expense"],
}
GL_PARAMS = ("account", "type", "no_department", "sales_marketing")


def gl_lines_queryset(dash: DashboardRequest):
    """GL lines of the period, narrowed by the department filter and the drill parameters:
    ``account`` (code), ``type`` (TYPE_GROUPS key), ``no_department=1``,
    ``sales_marketing=1`` (CAC cost accounts)."""
    lines = m.GLLine.objects.filter(
        posting_date__gte=dash.period.start, posting_date__lte=dash.period.end
    )
    department = dash.filters.selected("department")
    params = dash.params
    if department is not None:
        lines = lines.filter(department_id=department.id)
    elif params.get("no_department") == "1":
        lines = lines.filter(department__isnull=True)
    if params.get("account"):
        lines = lines.filter(account__code=params["account"])
    if params.get("type"):
        if params["type"] not in TYPE_GROUPS:
            raise DashboardParamError(
                f"type: {params['type']!r} is not one of {', '.join(TYPE_GROUPS)}."
            )
        lines = lines.filter(account__type__in=TYPE_GROUPS[params["type"]])
    if params.get("sales_marketing") == "1":
        lines = lines.filter(account__is_sales_marketing=True)
    return lines


def gl_lines_build(dash: DashboardRequest) -> Page:
    """The ledger lines behind a figure (newest first), with their sum per currency."""
    lines = gl_lines_queryset(dash)
    rows, page = paginate(
        dash,
        lines.order_by("-posting_date", "-id").values_list(
            "posting_date",
            "account__code",
            "account__name",
            "account__type",
            "department__name",
            "description",
            "amount",
            "currency_id",
            "external_id",
        ),
    )
    # Summing a capped list would read every matching line: its total is the dashboard's.
    sums = (
        []
        if page is not None and page.capped
        else list(
            lines.order_by()
            .values("currency_id")
            .annotate(total=Sum("amount"), lines=Count("id"))
            .values_list("currency_id", "total", "lines")
        )
    )
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
    if len(sums) == 1:
        table.totals = {"amount": sums[0][1], "currency": sums[0][0]}
    table.note = (
        "Sum: "
        + "; ".join(f"{currency} {total:,.2f} ({count:,} lines)" for currency, total, count in sums)
        if sums
        else ""
    )
    if page is not None and page.capped:
        table.note = (
            f"More than {COUNT_CAP:,} lines match: the first {COUNT_CAP:,} are listed (newest "
            f"first); narrow the period, or export them (up to {MAX_EXPORT_ROWS:,})."
        )
    if dash.exporting and sum(count for _c, _t, count in sums) > MAX_EXPORT_ROWS:
        table.title = f"GL lines (first {MAX_EXPORT_ROWS:,})"
    return Page(
        "GL lines",
        tables=[table],
        context={"drill_description": gl_description(dash)},
        export_stem="gl_lines",
    )


def gl_description(dash: DashboardRequest) -> str:
    """What the drill shows, in words (the page heading)."""
    parts = []
    params = dash.params
    if params.get("type"):
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
    department = dash.filters.selected("department")
    if department is not None:
        parts.append(f"department {department.label}")
    elif params.get("no_department") == "1":
        parts.append("no department")
    return ", ".join(parts) or "All GL lines"
