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

        self._demo_connectors(settings.FINHUB_SANDBOX_URL)

    def _demo_connectors(self, base_url: str) -> None:
        """One connector per sandbox system; the demo's finance data arrives through their
        syncs (run by the worker), not from a loader. A first sync is queued only for a
        connector that never had a run, so re-running queues nothing twice."""
        from connectors.demo import demo_connectors_ensure, demo_syncs_request

        demo = demo_connectors_ensure(base_url=base_url)
        runs = {run.connector_id: run for run in demo_syncs_request([d.connector for d in demo])}
        self.stdout.write(self.style.SUCCESS(f"Demo connectors reading the sandbox at {base_url}"))
        for item in demo:
            run = runs.get(item.connector.pk)
            sync = f"first sync queued (run #{run.pk})" if run else "already synced or queued"
            state = "new" if item.created else "exists"
            self.stdout.write(f"  {item.connector.name:<30} {state:<7} {sync}")
