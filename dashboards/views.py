"""Dashboard pages (issue #7): thin views made by ``dashboard_view`` from page builders.

Every view needs login and ``core.view_dashboards`` (403 otherwise), reads the period and
filters from the URL (400 naming a bad value) and serves ``?table=<id>&format=csv|xlsx``
exports of each of its tables (dashboards/page.py). The builders are in dashboards/pages/.
The forecast page's form to dismiss a spend anomaly posts to :func:`anomaly_dismiss`.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dashboards.page import PERMISSION, dashboard_view
from dashboards.pages import cac, drill, executive, forecast, marketing, product, retention, sales
from metrics.anomalies import anomaly_dismiss as dismiss
from metrics.anomalies import anomaly_get

executive_dashboard = dashboard_view(
    executive.build,
    template="dashboards/executive.html",
    title="Executive dashboard",
    filters=("department",),
)

cac_dashboard = dashboard_view(
    cac.build,
    template="dashboards/cac.html",
    title="CAC monitoring",
    filters=("channel",),
)

gl_lines = dashboard_view(
    drill.gl_lines_build,
    template="dashboards/gl_lines.html",
    title="GL lines",
    filters=("department",),
    params=drill.GL_PARAMS,
)

marketing_dashboard = dashboard_view(
    marketing.build,
    template="dashboards/marketing.html",
    title="Marketing ROI",
    filters=("channel", "campaign"),
    params=marketing.PAGE_PARAMS,
)

marketing_drill = dashboard_view(
    marketing.drill_build,
    template="dashboards/marketing_drill.html",
    title="Campaign deals and touchpoints",
    params=marketing.DRILL_PARAMS,
)

sales_dashboard = dashboard_view(
    sales.build,
    template="dashboards/sales.html",
    title="Sales analytics",
    filters=("team",),
)

sales_deals = dashboard_view(
    sales.drill_build,
    template="dashboards/sales_deals.html",
    title="Sales deals",
    filters=("team",),
    params=sales.DRILL_PARAMS,
)

product_dashboard = dashboard_view(
    product.build,
    template="dashboards/product.html",
    title="Product ROI",
    params=product.PAGE_PARAMS,
)

product_records = dashboard_view(
    product.records_build,
    template="dashboards/product_records.html",
    title="Initiative records",
    params=product.RECORDS_PARAMS,
)

retention_dashboard = dashboard_view(
    retention.build,
    template="dashboards/retention.html",
    title="Retention & customer success",
    filters=("segment", "channel"),
)

retention_customers = dashboard_view(
    retention.customers_build,
    template="dashboards/retention_customers.html",
    title="Customers behind an MRR movement",
    filters=("segment", "channel"),
    params=retention.DRILL_PARAMS,
)

forecast_dashboard = dashboard_view(
    forecast.build,
    template="dashboards/forecast.html",
    title="Forecast",
    filters=("department",),
    params=forecast.PAGE_PARAMS,
)


@require_POST
@permission_required(PERMISSION, raise_exception=True)
@permission_required(forecast.DISMISS_PERMISSION, raise_exception=True)
def anomaly_dismiss(request: HttpRequest) -> HttpResponse:
    """Dismiss an open spend anomaly (``anomaly``: its id) with a ``reason`` (the forecast
    page's form), then go back to ``next`` with a message."""
    anomaly = anomaly_get(anomaly_id=request.POST.get("anomaly", ""))
    if anomaly is None:
        raise Http404("No such anomaly.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = reverse("dashboards:forecast")
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, f"Not dismissed: say why “{anomaly.label}” is no anomaly.")
    elif anomaly.status != "open":
        messages.info(request, f"“{anomaly.label}” was already dismissed.")
    else:
        dismiss(anomaly, user=request.user, reason=reason)
        messages.success(request, f"Dismissed “{anomaly.label}”.")
    return redirect(back)
