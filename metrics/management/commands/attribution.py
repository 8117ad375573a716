"""``manage.py attribution``: revenue attribution from CSV files (docs/metrics.md,
"Attribution command files").

Thin: reading and formatting live in :mod:`metrics.computations.attribution_files`, the models
in :mod:`metrics.computations.attribution`. Results go to stdout only; any input problem is a
one-line message on stderr and exit code 2.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from metrics.computations.attribution import (
    GROUP_BYS,
    MODELS,
    AttributionError,
    attribute,
    build_journeys,
    paused_gc,
)
from metrics.computations.attribution_files import (
    InputFileError,
    read_conversions,
    read_touchpoints,
    render_csv,
    render_json,
    report_rows,
)

USAGE_ERROR = 2
FORMATS = ("csv", "json")


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_ERROR)


def _days(value: str, option: str, *, positive: bool) -> timedelta:
    try:
        days = Decimal(value)
    except InvalidOperation:
        days = None
    if days is None or not days.is_finite() or days < 0 or (positive and days == 0):
        kind = "a positive" if positive else "a non-negative"
        raise _fail(f"{option} must be {kind} number of days, got {value!r}")
    return timedelta(microseconds=int(days * 86_400_000_000))


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
        "Attribute won-deal revenue to channels or campaigns from CSV files and print the "
        f"report. Models: {', '.join(MODELS)}."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--touchpoints",
            required=True,
            help="CSV with touchpoint_id,contact_id,occurred_at,channel,campaign",
        )
        parser.add_argument(
            "--conversions", required=True, help="CSV with deal_id,contact_id,converted_at,amount"
        )
        parser.add_argument("--model", required=True, help=f"one of: {', '.join(MODELS)}")
        parser.add_argument("--group-by", default="channel", help="channel (default) or campaign")
        parser.add_argument("--format", default="csv", help="csv (default) or json")
        parser.add_argument(
            "--lookback-days", default="90", help="eligibility lookback in days (default 90)"
        )
        parser.add_argument(
            "--half-life-days", default="7", help="time_decay half-life in days (default 7)"
        )

    def handle(self, *args, **options):
        model, group_by, output = options["model"], options["group_by"], options["format"]
        if model not in MODELS:
            raise _fail(f"unknown model {model!r}; use one of: {', '.join(MODELS)}")
        if group_by not in GROUP_BYS:
            raise _fail(f"unknown --group-by {group_by!r}; use one of: {', '.join(GROUP_BYS)}")
        if output not in FORMATS:
            raise _fail(f"unknown --format {output!r}; use one of: {', '.join(FORMATS)}")
        lookback = _days(str(options["lookback_days"]), "--lookback-days", positive=False)
        half_life = _days(str(options["half_life_days"]), "--half-life-days", positive=True)

        with paused_gc():
            touchpoints = _read(options["touchpoints"], read_touchpoints, "touchpoints")
            conversions = _read(options["conversions"], read_conversions, "conversions")
        try:
            journeys = build_journeys(touchpoints, conversions, lookback=lookback)
            result = attribute(journeys, model=model, group_by=group_by, half_life=half_life)
        except AttributionError as exc:
            raise _fail(str(exc)) from exc
        rows = report_rows(result)
        text = render_json(rows) if output == "json" else render_csv(rows)
        self.stdout.write(text, ending="")
