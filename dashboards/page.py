"""The dashboard page framework: a view wrapper around a plain *builder* function.

``dashboard_view(builder, template=..., filters=("department",), ...)`` returns a Django view
that

1. needs login (site middleware) and ``core.view_dashboards`` (403 otherwise);
2. reads the period (period.py) and the filters (filters.py) from the URL — a bad value
   answers 400 with a page naming the parameter and why;
3. calls ``builder(dash)`` with a :class:`DashboardRequest`; the builder returns a
   :class:`Page` (tables, charts, extra template context);
4. with ``?table=<id>&format=csv|xlsx`` answers that table as a formula-safe file
   (exports.py), else renders ``template`` (which extends dashboards/base.html).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboards import exports
from dashboards.charts import Chart
from dashboards.filters import FilterError, Filters, filters_from_params
from dashboards.period import PeriodError, period_from_params
from dashboards.tables import Table
from finhub.core.calendar import KINDS, MONTH, QUARTER, YTD, Period
from metrics import selectors

PERMISSION = "core.view_dashboards"
#: Query parameters the framework owns (everything else is kept as page state).
FRAMEWORK_PARAMS = ("table", "format", "page")


class DashboardParamError(ValueError):
    """A page-specific parameter is invalid (raise it from a builder: 400 with the message)."""


@dataclass
class DashboardRequest:
    """What a builder gets: the period, the filters, the request and URL helpers."""

    request: HttpRequest
    period: Period
    filters: Filters
    today: dt.date
    currency: str
    #: Page-specific parameters the view declared (``params=("model",)``), as given.
    params: dict[str, str] = field(default_factory=dict)

    @property
    def user(self):
        return self.request.user

    @property
    def exporting(self) -> bool:
        """This request asks for a table export (drill pages then return every row)."""
        return "format" in self.request.GET

    def state(self, *, period: Period | None = None, **overrides) -> dict[str, str]:
        """The page state as URL parameters: period (this one or ``period``), filters and
        page parameters, with ``overrides`` applied (None or "" removes a parameter)."""
        query = {**(period or self.period).query(), **self.filters.query(), **self.params}
        for key, value in overrides.items():
            if value is None or value == "":
                query.pop(key, None)
            else:
                query[key] = str(value)
        return query

    def query(self, **overrides) -> str:
        return urlencode(self.state(**overrides))

    def url(self, name: str, *, period: Period | None = None, **params) -> str:
        """``reverse(name)`` with the page state (or another period) and ``params`` — for
        drill-down links and links between dashboards that keep the period and filters."""
        return f"{reverse(name)}?{urlencode(self.state(period=period, **params))}"

    def optional_url(self, name: str, **params) -> str:
        """:meth:`url`, or "" when no page has that name (yet) — for links to other pages."""
        try:
            return self.url(name, **params)
        except NoReverseMatch:
            return ""

    def period_url(self, period: Period) -> str:
        """This page for another period (filters kept)."""
        return self.url(self.request.resolver_match.view_name, period=period)


@dataclass
class Page:
    """What a builder returns. ``tables`` and the charts' tables are exportable by id."""

    title: str
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    context: dict = field(default_factory=dict)
    #: Filename stem of the exports (default: the title).
    export_stem: str = ""

    def table(self, table_id: str) -> Table | None:
        for table in [*self.tables, *(chart.table for chart in self.charts)]:
            if table.id == table_id:
                return table
        return None

    @property
    def tables_by_id(self) -> dict[str, Table]:
        return {t.id: t for t in [*self.tables, *(c.table for c in self.charts)]}

    @property
    def charts_by_id(self) -> dict[str, Chart]:
        return {c.id: c for c in self.charts}


Builder = Callable[[DashboardRequest], Page]


