"""``manage.py bench_dashboards``: server time and queries of every dashboard page at scale.

1. Generates the synthetic company with the one seeded generator
   (``connectors.sandbox.company.generate``; ``--scale 1`` = generator scale 50: about
   1,000,000 touchpoints and 1,000,000 GL lines over 24 months ending this month) and loads
   every entity under a connector ``bench-dashboards`` (``records.ingestion.bulk``: COPY on
   PostgreSQL). ``--reuse`` keeps the rows of an earlier ``--keep`` run instead.
2. Precomputes the snapshots the dashboards read (``metrics.snapshots.snapshots_warm``: what the
   nightly / after-sync run does) and prints how long that took.
3. For each page (executive, CAC, the GL-lines drill, and marketing / sales when they
   exist, each with and without a filter): one GET to store anything missing, one GET
   counting queries, then ``--requests`` GETs through Django's test client (the whole
   middleware, session, auth, permission, view and template stack) timing each. Prints
   p50 / p95 server time and queries per page.
4. Deletes the generated rows unless ``--keep``.

Run it on a dedicated database (``make bench-dashboards``; docs/benchmarks.md).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from connectors.models import Connector
from connectors.sandbox.company import ENTITY_ORDER, generate
from finhub.core.calendar import month_period
from metrics.models import MetricSnapshot
from metrics.snapshots import snapshots_warm
from records import models as m
from records.ingestion.bulk import records_bulk_load
from records.ingestion.entities import ENTITIES

SOURCE_NAME = "bench-dashboards"
COMPANY_SCALE = 50  # connectors/sandbox/company.py at 50: ~1M touchpoints, ~1M GL lines
USERNAME = "bench-dashboards"


class Command(BaseCommand):
    help = "Generate the company at benchmark scale and time every dashboard page."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1 = ~1M GL lines.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--requests", type=int, default=30, help="GETs per page.")
        self.rows_arguments(parser)
        parser.add_argument("--no-warm", action="store_true", help="Skip the snapshot warm-up.")

    # --- shared with the commands built on this one ------------------------------------------

    @staticmethod
    def rows_arguments(parser) -> None:
        parser.add_argument("--keep", action="store_true", help="Keep the generated rows.")
        parser.add_argument(
            "--reuse", action="store_true", help="Reuse the rows an earlier --keep run left."
        )

    def source_prepared(self, name: str, *, reuse: bool, generate) -> Connector:
        """Say which database and whether DEBUG distorts the times, then the connector of the
        generated rows: an earlier run's when ``reuse``, else fresh from ``generate()``."""
        self.stdout.write(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        if settings.DEBUG:
            self.stdout.write(
                "WARNING: DEBUG is on (query logging, debug templates): run with DEBUG=0 for "
                "representative times"
            )
        source = Connector.objects.filter(name=name).first()
        if source is not None and not reuse:
            self.stdout.write("deleting the rows of an earlier run")
            self._delete(source)
            source = None
        return source if source is not None else generate()

    @staticmethod
    def p50_p95(timings: list[float]) -> tuple[float, float]:
        """Median and 95th percentile (nearest rank) of the timings."""
        ordered = sorted(timings)
        return ordered[len(ordered) // 2], ordered[max(0, round(len(ordered) * 0.95) - 1)]

    def pages_resolved(self, pages: list[tuple[str, str, dict]]) -> list[tuple[str, str, dict]]:
        """(label, URL name, query) → (label, path, query without None values); a page this
        checkout does not have is skipped and said."""
        out = []
        for label, name, query in pages:
            try:
                url = reverse(name)
            except NoReverseMatch:
                self.stdout.write(f"  (skipped {label}: no page named {name})")
                continue
            out.append((label, url, {k: v for k, v in query.items() if v is not None}))
        return out

    def handle(self, *args, **opts):
        source = self.source_prepared(
            SOURCE_NAME,
            reuse=opts["reuse"],
            generate=lambda: self._generate(opts["scale"], opts["seed"]),
        )
        counts = {
            "GL lines": m.GLLine.objects.count(),
            "touchpoints": m.Touchpoint.objects.count(),
            "deals": m.Deal.objects.count(),
            "budget lines": m.BudgetLine.objects.count(),
        }
        self.stdout.write("in the database: " + ", ".join(f"{n:,} {k}" for k, n in counts.items()))
        try:
            if not opts["no_warm"]:
                started = time.perf_counter()
                summary = snapshots_warm()
                self.stdout.write(
                    f"snapshots warmed: {summary['snapshots']} for {summary['periods']} periods "
                    f"in {time.perf_counter() - started:.1f} s (nightly / after-sync work, "
                    "not page time)"
                )
            self._bench(opts["requests"])
        finally:
            if not opts["keep"]:
                self._delete(source)
                self.stdout.write("generated rows deleted (use --keep to keep them)")

    def _generate(self, scale: float, seed: int) -> Connector:
        source = Connector.objects.create(name=SOURCE_NAME, kind=Connector.Kind.ERP)
        started = time.perf_counter()
        company = generate(seed=seed, scale=COMPANY_SCALE * scale)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        counts = records_bulk_load(company.entities, source=source)
        self.stdout.write(
            f"generated (seed {seed}, generator scale {COMPANY_SCALE * scale:g}, "
            f"{company.start_month:%b %Y}..{company.end_month:%b %Y}) in {generated:.1f} s, "
            f"loaded in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{n:,} {entity}" for entity, n in counts.items() if n)
        )
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE")
        return source

    def pages(self) -> list[tuple[str, str, dict]]:
        """(label, url name, query) of every page to time."""
        today = timezone.localdate()
        last_month = month_period(today).prior().query()
        sales = m.Department.objects.filter(name="Sales").values_list("id", flat=True).first()
        paid = m.Channel.objects.filter(is_paid=True).values_list("id", flat=True).first()
        team = m.SalesTeam.objects.values_list("id", flat=True).first()
        pages = [
            ("executive (YTD)", "dashboards:executive", {}),
            ("executive (last month)", "dashboards:executive", last_month),
            ("executive (YTD, Sales dept)", "dashboards:executive", {"department": sales}),
            ("cac (YTD)", "dashboards:cac", {}),
            ("cac (YTD, paid channel)", "dashboards:cac", {"channel": paid}),
            (
                "gl-lines drill (last month revenue)",
                "dashboards:gl_lines",
                {**last_month, "type": "revenue"},
            ),
            (
                "gl-lines drill (YTD, Sales expenses)",
                "dashboards:gl_lines",
                {"department": sales, "type": "expenses"},
            ),
            ("marketing (YTD)", "dashboards:marketing", {}),
            ("marketing (YTD, paid channel)", "dashboards:marketing", {"channel": paid}),
            ("sales (YTD)", "dashboards:sales", {}),
            ("sales (YTD, team)", "dashboards:sales", {"team": team}),
        ]
        return self.pages_resolved(pages)

    def _bench(self, requests: int) -> None:
        user, _ = get_user_model().objects.get_or_create(
            username=USERNAME, defaults={"is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        rows = []
        try:
            for label, url, query in self.pages():
                started = time.perf_counter()
                first = client.get(url, query)
                first_ms = (time.perf_counter() - started) * 1000
                if first.status_code != 200:
                    raise RuntimeError(f"{label}: HTTP {first.status_code}")
                reset_queries()  # the log is a bounded deque: start it empty
                with CaptureQueriesContext(connection) as ctx:
                    client.get(url, query)
                queries = len(ctx.captured_queries)  # now: the next request clears the log
                timings = []
                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.get(url, query)
                    timings.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise RuntimeError(f"{label}: HTTP {response.status_code}")
                p50, p95 = self.p50_p95(timings)
                rows.append((label, p50, p95, queries, first_ms))
        finally:
            user.delete()
        self.stdout.write(
            f"\n{'page':<40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'1st GET ms':>11}"
        )
        for label, p50, p95, queries, first_ms in rows:
            flag = "" if p95 <= 300 and queries <= 15 else "  <-- over target"
            self.stdout.write(
                f"{label:<40} {p50:8.1f} {p95:8.1f} {queries:8d} {first_ms:11.1f}{flag}"
            )
        self.stdout.write(
            f"({requests} GETs per page through the Django test client; target p95 <= 300 ms, "
            "<= 15 queries)"
        )

    def _delete(self, source: Connector) -> None:
        """Delete the connector's rows: raw DELETEs with FK triggers off on PostgreSQL (only
        this run's rows reference them), the ORM elsewhere; then every snapshot."""
        models = [ENTITIES[entity].model for entity in reversed(ENTITY_ORDER)]
        with transaction.atomic():
            done = False
            if connection.vendor == "postgresql":
                try:
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute("SET LOCAL session_replication_role = replica")
                        for model in models:
                            table = connection.ops.quote_name(model._meta.db_table)
                            cursor.execute(
                                f"DELETE FROM {table} WHERE source_id = %s",  # noqa: S608
                                [source.pk],
                            )
                    done = True
                except DatabaseError:
                    done = False
            if not done:
                for model in models:
                    model.all_objects.filter(source=source).delete()
            MetricSnapshot.objects.all().delete()
            source.delete()
