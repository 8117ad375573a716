from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports on the dashboards' figures as CSV, XLSX and PDF; packs, scheduled delivery
    and the archive of every generated file."""

    name = "reports"
