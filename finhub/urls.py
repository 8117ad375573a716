from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from finhub.core import views as core_views
from overview import views as overview_views

api_v1 = [
    path("", include("connectors.api")),
    path("", include("records.api")),
    path("", include("metrics.api")),
    path("", include("roadmap.api")),
]

urlpatterns = [
    path("", overview_views.home, name="home"),
    path("docs/metrics/", core_views.metrics_docs, name="docs-metrics"),
    path("healthz", core_views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links: send them to the SVG.
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("readyz", core_views.readyz, name="readyz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("alerts/", include("alerts.urls")),
    path("close/", include("closing.urls")),
    path("connectors/", include("connectors.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("reports/", include("reports.urls")),
    path("roadmap/", include("roadmap.urls")),
    path("operations/", include("operations.urls")),
]
