"""``manage.py load_test``: locust (headless) against gunicorn on loopback, mixed traffic.

1. Refuses anything but PostgreSQL. Keeps the benchmark-scale company of
   ``bench_dashboards`` (its connector's rows, ~1M GL lines and ~1M touchpoints at
   ``--scale 1``): reused when an earlier run left it, generated and kept otherwise
   (``--regenerate`` starts over).
2. Recomputes every stored figure as the nightly run and a close do
   (``closing.actions.figures_recompute``: metric snapshots of the default period, the
   dashboards' usual periods, the forecasts) unless ``--no-warm``.
3. Creates what the simulated clients need, fresh each run: a push connector with accounts,
   departments and write tokens, a read token (``read.all``: the metrics API), a webhook
   connector with a signing secret, a finance viewer with a random password.
4. Starts gunicorn (``finhub.wsgi``, DEBUG off) on 127.0.0.1 at a free port and runs
   ``locust --headless`` with ``benchmarks/load/locustfile.py``: ``--warmup`` seconds not
   counted (each worker's first requests: imports, template loading, connections), then
   ``--duration`` seconds measured.
   The recompute requests the pushes make are queued to a private filesystem broker no
   worker reads: the run measures the web tier, not the recompute (``make bench-*``).
5. Prints requests, failures, error %, p50 / p95 / p99 and the p95 target per endpoint
   (benchmarks/load/verdict.py) and exits non-zero when an endpoint fails more than 0.1% of
   its requests or its p95 exceeds its target. Stops gunicorn and locust and deletes what
   step 3 created (and the lines the run pushed) at the end, also on Ctrl-C or an error.

Results (CSV, locust's HTML report, server log) stay in ``var/load-test/<time>/``.
``make load-test``; docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from benchmarks.load import verdict as v
from benchmarks.management.commands import bench_dashboards
from closing.actions import figures_recompute
from connectors.authentication import READ_ALL_SCOPE
from connectors.models import Connector
from connectors.services import api_token_create, connector_webhook_secret_rotate
from finhub.core import roles
from metrics.snapshots import warm_periods
from records import models as m
from records.ingestion.services import Actor, ingest_records

PUSH_CONNECTOR = "load-test-push"
WEBHOOK_CONNECTOR = "load-test-webhook"
VIEWER = "load-test-viewer"
PUSH_TOKENS = 4  # the pushers share a few tokens: each stays far below its rate limit
PUSH_LINES = 20
WEBHOOK_LINES = 5
ACCOUNTS = 10
DEPARTMENTS = 4
PAGES = ["executive", "cac", "marketing", "sales", "retention", "product", "forecast"]
METRIC_PATHS = [
    "/api/v1/metrics/cac/",
    "/api/v1/metrics/sales/",
    "/api/v1/metrics/budget-variance/",
    "/api/v1/metrics/attribution/",
    "/api/v1/metrics/campaign-roi/",
    "/api/v1/metrics/subscriptions/",
    "/api/v1/metrics/forecast/",
]
LOCUSTFILE = Path(__file__).resolve().parents[2] / "load" / "locustfile.py"


class Command(bench_dashboards.Command):
    help = "Mixed load (locust) against gunicorn at benchmark scale; fails on errors or slow p95."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="1 = ~1M GL lines.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--users", type=int, default=20, help="Simulated clients.")
        parser.add_argument("--spawn-rate", type=float, default=5.0, help="Users started/s.")
        parser.add_argument("--duration", type=int, default=120, help="Seconds of load.")
        parser.add_argument(
            "--warmup",
            type=int,
            default=20,
            help="Seconds of the same load before the measured run, not counted (0: none).",
        )
        cpus = os.cpu_count() or 2
        parser.add_argument(
            "--workers", type=int, default=min(4, 2 * cpus), help="gunicorn worker processes."
        )
        parser.add_argument(
            "--regenerate", action="store_true", help="Delete and regenerate the company."
        )
        parser.add_argument("--no-warm", action="store_true", help="Skip the recompute.")

    def handle(self, *args, **opts):
        try:
            self._load_test(opts)
        except KeyboardInterrupt:
            raise CommandError(
                "interrupted: gunicorn and locust stopped, the load-test rows deleted"
            ) from None

    def _load_test(self, opts) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "The load test needs PostgreSQL (SQLite serialises every write: the numbers "
                "would say nothing). Run e.g. "
                "DATABASE_URL=postgres://postgres@127.0.0.1:5432/finhub_load make load-test"
            )
        if opts["users"] < 4 or opts["duration"] < 10:
            raise CommandError(
                "--users must be at least 4 (one per kind of client) and --duration at least 10"
            )
        # SIGTERM (e.g. a CI timeout) cleans up like Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        if not opts["regenerate"] and (
            Connector.objects.filter(name=bench_dashboards.SOURCE_NAME).exists()
        ):
            self.stdout.write("reusing the kept company (--regenerate makes it again at --scale)")
        self.source_prepared(
            bench_dashboards.SOURCE_NAME,
            reuse=not opts["regenerate"],
            generate=lambda: self._generate(opts["scale"], opts["seed"]),
        )
        self.stdout.write(
            f"in the database: {m.GLLine.objects.count():,} GL lines, "
            f"{m.Touchpoint.objects.count():,} touchpoints, {m.Deal.objects.count():,} deals"
        )
        if not opts["no_warm"]:
            started = time.perf_counter()
            computed, warmed, _ = figures_recompute()
            self.stdout.write(
                f"figures recomputed as the nightly run does: {computed.get('snapshots')} metric "
                f"snapshots, {warmed['snapshots']} dashboard snapshots, forecasts, in "
                f"{time.perf_counter() - started:.1f} s (not part of the load)"
            )
        out = Path(settings.VAR_DIR) / "load-test" / timezone.now().strftime("%Y%m%d-%H%M%S")
        out.mkdir(parents=True)
        private = out / "private"  # secrets and the broker folder: removed at the end
        private.mkdir(mode=0o700)
        try:
            config = self._fixtures_create()
            config_path = private / "config.json"
            config_path.write_text(json.dumps(config))
            result = self._run(opts, out, private, config_path)
        finally:
            shutil.rmtree(private, ignore_errors=True)
            self._fixtures_delete()
        self.stdout.write("\n" + v.table(result))
        self.stdout.write(
            f"\n{opts['users']} users ({opts['spawn_rate']:g}/s), {opts['duration']} s measured "
            f"after {opts['warmup']} s of warm-up, gunicorn {opts['workers']} workers; CSV and "
            f"HTML reports in {out}"
        )
        if not result.passed:
            raise CommandError("load test FAILED:\n  " + "\n  ".join(result.problems))
        self.stdout.write("load test PASSED")

    # --- what the simulated clients use --------------------------------------------------------

    def _fixtures_create(self) -> dict:
        self._fixtures_delete()  # an interrupted run's leftovers
        push = Connector.objects.create(name=PUSH_CONNECTOR, kind=Connector.Kind.ERP)
        hook = Connector.objects.create(name=WEBHOOK_CONNECTOR, kind=Connector.Kind.ERP)
        accounts = [f"LT-A{i}" for i in range(ACCOUNTS)]
        departments = [f"LT-D{i}" for i in range(DEPARTMENTS)]
        actor = Actor(via="sync", request_id="load-test-setup")
        for source in (push, hook):
            for entity, records in (
                (
                    "accounts",
                    [
                        {"external_id": a, "code": f"69{i:02d}", "name": a, "type": "expense"}
                        for i, a in enumerate(accounts)
                    ],
                ),
                ("departments", [{"external_id": d, "name": d} for d in departments]),
            ):
                result = ingest_records(source=source, entity=entity, records=records, actor=actor)
                if result.rejected:
                    raise CommandError(f"setup {entity} rejected: {result.errors[:3]}")
        write = {"connector": push, "allowed_entities": ["gl_lines"]}
        push_tokens = [
            api_token_create(name=f"load-test-{i}", **write)[1] for i in range(PUSH_TOKENS)
        ]
        _, read_token = api_token_create(
            connector=push,
            name="load-test-read",
            can_read=True,
            can_write=False,
            scopes=[READ_ALL_SCOPE],
        )
        secret = connector_webhook_secret_rotate(connector=hook)
        password = secrets.token_urlsafe(24)
        viewer, _ = get_user_model().objects.get_or_create(username=VIEWER)
        viewer.set_password(password)
        viewer.save()
        viewer.groups.set([Group.objects.get(name=roles.FINANCE_VIEWER)])
        today = timezone.localdate()
        return {
            "viewer": {"username": VIEWER, "password": password},
            "pages": [reverse(f"dashboards:{page}") for page in PAGES],
            "periods": [period.query() for period in warm_periods(today)],
            "metric_paths": METRIC_PATHS,
            "read_tokens": [read_token],
            "posting_date": today.isoformat(),
            "push": {
                "tokens": push_tokens,
                "accounts": accounts,
                "departments": departments,
                "lines": PUSH_LINES,
            },
            "webhook": {
                "slug": hook.slug,
                "secret": secret,
                "accounts": accounts,
                "departments": departments,
                "lines": WEBHOOK_LINES,
            },
        }

    def _fixtures_delete(self) -> None:
        """The load-test connectors with every row they wrote, and the viewer."""
        for source in Connector.objects.filter(name__in=[PUSH_CONNECTOR, WEBHOOK_CONNECTOR]):
            for model in (m.GLLine, m.Account, m.Department):
                model.all_objects.filter(source=source).delete()
            m.IngestBatch.objects.filter(source=source).delete()
            source.delete()
        get_user_model().objects.filter(username=VIEWER).delete()

    # --- server and load -------------------------------------------------------------------------

    def _run(self, opts, out: Path, private: Path, config_path: Path) -> v.Verdict:
        port = _free_port()
        host = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            # Recompute requests go to a folder no worker reads (see the module docstring).
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_FILESYSTEM_BROKER_DIR": str(private / "broker"),
            "PYTHONPATH": str(settings.BASE_DIR),
            "FINHUB_LOAD_TEST_CONFIG": str(config_path),
        }
        processes: list[subprocess.Popen] = []
        try:
            with open(out / "gunicorn.log", "wb") as log:
                server = subprocess.Popen(  # noqa: S603
                    [
                        str(Path(sys.executable).parent / "gunicorn"),
                        "finhub.wsgi:application",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        str(opts["workers"]),
                        "--timeout",
                        "120",
                    ],
                    cwd=settings.BASE_DIR,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            processes.append(server)
            _wait_until_up(server, host, out / "gunicorn.log")
            for prefix, seconds in (("warmup", opts["warmup"]), ("load", opts["duration"])):
                if seconds <= 0:
                    continue
                self.stdout.write(
                    f"{prefix}: locust, {opts['users']} users for {seconds} s against {host} "
                    f"(gunicorn, {opts['workers']} workers); load average {_loadavg()}"
                )
                locust = self._locust(opts, host, seconds, out, prefix, env)
                processes.append(locust)
                try:
                    locust.wait(timeout=seconds + 120)
                except subprocess.TimeoutExpired as exc:
                    raise CommandError(f"locust did not finish; see {out / prefix}.log") from exc
            self.stdout.write(f"done; load average {_loadavg()}")
        finally:
            for process in reversed(processes):
                _stop(process)
        stats_csv = out / "load_stats.csv"
        if not stats_csv.exists():
            raise CommandError(f"locust wrote no statistics; see {out / 'locust.log'}")
        endpoints, total = v.stats_from_csv(stats_csv.read_text())
        return v.verdict(endpoints, total)

    def _locust(self, opts, host, seconds, out: Path, prefix: str, env) -> subprocess.Popen:
        with open(out / f"{prefix}.log", "wb") as log:
            return subprocess.Popen(  # noqa: S603
                [
                    str(Path(sys.executable).parent / "locust"),
                    "-f",
                    str(LOCUSTFILE),
                    "--headless",
                    "--host",
                    host,
                    "--users",
                    str(opts["users"]),
                    "--spawn-rate",
                    str(opts["spawn_rate"]),
                    "--run-time",
                    f"{seconds}s",
                    "--stop-timeout",
                    "10",
                    "--csv",
                    str(out / prefix),
                    "--html",
                    str(out / f"{prefix}.html"),
                    "--only-summary",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )


def _loadavg() -> str:
    """The machine's 1/5/15-minute load averages: other work on it skews the times."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(server: subprocess.Popen, host: str, log: Path) -> None:
    deadline = time.monotonic() + 120  # 4 workers importing Django on a busy machine
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError(f"gunicorn exited; see {log}")
        try:
            with urllib.request.urlopen(f"{host}/healthz", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise CommandError(f"gunicorn did not answer /healthz within 120 s; see {log}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (gunicorn finishes its requests), then SIGKILL after 20 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
