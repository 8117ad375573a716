from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Server-rendered dashboards over the metrics engine's reports (no models of its own)."""

    name = "dashboards"
