"""``manage.py bench_forecast``: the forecast of every series, its backtest and its pages at scale.

1. Generates, under a connector ``bench-forecast`` (``--scale 1``): 25 departments x 20
   accounts = 500 (account, department) series, each with a current budget for every month of
   this fiscal year and 3 GL lines per month over the 36 months ending last month. Each series
   has its own level, linear trend, yearly seasonality and noise; a few are sparse, start
   late (too short for ETS) or have no ledger lines at all (so the fallbacks occur), a few are
   in a non-reporting currency (with daily FX rates), and a few have lines that arrived one or
   two months after their posting month (``created_at``; the backtest must not see them
   early). Amounts are exact cents (integer arithmetic on cents; floats only draw the
   percentage factors); rows go in with ``bulk_create``; seeded and deterministic.
   ``--reuse`` keeps the rows of an earlier ``--keep`` run.
2. Times the forecast end to end as the background task runs it
   (``metrics.forecasts.forecast_compute`` for this fiscal year with
   ``FINHUB_FORECAST_PROCESSES = --processes``: read, fit, backtest, store). Target ≤ 60 s.
3. Times the Forecast page (company, one department) and the forecast API (all groups, one
   department, the accuracy) with ``bench_dashboards``' method: one GET, one GET counting
   queries, then ``--requests`` timed GETs through the whole Django stack. Target: p95
   ≤ 300 ms and ≤ 15 queries.
4. Prints PASS / FAIL per target and the command that reproduces the run, deletes the rows
   unless ``--keep``, and exits non-zero when a target failed.

Run it on a dedicated PostgreSQL database (``make bench-forecast``; docs/benchmarks.md).
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import math
import os
import random
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from unittest import mock

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError, OutputWrapper
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from benchmarks.management.commands import bench_dashboards
from connectors.models import Connector
from finhub.core.calendar import add_months, last_closed_month
from metrics.forecasts import forecast_compute
from metrics.models import MetricSnapshot
from metrics.reports.forecast import model_mix
from records import models as m

SOURCE_NAME = "bench-forecast"
DEPARTMENTS = 25
MONTHS = 36
LINES_PER_MONTH = 3
BATCH = 5_000
#: code, name, type, (low, high) monthly level in whole currency units.
ACCOUNTS = (
    ("4000", "Subscription revenue", "revenue", (40_000, 250_000)),
    ("4100", "Services revenue", "revenue", (5_000, 60_000)),
    ("4200", "Licence revenue", "revenue", (10_000, 90_000)),
    ("5000", "Hosting", "cost_of_sales", (4_000, 40_000)),
    ("5100", "Payment fees", "cost_of_sales", (1_000, 8_000)),
    ("6000", "Salaries", "expense", (30_000, 180_000)),
    ("6050", "Payroll taxes and benefits", "expense", (6_000, 40_000)),
    ("6100", "Contractors", "expense", (2_000, 30_000)),
    ("6150", "Rent", "expense", (3_000, 25_000)),
    ("6200", "Software subscriptions", "expense", (1_000, 15_000)),
    ("6250", "Travel", "expense", (500, 12_000)),
    ("6300", "Training", "expense", (200, 5_000)),
    ("6350", "Marketing programs", "expense", (2_000, 50_000)),
    ("6400", "Events", "expense", (1_000, 30_000)),
    ("6450", "Legal and audit", "expense", (500, 15_000)),
    ("6500", "Insurance", "expense", (300, 6_000)),
    ("6550", "Office supplies", "expense", (100, 3_000)),
    ("6600", "Telecoms", "expense", (200, 4_000)),
    ("6650", "Recruiting", "expense", (500, 20_000)),
    ("6700", "Depreciation", "expense", (1_000, 12_000)),
)
#: Share of the series given each special shape (at least one each at any scale).
SPARSE, LATE_START, NO_LINES, FOREIGN, LATE_ARRIVALS = 0.02, 0.02, 0.004, 0.04, 0.04
TARGET_FORECAST_S, TARGET_P95_MS, TARGET_QUERIES = 60.0, 300.0, 15


@dataclass
class Shape:
    """How one series' monthly amounts are drawn (factors in per-mille, money in cents)."""

    base_cents: int
    trend_pm: int  # per-mille of the base added each month (linear trend)
    season_pm: int  # amplitude of the yearly cycle
    phase: int
    noise_pm: int  # standard deviation of the monthly noise
    budget_bias_pm: int  # the budget's optimism / caution against the expected value
    first: int = 0  # index of the first month with lines (late starters)
    sparse: bool = False
    currency: str = ""
    late: bool = False
    expected: list[int] = field(default_factory=list)  # cents per month, before noise

    def expected_cents(self, t: int, month: dt.date) -> int:
        level = max(100, 1000 + self.trend_pm * t)
        season = round(self.season_pm * math.sin(2 * math.pi * (month.month + self.phase) / 12))
        return self.base_cents * level * (1000 + season) // 1_000_000


