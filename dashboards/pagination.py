"""Drill-down lists: the rows behind a figure, paginated on the page, whole in the export."""

from __future__ import annotations

from django.core.paginator import Paginator

from dashboards.page import DashboardRequest

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
