from django.apps import AppConfig


class ClosingConfig(AppConfig):
    """The month-end close: tasks from a template, the automated ones run by Celery, the
    period lock, the close timeline and the reporting-time measurement."""

    name = "closing"
