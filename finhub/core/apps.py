from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """Cross-cutting pieces: roles, health, heartbeat, navigation, demo setup."""

    name = "finhub.core"
    label = "core"
    verbose_name = "FinHub core"

    def ready(self) -> None:
        from finhub.core.services import after_migrate

        # post_migrate is sent once per app; permissions of every app exist only after
        # the last one, so the hook acts then (roles and schedules, idempotently).
        post_migrate.connect(after_migrate)
