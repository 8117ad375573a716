"""``manage.py close_open [--month YYYY-MM]``: open a month's close from the default template
(default: the last month that has ended). Idempotent: a month with a close is left alone."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from closing.services import close_open


def _month(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{value}-01")
    except ValueError:
        raise CommandError(f"--month: not a month (YYYY-MM): {value!r}") from None


class Command(BaseCommand):
    help = "Open a month's close from the default template (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--month", type=_month, help="The month to close, YYYY-MM (default: last month)."
        )

    def handle(self, *args, **options):
        try:
            close, opened = close_open(month=options["month"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        state = "opened" if opened else "already open"
        self.stdout.write(f"{close} {state} ({close.get_status_display().lower()}).")
