from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """The canonical financial data and the metrics computed from it."""

    name = "metrics"
