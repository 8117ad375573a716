"""``manage.py bench_alerts``: one beat tick evaluating 1,000 alert rule instances.

1. Stores what the rules read, as the metrics engine would have (``--scale 1``: 250 items
   per source, seeded): the year-to-date budget-vs-actual snapshot by department and this
   fiscal year's forecast snapshot with 250 departments, the campaign ROI snapshots of the
   last two closed months with 250 campaigns, and 250 open spend anomalies. Four rules watch
   them (budget variance > 5%, predicted overrun > 5% with a 4% recovery threshold and 2
   pending evaluations, campaign ROI < 0 for two months, spend anomaly score > 3.5): 1,000
   instances per tick. Other enabled rules (the built-in ones) are disabled for the run and
   enabled again after it, so the tick evaluates exactly these.
2. Runs ``--ticks`` beat ticks (``alerts.evaluation.rules_evaluate``, one per minute of the
   rules' schedule); before each tick (untimed) about a fifth of the items change value, so
   every tick has pending, firing and resolving instances. The first tick creates the
   instances; then every instance is given a full chart history (199 earlier samples, as
   after days of evaluations), so the later ticks read and write full samples. Target:
   every tick <= 5 s.
3. Prints per tick the seconds, instances, transitions and queries, PASS / FAIL and the
   command that reproduces the run; deletes what it generated unless ``--keep``; exits
   non-zero when the target is missed.

Run it on a dedicated PostgreSQL database (``make bench-alerts``; docs/benchmarks.md).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.evaluation import SAMPLES_KEPT, rules_evaluate
from alerts.models import AlertInstance, AlertRule
from finhub.core.calendar import last_closed_month, month_period
from metrics.models import MetricSnapshot, SpendAnomaly
from metrics.params import (
    attribution_params,
    budget_params,
    default_attribution_model,
    forecast_params,
    params_dates,
    params_hash,
)

TARGET_SECONDS = 5.0
ITEMS_PER_SOURCE = 250
PREFIX = "bench-alerts"
CENT = Decimal("0.01")


class Command(BaseCommand):
    help = "Time one beat tick evaluating 1,000 alert rule instances (target <= 5 s)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,000 instances.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--ticks", type=int, default=5, help="Beat ticks timed.")
        parser.add_argument("--keep", action="store_true", help="Keep the generated rows.")

    def handle(self, *args, **opts):
        items = max(1, round(ITEMS_PER_SOURCE * opts["scale"]))
        ticks = max(1, opts["ticks"])
        rng = random.Random(opts["seed"])
        first_tick = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=ticks)
        today = timezone.localdate(first_tick)
        disabled = list(
            AlertRule.objects.filter(enabled=True)
            .exclude(name__startswith=PREFIX)
            .values_list("pk", flat=True)
        )
        AlertRule.objects.filter(pk__in=disabled).update(enabled=False)
        generated: dict[str, list[int]] = {"snapshots": [], "anomalies": [], "rules": []}
        rows = []
        try:
            bases = [self._bases(rng, items) for _ in range(4)]
            generated["rules"] = self._rules(first_tick)
            started = time.perf_counter()
            generated["snapshots"] = self._store(today, items, bases, tick=0)
            generated["anomalies"] = self._anomalies(today, items, bases[3], tick=0)
            self.stdout.write(
                f"generated (seed {opts['seed']}, scale {opts['scale']:g}): {items} departments "
                f"(budget + forecast snapshots), {items} campaigns (2 months of campaign ROI), "
                f"{items} open spend anomalies; 4 rules = {4 * items} instances per tick; "
                f"{len(disabled)} other enabled rules disabled for the run "
                f"({time.perf_counter() - started:.1f} s)\n"
            )
            for tick in range(ticks):
                if tick:
                    self._store(today, items, bases, tick=tick)
                    self._anomalies(today, items, bases[3], tick=tick)
                now = first_tick + dt.timedelta(minutes=tick, seconds=1)
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    summary = rules_evaluate(now=now)
                    seconds = time.perf_counter() - started
                rows.append((tick + 1, seconds, summary, len(queries.captured_queries)))
                if tick == 0:
                    self._history(generated["rules"], first_tick)
        finally:
            AlertRule.objects.filter(pk__in=disabled).update(enabled=True)
            if not opts["keep"]:
                self._delete(generated)
                self.stdout.write("generated rows deleted (use --keep to keep them)")
        self.stdout.write(
            f"{'tick':>4}  {'seconds':>8}  {'rules':>5}  {'instances':>9}  "
            f"{'transitions':>11}  {'queries':>7}"
        )
        for tick, seconds, summary, queries in rows:
            self.stdout.write(
                f"{tick:>4}  {seconds:>8.3f}  {summary['rules_evaluated']:>5}  "
                f"{summary['instances']:>9}  {summary['transitions']:>11}  {queries:>7}"
            )
        worst = max(seconds for _, seconds, _, _ in rows)
        ok = worst <= TARGET_SECONDS
        self.stdout.write(
            f"\n{'PASS' if ok else 'FAIL'}  slowest tick {worst:.3f} s for "
            f"{rows[0][2]['instances']} instances (target <= {TARGET_SECONDS:g} s)"
        )
        self.stdout.write(
            "\nreproduce: DATABASE_URL=<a dedicated PostgreSQL database> "
            f"python manage.py bench_alerts --scale {opts['scale']:g} --seed {opts['seed']} "
            f"--ticks {ticks}   (or: make bench-alerts SCALE={opts['scale']:g} TICKS={ticks})"
        )
        if not ok:
            raise CommandError(f"FAIL: slowest tick {worst:.3f} s > {TARGET_SECONDS:g} s")

    # --- data -------------------------------------------------------------------------------

    @staticmethod
    def _bases(rng: random.Random, items: int) -> list[tuple[Decimal, Decimal]]:
        """Per item: a base value and a per-tick step (both in percent)."""
        return [
            (Decimal(rng.randint(-1500, 1500)) / 100, Decimal(rng.randint(-400, 400)) / 100)
            for _ in range(items)
        ]

    @staticmethod
    def _value(base: tuple[Decimal, Decimal], item: int, tick: int) -> Decimal:
        """The item's value at ``tick``: about a fifth of the items move each tick."""
        value, step = base
        moves = sum(1 for t in range(1, tick + 1) if (item + t) % 5 == 0)
        return value + step * moves

    def _rules(self, first_tick: dt.datetime) -> list[int]:
        common = {"evaluation_interval_seconds": 60, "next_evaluation_at": first_tick}
        specs = [
            ("budget variance", "budget_variance_pct", "department", "gt", "5", None, 1),
            ("predicted overrun", "predicted_overrun_pct", "department", "gt", "5", "4", 2),
            ("campaign ROI", "campaign_roi", "campaign", "lt", "0", None, 1),
            ("spend anomaly", "spend_anomaly", "anomaly_scope", "gt", "3.5", None, 1),
        ]
        pks = []
        for label, metric, scope, comparator, threshold, recovery, pending in specs:
            rule = AlertRule.objects.create(
                name=f"{PREFIX}: {label}",
                metric=metric,
                scope=scope,
                comparator=comparator,
                threshold=Decimal(threshold),
                recovery_threshold=None if recovery is None else Decimal(recovery),
                pending_evaluations=pending,
                labels={"bench": "alerts"},
                **common,
            )
            pks.append(rule.pk)
        return pks

    def _store(self, today: dt.date, items: int, bases: list, *, tick: int) -> list[int]:
        """The snapshots the rules read, as of ``tick`` (created, or rewritten in place)."""
        budget_rows, forecast_groups = [], []
        for i in range(items):
            code, label = f"B{i:04d}", f"Bench department {i}"
            budget = Decimal(100_000)
            actual = (budget * (1 + self._value(bases[0][i], i, tick) / 100)).quantize(CENT)
            budget_rows.append(
                {
                    "key": code,
                    "label": label,
                    "account_type": "expense",
                    "actual": str(actual),
                    "budget": str(budget),
                    "exact": {"actual": str(actual), "budget": str(budget)},
                }
            )
            outturn = (budget * 12 * (1 + self._value(bases[1][i], i, tick) / 100)).quantize(CENT)
            forecast_groups.append(
                {
                    "level": "department",
                    "key": f"{code}|expense",
                    "department": code,
                    "department_label": label,
                    "account_type": "expense",
                    "predicted_outturn": str(outturn),
                    "full_year_budget": str(budget * 12),
                }
            )
        last = month_period(last_closed_month(today))
        rois = [
            {
                f"Bench campaign {i}": str(
                    (self._value(bases[2][i], i, tick) / 100 + offset).quantize(Decimal("0.0001"))
                )
                for i in range(items)
            }
            for offset in (Decimal("-0.02"), Decimal(0))
        ]
        model = default_attribution_model()
        snapshots = [
            (
                "budget_variance",
                budget_params(start=dt.date(today.year, 1, 1), end=today, group_by="department"),
                {"rows": budget_rows},
            ),
            ("forecast", forecast_params(fiscal_year=today.year), {"groups": forecast_groups}),
        ]
        for period, roi in zip((last.prior(), last), rois, strict=True):
            params = attribution_params(
                model=model, group_by="campaign", start=period.start, end=period.end
            )
            rows = [{"key": key, "roi": value} for key, value in roi.items()]
            snapshots.append(("campaign_roi", params, {"rows": rows}))
        pks = []
        for kind, params, result in snapshots:
            start, end = params_dates(params)
            snapshot, _ = MetricSnapshot.objects.update_or_create(
                kind=kind,
                params_hash=params_hash(params),
                defaults={
                    "params": params,
                    "period_start": start,
                    "period_end": end,
                    "model": params.get("model", ""),
                    "group_by": params.get("group_by", ""),
                    "result": result,
                },
            )
            pks.append(snapshot.pk)
        return pks

    def _anomalies(self, today: dt.date, items: int, bases: list, *, tick: int) -> list[int]:
        """Open anomalies whose scores move with the ticks (rewritten in one statement)."""
        SpendAnomaly.objects.filter(scope_key__startswith=PREFIX).delete()
        rows = []
        for i in range(items):
            score = abs(self._value(bases[i], i, tick)) / 3
            rows.append(
                SpendAnomaly(
                    kind=SpendAnomaly.Kind.CAMPAIGN_SPEND,
                    scope_key=f"{PREFIX}-{i:04d}",
                    label=f"Bench campaign {i}",
                    period_start=today,
                    period_end=today,
                    actual=Decimal("100.00"),
                    expected=Decimal("50.00"),
                    low=Decimal("40.00"),
                    high=Decimal("60.00"),
                    deviation=Decimal("50.00"),
                    currency="USD",
                    score=score.quantize(CENT),
                )
            )
        return [a.pk for a in SpendAnomaly.objects.bulk_create(rows)]

    @staticmethod
    def _history(rules: list[int], first_tick: dt.datetime) -> None:
        """Give every instance a full chart history (SAMPLES_KEPT - 1 earlier samples), as a
        rule evaluated for days has: the later ticks then read and write full samples."""
        earlier = [
            [(first_tick - dt.timedelta(minutes=n)).isoformat(), "1.0000"]
            for n in range(SAMPLES_KEPT - 1, 0, -1)
        ]
        AlertInstance.objects.filter(rule__in=rules).update(samples=earlier)

    @staticmethod
    def _delete(generated: dict[str, list[int]]) -> None:
        AlertRule.objects.filter(pk__in=generated["rules"]).delete()
        MetricSnapshot.objects.filter(pk__in=generated["snapshots"]).delete()
        SpendAnomaly.objects.filter(scope_key__startswith=PREFIX).delete()
