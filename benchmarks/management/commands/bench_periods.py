"""``manage.py bench_periods``: server time of every dashboard for custom periods that have no
stored snapshot (a first visit), at benchmark scale.

1. The rows of ``bench_dashboards`` (the one seeded generator at ``--scale 1``: about
   1,000,000 GL lines and 1,000,000 touchpoints over 24 months; ``--reuse`` keeps an earlier
   ``--keep`` run's rows instead of generating them).
2. Runs what the generated rows' sync triggers, the after-sync recompute
   (``metrics.incremental.metrics_recompute_changed``; not timed): the ledger pre-aggregates
   of the months not built yet, the snapshots of the standard periods and the whole-history
   reports custom periods are cut from (``metrics.period_cuts``), after which no change
   waits. ``--no-warm`` only builds the pre-aggregates.
3. For each dashboard page (executive, CAC, marketing, sales, retention, product, forecast):
   ``--requests`` GETs, each for a different custom period drawn (seeded) inside the
   generated data — a start day and a length of 7 to 366 days — after deleting every
   snapshot stored since the warm-up (what the earlier GETs computed). So each GET makes
   what the page shows for a period nobody chose before — computed, or cut from the
   whole-history reports — as its first visitor would wait;
   ``--strict`` deletes every stored snapshot instead (forecasts apart: the forecast task
   computes those, never a page view), standard months included.
4. Prints p50 / p95 server time per page against the target: 500 ms, 2 s for the
   attribution-based marketing page.

Run it on a dedicated database (``make bench-periods``; docs/benchmarks.md).
"""

from __future__ import annotations

import datetime as dt
import random
import time

from django.contrib.auth import get_user_model
from django.db.models import Max, Min
from django.test import Client
from django.utils import timezone

from benchmarks.management.commands import bench_dashboards
from metrics.incremental import metrics_recompute_changed
from metrics.ledger_aggregates import ledger_aggregates_refresh
from metrics.models import MetricSnapshot
from records import models as m

USERNAME = "bench-periods"
TARGET_MS = 500
#: Pages whose figures are attribution models over the period's journeys.
ATTRIBUTION_TARGET_MS = 2000
ATTRIBUTION_PAGES = ("marketing",)
PAGES = (
    ("executive", "dashboards:executive"),
    ("cac", "dashboards:cac"),
    ("marketing", "dashboards:marketing"),
    ("sales", "dashboards:sales"),
    ("retention", "dashboards:retention"),
    ("product", "dashboards:product"),
    ("forecast", "dashboards:forecast"),
)


def custom_periods(
    first: dt.date, last: dt.date, count: int, *, seed: int
) -> list[tuple[dt.date, dt.date]]:
    """``count`` distinct custom periods inside ``first``…``last``: a random start and a
    length of 7 to 366 days (shorter at the end of the data)."""
    rng = random.Random(seed)
    span = (last - first).days
    periods: set[tuple[dt.date, dt.date]] = set()
    while len(periods) < count:
        start = first + dt.timedelta(days=rng.randrange(0, max(1, span - 7)))
        end = min(last, start + dt.timedelta(days=rng.randint(7, 366) - 1))
        periods.add((start, end))
    return sorted(periods, key=lambda period: rng.random())


class Command(bench_dashboards.Command):
    help = "Time every dashboard for custom periods without a stored snapshot."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1 = ~1M GL lines.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--requests", type=int, default=20, help="Periods per page.")
        parser.add_argument("--pages", default="", help="Comma-separated page labels (all).")
        parser.add_argument("--no-warm", action="store_true", help="Skip the snapshot warm-up.")
        parser.add_argument(
            "--strict", action="store_true", help="Delete every stored snapshot before each GET."
        )
        self.rows_arguments(parser)

    def handle(self, *args, **opts):
        source = self.source_prepared(
            bench_dashboards.SOURCE_NAME,
            reuse=opts["reuse"],
            generate=lambda: self._generate(opts["scale"], opts["seed"]),
        )
        try:
            bounds = m.GLLine.objects.aggregate(first=Min("posting_date"), last=Max("posting_date"))
            first, last = bounds["first"], bounds["last"]
            self.stdout.write(
                f"data: {m.GLLine.objects.count():,} GL lines, {m.Touchpoint.objects.count():,} "
                f"touchpoints, {first}..{last}"
            )
            started = time.perf_counter()
            built = ledger_aggregates_refresh()
            self.stdout.write(
                f"ledger pre-aggregates: {built['months']} month(s) built in "
                f"{time.perf_counter() - started:.1f} s (after-sync / nightly work, not page time)"
            )
            if not opts["no_warm"] and not opts["strict"]:
                started = time.perf_counter()
                summary = metrics_recompute_changed()
                self.stdout.write(
                    f"after-sync recompute: {summary['recomputed']} stored and "
                    f"{summary['missing_computed']} missing snapshots in "
                    f"{time.perf_counter() - started:.1f} s (what a sync triggers, not page time)"
                )
            chosen = {label for label in opts["pages"].split(",") if label}
            pages = [(label, name) for label, name in PAGES if not chosen or label in chosen]
            self._bench_periods(
                pages, first, last, opts["requests"], opts["seed"], strict=opts["strict"]
            )
        finally:
            if not opts["keep"]:
                self._delete(source)
                self.stdout.write("generated rows deleted (use --keep to keep them)")

    def _bench_periods(self, pages, first, last, requests: int, seed: int, *, strict: bool) -> None:
        kept = timezone.now()  # snapshots computed before this stay (strict: none do)
        user, _ = get_user_model().objects.get_or_create(
            username=USERNAME, defaults={"is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        rows = []
        try:
            for label, url, _query in self.pages_resolved([(lb, n, {}) for lb, n in pages]):
                timings = []
                for start, end in custom_periods(first, last, requests, seed=seed):
                    stored = MetricSnapshot.objects.exclude(kind=MetricSnapshot.Kind.FORECAST)
                    (stored if strict else stored.filter(computed_at__gte=kept)).delete()
                    query = {"period": "custom", "from": start.isoformat(), "to": end.isoformat()}
                    started = time.perf_counter()
                    response = client.get(url, query)
                    timings.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise RuntimeError(f"{label} {start}..{end}: HTTP {response.status_code}")
                p50, p95 = self.p50_p95(timings)
                target = ATTRIBUTION_TARGET_MS if label in ATTRIBUTION_PAGES else TARGET_MS
                rows.append((label, p50, p95, max(timings), target))
                self.stdout.write(f"  {label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms")
        finally:
            user.delete()
        self.stdout.write(
            f"\n{'page (custom period, no snapshot)':<36} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'max ms':>8} {'target':>8}"
        )
        for label, p50, p95, worst, target in rows:
            flag = "" if p95 <= target else "  <-- over target"
            self.stdout.write(f"{label:<36} {p50:8.0f} {p95:8.0f} {worst:8.0f} {target:8d}{flag}")
        self.stdout.write(
            f"({requests} distinct custom periods per page; before each GET every snapshot "
            + ("deleted" if strict else "stored since the warm-up deleted")
            + "; Django test client, full middleware/auth/view/template stack)"
        )
