"""``manage.py bench_metrics``: time every attribution model end to end from the database.

1. Generates the synthetic company with the one seeded generator
   (``connectors.sandbox.company.generate``; at ``--scale 1`` about 1,000,000 touchpoints over
   200,000 contacts, with its deals, channels, campaigns and daily FX rates) and loads what
   attribution reads into the configured database under a new connector
   ``bench-metrics-<run>`` — COPY on PostgreSQL, ``bulk_create`` elsewhere
   (``records.ingestion.bulk``). Generation is not timed.
2. Over the whole generated history (its first to last day, whatever today is: the figures
   do not move with the calendar), times a raw ``COPY … TO STDOUT`` of the touchpoints and won
   deals attribution reads, then the read, the journeys and all seven models at both levels
   (what the recompute does), and prints the ratio of the two, measured in the same run
   (target: at most 3; ``--rounds`` pairs, the median ratio counts). Then, for every model:
   reads the inputs, builds the journeys, attributes by channel and stores the snapshot
   (``metrics.snapshots``), and prints the seconds.
3. Compares the Markov result with the ``channelattribution`` package's ``markov_model`` on
   the same paths when it can be imported, or installed at run time into a scratch directory
   (``--install-channelattribution``; it is never a project dependency).
4. Deletes the generated rows unless ``--keep``.

The bench reads every touchpoint of the generated period (2024-2025, the generator's 24
months ending December 2025), so run it on a database without other touchpoints then (e.g. a
dedicated ``finhub_bench`` database) for clean numbers. ``--keep`` then ``--reuse`` skips
the generation on the next run.
"""

from __future__ import annotations

import datetime as dt
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from connectors.models import Connector
from connectors.sandbox.company import generate
from metrics import selectors
from metrics.computations.attribution import (
    DEFAULT_LOOKBACK,
    GROUP_BYS,
    MODELS,
    attribute,
    attribute_all,
    markov_chain_weighted,
    markov_removal_effects,
)
from metrics.models import MetricSnapshot
from metrics.params import attribution_params
from metrics.reports.attribution import AttributionContext
from metrics.snapshots import Kind, snapshot_compute
from records import models as m
from records.ingestion.bulk import records_bulk_load

# The generated company's whole history: 24 months ending with END_MONTH (fixed, so the
# figures do not move with the calendar); the window is pinned to its first..last day.
END_MONTH = dt.date(2025, 12, 1)
START, END = dt.date(2024, 1, 1), dt.date(2025, 12, 31)
RATIO_TARGET = 3
# connectors/sandbox/company.py at this scale has ~1M touchpoints, ~200k contacts.
COMPANY_SCALE = 50
ATTRIBUTION_ENTITIES = ("fx_rates", "channels", "campaigns", "contacts", "touchpoints", "deals")
SCRATCH = str(Path(tempfile.gettempdir()) / "finhub-channelattribution")


class _Sink:
    """A file that discards what is written (the COPY baseline measures the read alone)."""

    def write(self, data: bytes) -> int:
        return len(data)


