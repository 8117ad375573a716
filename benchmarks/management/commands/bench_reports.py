"""``manage.py bench_reports``: build and render the 10-report pack at benchmark scale.

1. Generates the synthetic company with ``bench_dashboards``' generator (the one seeded
   generator, ``connectors.sandbox.company.generate``; ``--scale 1`` = about 1,000,000 GL
   lines and 1,000,000 touchpoints over 24 months ending this month) under its connector;
   ``--reuse`` keeps the rows of an earlier ``--keep`` run (of this or ``bench_dashboards``).
2. Recomputes every figure as the close's "recompute" task does before it delivers the pack
   (``closing.actions.figures_recompute``: metric snapshots, the dashboards' periods, the
   forecasts); prints how long that took.
3. Builds every report of ``reports.definitions.REPORTS`` for the last month (each one
   timed: the dashboards' builders on the stored snapshots), renders each alone to PDF and
   XLSX (timed, to show which report costs what), then renders the whole pack as one PDF and
   one XLSX workbook (timed: the month-end pack's real work).
4. Prints seconds per report and the total (builds + pack PDF + pack XLSX); exits non-zero
   above ``--limit`` (20 s). Deletes the generated rows unless ``--keep``.

Run it on a dedicated PostgreSQL database (``make bench-reports``; docs/benchmarks.md).
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils import timezone

from benchmarks.management.commands import bench_dashboards
from closing.actions import figures_recompute
from finhub.core.calendar import last_closed_month, month_period
from records import models as m
from reports.building import report_build, report_params_for
from reports.definitions import REPORTS
from reports.rendering import render

USERNAME = "bench-reports"
LIMIT_S = 20.0


class Command(bench_dashboards.Command):
    help = "Build and render the 10-report pack (PDF + XLSX) at benchmark scale; <= 20 s."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1 = ~1M GL lines.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--limit", type=float, default=LIMIT_S, help="Seconds allowed.")
        self.rows_arguments(parser)
        parser.add_argument(
            "--no-warm",
            action="store_true",
            help="Skip the recompute (use stored figures).",
        )

    def handle(self, *args, **opts):
        source = self.source_prepared(
            bench_dashboards.SOURCE_NAME,
            reuse=opts["reuse"],
            generate=lambda: self._generate(opts["scale"], opts["seed"]),
        )
        self.stdout.write(
            f"in the database: {m.GLLine.objects.count():,} GL lines, "
            f"{m.Touchpoint.objects.count():,} touchpoints, {m.Deal.objects.count():,} deals"
        )
        try:
            if not opts["no_warm"]:
                started = time.perf_counter()
                # What the close's "recompute" task runs before it delivers the pack.
                computed, warmed, forecast = figures_recompute()
                self.stdout.write(
                    f"figures recomputed as a close does: {computed.get('snapshots')} metric "
                    f"snapshots, {warmed['snapshots']} dashboard snapshots for "
                    f"{warmed['periods']} periods, forecast "
                    f"{'computed' if forecast.get('computed') else 'already current'}, in "
                    f"{time.perf_counter() - started:.1f} s (close work, not report time)"
                )
            total = self._bench_pack()
        finally:
            if not opts["keep"]:
                self._delete(source)
                self.stdout.write("generated rows deleted (use --keep to keep them)")
        if total > opts["limit"]:
            raise CommandError(f"the pack took {total:.1f} s, over the {opts['limit']:g} s limit")

    def _bench_pack(self) -> float:
        user, _ = get_user_model().objects.get_or_create(
            username=USERNAME, defaults={"is_superuser": True}
        )
        period = month_period(last_closed_month(timezone.localdate()))
        rows, built = [], []
        meta = {"title": "Month-end pack", "generated_by": USERNAME}
        try:
            for key in REPORTS:
                started = time.perf_counter()
                params = report_params_for(key=key, period=period, values={})
                report = report_build(key=key, params=params, user=user)
                build_s = time.perf_counter() - started
                built.append(report)
                times = []
                for fmt in ("pdf", "xlsx"):
                    started = time.perf_counter()
                    render([report], fmt=fmt, generated_at=timezone.now(), **meta)
                    times.append(time.perf_counter() - started)
                rows.append((key, build_s, *times))
            pack = {}
            for fmt in ("pdf", "xlsx"):
                started = time.perf_counter()
                content = render(built, fmt=fmt, generated_at=timezone.now(), **meta)
                pack[fmt] = (time.perf_counter() - started, len(content))
        finally:
            user.delete()
        self.stdout.write(f"\nperiod: {period.label}")
        self.stdout.write(f"{'report':<26} {'build s':>8} {'PDF s':>8} {'XLSX s':>8}")
        for key, build_s, pdf_s, xlsx_s in rows:
            self.stdout.write(f"{key:<26} {build_s:8.2f} {pdf_s:8.2f} {xlsx_s:8.2f}")
        builds = sum(row[1] for row in rows)
        total = builds + pack["pdf"][0] + pack["xlsx"][0]
        self.stdout.write(
            f"pack PDF: {pack['pdf'][0]:.2f} s ({pack['pdf'][1]:,} bytes); "
            f"pack XLSX: {pack['xlsx'][0]:.2f} s ({pack['xlsx'][1]:,} bytes)"
        )
        self.stdout.write(
            f"total (10 builds {builds:.2f} s + pack PDF + pack XLSX): {total:.2f} s "
            f"(target <= {LIMIT_S:g} s)"
        )
        return total
