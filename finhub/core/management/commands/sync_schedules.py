from django.core.management.base import BaseCommand

from finhub.core.services import schedules_sync


class Command(BaseCommand):
    help = "Create the periodic tasks FinHub needs that are missing (edited ones are kept)."

    def handle(self, *args: object, **options: object) -> None:
        created = schedules_sync()
        for name in created:
            self.stdout.write(f"created schedule: {name}")
        self.stdout.write(self.style.SUCCESS(f"{len(created)} schedule(s) created"))
