from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from finhub.core.lockouts import login_unlock


class Command(BaseCommand):
    help = (
        "Unlock a login locked after too many failed attempts, by username and/or client "
        "address; recorded in the admin's history under the administrator given by --by."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="", help="The username to unlock.")
        parser.add_argument("--ip", default="", help="The client address to unlock.")
        parser.add_argument(
            "--by", required=True, help="Your own admin username (recorded as who unlocked)."
        )

    def handle(self, *args: object, username: str, ip: str, by: str, **options: object) -> None:
        if not (username or ip):
            raise CommandError("Give --username, --ip or both.")
        actor = get_user_model().objects.filter(username=by, is_staff=True).first()
        if actor is None:
            raise CommandError(f"--by {by!r} is not a staff user.")
        cleared = login_unlock(actor=actor, username=username, ip_address=ip)
        self.stdout.write(self.style.SUCCESS(f"{cleared} failed-login record(s) cleared"))
