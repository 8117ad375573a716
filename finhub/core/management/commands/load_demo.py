import os

from django.core.management.base import BaseCommand, CommandError

from finhub.core.services import DEMO_PASSWORD_DEFAULT, demo_users_ensure


class Command(BaseCommand):
    help = "Load FinHub's demo data and demo logins (idempotent: re-running adds nothing)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load demo logins even with DJANGO_ENV=production (not recommended).",
        )

    def handle(self, *args, allow_production: bool = False, **options):
        from django.conf import settings

        if settings.IS_PRODUCTION and not allow_production:
            raise CommandError("refusing to create demo logins in production")
        password = os.environ.get("FINHUB_DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)
        users = demo_users_ensure(password=password)
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for new ones: {password})"))
        for username, role in users:
            self.stdout.write(f"  {username:<14} {role}")

        from roadmap.services import programme_load, programme_totals

        loaded = programme_load()
        totals = programme_totals(programme=loaded.programme)
        self.stdout.write(
            self.style.SUCCESS(
                f"Roadmap: {loaded.programme.name}, week 1 starts "
                f"{loaded.programme.start_date:%a %d %b %Y}"
            )
        )
        for kind, total in totals.items():
            self.stdout.write(f"  {kind:<16} {total:>3} ({loaded.created[kind]} new)")
