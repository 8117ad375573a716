from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """How FinHub itself is doing: request timing per endpoint (the scorecard's response
    time) and the reliability of the source systems' APIs, on the /operations/ page. It sits
    beside the overview, above the apps it reads; nothing imports it (settings name its
    middleware)."""

    name = "operations"
