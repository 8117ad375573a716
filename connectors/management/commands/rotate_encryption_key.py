from django.core.management.base import BaseCommand, CommandError

from connectors.key_rotation import RotationError, encrypted_fields_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret stored at rest with the first FINHUB_ENCRYPTION_KEY. Run it "
        "with NEW,OLD configured; once it succeeds, OLD can be removed (docs/operations.md)."
    )

    def handle(self, *args, **options):
        try:
            counts = encrypted_fields_rotate()
        except RotationError as exc:
            raise CommandError(f"{exc}. Nothing was changed.") from exc
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{sum(counts.values())} values re-encrypted."))
