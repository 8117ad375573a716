from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from records.ingestion.services import pending_references_resolve


class Command(BaseCommand):
    help = (
        "Resolve every pending reference whose target record exists (e.g. a GL line naming "
        "an account that arrived in a concurrent request), and report what was fixed per "
        "entity and field."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be fixed; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = bool(options["dry_run"])
        fixed = pending_references_resolve(dry_run=dry_run)
        verb = "would resolve" if dry_run else "resolved"
        for (entity, field), count in sorted(fixed.items()):
            self.stdout.write(f"{entity}.{field}: {verb} {count}")
        total = sum(fixed.values())
        self.stdout.write(
            self.style.SUCCESS(f"{total} pending reference(s) {verb}")
            if total or dry_run
            else self.style.SUCCESS("No pending reference has an existing target.")
        )
