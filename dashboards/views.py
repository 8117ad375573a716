"""Dashboard pages (issue #7): thin views made by ``dashboard_view`` from page builders.

Every view needs login and ``core.view_dashboards`` (403 otherwise), reads the period and
filters from the URL (400 naming a bad value) and serves ``?table=<id>&format=csv|xlsx``
exports of each of its tables (dashboards/page.py). The builders are in dashboards/pages/.
"""

from dashboards.page import dashboard_view
from dashboards.pages import cac, drill, executive, marketing, product, retention, sales

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
