from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alert rules on the figures FinHub already computes, their states, and notifications."""

    name = "alerts"