class Command(BaseCommand):
    help = "Generate attribution data and time every model end to end from the database."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1 = 1M touchpoints.")
        parser.add_argument("--seed", type=int, default=6)
        parser.add_argument("--keep", action="store_true", help="Keep the generated rows.")
        parser.add_argument(
            "--reuse", action="store_true", help="Reuse the rows an earlier --keep run left."
        )
        parser.add_argument(
            "--rounds", type=int, default=3, help="COPY / attribution timing pairs (median)."
        )
        parser.add_argument(
            "--install-channelattribution",
            action="store_true",
            help=f"pip install channelattribution into {SCRATCH} if it is not importable.",
        )

    def handle(self, *args, **opts):
        scale = opts["scale"]
        run = timezone.now().strftime("%Y%m%d%H%M%S")
        self.stdout.write(
            f"database: {connection.vendor}; generating the company at scale "
            f"{COMPANY_SCALE * scale:g} (seed {opts['seed']})"
        )
        source = Connector.objects.filter(name__startswith="bench-metrics-").first()
        if opts["reuse"] and source is not None:
            self.stdout.write(f"reusing the rows of {source.name}")
        else:
            self._delete_leftovers()
            started = time.perf_counter()
            source = self._generate(run, scale, opts["seed"])
            self.stdout.write(
                f"generated in {time.perf_counter() - started:.1f} s (not timed below)"
            )
        try:
            self._bench(opts)
        finally:
            if not opts["keep"]:
                self._delete(source)
                self.stdout.write("generated rows deleted (use --keep to keep them)")

    def _generate(self, run: str, scale: float, seed: int) -> Connector:
        source = Connector.objects.create(name=f"bench-metrics-{run}", kind=Connector.Kind.CRM)
        # The one company generator (connectors/sandbox/company.py); its scale 50 is ~1M
        # touchpoints. Only what attribution reads is loaded; other references stay pending.
        company = generate(seed=seed, scale=COMPANY_SCALE * scale, end_month=END_MONTH)
        if (company.start_month, company.period_end) != (START, END):
            raise RuntimeError(
                f"the generator now covers {company.start_month}..{company.period_end}, not "
                f"{START}..{END}: update the bench's window"
            )
        counts = records_bulk_load(company.entities, source=source, entities=ATTRIBUTION_ENTITIES)
        self.stdout.write("loaded " + ", ".join(f"{n:,} {entity}" for entity, n in counts.items()))
        return source

    def _copy_seconds(self) -> float | None:
        """Seconds of a raw text ``COPY (…) TO STDOUT`` of the rows attribution reads (the same
        touchpoints and won deals, the same columns) into a sink that discards them; None
        off PostgreSQL."""
        if connection.vendor != "postgresql":
            return None
        low, high = selectors.period_bounds(START, END)
        touchpoints = selectors.attribution_touchpoint_rows(low=low - DEFAULT_LOOKBACK, high=high)
        deals = selectors.won_deal_rows(start=START, end=END)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for rows in (touchpoints, deals):
                sql, params = rows.query.sql_with_params()
                cursor.copy_expert(
                    f"COPY ({cursor.mogrify(sql, params).decode()}) TO STDOUT", _Sink()
                )
        return time.perf_counter() - started

    def _attribution_seconds(self) -> tuple[float, float, AttributionContext]:
        """Read + journeys, then all seven models at both levels (what the recompute does)."""
        started = time.perf_counter()
        context = AttributionContext.read(start=START, end=END, lookback_days=DEFAULT_LOOKBACK.days)
        read = time.perf_counter() - started
        for group_by in GROUP_BYS:
            attribute_all(context.journeys, group_by=group_by)
        return read, time.perf_counter() - started - read, context

    def _ratio(self, rounds: int) -> AttributionContext:
        """COPY and attribution alternately, ``rounds`` times; prints each pair and the
        median ratio against the target."""
        ratios = []
        context = None
        for round_ in range(1, max(1, rounds) + 1):
            copy = self._copy_seconds()
            context = None  # free the previous round's journeys first
            read, models, context = self._attribution_seconds()
            total = read + models
            line = (
                f"round {round_}: attribution {len(MODELS)} models x {len(GROUP_BYS)} levels: "
                f"{total:.2f} s ({read:.2f} s read + journeys, {models:.2f} s models)"
            )
            if copy is not None:
                ratios.append(total / copy)
                line += f"; COPY: {copy:.2f} s; ratio {total / copy:.2f}"
            self.stdout.write(line)
        assert context is not None
        if ratios:
            ratio = statistics.median(ratios)
            verdict = "met" if ratio <= RATIO_TARGET else "NOT met"
            self.stdout.write(
                f"attribution / COPY ratio (median of {len(ratios)}): {ratio:.2f} "
                f"(target <= {RATIO_TARGET}: {verdict})"
            )
        else:
            self.stdout.write("COPY ratio: PostgreSQL only (skipped)")
        return context

    def _bench(self, opts) -> None:
        params = {"start": START, "end": END}
        won = len(selectors.won_deal_rows(start=START, end=END))
        self.stdout.write(
            f"window: {START}..{END} (the generated history): "
            f"{m.Touchpoint.objects.count():,} touchpoints, {m.Deal.objects.count():,} deals "
            f"({won:,} won in the window)"
        )
        context = self._ratio(opts["rounds"])
        journeys = context.journeys
        self.stdout.write(
            f"read: {len(context.inputs.touchpoints):,} touchpoints, "
            f"{len(journeys.attributed):,} attributed, {len(journeys.unattributed):,} unattributed "
            f"conversions"
        )
        started = time.perf_counter()
        attribute(journeys, model="markov")
        self._markov_seconds = time.perf_counter() - started
        self.stdout.write(f"markov alone on the prepared journeys: {self._markov_seconds:.2f} s")
        del context
        self.stdout.write("seconds per model, end to end (read, journeys, attribute, store):")
        markov_rows = None
        for model in MODELS:
            started = time.perf_counter()
            snapshot = snapshot_compute(
                kind=Kind.ATTRIBUTION, params=attribution_params(model=model, **params)
            )
            self.stdout.write(f"  {model:<15} {time.perf_counter() - started:8.2f} s")
            if model == "markov":
                markov_rows = {row["key"]: row for row in snapshot.result["rows"]}
        self._api_latency(params)
        self._compare(journeys, markov_rows, opts)

    def _api_latency(self, params: dict, requests_per_model: int = 30) -> None:
        """Server time of GET /api/v1/metrics/attribution/ reading the stored snapshots
        (Django's test client: the full middleware, auth, permission and view stack)."""
        from django.contrib.auth import get_user_model
        from django.test import Client

        user, _ = get_user_model().objects.get_or_create(
            username="bench-metrics-api", defaults={"is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        timings = []
        try:
            for model in MODELS:
                query = {"model": model, "group_by": "channel", **params}
                for _ in range(requests_per_model):
                    started = time.perf_counter()
                    response = client.get("/api/v1/metrics/attribution/", query)
                    timings.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise RuntimeError(f"{model}: HTTP {response.status_code}")
        finally:
            user.delete()
        timings.sort()
        p50 = timings[len(timings) // 2] * 1000
        p95 = timings[int(len(timings) * 0.95) - 1] * 1000
        self.stdout.write(
            f"metrics API reading snapshots ({len(timings)} GETs, {len(MODELS)} models): "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )

    def _compare(self, journeys, markov_rows, opts) -> None:
        """Markov conversions per channel against channelattribution on the same paths.

        channelattribution estimates the removal effects by simulating paths (at least
        ``nsim_start``, until repetitions vary by less than ``conv_par``) truncated at
        ``max_step`` steps (default: the longest observed path, which cuts off simulated
        paths that loop); FinHub solves the absorbing chain exactly. So the comparison runs
        twice: with the package's defaults, and with ``max_step=1000``, ``nsim_start=1e6``,
        ``conv_par=0.005``, where only its sampling error should remain."""
        module = self._channelattribution(opts["install_channelattribution"])
        if module is None:
            return
        import pandas as pd

        converting = Counter(
            ">".join(t.channel for t in touchpoints) for _c, _a, touchpoints in journeys.attributed
        )
        null = Counter(">".join(t.channel for t in path) for path in journeys.non_converting)
        frame = pd.DataFrame(
            [
                {"path": path, "conv": converting.get(path, 0), "null": null.get(path, 0)}
                for path in set(converting) | set(null)
            ]
        )
        ours = {key: float(Decimal(row["conversions"])) for key, row in markov_rows.items()}
        # FinHub on exactly the package's input: the same path table, parsed in the timing.
        table = [(row.path, row.conv, row.null) for row in frame.itertuples()]
        started = time.perf_counter()
        chain = markov_chain_weighted(((path.split(">"), conv, null) for path, conv, null in table))
        markov_removal_effects(chain)
        ours_on_table = time.perf_counter() - started
        self.stdout.write(
            f"FinHub markov (exact solve) on the same {len(table):,}-row path table: "
            f"{ours_on_table:.3f} s"
        )
        settings = (
            ("defaults", {}),
            ("max_step=1000 nsim_start=1e6 conv_par=0.005", {
                "max_step": 1000, "nsim_start": 1_000_000, "conv_par": 0.005
            }),
        )  # fmt: skip
        for label, options in settings:
            started = time.perf_counter()
            theirs = module.markov_model(
                frame, "path", "conv", var_null="null", order=1, sep=">", verbose=False,
                flg_pro=False, seed=0, **options,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            if isinstance(theirs, dict):
                theirs = theirs["result"]
            their = dict(zip(theirs["channel_name"], theirs["total_conversions"], strict=True))
            self.stdout.write(
                f"channelattribution.markov_model ({label}) on the same {len(frame):,} distinct "
                f"paths: {seconds:.3f} s; FinHub on the same table {ours_on_table:.3f} s "
                f"(ratio FinHub/channelattribution = {ours_on_table / seconds:.2f}); FinHub "
                f"from the prepared journeys, allocation included: {self._markov_seconds:.2f} s"
            )
            self.stdout.write(
                f"  {'channel':<12} {'finhub':>12} {'channelattr.':>12} {'diff %':>8}"
            )
            worst = 0.0
            for key in sorted(their):
                diff = abs(ours[key] - their[key]) / their[key] * 100 if their[key] else 0.0
                worst = max(worst, diff)
                self.stdout.write(f"  {key:<12} {ours[key]:12.2f} {their[key]:12.2f} {diff:8.3f}")
            self.stdout.write(f"  largest relative difference: {worst:.3f} %")

    def _channelattribution(self, install: bool):
        if SCRATCH not in sys.path:
            sys.path.append(SCRATCH)
        try:
            import ChannelAttribution  # the package's module name
        except ImportError:
            if not install:
                self.stdout.write(
                    "channelattribution not importable: comparison skipped (use "
                    "--install-channelattribution to pip install it into a scratch directory)"
                )
                return None
            self.stdout.write(f"installing channelattribution into {SCRATCH} …")
            done = subprocess.run(  # noqa: S603
                [sys.executable, "-m", "pip", "install", "--quiet", "--target", SCRATCH,
                 "channelattribution", "matplotlib"],
                capture_output=True,
                text=True,
                timeout=900,
            )  # fmt: skip
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                self.stdout.write(
                    "channelattribution could not be installed here: comparison skipped ("
                    + " / ".join(tail)
                    + ")"
                )
                return None
            # The failed import above cached the scratch directory's listing from before
            # the install; without this the fresh package is not found in this process.
            importlib.invalidate_caches()
            try:
                import ChannelAttribution
            except ImportError as exc:
                self.stdout.write(f"channelattribution installed but not importable: {exc}")
                return None
        return ChannelAttribution

    def _delete(self, source: Connector) -> None:
        tables = (m.Deal, m.Touchpoint, m.Contact, m.FxRate, m.Campaign, m.Channel)
        with transaction.atomic():
            if not self._raw_delete(source, tables):
                for model in tables:
                    model.objects.filter(source=source).delete()
            MetricSnapshot.objects.filter(period_start=START, period_end=END).delete()
            source.delete()

    def _raw_delete(self, source: Connector, tables) -> bool:
        """PostgreSQL: plain DELETEs with the foreign-key triggers off for this transaction.

        The FK check of a deleted row runs per row, and Contact.account has no index, so
        deleting 200,000 contacts would scan the contact table 200,000 times. Only rows of
        this bench reference its rows, and all of them are deleted, so skipping the checks
        loses nothing. Needs a superuser (session_replication_role); False otherwise.
        """
        if connection.vendor != "postgresql":
            return False
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
                for model in tables:
                    table = connection.ops.quote_name(model._meta.db_table)
                    cursor.execute(f"DELETE FROM {table} WHERE source_id = %s", [source.pk])  # noqa: S608
        except DatabaseError:
            return False
        return True

    def _delete_leftovers(self) -> None:
        """Delete the data of earlier runs that were interrupted (the bench reads every
        touchpoint of its period, so leftovers would inflate the numbers)."""
        for source in Connector.objects.filter(name__startswith="bench-metrics-"):
            self.stdout.write(f"deleting the leftovers of {source.name}")
            self._delete(source)