def url_or_empty(name: str) -> str:
    """``reverse(name)``, or "" when no page has that name (an admin page not installed)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def bad_request(
    request: HttpRequest, title: str, errors: list[str], retry_url: str = ""
) -> HttpResponse:
    """The 400 page naming each bad parameter, with a link to the page without them
    (``retry_url``, default: this path)."""
    return render(
        request,
        "dashboards/bad_request.html",
        {"title": title, "errors": errors, "retry_url": retry_url or request.path},
        status=400,
    )


def dashboard_request(
    request: HttpRequest,
    *,
    filters: Sequence[str] = (),
    params: Sequence[str] = (),
    default_period: str = YTD,
) -> DashboardRequest:
    """Parse the period, filters and page parameters (raises PeriodError / FilterError)."""
    today = timezone.localdate()
    period = period_from_params(request.GET, default=default_period, today=today)
    chosen = filters_from_params(request.GET, filters)
    extra = {
        name: str(request.GET[name]).strip()
        for name in params
        if str(request.GET.get(name, "")).strip()
    }
    return DashboardRequest(request, period, chosen, today, selectors.reporting_currency(), extra)


def _export_base(request: HttpRequest) -> str:
    query = request.GET.copy()
    for key in FRAMEWORK_PARAMS:
        query.pop(key, None)
    return query.urlencode()


def _neighbour_urls(dash: DashboardRequest) -> dict[str, str]:
    """Links to the previous and next period of the same kind (custom: previous only)."""
    period = dash.period
    if period.kind == YTD:
        year = period.start.year
        return {
            "prior_url": dash.period_url(Period(YTD, dt.date(year - 1, 1, 1), period.start)),
            "next_url": dash.period_url(Period(YTD, dt.date(year + 1, 1, 1), period.end))
            if year < dash.today.year
            else "",
        }
    if period.kind in (MONTH, QUARTER):
        return {
            "prior_url": dash.period_url(period.prior()),
            "next_url": dash.period_url(period.shifted(period.month_span)),
        }
    return {"prior_url": dash.period_url(period.prior()), "next_url": ""}


def dashboard_view(
    builder: Builder,
    *,
    template: str,
    title: str,
    filters: Sequence[str] = (),
    params: Sequence[str] = (),
    default_period: str = YTD,
) -> Callable[[HttpRequest], HttpResponse]:
    """A GET view for ``builder`` (see the module docstring)."""

    @require_GET
    @permission_required(PERMISSION, raise_exception=True)
    def view(request: HttpRequest) -> HttpResponse:
        try:
            dash = dashboard_request(
                request, filters=filters, params=params, default_period=default_period
            )
            page = builder(dash)
        except (PeriodError, FilterError, DashboardParamError) as exc:
            return bad_request(request, title, [str(exc)])
        fmt = request.GET.get("format")
        if fmt is not None or "table" in request.GET:
            table = page.table(request.GET.get("table", ""))
            errors = []
            if fmt not in exports.FORMATS:
                errors.append(f"format: {fmt!r} is not one of csv, xlsx.")
            if table is None or not table.exportable:
                names = ", ".join(sorted(page.tables_by_id)) or "none"
                errors.append(
                    f"table: {request.GET.get('table', '')!r} is not a table of this page "
                    f"(tables: {names})."
                )
            if errors:
                return bad_request(request, title, errors)
            return exports.table_export_response(table, fmt, stem=page.export_stem or title)
        base = _export_base(request)
        prefix = f"{request.path}?{base + '&' if base else ''}"
        for table in page.tables_by_id.values():
            table.csv_url = f"{prefix}table={table.id}&format=csv"
            table.xlsx_url = f"{prefix}table={table.id}&format=xlsx"
        return render(
            request,
            template,
            {
                "page": page,
                "dash": dash,
                "tables": page.tables_by_id,
                "charts": page.charts_by_id,
                "period_kinds": KINDS.items(),
                **_neighbour_urls(dash),
                **page.context,
            },
        )

    view.__name__ = getattr(builder, "__name__", "dashboard")
    view.__doc__ = builder.__doc__
    return view
