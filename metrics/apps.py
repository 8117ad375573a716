from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MetricsConfig(AppConfig):
    """The canonical financial data and the metrics computed from it."""

    name = "metrics"

    def ready(self):
        from metrics.currencies import currencies_ensure

        post_migrate.connect(currencies_ensure, sender=self)