PHASE_READ = "read: budget, ledger, FX rates (queries)"
PHASE_FIT = "fit + backtest every series (forecast_all)"
PHASE_REST = "rest: conversion, totals, accuracy, store"
#: The functions the forecast report calls, timed in place: (module, attribute, phase).
PHASE_CALLS = (
    ("metrics.selectors", "budget_versions", PHASE_READ),
    ("metrics.selectors", "budget_totals", PHASE_READ),
    ("metrics.selectors", "gl_initial_load_days", PHASE_READ),
    ("metrics.selectors", "ledger_totals_by_arrival", PHASE_READ),
    ("metrics.selectors", "converter", PHASE_READ),
    ("metrics.reports.forecast", "forecast_all", PHASE_FIT),
)


@contextmanager
def _phases_timed(phases: dict[str, float]):
    """Adds the seconds spent in each of :data:`PHASE_CALLS` to ``phases`` while active (the
    report exposes no timings; a function it no longer calls is simply not counted)."""
    with ExitStack() as stack:
        for module_name, attribute, phase in PHASE_CALLS:
            module = importlib.import_module(module_name)
            original = getattr(module, attribute, None)
            if original is None:
                continue

            def timed(*args, _original=original, _phase=phase, **kwargs):
                started = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    phases[_phase] += time.perf_counter() - started

            stack.enter_context(mock.patch.object(module, attribute, timed))
        yield


