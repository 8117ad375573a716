from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """Cross-cutting pieces: roles, health, heartbeat, navigation, demo setup."""

    name = "finhub.core"
    label = "core"
    verbose_name = "FinHub core"

    def ready(self) -> None:
        from finhub.core.services import after_migrate

        # Permissions and schedules exist only after every app migrated, so roles and
        # periodic tasks are brought up to date then (idempotent).
        post_migrate.connect(after_migrate, sender=self)
