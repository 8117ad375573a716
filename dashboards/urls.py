"""Dashboard pages, mounted at /dashboards/ (finhub/urls.py) in the ``dashboards`` namespace.

The metrics API has its own un-namespaced routes (metrics/api.py); these are the
server-rendered pages. Add a page: a builder in dashboards/pages/<page>.py, a view in
dashboards/views.py, a path here.
"""

from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("executive/", views.executive_dashboard, name="executive"),
    path("cac/", views.cac_dashboard, name="cac"),
    path("drill/gl-lines/", views.gl_lines, name="gl_lines"),
    path("marketing/", views.marketing_dashboard, name="marketing"),
    path("drill/marketing/", views.marketing_drill, name="marketing_drill"),
    path("sales/", views.sales_dashboard, name="sales"),
    path("drill/deals/", views.sales_deals, name="sales_deals"),
    path("retention/", views.retention_dashboard, name="retention"),
    path("drill/retention-customers/", views.retention_customers, name="retention_customers"),
    path("product/", views.product_dashboard, name="product"),
    path("drill/initiative/", views.product_records, name="product_records"),
    path("forecast/", views.forecast_dashboard, name="forecast"),
    path("forecast/anomalies/dismiss/", views.anomaly_dismiss, name="forecast_dismiss"),
]
