"""``manage.py compute_metrics``: recompute the metric snapshots now (thin: calls a service).

Defaults: every attribution model, the last 12 full months plus the current month. The same
run pushes the scorecard measurements (revenue attribution accuracy, campaign ROI tracking
capability, sales-finance consistency) unless ``--no-measurements``.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from metrics.computations.attribution import MODELS
from metrics.params import MetricsError
from metrics.services import metrics_compute_all


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = "Recompute attribution, campaign ROI, CAC, sales and budget-variance snapshots."

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            action="append",
            choices=MODELS,
            help="Attribution model (repeatable). Default: all.",
        )
        parser.add_argument("--start", type=_date, help="First day (default: 12 months ago, 1st).")
        parser.add_argument("--end", type=_date, help="Last day, inclusive (default: today).")
        parser.add_argument("--lookback-days", type=int, default=90)
        parser.add_argument("--half-life-days", type=int, default=7)
        parser.add_argument(
            "--no-measurements",
            action="store_true",
            help="Do not push the success-metric measurements to the roadmap scorecard.",
        )

    def handle(self, *args, **options):
        if (options["start"] is None) != (options["end"] is None):
            raise CommandError("give both --start and --end, or neither")
        try:
            summary = metrics_compute_all(
                models=options["model"] or MODELS,
                start=options["start"],
                end=options["end"],
                lookback_days=options["lookback_days"],
                half_life_days=options["half_life_days"],
                push_measurements=not options["no_measurements"],
            )
        except MetricsError as exc:
            raise CommandError(str(exc)) from None
        for key, value in summary.items():
            self.stdout.write(f"{key}: {value}")