class Command(bench_dashboards.Command):
    help = "Generate 500 series x 36 months with budgets; time the forecast and its pages."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1 = 500 series.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--requests", type=int, default=30, help="GETs per page.")
        parser.add_argument(
            "--processes", type=int, default=2, help="FINHUB_FORECAST_PROCESSES for the run."
        )
        self.rows_arguments(parser)

    def handle(self, *args, **opts):
        source = self.source_prepared(
            SOURCE_NAME,
            reuse=opts["reuse"],
            generate=lambda: self._generate_forecast(opts["scale"], opts["seed"]),
        )
        counts = {
            "departments": m.Department.objects.filter(source=source).count(),
            "accounts": m.Account.objects.filter(source=source).count(),
            "GL lines": m.GLLine.objects.filter(source=source).count(),
            "budget lines": m.BudgetLine.objects.filter(source=source).count(),
            "FX rates": m.FxRate.objects.filter(source=source).count(),
        }
        self.stdout.write("in the database: " + ", ".join(f"{n:,} {k}" for k, n in counts.items()))
        failures = []
        try:
            MetricSnapshot.objects.all().delete()  # compute from nothing
            seconds = self._forecast(opts["processes"])
            pages = self._pages_timed(opts["requests"])
            self.stdout.write("\nresult:")
            verdict = "PASS" if seconds <= TARGET_FORECAST_S else "FAIL"
            self.stdout.write(
                f"{verdict}  forecast compute {seconds:.1f} s "
                f"(target <= {TARGET_FORECAST_S:g} s, --processes {opts['processes']})"
            )
            if verdict == "FAIL":
                failures.append("forecast compute")
            for label, p95, queries in pages:
                ok = p95 <= TARGET_P95_MS and queries <= TARGET_QUERIES
                self.stdout.write(
                    f"{'PASS' if ok else 'FAIL'}  {label}: p95 {p95:.1f} ms, {queries} queries "
                    f"(target p95 <= {TARGET_P95_MS:g} ms, <= {TARGET_QUERIES} queries)"
                )
                if not ok:
                    failures.append(label)
        finally:
            if not opts["keep"]:
                self._delete(source)
                self.stdout.write("generated rows deleted (use --keep to keep them)")
        self.stdout.write(
            "\nreproduce: DATABASE_URL=<a dedicated PostgreSQL database> DEBUG=0 "
            f"python manage.py bench_forecast --scale {opts['scale']:g} --seed {opts['seed']} "
            f"--requests {opts['requests']} --processes {opts['processes']}"
            f"   (or: make bench-forecast SCALE={opts['scale']:g} REQUESTS={opts['requests']} "
            f"PROCESSES={opts['processes']})"
        )
        if failures:
            raise CommandError("FAIL: " + ", ".join(failures))

    # --- data -----------------------------------------------------------------------------

    def _generate_forecast(self, scale: float, seed: int) -> Connector:
        started = time.perf_counter()
        rng = random.Random(seed)
        reporting = settings.FINHUB_REPORTING_CURRENCY
        foreign = "EUR" if reporting != "EUR" else "GBP"
        today = timezone.localdate()
        last = last_closed_month(today)
        months = [add_months(last, i - (MONTHS - 1)) for i in range(MONTHS)]
        fiscal_months = [dt.date(today.year, month, 1) for month in range(1, 13)]
        n_departments = max(1, round(DEPARTMENTS * scale))
        midnight = timezone.make_aware(dt.datetime.combine(today, dt.time()))

        def stamp(day: dt.date) -> dt.datetime:
            """The nightly batch that brought in a line of ``day`` (at the latest last
            night's: a fixed moment keeps the run deterministic)."""
            moment = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(2))
            return min(timezone.make_aware(moment), midnight)

        def make(model, rows: list) -> int:
            model.objects.bulk_create(rows, batch_size=BATCH)
            return len(rows)

        with transaction.atomic():
            source = Connector.objects.create(name=SOURCE_NAME, kind=Connector.Kind.ERP)
            departments = [
                m.Department(
                    source=source,
                    external_id=f"bench-fc-dep-{i:02d}",
                    name=f"Bench department {i:02d}",
                    code=f"BF{i:02d}",
                )
                for i in range(1, n_departments + 1)
            ]
            make(m.Department, departments)
            accounts = [
                m.Account(
                    source=source,
                    external_id=f"bench-fc-acc-{code}",
                    code=code,
                    name=name,
                    type=kind,
                )
                for code, name, kind, _levels in ACCOUNTS
            ]
            make(m.Account, accounts)
            series = [
                (dept, account, levels)
                for dept in departments
                for account, (*_, levels) in zip(accounts, ACCOUNTS, strict=True)
            ]
            shapes = [self._shape(rng, low, high) for _d, _a, (low, high) in series]
            special = list(range(len(series)))
            rng.shuffle(special)

            def take(share: float) -> list[int]:
                count = max(1, round(len(series) * share))
                taken, special[:] = special[:count], special[count:]
                return taken

            for i in take(SPARSE):
                shapes[i].sparse = True
            for i in take(LATE_START):
                shapes[i].first = MONTHS - rng.randint(4, 14)
            for i in take(NO_LINES):
                shapes[i].first = MONTHS  # budgeted, nothing posted yet
            for i in take(FOREIGN):
                shapes[i].currency = foreign
            for i in take(LATE_ARRIVALS):
                shapes[i].late = True

            lines, budget_lines = [], []
            for (dept, account, _levels), shape in zip(series, shapes, strict=True):
                key = f"{dept.code}-{account.code}"
                for t, month in enumerate(months):
                    if t < shape.first or (shape.sparse and rng.random() >= 0.3):
                        continue
                    noise = round(rng.gauss(0, shape.noise_pm))
                    cents = max(0, shape.expected_cents(t, month) * (1000 + noise) // 1000)
                    parts = [cents * rng.randint(20, 45) // 100, cents * rng.randint(20, 45) // 100]
                    parts.append(cents - sum(parts))
                    late_part = (
                        rng.randrange(LINES_PER_MONTH) if shape.late and t >= MONTHS - 12 else -1
                    )
                    for j, part in enumerate(parts):
                        day = month + dt.timedelta(days=rng.randrange(27))
                        arrived = stamp(day)
                        if j == late_part:  # arrived with a later month's batch
                            arrived = stamp(
                                add_months(month, rng.randint(1, 2))
                                + dt.timedelta(days=rng.randrange(10))
                            )
                        lines.append(
                            m.GLLine(
                                source=source,
                                external_id=f"bench-fc-gl-{key}-{month:%Y%m}-{j}",
                                account=account,
                                account_external_id=account.external_id,
                                department=dept,
                                department_external_id=dept.external_id,
                                posting_date=day,
                                amount=Decimal(part) / 100,
                                currency_id=shape.currency or reporting,
                                description=f"{account.name} {month:%b %Y}",
                                created_at=arrived,
                                updated_at=arrived,
                                source_updated_at=arrived,
                            )
                        )
                # The budget: the expected amounts (no noise) with the series' bias, in whole
                # units of the reporting currency (a foreign series at a planning rate of 1.08).
                rate_pm = 1080 if shape.currency else 1000
                for month in fiscal_months:
                    t = MONTHS - 1 + (month.year - last.year) * 12 + month.month - last.month
                    cents = shape.expected_cents(t, month) * shape.budget_bias_pm // 1000
                    budget_lines.append(
                        (key, dept, account, month, Decimal(cents * rate_pm // 1000 // 100))
                    )
            make(m.GLLine, lines)
            budget = m.Budget.objects.create(
                source=source,
                external_id=f"bench-fc-budget-{today.year}",
                name=f"Bench budget {today.year}",
                fiscal_year=today.year,
                version=0,
                is_current=True,
            )
            make(
                m.BudgetLine,
                [
                    m.BudgetLine(
                        source=source,
                        external_id=f"bench-fc-bl-{key}-{month:%Y%m}",
                        budget=budget,
                        budget_external_id=budget.external_id,
                        account=account,
                        account_external_id=account.external_id,
                        department=dept,
                        department_external_id=dept.external_id,
                        month=month,
                        amount=amount,
                        currency_id=reporting,
                    )
                    for key, dept, account, month, amount in budget_lines
                ],
            )
            # Daily rates of the foreign currency (a random walk in millionths), every day
            # a line may be posted on.
            rate, rates, day = 1_080_000, [], months[0]
            while day <= today:
                rate = min(1_300_000, max(900_000, rate + rng.randint(-4_000, 4_000)))
                rates.append(
                    m.FxRate(
                        source=source,
                        external_id=f"bench-fc-fx-{foreign}-{day:%Y%m%d}",
                        currency_id=foreign,
                        quote_currency_id=reporting,
                        date=day,
                        rate=Decimal(rate) / 1_000_000,
                    )
                )
                day += dt.timedelta(days=1)
            make(m.FxRate, rates)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        counts = {
            "sparse": sum(s.sparse for s in shapes),
            "late start": sum(0 < s.first < MONTHS for s in shapes),
            "no lines": sum(s.first >= MONTHS for s in shapes),
            foreign: sum(bool(s.currency) for s in shapes),
            "late arrivals": sum(s.late for s in shapes),
        }
        self.stdout.write(
            f"generated and loaded (seed {seed}, scale {scale:g}: {len(series):,} series = "
            f"{n_departments} departments x {len(accounts)} accounts, "
            + ", ".join(f"{n} {what}" for what, n in counts.items())
            + f"; {len(lines):,} GL lines {months[0]:%b %Y}..{months[-1]:%b %Y}, "
            f"{len(budget_lines):,} budget lines FY{today.year}, {len(rates):,} FX rates) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        return source

    @staticmethod
    def _shape(rng: random.Random, low: int, high: int) -> Shape:
        return Shape(
            base_cents=rng.randint(low, high) * 100,
            trend_pm=rng.randint(-8, 20),  # -0.8% .. +2% of the base a month
            season_pm=rng.choice((0, rng.randint(30, 300))),
            phase=rng.randrange(12),
            noise_pm=rng.randint(20, 120),
            budget_bias_pm=rng.randint(920, 1120),
        )

    def _delete(self, source: Connector) -> None:
        # Spend anomalies point at this run's series: remove them before the raw deletes.
        try:
            anomaly = apps.get_model("metrics", "SpendAnomaly")
        except LookupError:
            anomaly = None
        if anomaly is not None:
            anomaly.objects.all().delete()
        super()._delete(source)

    # --- measures ---------------------------------------------------------------------------

    def _forecast(self, processes: int) -> float:
        """Seconds to forecast, backtest and store this fiscal year (the background task's
        work), with ``processes`` worker processes."""
        fiscal_year = timezone.localdate().year
        phases: dict[str, float] = defaultdict(float)
        self._load()
        with override_settings(FINHUB_FORECAST_PROCESSES=processes), _phases_timed(phases):
            started = time.perf_counter()
            snapshot = forecast_compute(fiscal_year=fiscal_year)
            seconds = time.perf_counter() - started
        result = snapshot.result
        accuracy = result.get("accuracy", {})
        size = len(json.dumps(result, cls=DjangoJSONEncoder))
        mix = ", ".join(f"{k} {n}" for k, n in model_mix(accuracy))
        self.stdout.write(
            f"\nforecast FY{fiscal_year} (origin {result.get('origin')}): "
            f"{result.get('series_count')} series, {len(result.get('groups', []))} groups, "
            f"snapshot {size / 1024:,.0f} KB of JSON"
        )
        self.stdout.write(
            f"models chosen: {mix or '-'}; scorecard accuracy (h=1, last 12 closed months): "
            f"{accuracy.get('scorecard_accuracy_percent')}%"
        )
        self.stdout.write(
            f"{'forecast compute (read + fit + backtest + store)':<50} {seconds:8.2f} s"
            f"   ({processes} process{'es' if processes != 1 else ''}; "
            f"target <= {TARGET_FORECAST_S:g} s)"
        )
        if phases:
            rest = seconds - sum(phases.values())
            for label, phase in [*phases.items(), (PHASE_REST, rest)]:
                self.stdout.write(f"  {label:<48} {phase:8.2f} s")
        return seconds

    def _load(self) -> None:
        """The machine's load now: the times mean little when other work holds the CPUs."""
        one, five, _fifteen = os.getloadavg()
        self.stdout.write(
            f"(load average {one:.1f} / {five:.1f} over 1 / 5 min on {os.cpu_count()} CPUs)"
        )

    def pages(self) -> list[tuple[str, str, dict]]:
        """(label, url, query) of the forecast page and API to time."""
        dept = (
            m.Department.objects.filter(source__name=SOURCE_NAME)
            .order_by("code")
            .values_list("id", "code")
            .first()
        )
        dept_id, dept_code = dept or (None, None)
        pages = [
            ("forecast page (company)", "dashboards:forecast", {}),
            ("forecast page (one department)", "dashboards:forecast", {"department": dept_id}),
            ("api forecast (all groups)", "metrics-forecast", {}),
            ("api forecast (one department)", "metrics-forecast", {"department": dept_code}),
            ("api forecast accuracy", "metrics-forecast-accuracy", {}),
        ]
        return self.pages_resolved(pages)

    def _pages_timed(self, requests: int) -> list[tuple[str, float, int]]:
        """Runs ``bench_dashboards``' page timing (its table goes to stdout as usual) and
        reads back (label, p95 ms, queries) of each page from that table."""
        captured = io.StringIO()
        out = self.stdout

        class Tee(io.TextIOBase):
            def write(self, text: str) -> int:
                out.write(text, ending="")
                return captured.write(text)

        self._load()
        self.stdout = OutputWrapper(Tee())
        try:
            self._bench(requests)
        finally:
            self.stdout = out
        rows, in_table = [], False
        for line in captured.getvalue().splitlines():
            if line.startswith("page "):
                in_table = True
            elif in_table and line.startswith("("):
                break
            elif in_table and line.strip():
                # "<label> <p50> <p95> <queries> <1st GET>[  <-- over target]"
                *label, _p50, p95, queries, _first = line.split("<--")[0].split()
                rows.append((" ".join(label), float(p95), int(queries)))
        return rows
