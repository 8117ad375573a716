import os

from django.core.management.base import BaseCommand, CommandError, CommandParser

from finhub.core.services import DEMO_PASSWORD_DEFAULT, DEMO_USERS, demo_users_ensure


class Command(BaseCommand):
    help = "Load FinHub's demo data and demo logins (idempotent: re-running adds nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load demo logins even with DJANGO_ENV=production (not recommended).",
        )

    def handle(self, *args: object, allow_production: bool = False, **options: object) -> None:
        from django.conf import settings

        if settings.IS_PRODUCTION and not allow_production:
            raise CommandError("refusing to create demo logins in production")
        password = os.environ.get("FINHUB_DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)
        users = demo_users_ensure(password=password)
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for new ones: {password})"))
        for username, role in users:
            self.stdout.write(f"  {username:<14} {role}")

        from django.contrib.auth import get_user_model

        from finhub.core.roles import PROJECT_MANAGER
        from roadmap.services import programme_load, programme_preparation_done, programme_totals

        # Each role's demo login owns the programme rows of that role.
        by_name = get_user_model().objects.in_bulk(
            [name for name, role, _full in DEMO_USERS if role], field_name="username"
        )
        owners = {role: by_name[name] for name, role, _full in DEMO_USERS if role}
        loaded = programme_load(owners=owners)
        if loaded.created["programme"]:
            # Week 1 started weeks ago: its preparation was done before it, by the PM.
            programme_preparation_done(programme=loaded.programme, user=owners[PROJECT_MANAGER])
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

        from overview.evidence import roadmap_evidence_refresh

        # Until the first syncs and recomputes ran, phase 1's evidence reads "not verified
        # yet"; the periodic check (every two minutes) verifies it once they have.
        evidence = roadmap_evidence_refresh()
        self.stdout.write(
            f"Roadmap evidence: {evidence.verified} of {evidence.checked} items verified "
            "(checked again every two minutes)"
        )

        # The month-end close of last month, from the default template: its automated tasks
        # run on the worker after the first syncs (by name: closing is a higher layer).
        from django.core.management import call_command

        try:
            call_command("close_open", stdout=self.stdout)
        except CommandError as exc:
            self.stdout.write(self.style.WARNING(f"Month-end close not opened: {exc}"))

    def _demo_connectors(self, base_url: str) -> None:
        """One connector per sandbox system; the demo's finance data arrives through their
        syncs (run by the worker), not from a loader. A first sync is queued only for a
        connector that never had a run, so re-running queues nothing twice."""
        from connectors.demo import (
            demo_connectors_ensure,
            demo_manual_connector_ensure,
            demo_syncs_request,
        )

        demo = demo_connectors_ensure(base_url=base_url)
        runs = {run.connector_id: run for run in demo_syncs_request([d.connector for d in demo])}
        self.stdout.write(self.style.SUCCESS(f"Demo connectors reading the sandbox at {base_url}"))
        for item in demo:
            run = runs.get(item.connector.pk)
            sync = f"first sync queued (run #{run.pk})" if run else "already synced or queued"
            state = "new" if item.created else "exists"
            self.stdout.write(f"  {item.connector.name:<30} {state:<7} {sync}")
        manual, created = demo_manual_connector_ensure(demo=[d.connector for d in demo])
        self.stdout.write(
            f"  {manual.name:<30} {'new' if created else 'exists':<7} push only: make it an API "
            "token in the admin for the README's push example"
        )
