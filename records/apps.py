from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RecordsConfig(AppConfig):
    """The canonical data of every source system and the one path that writes it."""

    name = "records"

    def ready(self):
        from records.currencies import currencies_ensure

        post_migrate.connect(currencies_ensure, sender=self)
