from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    """Source systems FinHub pulls from or receives pushes from."""

    name = "connectors"
