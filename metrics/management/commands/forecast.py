"""``manage.py forecast``: compute the forecast and backtest now (docs/metrics.md, "Forecasts
and prediction accuracy").

Without options it does what the nightly task does: recompute the current fiscal year's
forecast when it is outdated (``--force``: always) and push the prediction accuracy to the
scorecard. ``--fiscal-year`` and ``--budget`` compute another year or budget version (the
nightly run only keeps the current ones up to date). Uses FINHUB_FORECAST_PROCESSES processes.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from metrics.forecasts import forecast_compute, forecasts_refresh
from metrics.reports.forecast import model_mix
from records.models import Budget


class Command(BaseCommand):
    help = "Compute the forecast of actuals and budget variance, with its backtested accuracy."

    def add_arguments(self, parser):
        parser.add_argument("--fiscal-year", type=int, help="Fiscal (calendar) year to forecast.")
        parser.add_argument(
            "--budget", type=int, help="Budget version id to compare with (default: current)."
        )
        parser.add_argument(
            "--force", action="store_true", help="Recompute even when nothing changed."
        )

    def handle(self, *args, **opts):
        year, budget = opts["fiscal_year"], opts["budget"]
        if year is None and budget is None:
            summary = forecasts_refresh(force=opts["force"])
            if not summary["computed"]:
                self.stdout.write(f"FY{summary['fiscal_year']}: the stored forecast is current")
                return
            self.stdout.write(
                f"FY{summary['fiscal_year']}: {summary['series']} series in "
                f"{summary['seconds']} s ({summary['why']}); scorecard "
                f"{'updated' if summary['accuracy_pushed'] else 'not updated (no accuracy)'}"
            )
            return
        if budget is not None:
            version = Budget.objects.filter(pk=budget).first()
            if version is None:
                raise CommandError(f"--budget {budget}: no budget version with that id")
            if year is not None and version.fiscal_year != year:
                raise CommandError(
                    f"--budget {budget} is a FY{version.fiscal_year} version, not FY{year}"
                )
            year = version.fiscal_year
        if not 1900 <= year <= 9999:
            raise CommandError(f"--fiscal-year {year}: not a year")
        started = time.perf_counter()
        result = forecast_compute(fiscal_year=year, budget=budget).result
        accuracy = result.get("accuracy", {})
        mix = ", ".join(f"{model} {count}" for model, count in model_mix(accuracy)) or "none"
        self.stdout.write(
            f"FY{year}: {result.get('series_count', 0)} series in "
            f"{time.perf_counter() - started:.1f} s; origin {result.get('origin')}; "
            f"accuracy (h=1) {accuracy.get('scorecard_accuracy_percent', 'undefined')}%; "
            f"models: {mix}"
        )
