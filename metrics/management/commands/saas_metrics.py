"""``manage.py saas_metrics``: the monthly SaaS metrics table from CSV files (docs/metrics.md,
"SaaS metrics command files").

Thin: reading and formatting live in :mod:`metrics.computations.saas_files`, the metrics in
:mod:`metrics.computations.saas`. Results go to stdout only; any input problem is a one-line
message on stderr and exit code 2.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from metrics.computations.cac import DEFAULT_GROSS_MARGIN
from metrics.computations.saas import saas_row_format, saas_table
from metrics.computations.saas_files import (
    InputFileError,
    parse_gross_margin,
    read_acquisition,
    read_costs,
    read_events,
    render_csv,
    render_json,
)

USAGE_ERROR = 2
FORMATS = ("csv", "json")


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_ERROR)


def _read(path: str, reader, label: str):
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return reader(handle, path)
    except OSError as exc:
        raise _fail(f"cannot read {label} file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise _fail(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except InputFileError as exc:
        raise _fail(str(exc)) from exc


class Command(BaseCommand):
    # Pure file processing: no database, so no system or migration checks to wait on.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False
    help = (
        "Print the monthly SaaS metrics (MRR movements, customers, churn, NRR/GRR, ARPA, CAC, "
        "LTV, payback) computed from subscription events, acquisition channels and costs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--events", required=True, help="CSV with customer_id,effective_date,mrr_after,event"
        )
        parser.add_argument(
            "--acquisition", required=True, help="CSV with customer_id,acquired_month,channel"
        )
        parser.add_argument(
            "--costs", required=True, help="CSV with month,channel,sales_and_marketing_cost"
        )
        parser.add_argument(
            "--gross-margin",
            default=str(DEFAULT_GROSS_MARGIN),
            help=f"gross margin as a fraction (default {DEFAULT_GROSS_MARGIN})",
        )
        parser.add_argument(
            "--paid-channels", default="", help="comma-separated paid channels (default none)"
        )
        parser.add_argument("--format", default="csv", help="csv (default) or json")

    def handle(self, *args, **options):
        output = options["format"]
        if output not in FORMATS:
            raise _fail(f"unknown --format {output!r}; use one of: {', '.join(FORMATS)}")
        try:
            gross_margin = parse_gross_margin(str(options["gross_margin"]))
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        paid = [name.strip() for name in options["paid_channels"].split(",") if name.strip()]

        events = _read(options["events"], read_events, "events")
        acquisition = _read(options["acquisition"], read_acquisition, "acquisition")
        costs = _read(options["costs"], read_costs, "costs")
        rows = [
            saas_row_format(row)
            for row in saas_table(
                events=events,
                acquisition_channel=acquisition,
                cost_by_month_channel=costs,
                gross_margin=gross_margin,
                paid_channels=paid,
            )
        ]
        text = render_json(rows) if output == "json" else render_csv(rows)
        self.stdout.write(text, ending="")
